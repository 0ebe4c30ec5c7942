package cli_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/shellquote"
)

// TestRemoveSaysTheClientSecretStaysInTheKeychain: `remove` of an
// environment whose client secret is in the keychain leaves it there (other
// configurations of the client may read it), and says so, naming where it
// is: it said only that the environment and its tokens went, and the client
// secret stayed in the keychain unknown to the user.
func TestRemoveSaysTheClientSecretStaysInTheKeychain(t *testing.T) {
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecretKeyring: true})
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "remove", "-e", "dev", "--yes"); code != 0 {
		t.Fatalf("remove: exit %d\n%s%s", code, stdout, stderr)
	}
	said := stderr.String()
	if !strings.Contains(said, `client_secret:dev-client-id at `) || !strings.Contains(said, "stays in the system keychain") {
		t.Fatalf("remove said:\n%s\nwant where the client secret it left in the keychain is", said)
	}
	if strings.Count(strings.TrimSpace(said), "\n") != 1 {
		t.Fatalf("remove said:\n%s\nwant two lines: what was removed, and the client secret left", said)
	}
}

// TestRemoveOfTheDefaultSaysDefaultEnvWentWithIt: `remove` of the
// environment default_env names takes that line out too, and said nothing
// of it, so the next command without -e failed asking which environment;
// it now says default_env is removed and the command that sets another
// (which, run, sets it), or which environment commands without -e use when
// one is left.
func TestRemoveOfTheDefaultSaysDefaultEnvWentWithIt(t *testing.T) {
	e := newDevEnv(t)
	for _, name := range []string{"dev", "staging", "test", "demo"} { // dev, the first, is the default
		e.configureAs(t, name, "dev-client-id", config.EnvSettings{ClientSecret: "s"})
	}
	remove := func(name string) string {
		t.Helper()
		ios, stdout, stderr := testStreams(false, false)
		if code := e.run(ios, "remove", "-e", name, "--yes"); code != 0 {
			t.Fatalf("remove -e %s: exit %d\n%s%s", name, code, stdout, stderr)
		}
		return stderr.String()
	}
	if said := remove("demo"); strings.Contains(said, "default") {
		t.Fatalf("remove of demo, not the default, said:\n%s", said)
	}
	want := "dev was the default environment; default_env is removed, so commands without -e need -e NAME or $FRESHTOKEN_ENV: to set another, run freshtoken --config " + shellquote.Word(e.config) + " init -e NAME --default (configured: staging, test)."
	if said := remove("dev"); !strings.Contains(said, want) {
		t.Fatalf("remove of the default said:\n%s\nwant:\n%s", said, want)
	}
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "init", "-e", "test", "--default"); code != 0 {
		t.Fatalf("the command remove said to run: exit %d\n%s%s", code, stdout, stderr)
	}
	if conf, err := config.Load(e.config); err != nil {
		t.Fatalf("after the command remove said to run: %v", err)
	} else if conf.DefaultEnv != "test" {
		t.Fatalf("after the command remove said to run, default_env is %q", conf.DefaultEnv)
	}
	want = "test was the default environment; default_env is removed, and commands without -e now use staging, the only one left."
	if said := remove("test"); !strings.Contains(said, want) {
		t.Fatalf("remove of the default said:\n%s\nwant:\n%s", said, want)
	}
}

