//go:build unix

package e2e_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestFileSizeLimitKeepsTheGrant: a job run under a file size limit too
// small for a record (`ulimit -f 0`, as a runner's limits may set) is
// refused before any renewal is sent, exit 2, saying to raise the limit,
// and the grant is kept. The refresh was sent, the rotated answer could
// never be written (EFBIG), and the command waited for the store for ever,
// SIGTERM included, until SIGKILL lost the refresh token.
func TestFileSizeLimitKeepsTheGrant(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	before := refreshToken(t, w)
	w.watchAfter("exec >/dev/null; ulimit -f 0", "token").waitExit(t, 0) // a token still fresh needs no write
	p := w.watchAfter("ulimit -f 0", "token", "--force")
	stderr := p.waitExit(t, 2)
	if !strings.Contains(stderr, "ulimit -f") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("stderr %q; want one line saying to raise the file size limit (ulimit -f)", stderr)
	}
	if s := w.provider.Stats(); s.Refreshes != 0 {
		t.Fatalf("provider stats %+v; want no renewal sent", s)
	}
	if !strings.Contains(string(w.storeBytes()), before) {
		t.Fatal("the stored refresh token changed")
	}
	w.mustRun("token", "--force") // the grant still works
	if s := w.provider.Stats(); s.ReuseDetected != 0 || s.GrantsRevoked != 0 || s.Refreshes != 1 {
		t.Fatalf("provider stats %+v; want one refresh and no reuse", s)
	}
}

// TestFileSizeLimitLetsLogOut: a log-out writes no tokens, so a file size
// limit too small for a record (`ulimit -f 0`) does not stop it: the tokens
// are forgotten, exit 0. It was refused, exit 2, saying the limit was too
// small "to store the tokens a renewal brings", and the tokens were kept.
func TestFileSizeLimitLetsLogOut(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	stderr := w.watchAfter("ulimit -f 0", "logout").waitExit(t, 0)
	if strings.Contains(stderr, "ulimit") {
		t.Fatalf("stderr %q; want no word of the file size limit", stderr)
	}
	if _, err := os.Stat(filepath.Join(w.store, "dev.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the tokens are still stored after the log-out: %v", err)
	}
}

// TestOutputPastTheFileSizeLimitSaysSo: an answer, or a log line, that
// would take its file past the file size limit (`ulimit -f`) is told as
// that limit, in bytes, with the command that raises it; it was the
// system's "file too large" alone, as if the file were at fault. The
// command the answer was cut short for exits 2; the one whose log went to
// stderr instead goes on, exit 0. SIGXFSZ, sent for each such write, kills
// neither.
func TestOutputPastTheFileSizeLimitSaysSo(t *testing.T) {
	t.Parallel()
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	stderr := w.watchAfter("ulimit -f 1", "get", "/v2/contacts").waitExit(t, 2)
	if !strings.Contains(stderr, "standard output could not take the answer: the file it goes to would be larger than this process's file size limit (ulimit -f) of 512 bytes (file too large)") ||
		!strings.Contains(stderr, "`ulimit -f unlimited`") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("stderr %q; want one line naming the file size limit and how to raise it", stderr)
	}
	log := filepath.Join(w.dir, "freshtoken.log")
	stderr = w.watchAfter("exec >/dev/null; ulimit -f 1", "--debug", "--log-file", log, "get", "/v2/contacts").waitExit(t, 0)
	if !strings.Contains(stderr, "freshtoken: --log-file "+log+": ") || !strings.Contains(stderr, "logging to stderr instead until it can be written again: it would be larger than this process's file size limit (ulimit -f) of 512 bytes") ||
		!strings.Contains(stderr, "`ulimit -f unlimited`") {
		t.Fatalf("stderr %.600q; want the log file's failure told as the file size limit, with how to raise it", stderr)
	}
}
