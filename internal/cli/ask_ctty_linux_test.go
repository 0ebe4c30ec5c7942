package cli_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// runLogged runs the freshtoken binary with args in a session of its own,
// reading s's terminal and writing its errors to the file log (`2>>log`),
// and returns where its exit code will be sent. The session's terminal is
// session's: s's own, as a shell's commands have it, or another (a program
// driving freshtoken through a pseudo-terminal of its own); nil, the
// session has none (setsid, a service), though stdin is a terminal.
func (s *screen) runLogged(t *testing.T, session *screen, log string, args ...string) <-chan int {
	t.Helper()
	errFile, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	cmd := exec.Command("freshtoken", args...)
	cmd.Stdin, cmd.Stderr = s.tty, errFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if session != nil {
		cmd.ExtraFiles = []*os.File{session.tty} // descriptor 3
		cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, 3
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	done := make(chan int, 1)
	go func() {
		err := cmd.Wait()
		var exit *exec.ExitError
		switch {
		case err == nil:
			done <- 0
		case errors.As(err, &exit):
			done <- exit.ExitCode()
		default:
			done <- -1
		}
	}()
	return done
}

// TestQuestionsAskedAtTheTerminalWhenErrorsGoToALog: with stdin a terminal
// and stderr a file (`freshtoken remove -e dev 2>>log`, `init 2>log`), each
// command that asks something asks it at the session's terminal (/dev/tty),
// as ssh and sudo do, and the log gets no question: the question went to the
// file and the command waited at the terminal, unseen. A secret is read
// there with echo off; what the command did is still told on stderr.
func TestQuestionsAskedAtTheTerminalWhenErrorsGoToALog(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, e *devEnv)
		args  []string
		play  func(t *testing.T, s *screen)
		code  int
		// asked is what the log must not hold; told, what it must
		asked, told string
	}{
		{
			name: "remove", args: []string{"remove", "-e", "dev"},
			play:  func(t *testing.T, s *screen) { s.answer(t, "delete its stored tokens? [y/N] ", "y") },
			asked: "[y/N]", told: "Removed dev from",
		},
		{
			name: "init, the client secret", args: []string{"init", "-e", "later", "--provider", "freeagent", "--client-id", "dev-client-id"},
			play: func(t *testing.T, s *screen) {
				s.answer(t, "Choose 1-3 [1]: ", "3")
				s.typeSecret(t, "later-client-secret")
				s.answer(t, "Log in to later now? [Y/n]: ", "n")
			},
			asked: "Client secret", told: "When you are ready, run",
		},
		{
			name: "init --default, which",
			setup: func(t *testing.T, e *devEnv) {
				e.configureAs(t, "other", "dev-client-id", config.EnvSettings{ClientSecret: "dev-client-secret"})
			},
			args:  []string{"init", "--default"},
			play:  func(t *testing.T, s *screen) { s.answer(t, "Choose 1-2 [", "other") },
			asked: "Which environment", told: "other is now the default",
		},
		{
			name: "login --manual", args: []string{"login", "--manual"},
			play: func(t *testing.T, s *screen) {
				s.expect(t, "press Enter:")
				if _, err := s.ptmx.Write([]byte{4}); err != nil { // Ctrl-D
					t.Fatal(err)
				}
			},
			code: cli.ExitUsage, asked: "Open this URL", told: "nothing was pasted",
		},
		{
			name: "login over another configuration's tokens",
			setup: func(t *testing.T, e *devEnv) {
				e.configureAs(t, "dev", "another-client", config.EnvSettings{ClientSecret: "dev-client-secret"})
			},
			args:  []string{"login"},
			play:  func(t *testing.T, s *screen) { s.answer(t, "Log in and replace them? [y/N] ", "") },
			asked: "[y/N]", told: "Nothing was sent and nothing changed",
		},
		{
			name: "post -d @-", args: []string{"post", "/v2/contacts", "-d", "@-"},
			play: func(t *testing.T, s *screen) {
				s.expect(t, "then Ctrl-D on a line of its own.")
				if _, err := s.ptmx.Write([]byte(`{"contact":{"organisation_name":"Typed Ltd"}}` + "\n\x04")); err != nil {
					t.Fatal(err)
				}
			},
			asked: "Type the request body", told: "",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			s := newScreen(t)
			log := filepath.Join(e.dir, "log")
			done := s.runLogged(t, s, log, append([]string{"--config", e.config}, tt.args...)...)
			tt.play(t, s)
			code := testenv.Receive(t, "the command to finish", done)
			b, _ := os.ReadFile(log)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nlog:\n%s\nterminal:\n%s", code, tt.code, b, s)
			}
			if strings.Contains(string(b), tt.asked) || !strings.Contains(string(b), tt.told) {
				t.Errorf("the log holds:\n%s\nwant no %q, and %q", b, tt.asked, tt.told)
			}
			s.leftClean(t, "later-client-secret")
			if strings.Contains(string(b), "later-client-secret") {
				t.Errorf("the log holds the client secret:\n%s", b)
			}
		})
	}
}