// TestRemoveOfAnEnvironmentWithAMistake: `remove -e dev` of an environment
// whose settings have a mistake (a setting of the wrong kind, a token_file
// that is a folder, an api_url that is no URL, an unknown provider) takes
// it out of the configuration, exit 0: it was refused with the mistake,
// exit 2, like every other command, so the one command that gets rid of a
// broken environment could not. Its stored tokens are deleted when the
// settings that say whose they are were read; otherwise they are kept,
// and it says why and what to do. Every other command still refuses the
// configuration, and so does remove of another environment while dev's
// mistake stays.
func TestRemoveOfAnEnvironmentWithAMistake(t *testing.T) {
	folder := t.TempDir()
	for _, tc := range []struct {
		name    string
		mistake func(t *testing.T, e *devEnv, conf string) string
		says    string
		kept    bool
	}{
		{"a setting of the wrong kind", func(_ *testing.T, _ *devEnv, conf string) string { return conf + "refresh_before = \"soon\"\n" },
			"its tokens were deleted from ", false},
		{"a token_file that is a folder", func(_ *testing.T, _ *devEnv, conf string) string {
			return conf + fmt.Sprintf("token_file = %q\n", folder)
		},
			"its tokens were deleted from .*\nIts token_file was left alone, as its setting was refused.\n$", false},
		{"a setting of the wrong kind, another client's tokens stored", func(t *testing.T, e *devEnv, conf string) string {
			rec := e.record(t, "dev")
			rec.Grant.ClientID = "another-client"
			e.save(t, "dev", rec)
			return conf + "refresh_before = \"soon\"\n"
		}, `the tokens in .*dev\.json belong to another client and were kept\.`, true},
		{"an api_url that is no URL", func(_ *testing.T, e *devEnv, conf string) string {
			return inDev(conf, fmt.Sprintf("api_url = %q", e.api), `api_url = "ftp://x/"`)
		}, `its tokens in .*dev\.json were kept: its api_url, which says whose they are, has a mistake, so they cannot be told from another configuration's dev; if no other configuration uses dev, delete them there\.\n`, true},
		{"an unknown provider", func(_ *testing.T, _ *devEnv, conf string) string {
			return inDev(conf, `provider = "freeagent"`, `provider = "freeagnet"`)
		}, `its tokens in .* were kept: its provider, which says whose they are, has a mistake, so`, true},
		// The mistake Load names first is in a setting that says nothing
		// of whose the tokens are: the line quoted it as why they were kept.
		{"a revocation_url of the wrong kind, and an api_url that is no URL", func(_ *testing.T, e *devEnv, conf string) string {
			return inDev(conf, fmt.Sprintf("api_url = %q", e.api), "revocation_url = [\"x\"]\napi_url = \"ftp://x/\"")
		}, `its tokens in .*dev\.json were kept: its api_url, which says whose they are, has a mistake, so they cannot be told from another configuration's dev; if no other configuration uses dev, delete them there\.\n`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnv(t)
			e.configureAs(t, "other", "dev-client-id", config.EnvSettings{ClientSecret: "s"})
			e.login(t) // dev, the last table
			conf, err := os.ReadFile(e.config)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(e.config, []byte(tc.mistake(t, e, string(conf))), 0o600); err != nil {
				t.Fatal(err)
			}
			record := filepath.Join(e.dir, "state", "dev.json")
			run := func(args ...string) (int, string) {
				ios, _, stderr := testStreams(false, false)
				return e.run(ios, args...), stderr.String()
			}
			for _, args := range [][]string{{"-e", "dev", "token"}, {"-e", "other", "status"}, {"-e", "other", "remove", "--yes"}} {
				kept := e.configKept(t)
				if code, said := run(args...); code != 2 || !strings.Contains(said, "env.dev.") {
					t.Errorf("%s: exit %d, %q; want 2, the mistake in dev", args, code, said)
				}
				kept("a command refused the configuration")
			}

			code, said := run("-e", "dev", "remove", "--yes")
			if code != 0 || !regexp.MustCompile(`^Removed dev from .*config\.toml; `+tc.says).MatchString(said) {
				t.Fatalf("remove: exit %d, said:\n%s\nwant 0, saying %s", code, said, tc.says)
			}
			left, err := config.Load(e.config)
			if err != nil || left.Envs["dev"] != nil || left.Envs["other"] == nil {
				t.Fatalf("after remove, the configuration holds %v (%v); want other alone", left, err)
			}
			if _, err := os.Stat(record); (err == nil) != tc.kept {
				t.Errorf("the record: %v; want it kept %t", err, tc.kept)
			}
			if _, err := os.Stat(folder); err != nil {
				t.Errorf("the folder named as token_file: %v", err)
			}
		})
	}
}

// inDev is conf with old replaced by new in its [env.dev] table.
func inDev(conf, old, new string) string {
	before, dev, _ := strings.Cut(conf, "[env.dev]")
	return before + "[env.dev]" + strings.Replace(dev, old, new, 1)
}

