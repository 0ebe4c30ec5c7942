package cli_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/shellquote"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// TestInitOfALoggedInEnvironment: init that changes what leaves the tokens
// serving (the redirect URI) says the environment is still logged in,
// rather than "Then run: freshtoken login" (which sent people through a
// browser log-in for nothing); one that changes the scopes (which only a
// log-in grants) or the client (whose tokens then no longer serve) still
// says to log in.
func TestInitOfALoggedInEnvironment(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)

	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "init", "-e", "dev", "--redirect-uri", "http://127.0.0.1:48999/callback"); code != 0 {
		t.Fatalf("init exit %d: %s", code, stderr)
	}
	if got := stderr.String(); strings.Contains(got, "Then run:") || !strings.Contains(got, "dev is logged in") {
		t.Errorf("init of a logged-in environment, its client unchanged, said:\n%s\nwant that it is logged in, and no log-in to run", got)
	}
	ios, _, stderr = testStreams(false, false)
	if code := e.run(ios, "token"); code != 0 {
		t.Fatalf("token after init exit %d: %s", code, stderr)
	}

	// Other scopes, or another client, take a new log-in.
	for _, flags := range [][]string{{"--scopes", "read"}, {"--client-id", "another-client"}} {
		ios, _, stderr = testStreams(false, false)
		if code := e.run(ios, append([]string{"init", "-e", "dev"}, flags...)...); code != 0 {
			t.Fatalf("init %v exit %d: %s", flags, code, stderr)
		}
		if got := stderr.String(); !strings.Contains(got, "Then run: freshtoken --config "+e.config+" login -e dev") {
			t.Errorf("init %v said:\n%s\nwant the log-in to run", flags, got)
		}
	}
}

// TestInitCAFileRelativePath: `init --ca-file corp-ca.pem`, the file in the
// folder init runs in, writes the file's whole path, as --key-file does
// (it refused the name: "is not an absolute path (nothing was written)",
// at a line of a file it had not written).
func TestInitCAFileRelativePath(t *testing.T) {
	ca := corpnet.NewCA(t)
	t.Chdir(filepath.Dir(ca.File))
	cfg := filepath.Join(t.TempDir(), "config.toml")
	ios, _, stderr := testStreams(false, false)
	code := cli.Main([]string{"--config", cfg, "init", "-e", "corp", "--provider", "freeagent-sandbox",
		"--client-id", "dev-client-id", "--client-secret-env", "S", "--ca-file", filepath.Base(ca.File)}, ios)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ca_file = \"" + ca.File + "\""; !strings.Contains(string(b), want) {
		t.Errorf("the config does not say %s:\n%s", want, b)
	}
}

// TestInitFlagsReadFromAWindowsFile: flags whose values a script read from
// files saved on Windows (`--client-id "$(cat id.txt)"`: a byte-order mark,
// a CRLF line end) are written without them, as a terminal's answers are; the
// client ID was refused as holding a character no client ID has.
func TestInitFlagsReadFromAWindowsFile(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.toml")
	ios, _, stderr := testStreams(false, false)
	code := cli.Main([]string{"--config", cfg, "init", "-e", "win", "--provider", "freeagent-sandbox",
		"--client-id", "\ufeffdev-client-id\r\n", "--client-secret-env", "\ufeffFREEAGENT_SECRET\r\n"}, ios)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"client_id = \"dev-client-id\"\n", "client_secret_env = \"FREEAGENT_SECRET\"\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the config does not say %q:\n%s", want, b)
		}
	}
}

