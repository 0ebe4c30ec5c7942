package cli_test

import (
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
)

// TestNotLoggedInSaysWhereItLooked: with no tokens stored, the one line
// says where they were looked for, so a CI job whose state folder was not
// restored (another $HOME, no $XDG_STATE_HOME) can be told from one that
// was never logged in; it said only "not logged in; run `freshtoken
// login`", which a runner cannot do.
func TestNotLoggedInSaysWhereItLooked(t *testing.T) {
	e := newDevEnv(t)
	e.configure(t)
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "token"); code != 3 {
		t.Fatalf("exit %d; want 3: %s", code, stderr)
	}
	want := "not logged in (no tokens in " + filepath.Join(e.dir, "state", "dev.json") + "); run `freshtoken"
	if !strings.Contains(stderr.String(), want) || strings.Count(stderr.String(), "\n") != 1 {
		t.Fatalf("stderr %q; want one line saying %q", stderr, want)
	}
}

// TestMissingConfigFileIsSaid: a --config naming no file (a mistyped path)
// is told as such by every command that needs an environment, as `token`
// tells it: status, proxy, service install and store migrate said "no
// environment is configured in PATH; run init", sending a person to make a
// new configuration at the mistyped path rather than fix the path.
func TestMissingConfigFileIsSaid(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "confg.toml")
	for _, args := range [][]string{
		{"token"},
		{"status"},
		{"proxy", "--no-listen"},
		{"service", "install", "--dry-run"},
		{"store", "migrate", "--to", fileURL(t.TempDir())},
	} {
		ios, _, stderr := testStreams(false, false)
		code := cli.Main(append([]string{"--config", missing}, args...), ios)
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		msg := lines[len(lines)-1] // service install notes first that a test binary is no freshtoken to install
		if code != 2 || !strings.HasPrefix(msg, "freshtoken: ") || !strings.Contains(msg, missing+" does not exist") || !strings.Contains(msg, "--config PATH") {
			t.Errorf("%s: exit %d, %q; want exit 2 and one line saying %s does not exist, and how to name another", strings.Join(args, " "), code, msg, missing)
		}
	}
}

