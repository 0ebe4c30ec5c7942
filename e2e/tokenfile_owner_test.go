//go:build unix

package e2e_test

import (
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestTwoConfigurationsNamingOneTokenFile: two configurations (each with
// a store of its own) whose environments name one token_file. `logout`
// or `remove` in one deleted the file the other's keeper kept, and two
// keepers wrote their own token over each other's at every look. The
// token file's note now says which configuration's environment wrote it:
// the second keeper leaves the file to the first, and warns once, naming
// both, to give each its own token_file; a log-out or a remove of the
// other configuration leaves it, and says whose it is; one of its own
// configuration removes it.
func TestTwoConfigurationsNamingOneTokenFile(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "token")
	state := "XDG_STATE_HOME=" + t.TempDir() // one ledger, as for one user
	extra := fmt.Sprintf("token_file = %q", tokenFile)
	a := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, extra)
	b := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, extra)
	a.env = append(a.env, state)
	b.env = append(b.env, state)
	a.login()
	b.login()
	stopA := a.startDaemon("proxy", "--no-listen")
	var kept []byte
	testenv.WaitFor(t, "a's keeper to write the token file", func() bool {
		var err error
		kept, err = os.ReadFile(tokenFile)
		return err == nil
	})
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	pb := b.watch("proxy", "--listen", addr)
	pb.waitSaid(t, "keeps there")
	_, body := followed(t, "http://"+addr+"/") // b's page tells it, as b's status does (below)
	page := html.UnescapeString(string(body))
	if !strings.Contains(page, `id="token-file-dev"`) || !strings.Contains(page, "environment dev of "+a.config+" keeps there") {
		t.Errorf("b's proxy's status page:\n%s\nwant that its token_file holds a's token", page)
	}
	pb.cmd.Process.Signal(syscall.SIGTERM)
	_, said := pb.wait()
	if !strings.Contains(said, "environment dev of "+a.config) || !strings.Contains(said, "config="+b.config) || !strings.Contains(said, "token_file of its own") {
		t.Errorf("b's keeper said:\n%s\nwant a warning naming a's configuration and its own, saying to give each its own token_file", said)
	}
	if got, err := os.ReadFile(tokenFile); err != nil || string(got) != string(kept) {
		t.Fatalf("after b's keeper the token file holds %q, %v; want a's token left", got, err)
	}
	for _, args := range [][]string{{"status"}, {"status", "--json"}} { // b's status tells it, a's nothing
		told := "holds the token that environment dev of " + a.config + " keeps there, so this environment's is not written there; give each environment a token_file of its own"
		if r := b.mustRun(args...); !strings.Contains(r.stdout, told) {
			t.Errorf("b's %s said:\n%s\nwant that its token_file holds a's token", strings.Join(args, " "), r.stdout)
		}
		if r := a.mustRun(args...); strings.Contains(r.stdout, "keeps there") {
			t.Errorf("a's %s said:\n%s\nwant nothing of the token file its keeper keeps", strings.Join(args, " "), r.stdout)
		}
	}
	for _, forget := range [][]string{{"logout", "--local"}, {"remove", "-e", "dev", "--yes"}} {
		r := b.mustRun(forget...)
		if !strings.Contains(r.stderr, "it holds the token that environment dev of "+a.config+" keeps there") {
			t.Errorf("b's %s said %q; want it to say whose the token file is", forget[0], r.stderr)
		}
		if got, err := os.ReadFile(tokenFile); err != nil || string(got) != string(kept) {
			t.Fatalf("b's %s left the token file holding %q, %v; want a's token left", forget[0], got, err)
		}
	}
	stopA()
	a.mustRun("logout", "--local")
	if _, err := os.Stat(tokenFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a's logout left its token file (%v)", err)
	}
}
