package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

func testFactory() *Factory {
	return &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}}
}

// TestLogFileFollowsItsPath: the --log-file of a long-running proxy, moved
// away (logrotate, without copytruncate) or removed, goes on at its path,
// a new file 0600: the log went on into the moved file, or into a removed
// one nobody could read and whose space was never freed.
func TestLogFileFollowsItsPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "proxy.log")
	f := testFactory()
	f.LogFile = path
	if err := f.setupLogging(); err != nil {
		t.Fatal(err)
	}
	defer f.close()
	read := func(p string) string {
		b, _ := os.ReadFile(p)
		return string(b)
	}
	f.Logger().Warn("first")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	f.Logger().Warn("second")
	if rotated, now := read(path+".1"), read(path); !strings.Contains(rotated, "first") || strings.Contains(rotated, "second") || !strings.Contains(now, "second") {
		t.Errorf("after the move, the moved file holds %q and the path %q", rotated, now)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	f.Logger().Warn("third")
	if now := read(path); !strings.Contains(now, "third") || strings.Contains(now, "second") {
		t.Errorf("after the removal, the path holds %q", now)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the new log file: %v, %v", fi.Mode(), err)
	}
	if said := f.IO.ErrOut.(*bytes.Buffer).String(); said != "" {
		t.Errorf("stderr: %q", said)
	}
}

