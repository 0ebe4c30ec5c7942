//go:build unix

package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestTwoConfigurationsNamingOneTokenFileByTwoPaths: a configuration
// naming through a symbolic link to its folder the token file another
// configuration's keeper keeps (a dotfile manager's link, macOS's /tmp for
// /private/tmp) is told whose it is and leaves it, as one naming it by the
// same path is (TestTwoConfigurationsNamingOneTokenFile).
func TestTwoConfigurationsNamingOneTokenFileByTwoPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	state := "XDG_STATE_HOME=" + t.TempDir() // one ledger, as for one user
	a := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, fmt.Sprintf("token_file = %q", filepath.Join(dir, "token")))
	b := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, fmt.Sprintf("token_file = %q", filepath.Join(link, "token")))
	a.env = append(a.env, state)
	b.env = append(b.env, state)
	a.login()
	b.login()
	stopA := a.startDaemon("proxy", "--no-listen")
	defer stopA()
	var kept []byte
	testenv.WaitFor(t, "a's keeper to write the token file", func() bool {
		var err error
		kept, err = os.ReadFile(filepath.Join(dir, "token"))
		return err == nil
	})
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	pb := b.watch("proxy", "--listen", addr)
	pb.waitSaid(t, "keeps there")
	pb.cmd.Process.Signal(syscall.SIGTERM)
	pb.wait()
	if got, err := os.ReadFile(filepath.Join(dir, "token")); err != nil || string(got) != string(kept) {
		t.Fatalf("after b's keeper the token file holds %q, %v; want a's token left", got, err)
	}
	if r := b.mustRun("status"); !strings.Contains(r.stdout, "keeps there") {
		t.Errorf("b's status said:\n%s\nwant that its token_file holds a's token", r.stdout)
	}
}
