//go:build unix

package freshtoken_test

import (
	"context"
	"errors"
	"log/slog"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// TestSaveLoginWaitGivenUpAtASignal: a program storing a log-in's tokens
// under a context that Ctrl-C ends (signal.NotifyContext), while another
// process holds the renewal lock, is told that the log-in's tokens could
// not be stored and that the wait for the store was given up, to log in
// again: not the store's words of the renewal lock alone, nor to fix a
// store that is not at fault. The error wraps context.Canceled, which the
// command line ends 130 on; nothing is stored.
func TestSaveLoginWaitGivenUpAtASignal(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	logs := testenv.NewOutput()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := r.store.Lock(context.Background(), r.settings.Env) // another process's renewal
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT)
	defer stop()
	done := make(chan error, 1)
	go func() {
		tok := &oauth2.Token{AccessToken: "login-access-token-123456", RefreshToken: "login-refresh-token-123456", ExpiresIn: 3600}
		done <- src.SaveLogin(ctx, tok, r.clock.Now())
	}()
	logs.WaitFor(t, "the wait for the lock told", regexp.MustCompile(`waiting for the renewal lock of sandbox to store the log-in's tokens`))
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = testenv.Receive(t, "SaveLogin to give up", done)
	const want = "sandbox: the tokens the log-in brought could not be stored ("
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "); the wait for the store was given up; log in again") {
		t.Fatalf("SaveLogin: %v; want %q…, the wait given up, to log in again", err, want)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("SaveLogin: %v; want it to wrap context.Canceled", err)
	}
	if _, err := r.store.Load(context.Background(), r.settings.Env); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the store after the wait was given up: %v; want nothing stored", err)
	}
}