// TestClientSecretKeyringPerProvider: two environments at different
// providers that happen to use one client id (as self-hosted identity
// providers often do) keep a client secret each in the keychain: the
// second `init --client-secret-keyring` does not replace the first's, so
// neither provider is ever sent the other's secret. The secret is the first
// line piped in, as `pass show` prints it before the entry's notes (all of
// it was kept, and sent as the secret).
func TestClientSecretKeyringPerProvider(t *testing.T) {
	keyringtest.Start(t)
	e := newDevEnv(t)
	for _, env := range []string{"work", "home"} {
		ios, _, stderr := testStreams(false, false)
		ios.In = strings.NewReader(env + "-secret\r\nlogin: me@" + env + ".example\r\n")
		if code := e.run(ios, "init", "-e", env, "--provider", "generic", "--client-id", "cli", "--client-secret-keyring",
			"--api-url", "https://api."+env+".example/", "--auth-url", "https://login."+env+".example/auth",
			"--token-url", "https://login."+env+".example/token"); code != 0 {
			t.Fatalf("init -e %s: exit %d: %s", env, code, stderr)
		}
		if !strings.Contains(stderr.String(), `account "client_secret:cli at https://login.`+env+`.example/token"`) {
			t.Errorf("init -e %s does not say where it kept the secret: %s", env, stderr)
		}
		if kept, err := keyringstore.ClientSecret(t.Context(), "cli", "https://login."+env+".example/token"); err != nil || kept != env+"-secret" {
			t.Errorf("init -e %s kept %q, %v in the keychain; want %q", env, kept, err, env+"-secret")
		}
	}
	f, err := config.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"work", "home"} {
		if got, err := f.Envs[env].ClientSecretValue(t.Context()); err != nil || got != env+"-secret" {
			t.Errorf("%s's client secret = %q, %v; want %q", env, got, err, env+"-secret")
		}
		if where := f.Envs[env].ClientSecretWhere(); !strings.Contains(where, "login."+env+".example") {
			t.Errorf("%s's client secret is said to be at %s, which does not name its provider", env, where)
		}
	}
}

// TestClientSecretKeyringRefusesAnEmptyFirstLine: `pass show` of an entry
// whose password line is empty prints its notes after a blank line; piped
// into init --client-secret-keyring, the notes' first line was kept as the
// secret. It is refused, without a word of the notes, and nothing is
// written: neither the keychain nor the config.
func TestClientSecretKeyringRefusesAnEmptyFirstLine(t *testing.T) {
	keyringtest.Start(t)
	e := newDevEnv(t)
	before, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	ios, _, stderr := testStreams(false, false)
	ios.In = strings.NewReader("\r\nlogin: me@work.example\r\n")
	if code := e.run(ios, "init", "-e", "work", "--provider", "generic", "--client-id", "cli", "--client-secret-keyring",
		"--api-url", "https://api.work.example/", "--auth-url", "https://login.work.example/auth",
		"--token-url", "https://login.work.example/token"); code != 2 || !strings.Contains(stderr.String(), "the first line piped in is empty") ||
		strings.Contains(stderr.String(), "me@work") || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
		t.Fatalf("init --client-secret-keyring with an empty first line: exit %d: %s; want 2 in one line, never quoting the notes", code, stderr)
	}
	if kept, err := keyringstore.ClientSecret(t.Context(), "cli", "https://login.work.example/token"); err == nil {
		t.Errorf("the keychain holds %q", kept)
	}
	if after, _ := os.ReadFile(e.config); string(after) != string(before) {
		t.Errorf("the config was written:\n%s", after)
	}
}

// TestInitClientAuthWithoutSecretDropsKeyring: switching an environment
// whose client secret is in the keychain to a client authentication that
// sends no secret leaves a configuration that loads, as it does for the
// other places a secret can come from.
func TestInitClientAuthWithoutSecretDropsKeyring(t *testing.T) {
	e := newDevEnv(t)
	if _, err := configedit.WriteEnv(e.config, "pub", config.EnvSettings{
		Provider: "freeagent", APIURL: e.api, ClientID: "cli", ClientSecretKeyring: true,
	}, true); err != nil {
		t.Fatal(err)
	}
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "init", "-e", "pub", "--client-auth", "none"); code != 0 {
		t.Fatalf("init --client-auth none: exit %d: %s", code, stderr)
	}
	f, err := config.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if env := f.Envs["pub"]; env.ClientAuth != "none" || env.ClientSecretKeyring {
		t.Errorf("after init --client-auth none: client_auth %q, client_secret_keyring %v; want none, false", env.ClientAuth, env.ClientSecretKeyring)
	}
}

// TestInitClientSecretKeyringWithoutAKeychain: init --client-secret-keyring
// where there is no keychain says to keep the secret in a variable
// instead, not to take keyring:// out of [store], which is about tokens.
func TestInitClientSecretKeyringWithoutAKeychain(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	e := newDevEnv(t)
	ios, _, stderr := testStreams(false, false)
	ios.In = strings.NewReader("dev-client-secret\n")
	code := e.run(ios, "init", "-e", "dev", "--provider", "freeagent", "--client-id", "dev-client-id", "--client-secret-keyring")
	if msg := stderr.String(); code != 2 || strings.Contains(msg, "[store]") || !strings.Contains(msg, "or keep the client secret in an environment variable instead (freshtoken init -e dev --client-secret-env NAME)") {
		t.Errorf("exit %d, %s; want 2, saying to keep the secret in a variable instead", code, msg)
	}
}