// TestRemoveOfAnEnvironmentWithAMistakeAsksTruly: before `remove -e dev`
// of an environment whose api_url has a mistake, the question on a
// terminal and the refusal without --yes elsewhere say that its stored
// tokens are kept, and why: they said that remove would delete them, and
// then it kept them (TestRemoveOfAnEnvironmentWithAMistake). With a
// mistake in a setting that does not say whose they are, they still say
// that it deletes them, as it does.
func TestRemoveOfAnEnvironmentWithAMistakeAsksTruly(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		asks, refuses  string
	}{
		{"an api_url that is no URL", "api_url = ", "api_url = \"ftp://x/\"\n# was ",
			`^Remove dev from .*config\.toml\? Its stored tokens are kept, as its api_url, which says whose they are, has a mistake\. \[y/N\] Nothing was removed\.\n$`,
			`^freshtoken: removing dev deletes its settings in .*config\.toml \(its stored tokens are kept, as its api_url, which says whose they are, has a mistake\); pass --yes to do it without being asked\n$`},
		{"a setting of the wrong kind", "client_id = ", "refresh_before = \"soon\"\nclient_id = ",
			`^Remove dev from .*config\.toml and delete its stored tokens\? \[y/N\] Nothing was removed\.\n$`,
			`^freshtoken: removing dev deletes its tokens and its settings in .*config\.toml; pass --yes to do it without being asked\n$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			conf, err := os.ReadFile(e.config)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(e.config, []byte(inDev(string(conf), tc.old, tc.new)), 0o600); err != nil {
				t.Fatal(err)
			}
			kept := e.configKept(t)
			for _, terminal := range []bool{true, false} {
				ios, _, stderr := testStreams(terminal, terminal)
				ios.In, ios.InTTY = strings.NewReader("n\n"), terminal
				code, want := e.run(ios, "-e", "dev", "remove"), tc.refuses
				if terminal {
					want = tc.asks
				}
				if !regexp.MustCompile(want).MatchString(stderr.String()) {
					t.Errorf("on a terminal %t: exit %d, said:\n%s\nwant:\n%s", terminal, code, stderr, want)
				}
			}
			kept("remove was not confirmed")
		})
	}
}

// TestRemoveOfAnEnvironmentWithAMistakeRemovesItsTokenFile: `remove -e
// dev` of an environment with a mistake that keeps its tokens (whose they
// are cannot be told) removes the token_file its keeper wrote for it, as
// the keeper's notes say, whatever the mistake. With an unknown provider,
// which leaves none of its settings read, the file was left, holding an
// access token, and said to be left "as its setting was refused", which it
// was not; with an api_url that is no URL it went.
func TestRemoveOfAnEnvironmentWithAMistakeRemovesItsTokenFile(t *testing.T) {
	for _, tc := range []struct{ name, old, new string }{
		{"an unknown provider", `provider = "freeagent"`, `provider = "freeagnet"`},
		{"an api_url that is no URL", "api_url = ", "api_url = \"ftp://x/\"\n# was "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XDG_STATE_HOME", t.TempDir()) // the ledger's folder
			e := newDevEnv(t)
			file := filepath.Join(e.dir, "dev-token")
			e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", TokenFile: file})
			e.loginOutside(t)
			keeperWrites(t, e, file)
			conf, err := os.ReadFile(e.config)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(e.config, []byte(inDev(string(conf), tc.old, tc.new)), 0o600); err != nil {
				t.Fatal(err)
			}
			ios, _, stderr := testStreams(false, false)
			if code := e.run(ios, "-e", "dev", "remove", "--yes"); code != 0 || !strings.Contains(stderr.String(), "were kept") {
				t.Fatalf("remove: exit %d, said:\n%s\nwant 0, its tokens kept", code, stderr)
			}
			if _, err := os.Lstat(file); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("remove left the token file its keeper wrote (%v), saying:\n%s", err, stderr)
			}
			if !strings.Contains(stderr.String(), "Its token file "+file+", which held an access token freshtoken wrote, was removed.\n") {
				t.Errorf("remove said:\n%s\nwant it to say the token file was removed", stderr)
			}
		})
	}
}

// TestRemoveOfAnEnvironmentWithAMistakeLeavesAnotherConfigurationsTokenFile:
// remove -e dev of a broken environment whose token_file is the one
// another configuration's keeper keeps for its own dev (same name, same
// path) leaves the file, holding that configuration's token, and says
// whose it is.
func TestRemoveOfAnEnvironmentWithAMistakeLeavesAnotherConfigurationsTokenFile(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the ledger's folder
	theirs, ours := newDevEnv(t), newDevEnv(t)
	file := filepath.Join(theirs.dir, "dev-token")
	for _, e := range []*devEnv{theirs, ours} {
		e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", TokenFile: file})
	}
	theirs.loginOutside(t)
	written := keeperWrites(t, theirs, file)
	conf, err := os.ReadFile(ours.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ours.config, []byte(inDev(string(conf), `provider = "freeagent"`, `provider = "freeagnet"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, stderr := testStreams(false, false)
	if code := ours.run(ios, "-e", "dev", "remove", "--yes"); code != 0 {
		t.Fatalf("remove: exit %d, said:\n%s", code, stderr)
	}
	if now, err := os.ReadFile(file); err != nil || string(now) != string(written) {
		t.Fatalf("remove took another configuration's token file (%v), saying:\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "keeps there") {
		t.Errorf("remove said:\n%s\nwant it to say whose token the file holds", stderr)
	}
}
