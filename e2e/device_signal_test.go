package e2e_test

import (
	"context"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestClosedTerminalDuringTheApprovedPoll: the terminal closes (SIGHUP)
// while the poll that the provider answers with tokens is in flight. The
// device code is spent once the provider answers, so the answer is stored
// before freshtoken exits 129.
func TestClosedTerminalDuringTheApprovedPoll(t *testing.T) {
	var armed atomic.Bool
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	t.Cleanup(func() { close(release) })
	w := deviceWorldWith(t, devprovider.Options{AccessTTL: time.Hour, DeviceInterval: time.Second, OnTokenRequest: func(grantType string) {
		if strings.HasSuffix(grantType, "device_code") && armed.CompareAndSwap(true, false) {
			arrived <- struct{}{}
			<-release
		}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc, code := w.startDeviceLogin(ctx)
	if err := w.provider.DecideDevice(code, true); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	select {
	case <-arrived:
	case <-ctx.Done():
		t.Fatal("no poll reached the provider")
	}
	rc.cmd.Process.Signal(syscall.SIGHUP)
	for { // freshtoken says what it waits for while the answer is held
		line, err := rc.rd.ReadString('\n')
		rc.stderr.WriteString(line)
		if strings.Contains(line, "Ctrl-C again abandons it") {
			break
		}
		if err != nil {
			t.Fatalf("freshtoken did not say it waits for the answer: %v\n%s", err, rc.stderr.String())
		}
	}
	release <- struct{}{}
	if out := rc.wait(t, 129); !strings.Contains(out, "interrupted") {
		t.Fatalf("stderr %q; want it to say it was interrupted", out)
	}
	w.mustRun("get", "/v2/users/me")
	if st := w.provider.Stats(); st.DeviceLogins != 1 || st.Refreshes != 0 {
		t.Fatalf("provider saw %+v; want the device log-in's tokens stored and used", st)
	}
}