// TestStoreMigrateNamesTheKeychainAsWritten: `store migrate --to
// keyring://?service=NAME` says which keychain URL [store] url now names,
// and, run again, which one the tokens are in already, as it was written:
// it said "keyring:", the service name dropped (as a store URL's query is,
// lest it hold a secret; a keychain URL's holds none), leaving the reader
// to guess which of several keychain stores the tokens went to.
func TestStoreMigrateNamesTheKeychainAsWritten(t *testing.T) {
	keyringtest.Start(t)
	t.Setenv("HOME", t.TempDir()) // the keychain's renewal locks
	e := newDevEnv(t)
	e.login(t)
	const to = "keyring://?service=freshtoken-work"
	for _, want := range []string{"now names " + to + "\n", "The tokens are in " + to + " already"} {
		ios, stdout, stderr := testStreams(false, false)
		if code := e.run(ios, "store", "migrate", "--to", to); code != 0 || !strings.Contains(stderr.String(), want) {
			t.Errorf("store migrate --to %s: exit %d\n%s%s; want it to say %q", to, code, stdout, stderr, want)
		}
	}
}

// TestInitRefusedLeavesTheKeychainAlone: an `init --client-secret-keyring`
// that is refused ("nothing was written": a device log-in with no device
// authorization endpoint) leaves the keychain as it was. The secret was
// put there first, replacing the one the client's other environments (of
// this configuration or another) read, with whatever was typed.
func TestInitRefusedLeavesTheKeychainAlone(t *testing.T) {
	keyringtest.Start(t)
	e := newDevEnv(t)
	initEnv := func(env, secret string, extra ...string) (int, string) {
		ios, _, stderr := testStreams(false, false)
		ios.In = strings.NewReader(secret + "\n")
		args := append([]string{"init", "-e", env, "--provider", "generic", "--client-id", "cli", "--client-secret-keyring",
			"--api-url", "https://api.example/", "--auth-url", "https://login.example/auth", "--token-url", "https://login.example/token"}, extra...)
		return e.run(ios, args...), stderr.String()
	}
	if code, msg := initEnv("work", "the-right-secret"); code != 0 {
		t.Fatalf("init -e work: exit %d: %s", code, msg)
	}
	if code, msg := initEnv("tv", "a-mistyped-secret", "--grant", "device_code"); code != 2 || !strings.Contains(msg, "nothing was written") {
		t.Fatalf("init -e tv --grant device_code without its endpoint: exit %d: %s; want 2, nothing written", code, msg)
	}
	f, err := config.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.Envs["work"].ClientSecretValue(t.Context()); err != nil || got != "the-right-secret" {
		t.Errorf("work's client secret = %q, %v; want the one kept before the refused init", got, err)
	}
}

