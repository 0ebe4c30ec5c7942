package cli_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
)

// devEnv is a dev provider on loopback HTTP and a private configuration
// file and token store for it, with one FreeAgent environment, "dev".
type devEnv struct {
	provider *devprovider.Provider
	api      string // the provider's root, ending in "/"
	config   string // the configuration file
	dir      string // the folder holding the configuration and the store
}

// newDevEnv is a devEnv whose provider has the default options.
func newDevEnv(t *testing.T) *devEnv {
	t.Helper()
	return newDevEnvWith(t, devprovider.Options{})
}

// newDevEnvWith is a devEnv whose provider has opts, auto-approving.
func newDevEnvWith(t *testing.T, opts devprovider.Options) *devEnv {
	t.Helper()
	opts.AutoApprove = true
	p, base := devserver.Start(t, opts)
	dir := t.TempDir()
	e := &devEnv{provider: p, api: base + "/", config: filepath.Join(dir, "config.toml"), dir: dir}
	store := fmt.Sprintf("[store]\nurl = %q\n", fileURL(filepath.Join(dir, "state")))
	if err := os.WriteFile(e.config, []byte(store), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// newDevEnvBehind is a devEnv whose API and token endpoint are served by
// front, which is given the dev provider's handler to pass requests on to:
// an API that misbehaves in ways the dev provider does not.
func newDevEnvBehind(t *testing.T, front func(provider http.Handler) http.Handler) *devEnv {
	t.Helper()
	return newDevEnvBehindWith(t, devprovider.Options{}, front)
}

// newDevEnvBehindWith is newDevEnvBehind with a provider made with opts.
func newDevEnvBehindWith(t *testing.T, opts devprovider.Options, front func(provider http.Handler) http.Handler) *devEnv {
	t.Helper()
	opts.AutoApprove = true
	p := devprovider.New(opts)
	srv := httptest.NewServer(front(p.Handler()))
	t.Cleanup(srv.Close)
	t.Cleanup(p.Close)
	dir := t.TempDir()
	e := &devEnv{provider: p, api: srv.URL + "/", config: filepath.Join(dir, "config.toml"), dir: dir}
	if err := os.WriteFile(e.config, []byte(fmt.Sprintf("[store]\nurl = %q\n", fileURL(filepath.Join(dir, "state")))), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// newDevEnvAnswering is a devEnv whose API answers requests for path with
// answer, and every other request (the token endpoint's among them) as
// the dev provider does.
func newDevEnvAnswering(t *testing.T, path string, answer http.HandlerFunc) *devEnv {
	t.Helper()
	return newDevEnvBehind(t, func(provider http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path {
				provider.ServeHTTP(w, r)
				return
			}
			answer(w, r)
		})
	})
}

// configure writes the "dev" environment into the configuration, its
// client secret in the file.
func (e *devEnv) configure(t *testing.T) {
	t.Helper()
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret"})
}

// configureWith writes the "dev" environment into the configuration: the
// dev provider's, with s's client secret (or the variable or command that
// gives it).
func (e *devEnv) configureWith(t *testing.T, s config.EnvSettings) {
	t.Helper()
	e.configureAs(t, "dev", "dev-client-id", s)
}

// configureAs writes the environment name into the configuration: the dev
// provider's API, for clientID, with s's client secret (or the variable,
// command or keychain that gives it).
func (e *devEnv) configureAs(t *testing.T, name, clientID string, s config.EnvSettings) {
	t.Helper()
	s.Provider, s.APIURL, s.ClientID = "freeagent", e.api, clientID
	if _, err := configedit.WriteEnv(e.config, name, s, true); err != nil {
		t.Fatal(err)
	}
}

// login configures "dev" and stores tokens got from the provider outside
// freshtoken, through the engine's own SaveLogin.
func (e *devEnv) login(t *testing.T) {
	t.Helper()
	e.configure(t)
	e.loginOutside(t)
}

// loginOutside stores tokens for the configured "dev" got from the
// provider outside freshtoken, through the engine's own SaveLogin.
func (e *devEnv) loginOutside(t *testing.T) {
	t.Helper()
	e.loginOutsideAs(t, "dev")
}

// loginOutsideAs stores tokens for the configured environment env got from
// the provider outside freshtoken (for the dev client), through the
// engine's own SaveLogin, and returns env's Source.
func (e *devEnv) loginOutsideAs(t *testing.T, env string) *freshtoken.Source {
	t.Helper()
	tok, issued, err := loginOutside(t.Context(), e.api, "dev-client-secret")
	if err != nil {
		t.Fatal(err)
	}
	src, err := config.Open(t.Context(), config.OpenOptions{Path: e.config, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.SaveLogin(t.Context(), tok, issued); err != nil {
		t.Fatal(err)
	}
	return src
}

// run runs freshtoken as main does, with this configuration, and returns
// its exit code.
func (e *devEnv) run(ios *cli.IOStreams, args ...string) int {
	return cli.Main(append([]string{"--config", e.config}, args...), ios)
}

// testStreams are in-memory streams that claim a terminal where asked.
func testStreams(outTTY, errTTY bool) (ios *cli.IOStreams, stdout, stderr *bytes.Buffer) {
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	return &cli.IOStreams{In: &bytes.Buffer{}, Out: stdout, ErrOut: stderr, OutTTY: outTTY, ErrTTY: errTTY}, stdout, stderr
}

// configKept reads e's configuration now, and returns a check that fails
// the test unless the configuration is still as it was, saying it changed
// although what (a command failed, say).
func (e *devEnv) configKept(t *testing.T) (check func(although string)) {
	t.Helper()
	before, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	return func(although string) {
		t.Helper()
		if now, _ := os.ReadFile(e.config); string(now) != string(before) {
			t.Errorf("the configuration changed although %s:\n%s", although, now)
		}
	}
}

// fileURL is the file URL of the folder at path, a # or ? in its name (a
// subtest's folder: #01) escaped, not beginning a fragment or a query.
func fileURL(path string) string { return (&url.URL{Scheme: "file", Path: path}).String() }

// useStore configures "dev" with its tokens in the store at url.
func (e *devEnv) useStore(t *testing.T, url string) {
	t.Helper()
	if err := os.WriteFile(e.config, fmt.Appendf(nil, "[store]\nurl = %q\n", url), 0o600); err != nil {
		t.Fatal(err)
	}
	e.configure(t)
}
