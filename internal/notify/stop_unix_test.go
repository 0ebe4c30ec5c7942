//go:build unix

package notify_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/notify"
)

// TestStoppingCutsANoticeShort: Ctrl-C or SIGTERM reaches the keeper while
// it is telling a person, through a command that runs on or a webhook that
// does not answer. The keeper stops at once, saying in one line that the
// notice is told again at the next start (it is: a process's notices live
// in its memory); it waited out the whole time limit first, 10 s of a
// Ctrl-C doing nothing, and logged `signal: killed`.
func TestStoppingCutsANoticeShort(t *testing.T) {
	hook := func(reached chan<- struct{}) string {
		var once sync.Once
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			once.Do(func() { close(reached) })
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		return srv.URL
	}
	for _, tt := range []struct {
		name string
		conf func(reached chan struct{}) config.Notify
	}{
		{"a command that runs on", func(reached chan struct{}) config.Notify {
			fifo := filepath.Join(t.TempDir(), "started")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			go func() { // opening a FIFO to read waits for its writer
				if f, err := os.Open(fifo); err == nil {
					io.ReadAll(f) // until the command has written
					f.Close()
					close(reached)
				}
			}()
			return config.Notify{Command: "echo started > '" + fifo + "'; sleep 600"}
		}},
		{"a webhook that does not answer", func(reached chan struct{}) config.Notify {
			return config.Notify{Webhook: hook(reached)}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reached := make(chan struct{})
			var logs strings.Builder
			n := &notify.Notifier{Config: tt.conf(reached), Logger: slog.New(slog.NewTextHandler(&logs, nil)), Timeout: 20 * time.Second}
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				n.Set(ctx, "sandbox", notify.GrantEnded, "sandbox: the grant ended")
			}()
			<-reached
			stop()
			<-done
			if got := logs.String(); !strings.Contains(got, "freshtoken is stopping") || strings.Contains(got, "signal: killed") {
				t.Fatalf("log %q; want one line saying the notice is told again at the next start", got)
			}
		})
	}
}

// TestCommandPastItsTimeIsSaid: a notify command that does not finish in
// time is stopped, with what it started, and the log says so and what to
// do (it said `signal: killed`).
func TestCommandPastItsTimeIsSaid(t *testing.T) {
	var logs strings.Builder
	n := &notify.Notifier{Config: config.Notify{Command: "sleep 600"}, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Timeout: time.Second}
	n.Set(context.Background(), "sandbox", notify.GrantEnded, "sandbox: the grant ended")
	if got := logs.String(); !strings.Contains(got, "did not finish within 1s") || !strings.Contains(got, "make it finish sooner") || strings.Contains(got, "signal: killed") {
		t.Fatalf("log %q; want the time limit named, and what to do", got)
	}
}

// TestAHungCommandDoesNotSilenceTheWebhook: a notify command that does not
// finish in time leaves the webhook its notice, and the desktop too: the
// command used up the notice's whole time, and the webhook was never
// posted to, so one broken channel silenced the others. The lines saying
// what failed name the environment and the event, as two environments'
// notices fail alike.
func TestAHungCommandDoesNotSilenceTheWebhook(t *testing.T) {
	posted := make(chan string, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case posted <- string(b):
		default:
		}
	}))
	defer hook.Close()
	var logs strings.Builder
	n := &notify.Notifier{Config: config.Notify{Command: "sleep 600", Webhook: hook.URL}, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Timeout: time.Second}
	n.Set(context.Background(), "sandbox", notify.GrantEnded, "sandbox: the grant ended")
	select {
	case body := <-posted:
		if !strings.Contains(body, "sandbox: the grant ended") {
			t.Errorf("the webhook was posted %q", body)
		}
	default:
		t.Errorf("the webhook was not posted to; log %q", logs.String())
	}
	var line string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "did not finish within 1s") {
			line = l
		}
	}
	if !strings.Contains(line, "env=sandbox") || !strings.Contains(line, "event=grant_ended") {
		t.Errorf("log %q; want the line about the command to name the environment and the event", logs.String())
	}
}
