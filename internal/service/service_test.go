package service_test

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/service"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

func spec(t *testing.T) service.Spec {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return service.Spec{Executable: exe, Args: []string{"--config", "/home/me/My Config/config.toml", "proxy"}, Home: "/home/me"}
}

// TestSystemdUnitIsValid: the unit systemd would load passes
// systemd-analyze verify, runs this binary with the configuration named,
// restarts on failure and treats the exit after a signal as success.
func TestSystemdUnitIsValid(t *testing.T) {
	p, err := service.For("linux", spec(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.Path != "/home/me/.config/systemd/user/freshtoken.service" {
		t.Errorf("path %s", p.Path)
	}
	for _, want := range []string{`--config "/home/me/My Config/config.toml" proxy`, "Restart=on-failure", "SuccessExitStatus=129 130 143", "WantedBy=default.target"} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("unit lacks %q:\n%s", want, p.Text)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testenv.Missing(t, "systemd-analyze is missing (Debian package systemd)")
	}
	unit := filepath.Join(t.TempDir(), "freshtoken.service")
	if err := os.WriteFile(unit, []byte(p.Text), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s\n%s", err, out, p.Text)
	}
	broken := strings.Replace(p.Text, "ExecStart="+spec(t).Executable, "ExecStart=/nonexistent/freshtoken", 1)
	if err := os.WriteFile(unit, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(analyze, "verify", unit).Run(); err == nil {
		t.Fatal("systemd-analyze verify accepts a unit whose binary is missing; the check above proves nothing")
	}
}

// TestAgentAndTaskAreWellFormed: the launchd agent and the Task Scheduler
// task are well-formed XML naming this binary and its arguments.
func TestAgentAndTaskAreWellFormed(t *testing.T) {
	for _, goos := range []string{"darwin", "windows"} {
		p, err := service.For(goos, spec(t))
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(strings.NewReader(p.Text))
		d.Strict = true
		for {
			if _, err := d.Token(); err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("%s: %v\n%s", goos, err, p.Text)
				}
				break
			}
		}
		if !strings.Contains(p.Text, spec(t).Executable) || !strings.Contains(p.Text, "My Config/config.toml") {
			t.Errorf("%s: the file does not run this binary with its config:\n%s", goos, p.Text)
		}
		if len(p.Start) == 0 || len(p.Stop) == 0 || len(p.Status) == 0 {
			t.Errorf("%s: no commands to start, stop or check it", goos)
		}
	}
	if _, err := service.For("plan9", spec(t)); err == nil {
		t.Error("a service for plan9")
	}
}