// TestQuestionsAskedOnStderrWithoutATerminalOfTheSession: a process whose
// stdin is a terminal but not its session's asks on stderr, as before:
// where the session has none (started by setsid, a service), and where it
// has another (a program driving freshtoken through a pseudo-terminal of
// its own, as a test harness run from a shell does). Asked at the
// session's terminal, the question went to the person at the shell, whose
// typing it read, and the program waited for it for ever.
func TestQuestionsAskedOnStderrWithoutATerminalOfTheSession(t *testing.T) {
	for _, tt := range []struct {
		name  string
		other bool // the session has a terminal, not stdin's
	}{{"no terminal", false}, {"another terminal", true}} {
		t.Run(tt.name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			s := newScreen(t)
			var session *screen
			if tt.other {
				session = newScreen(t)
			}
			log := filepath.Join(e.dir, "log")
			done := s.runLogged(t, session, log, "--config", e.config, "remove", "-e", "dev")
			testenv.WaitFor(t, "the question in the log", func() bool {
				b, _ := os.ReadFile(log)
				return strings.HasSuffix(string(b), "delete its stored tokens? [y/N] ")
			})
			if _, err := s.ptmx.Write([]byte("y\n")); err != nil {
				t.Fatal(err)
			}
			if code := testenv.Receive(t, "remove to finish", done); code != 0 {
				b, _ := os.ReadFile(log)
				t.Fatalf("exit %d\n%s", code, b)
			}
			if conf, _ := os.ReadFile(e.config); strings.Contains(string(conf), "[env.dev]") {
				t.Errorf("dev was not removed:\n%s", conf)
			}
			if tt.other && session.String() != "" {
				t.Errorf("the session's terminal showed:\n%s", session)
			}
		})
	}
}

// TestWhereToLogInShownAtTheTerminalWhenErrorsGoToALog: `freshtoken login
// 2>log` where no browser opens: "Could not open a browser… Open this URL"
// went only into the log, and the person waited at the terminal with
// nothing on it. It is shown at the session's terminal too, and stays in
// the log, where a script reads the URL from stderr. And where the log
// refuses the lines (a full disk, here /dev/full), the terminal's copy,
// written only once the log's had been, was not shown either, and the
// person waited out the log-in's 5 minutes: each is written whatever the
// other does.
func TestWhereToLogInShownAtTheTerminalWhenErrorsGoToALog(t *testing.T) {
	t.Setenv("BROWSER", "false")
	for _, full := range []bool{false, true} {
		t.Run(map[bool]string{false: "a log", true: "a log on a full disk"}[full], func(t *testing.T) {
			e := newDevEnv(t)
			e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: freeRedirectURI(t)})
			s := newScreen(t)
			log := filepath.Join(e.dir, "log")
			if full {
				log = "/dev/full"
			}
			done := s.runLogged(t, s, log, "--config", e.config, "login")
			s.expect(t, "Could not open a browser")
			s.expect(t, "Open this URL in a browser on this computer and approve access to dev")
			var authURL string
			testenv.WaitFor(t, "the URL at the terminal", func() bool {
				authURL = regexp.MustCompile(`(?m)^http\S+`).FindString(s.String())
				return authURL != ""
			})
			if err := testenv.Visit(authURL); err != nil {
				t.Fatal(err)
			}
			if code := testenv.Receive(t, "login to finish", done); code != 0 {
				t.Fatalf("exit %d\nterminal:\n%s", code, s)
			}
			if full {
				return // /dev/full reads as zeros, for ever
			}
			if b, _ := os.ReadFile(log); !strings.Contains(string(b), "Could not open a browser") || !strings.Contains(string(b), authURL) {
				t.Errorf("the log holds:\n%s\nwant the instruction and the URL there too, for scripts", b)
			}
		})
	}
}

// TestDeviceCodeShownAtTheTerminalWhenErrorsGoToALog: `freshtoken login
// 2>log` for an environment with grant = "device_code": the page to open
// and the code to enter went only into the log, and the person waited at
// the terminal with nothing on it until the code expired. They are shown
// at the session's terminal too, and stay in the log, where a script
// reads them.
func TestDeviceCodeShownAtTheTerminalWhenErrorsGoToALog(t *testing.T) {
	e := newDevEnvWith(t, devprovider.Options{DeviceInterval: time.Second})
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", Grant: "device_code", DeviceAuthURL: e.api + "v2/device_authorization"})
	s := newScreen(t)
	log := filepath.Join(e.dir, "log")
	done := s.runLogged(t, s, log, "--config", e.config, "login", "--no-browser")
	s.expect(t, "To log in to dev, open this page on any device and enter the code ")
	var code string
	testenv.WaitFor(t, "the code at the terminal", func() bool {
		m := regexp.MustCompile(`enter the code ([A-Z]{4}-[A-Z]{4}):`).FindStringSubmatch(s.String())
		if m != nil {
			code = m[1]
		}
		return m != nil
	})
	if err := e.provider.DecideDevice(code, true); err != nil {
		t.Fatal(err)
	}
	if exit := testenv.Receive(t, "login to finish", done); exit != 0 {
		b, _ := os.ReadFile(log)
		t.Fatalf("exit %d\nlog:\n%s\nterminal:\n%s", exit, b, s)
	}
	if b, _ := os.ReadFile(log); !strings.Contains(string(b), "enter the code "+code) {
		t.Errorf("the log holds:\n%s\nwant the code there too, for scripts", b)
	}
}
