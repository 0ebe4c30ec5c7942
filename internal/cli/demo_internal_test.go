package cli

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestDemoNamesTheTempDirVariableOfItsSystem: a demo that cannot make or
// fill its temporary folder says to set the variable os.TempDir reads on
// the system it runs on: %TMP% on Windows, where its words said TMPDIR,
// which Windows does not read; $TMPDIR elsewhere.
func TestDemoNamesTheTempDirVariableOfItsSystem(t *testing.T) {
	for goos, want := range map[string]string{"windows": "TMP", "linux": "TMPDIR", "darwin": "TMPDIR", "freebsd": "TMPDIR"} {
		if got := tempDirVariable(goos); got != want {
			t.Errorf("on %s the demo says to set %s; want %s", goos, got, want)
		}
	}
}

// cancelAt is an io.Writer that cancels a context once what it is written
// holds at, as Ctrl-C at that moment of the demo.
type cancelAt struct {
	strings.Builder
	at     string
	cancel context.CancelFunc
}

func (w *cancelAt) Write(p []byte) (int, error) {
	n, err := w.Builder.Write(p)
	if strings.Contains(w.String(), w.at) {
		w.cancel()
	}
	return n, err
}

// TestDemoStoppedDuringTheIdleStepSaysNoGrantEnded: Ctrl-C while step 3
// waits (an hour's wait with --ttl 30m) printed "(the provider now ends the
// grant, as when a user disconnects the app)" on the way out, of a wait
// that never came to an end, and ended the grant.
func TestDemoStoppedDuringTheIdleStepSaysNoGrantEnded(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &cancelAt{at: "3. Nobody calls the API", cancel: cancel}
	err := demo(ctx, &demoOptions{f: testFactory(), Calls: 1, TTL: 30 * time.Minute}, out)
	if !errors.Is(err, context.Canceled) || strings.Contains(out.String(), "ends the grant") {
		t.Errorf("demo stopped in step 3: %v\n%s\nwant it stopped, saying nothing of the grant ended", err, out)
	}
}

// TestDemoOfOneCallSaysOnce: `demo --calls 1` said it would call the API
// "1 times, 1s apart"; it says once. And that call, made after the
// provider revoked the log-in's access token, shows its renewal: it
// showed "token …", the renewed one, as if no renewal had been made,
// while the summary counted one.
func TestDemoOfOneCallSaysOnce(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &cancelAt{at: "3. Nobody calls the API", cancel: cancel}
	demo(ctx, &demoOptions{f: testFactory(), Calls: 1, Interval: time.Second, TTL: 30 * time.Minute}, out)
	if said := out.String(); !strings.Contains(said, "\n2. Call GET /v2/company once\n") {
		t.Errorf("demo --calls 1 said:\n%s\nwant it to say it calls the API once", said)
	}
	if said := out.String(); !strings.Contains(said, "\n   call  1: 200  <- renewed (#1), new token ") {
		t.Errorf("demo --calls 1 said:\n%s\nwant its call to show the renewal after the 401", said)
	}
}