// TestLogFileOthersCouldWriteIsRefused: an existing --log-file that group
// or others may write, or that another user owns, is refused, exit 2, in
// one line saying what to run, and nothing is written to it: freshtoken
// appended to it without a word, and whoever could write it could add
// lines of their own that read as freshtoken's. One only readable by
// others is written to.
func TestLogFileOthersCouldWriteIsRefused(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open.log")
	theirs := filepath.Join(dir, "theirs.log")
	readable := filepath.Join(dir, "readable.log")
	for p, mode := range map[string]os.FileMode{open: 0o666, theirs: 0o600, readable: 0o644} {
		if err := errors.Join(os.WriteFile(p, []byte("before\n"), 0o600), os.Chmod(p, mode)); err != nil {
			t.Fatal(err)
		}
	}
	refused := map[string]struct{ path, want string }{
		"writable by others": {open, "--log-file " + open + " is writable by group or others (mode 0666), who could write lines of their own into it; run `chmod go-w " + open + "`"},
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(theirs, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		refused["another user's"] = struct{ path, want string }{theirs, fmt.Sprintf("--log-file %s belongs to uid 65534, not to you (uid 0), who could read it and write lines of their own into it; name a file of your own, or have it given to you with `sudo chown 0 %s`", theirs, theirs)}
	} else {
		t.Run("another user's", func(t *testing.T) { testenv.NeedRoot(t, "giving a file to another user") })
	}
	for name, c := range refused {
		t.Run(name, func(t *testing.T) {
			f := testFactory()
			f.LogFile = c.path
			err := f.setupLogging()
			if err == nil || err.Error() != c.want || ExitCode(err) != ExitUsage {
				f.close()
				t.Fatalf("err = %v (exit %d); want %q, exit %d", err, ExitCode(err), c.want, ExitUsage)
			}
			if b, _ := os.ReadFile(c.path); string(b) != "before\n" {
				t.Errorf("the log file now holds %q", b)
			}
		})
	}
	f := testFactory()
	f.LogFile = readable
	if err := f.setupLogging(); err != nil {
		t.Fatalf("a log file only readable by others: %v", err)
	}
	f.Logger().Warn("appended")
	f.close()
	if b, _ := os.ReadFile(readable); !strings.Contains(string(b), "appended") {
		t.Errorf("the log file holds %q", b)
	}
}

// TestSourcesKeptOnePerEnvironment: a long-running proxy's keeper opens
// each environment again at every look (once a minute), and the Factory
// keeps the Sources it opened to tell whether store migrate moved their
// tokens. It kept every one: a proxy's memory grew by a Source per
// environment a minute for as long as it ran. The last of each will do.
// The proxy's handlers and its keeper open at once (a data race under
// -race).
func TestSourcesKeptOnePerEnvironment(t *testing.T) {
	f, _, _ := factoryOfAAndB(t)
	var wg sync.WaitGroup
	for _, env := range []string{"a", "b"} {
		wg.Go(func() {
			for range 100 {
				if _, err := f.Source(context.Background(), env); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(f.opened); n != 2 {
		t.Fatalf("the Factory keeps %d Sources after opening two environments 100 times each; want 2", n)
	}
}

// TestSourcesOfRemovedEnvironmentsAreLetGo: the Factory kept the last
// Source of each environment a proxy opened for the proxy's whole life,
// its tokens and client secret with it, an environment taken out of the
// configuration too. A reading of the file without fault lets go of those
// it names no more; a file gone (moved away) keeps every one, as the proxy
// serves on.
func TestSourcesOfRemovedEnvironmentsAreLetGo(t *testing.T) {
	f, conf, a := factoryOfAAndB(t)
	for _, env := range []string{"a", "b"} {
		if _, err := f.Source(context.Background(), env); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(conf, []byte(a), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.keptConfig(); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(f.opened)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("after b was taken out, the Factory keeps the Sources of %v; want a's alone", got)
	}
	if err := os.Rename(conf, conf+".moved"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.keptConfig(); err == nil {
		t.Fatal("keptConfig of a file moved away: no error")
	}
	if got := slices.Sorted(maps.Keys(f.opened)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("after the file was moved away, the Factory keeps the Sources of %v; want a's, served on", got)
	}
}

// factoryOfAAndB is a Factory of a configuration file (conf) naming the
// environments a (onlyA is its table alone) and b.
func factoryOfAAndB(t *testing.T) (f *Factory, conf, onlyA string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	conf = filepath.Join(dir, "config.toml")
	onlyA = "[env.a]\nprovider = \"freeagent-sandbox\"\nclient_id = \"id\"\n"
	if err := os.WriteFile(conf, []byte(onlyA+"\n[env.b]\nprovider = \"freeagent\"\nclient_id = \"id\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f = testFactory()
	f.ConfigFlag = conf
	f.Logger() // as the command's start sets it up
	return f, conf, onlyA
}

func execute(t *testing.T, cmd *cobra.Command, args string) error {
	t.Helper()
	cmd.SetArgs(strings.Fields(args))
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageErrorf("%v", err) })
	return cmd.Execute()
}

// flagCase is a command line and the options it gives, or, with wantErr, a
// usage error before the command runs.
type flagCase[O any] struct {
	args    string
	want    O
	wantErr bool
}

// checkFlags runs each case through the command newCmd builds around a run
// function that only keeps the options, and compares them with same.
func checkFlags[O any](t *testing.T, tests []flagCase[O], newCmd func(*Factory, func(*O) error) *cobra.Command, same func(got, want O) bool) {
	t.Helper()
	for _, tt := range tests {
		var got *O
		cmd := newCmd(testFactory(), func(o *O) error { got = o; return nil })
		err := execute(t, cmd, tt.args)
		if tt.wantErr {
			if ExitCode(err) != ExitUsage || got != nil {
				t.Errorf("%q: err %v, ran %v; want a usage error before running", tt.args, err, got != nil)
			}
			continue
		}
		if err != nil || !same(*got, tt.want) {
			t.Errorf("%q: got %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

func TestTokenFlags(t *testing.T) {
	checkFlags(t, []flagCase[tokenOptions]{
		{"", tokenOptions{}, false},
		{"--json", tokenOptions{JSON: true}, false},
		{"--force --json", tokenOptions{JSON: true, Force: true}, false},
		{"--min-valid 10m", tokenOptions{MinValid: 10 * time.Minute}, false},
		{"--min-valid soon", tokenOptions{}, true},
		{"--min-valid -5m", tokenOptions{}, true},
		{"--force --min-valid 10m", tokenOptions{}, true},
		{"extra", tokenOptions{}, true},
	}, newTokenCmd, func(g, w tokenOptions) bool {
		return g.JSON == w.JSON && g.Force == w.Force && g.MinValid == w.MinValid
	})
}

func TestLoginFlags(t *testing.T) {
	checkFlags(t, []flagCase[loginOptions]{
		{"", loginOptions{Timeout: 5 * time.Minute}, false},
		{"--no-browser", loginOptions{NoBrowser: true, Timeout: 5 * time.Minute}, false},
		{"--manual --timeout 30s", loginOptions{Manual: true, Timeout: 30 * time.Second}, false},
		{"--manual --no-browser", loginOptions{}, true},
		{"--timeout soon", loginOptions{}, true},
		{"--yes", loginOptions{Yes: true, Timeout: 5 * time.Minute}, false},
		{"-y --no-browser", loginOptions{Yes: true, NoBrowser: true, Timeout: 5 * time.Minute}, false},
	}, newLoginCmd, func(g, w loginOptions) bool {
		return g.NoBrowser == w.NoBrowser && g.Manual == w.Manual && g.Timeout == w.Timeout && g.Yes == w.Yes
	})
}

// TestInitFlags: --default alone only sets default_env; with any other
// flag init writes the environment as well.
func TestInitFlags(t *testing.T) {
	checkFlags(t, []flagCase[initOptions]{
		{"", initOptions{}, false},
		{"--default", initOptions{Default: true}, false},
		{"--default --client-id x", initOptions{Default: true, Settings: config.EnvSettings{ClientID: "x"}}, false},
		{"--default --scopes read", initOptions{Default: true, Scopes: "read"}, false},
		{"--default --auth-param prompt=consent", initOptions{Default: true, Extras: extraFlags{AuthParams: []string{"prompt=consent"}}}, false},
		{"--default=false --client-id x", initOptions{Settings: config.EnvSettings{ClientID: "x"}}, false},
		{"--default prod", initOptions{}, true},
	}, newInitCmd, func(g, w initOptions) bool {
		g.f = nil
		return reflect.DeepEqual(g, w)
	})
	for args, only := range map[string]bool{"--default": true, "--default --client-id x": false, "--default --scopes read": false, "--default --auth-param prompt=consent": false, "--client-id x": false} {
		var got *initOptions
		if err := execute(t, newInitCmd(testFactory(), func(o *initOptions) error { got = o; return nil }), args); err != nil {
			t.Fatal(err)
		}
		if got.onlyDefault() != only {
			t.Errorf("%q: only default_env %v, want %v", args, got.onlyDefault(), only)
		}
	}
}

// TestDebugFromTheEnvironment: FRESHTOKEN_DEBUG set to any value but none,
// 0, false, no or off, in any case, turns debug logging on, as gh reads
// GH_DEBUG: yes, TRUE and on were ignored without a word, and a person
// waited for a debug log that never came.
func TestDebugFromTheEnvironment(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, "0": false, "false": false, "FALSE": false, "no": false, "Off": false, " 0 ": false,
		"1": true, "true": true, "TRUE": true, "yes": true, "Yes": true, "on": true, "2": true, "api": true,
	} {
		t.Run(fmt.Sprintf("%q", v), func(t *testing.T) {
			t.Setenv("FRESHTOKEN_DEBUG", v)
			f := testFactory()
			if err := f.setupLogging(); err != nil {
				t.Fatal(err)
			}
			defer f.close()
			f.Logger().Debug("a decision")
			if got := strings.Contains(f.IO.ErrOut.(*bytes.Buffer).String(), "a decision"); got != want || f.Debug != want {
				t.Errorf("FRESHTOKEN_DEBUG=%q: debug logged %v, --debug %v; want %v", v, got, f.Debug, want)
			}
		})
	}
}