// TestInitDefault: `init -e NAME --default` makes a configured environment
// the default, changing only the default_env line (comments kept), and the
// next command without -e uses it; with other flags it writes the
// environment too; an environment not configured, given nothing else, is
// refused, exit 2, naming the configured ones, and nothing is written. No
// command set default_env: init set it only when the file had none, and
// remove of the default told people to edit the file by hand.
func TestInitDefault(t *testing.T) {
	e := newDevEnv(t)
	for _, name := range []string{"dev", "live"} { // dev, the first, is the default
		e.configureAs(t, name, "dev-client-id", config.EnvSettings{ClientSecret: "s"})
	}
	text, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	withComment := strings.Replace(string(text), `default_env = "dev"`, `default_env = "dev"   # the safe one`, 1)
	if err := os.WriteFile(e.config, []byte(withComment), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(want int, args ...string) (stdout, stderr string) {
		t.Helper()
		ios, out, errOut := testStreams(false, false)
		if code := e.run(ios, args...); code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out.String(), errOut.String()
	}
	out, said := run(0, "init", "-e", "live", "--default")
	if want := "live is now the default environment: commands without -e use it (default_env in " + e.config + ")."; out != "" || !strings.Contains(said, want) {
		t.Errorf("init --default printed %q and said:\n%s\nwant:\n%s", out, said, want)
	}
	if got, _ := os.ReadFile(e.config); string(got) != strings.Replace(withComment, `default_env = "dev"   # the safe one`, `default_env = "live"  # the safe one`, 1) {
		t.Errorf("init --default changed more than the default_env line:\n%s", got)
	}
	if _, said := run(3, "token"); !strings.Contains(said, "login -e live") {
		t.Errorf("token without -e after init --default said:\n%s", said)
	}
	if _, said := run(0, "init", "-e", "live", "--default"); !strings.Contains(said, "live is already the default environment") {
		t.Errorf("init --default of the default said:\n%s", said)
	}

	keep := e.configKept(t)
	if _, said := run(2, "init", "-e", "nope", "--default"); !strings.Contains(said, `environment "nope" is not configured in `+e.config+` (configured: dev, live); init --default alone`) {
		t.Errorf("init --default of an environment not configured said:\n%s", said)
	}
	if _, said := run(2, "init", "--default"); !strings.Contains(said, "--default needs the environment named: `freshtoken --config "+e.config+" init -e NAME --default` (configured: dev, live)") {
		t.Errorf("init --default without -e said:\n%s", said)
	}
	keep("init --default was refused")

	run(0, "init", "-e", "more", "--provider", "freeagent", "--api-url", e.api, "--client-id", "dev-client-id", "--client-secret-env", "S", "--default")
	if conf, err := config.Load(e.config); err != nil || conf.DefaultEnv != "more" || conf.Envs["more"] == nil {
		t.Fatalf("after init of a new environment with --default: %v, %+v", err, conf)
	}
}

// TestInitKeepsTheOnlyEnvironmentTheDefault: `init` of a second
// environment in a file without default_env (the default removed, one
// left) makes the one that was there the default, and says so with the
// command that makes the new one the default: commands without -e used
// that one, the only one, and init made the new one the default instead,
// so that a script without -e reached production where it had reached
// the sandbox.
func TestInitKeepsTheOnlyEnvironmentTheDefault(t *testing.T) {
	e := newDevEnv(t)
	for _, name := range []string{"dev", "sandbox"} { // dev, the first, is the default
		e.configureAs(t, name, "dev-client-id", config.EnvSettings{ClientSecret: "s"})
	}
	run := func(want int, args ...string) string {
		t.Helper()
		ios, out, errOut := testStreams(false, false)
		if code := e.run(ios, args...); code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return errOut.String()
	}
	if said := run(0, "remove", "-e", "dev", "--yes"); !strings.Contains(said, "commands without -e now use sandbox, the only one left") {
		t.Fatalf("remove of the default said:\n%s", said)
	}
	said := run(0, "init", "-e", "production", "--provider", "freeagent", "--api-url", e.api, "--client-id", "dev-client-id", "--client-secret-env", "S")
	want := "sandbox stays the default environment, as the only one before: commands without -e still use it (default_env in " + e.config + "); `freshtoken --config " + shellquote.Word(e.config) + " init -e production --default` makes production the default."
	if !strings.Contains(said, want) || strings.Contains(said, "production is now the default") {
		t.Errorf("init of a second environment said:\n%s\nwant:\n%s", said, want)
	}
	if conf, err := config.Load(e.config); err != nil || conf.DefaultEnv != "sandbox" {
		t.Fatalf("after init of a second environment: %v, %+v", err, conf)
	}
	if said := run(3, "token"); !strings.Contains(said, "login -e sandbox") {
		t.Errorf("token without -e after init of production said:\n%s", said)
	}
}

// TestInitCtrlCAtThePipedSecretSaysNothingChanged: Ctrl-C while `init
// --client-secret-keyring` waits for the secret piped in (a `pass show`
// that waits for its passphrase) ends it saying nothing was changed, as
// Ctrl-C at the terminal's question does, and writes nothing: it said
// only "interrupted".
func TestInitCtrlCAtThePipedSecretSaysNothingChanged(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "config.toml")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	never := make(chan struct{})
	defer close(never)
	in := readerFunc(func([]byte) (int, error) {
		cancel() // the person presses Ctrl-C while the secret has yet to come
		<-never
		return 0, io.EOF
	})
	root := cli.NewRootCmd(&cli.Factory{IO: &cli.IOStreams{In: in, Out: io.Discard, ErrOut: io.Discard}})
	root.SetArgs([]string{"--config", conf, "init", "-e", "dev", "--provider", "freeagent", "--client-id", "dev-client-id", "--client-secret-keyring"})
	err := root.ExecuteContext(ctx)
	if !errors.Is(err, context.Canceled) || !strings.HasSuffix(err.Error(), "; nothing was changed") {
		t.Fatalf("Ctrl-C at the piped secret: %v; want it interrupted, saying nothing was changed", err)
	}
	if _, err := os.Stat(conf); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Ctrl-C at the piped secret: the configuration file was written (%v)", err)
	}
}
