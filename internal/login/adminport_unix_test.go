//go:build unix

package login_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/login"
)

// TestRedirectURIOnAPortOnlyAnAdministratorMayOpen: a redirect URI without
// a port (http://127.0.0.1/callback, as providers' docs write localhost)
// is port 80, which only an administrator may listen on: login failed
// with net's words, exit 1 (a bug), saying nothing of what to do. It says
// to write a port of 1024 or more, a configuration mistake (exit 2). Run
// as root (CI), it runs again as the user nobody, for whom the kernel
// refuses the port as it does for a person.
func TestRedirectURIOnAPortOnlyAnAdministratorMayOpen(t *testing.T) {
	if os.Geteuid() == 0 {
		asNobody(t)
		return
	}
	ln, err := login.Listen("http://127.0.0.1/callback")
	if err == nil {
		ln.Close()
		t.Skip("this user may listen on port 80 (net.ipv4.ip_unprivileged_port_start is 80 or less)")
	}
	if errors.Is(err, login.ErrPortBusy) {
		t.Skip("port 80 is in use")
	}
	want := "redirect_uri http://127.0.0.1/callback is on port 80, which only an administrator may listen on; write a port of 1024 or more in redirect_uri, such as http://127.0.0.1:8787/callback, and register that with the provider"
	if !errors.Is(err, login.ErrPortRefused) || err.Error() != want {
		t.Fatalf("got %v; want %q", err, want)
	}
	if got := failure.Of(err).Row().Exit; got != 2 {
		t.Fatalf("exit %d; want 2, a configuration mistake", got)
	}
}

// asNobody runs t again in a copy of the test binary as the user nobody
// (65534), and fails t with the copy's output unless it passed there, or
// skips it as the copy skipped.
func asNobody(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // made 0700, for root alone
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	bin := filepath.Join(dir, "login.test")
	copied, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(copied, self); err != nil {
		t.Fatal(err)
	}
	if err := copied.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	switch {
	case err == nil && strings.Contains(string(out), "--- SKIP: "+t.Name()):
		// Port 80 in use, or open to every user on this system.
		t.Skipf("as the user nobody:\n%s", out)
	case err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()):
		t.Fatalf("as the user nobody: %v\n%s", err, out)
	}
}