// TestAFreeAgentEnvironmentWithoutASecretIsToldBeforeTheBrowser: FreeAgent
// refuses a client without its secret, and a newcomer's
// `init --provider freeagent --client-id ID` wrote one, which status showed
// as "a public client" and login sent through the browser, only for the
// code exchange to fail with 401. Now init refuses to write it, status
// tells of it (exit 2, client_secret_problem), and login stops before the
// browser (exit 2), each naming the flag that fixes it.
func TestAFreeAgentEnvironmentWithoutASecretIsToldBeforeTheBrowser(t *testing.T) {
	e := newDevEnv(t)
	configKept := e.configKept(t)
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "init", "-e", "dev", "--provider", "freeagent", "--api-url", e.api, "--client-id", "dev-client-id"); code != 2 ||
		!strings.Contains(stderr.String(), "--client-secret-env NAME") || !strings.Contains(stderr.String(), "nothing was written") {
		t.Fatalf("init without a secret: exit %d, stderr %q; want 2 naming --client-secret-env", code, stderr)
	}
	configKept("init refused")

	// Written by hand (or by an older freshtoken).
	e.configureWith(t, config.EnvSettings{})
	ios, stdout, _ := testStreams(false, false)
	code := e.run(ios, "status", "--json")
	var all []struct {
		ClientSecretIn      string `json:"client_secret_in"`
		ClientSecretProblem string `json:"client_secret_problem"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &all); err != nil || code != 2 || len(all) != 1 ||
		all[0].ClientSecretIn != "none" || !strings.Contains(all[0].ClientSecretProblem, "--client-secret-env NAME") {
		t.Fatalf("status --json: exit %d (%v), stdout %s; want 2 and a client_secret_problem naming --client-secret-env", code, err, stdout)
	}

	opened := false
	var errOut strings.Builder
	root := cli.NewRootCmd(&cli.Factory{
		IO:          &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut},
		OpenBrowser: func(string) error { opened = true; return nil },
	})
	root.SetArgs([]string{"--config", e.config, "login", "-e", "dev"})
	err := root.ExecuteContext(t.Context())
	if !errors.Is(err, config.ErrInvalid) || opened || !strings.Contains(err.Error(), "--client-secret-env NAME") {
		t.Fatalf("login: %v (browser opened: %v); want a configuration error before the browser", err, opened)
	}

	// A public client says so (client_auth = "none"), and is one.
	e.configureWith(t, config.EnvSettings{ClientAuth: "none"})
	e.wantStatus(t, "of a public client", 0, "client secret:  none (a public client)")
}

// TestJSONLogLastWordIsJSON: with --log-format json and the log on stderr,
// every line of stderr is a JSON line, the command's last word (an error,
// with its exit code) included; it was a "freshtoken: …" sentence, on which
// `2> >(jq …)` stopped exactly when the log mattered. A warning (a token
// shorter-lived than --min-valid) is a JSON line too, at level WARN. With --log-file the
// log is in the file and the last word on stderr stays a sentence. Usage
// errors (an unknown flag or command, wrong arguments), which come before
// the log is set up, are JSON lines too, with exit 2; they were sentences.
func TestJSONLogLastWordIsJSON(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	for _, tc := range []struct {
		name string
		args []string
		exit int
		says string
	}{
		{"unknown env", []string{"-e", "nope", "token"}, 2, `environment "nope" is not configured`},
		{"API error", []string{"--debug", "get", "/v2/nothing"}, 4, "404"},
		{"exec of no such command", []string{"exec", "--", "freshtoken-no-such-command"}, 127, "no such command"},
		{"a warning", []string{"token", "--min-valid", "2h"}, 0, "less than --min-valid"},
		// Usage errors, which come before the log is set up: they were
		// sentences, whether --log-format came before the mistake or after.
		{"unknown flag", []string{"token", "--bogus"}, 2, "unknown flag: --bogus"},
		{"unknown flag, the format after it", []string{"token", "--bogus"}, 2, "unknown flag: --bogus"},
		{"wrong arguments", []string{"status", "extra"}, 2, "freshtoken status takes no arguments"},
		{"unknown command", []string{"tokn"}, 2, `unknown command "tokn"`},
		{"a flag's bad value", []string{"token", "--min-valid", "soon"}, 2, "--min-valid takes a length of time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, stderr := testStreams(false, false)
			args := append([]string{"--log-format", "json"}, tc.args...)
			if strings.Contains(tc.name, "after it") {
				args = append(tc.args, "--log-format", "json")
			}
			code := e.run(ios, args...)
			if code != tc.exit {
				t.Fatalf("exit %d; want %d: %s", code, tc.exit, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			for _, l := range lines {
				if !json.Valid([]byte(l)) {
					t.Fatalf("stderr line %q is not JSON; all of stderr:\n%s", l, stderr)
				}
			}
			var last struct {
				Level string `json:"level"`
				Msg   string `json:"msg"`
				Exit  int    `json:"exit"`
			}
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
				t.Fatal(err)
			}
			level := "ERROR"
			if tc.exit == 0 {
				level = "WARN"
			}
			if last.Level != level || last.Exit != tc.exit || !strings.Contains(last.Msg, tc.says) || strings.HasPrefix(last.Msg, "freshtoken:") {
				t.Fatalf("the last line is %+v; want level %s, exit %d and a message saying %q", last, level, tc.exit, tc.says)
			}
		})
	}
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "--log-format", "json", "--log-file", e.dir+"/log.json", "-e", "nope", "token"); code != 2 {
		t.Fatalf("exit %d; want 2: %s", code, stderr)
	}
	if !strings.HasPrefix(stderr.String(), "freshtoken: environment \"nope\"") {
		t.Fatalf("with --log-file, stderr is %q; want the sentence", stderr)
	}
	// A usage error too, wherever --log-file stands; and in text, a sentence.
	for _, args := range [][]string{
		{"--log-format", "json", "--log-file", e.dir + "/log.json", "token", "--bogus"},
		{"--log-format", "json", "token", "--bogus", "--log-file", e.dir + "/log.json"},
		{"token", "--bogus"},
		{"--log-format", "text", "token", "--bogus"},
	} {
		ios, _, stderr := testStreams(false, false)
		if code := e.run(ios, args...); code != 2 {
			t.Fatalf("%q: exit %d; want 2: %s", args, code, stderr)
		}
		if want := "freshtoken: unknown flag: --bogus; see `"; !strings.HasPrefix(stderr.String(), want) {
			t.Fatalf("%q: stderr is %q; want the sentence %q…", args, stderr, want)
		}
	}
}

// TestALongLastLineKeepsTheCommandToRun: a failed command's one line names
// paths, then the command to run; paths as long as a system allows (a
// deep project folder, a CI runner's long $TMPDIR) made it longer than its
// bound, which cut the end, and with it the command. The middle goes now,
// and only past a bound room enough for such paths.
func TestALongLastLineKeepsTheCommandToRun(t *testing.T) {
	dir := t.TempDir()
	for range 6 {
		dir = filepath.Join(dir, strings.Repeat("d", 200))
	}
	conf := filepath.Join(dir, "c.toml")
	ios, _, stderr := testStreams(false, false)
	if code := cli.Main([]string{"--config", conf, "token", "-e", "dev"}, ios); code != 2 {
		t.Fatalf("exit %d; want 2: %s", code, stderr)
	}
	if want := "`freshtoken --config " + conf + " init -e dev` to create it"; !strings.Contains(stderr.String(), want) || strings.Count(stderr.String(), "\n") != 1 {
		t.Fatalf("stderr %q; want one line with the whole command to run, %q", stderr, want)
	}
}
