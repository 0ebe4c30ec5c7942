package cli_test

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// storeAnotherConfigurations configures "dev" with a redirect URI on a
// free loopback port, and stores under its name the tokens of another
// configuration sharing the store: another client's, which CheckGrant
// refuses for dev.
func (e *devEnv) storeAnotherConfigurations(t *testing.T) {
	t.Helper()
	redirect := "http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)) + "/callback"
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: redirect})
	e.loginOutside(t)
	rec := e.record(t, "dev")
	rec.Grant.ClientID = "another-client"
	e.save(t, "dev", rec)
}

// TestLoginWithoutATerminalSaysItReplacesAnotherConfigurationsTokens: a
// script's login over another configuration's tokens goes on as before
// (PRODUCT.md: they are kept until login replaces them), but says so in one
// line before the browser opens; it said so only after they were gone, in a
// warning at the log level.
func TestLoginWithoutATerminalSaysItReplacesAnotherConfigurationsTokens(t *testing.T) {
	e := newDevEnv(t)
	e.storeAnotherConfigurations(t)
	var stderr bytes.Buffer
	var before string // stderr when the browser was opened
	root := cli.NewRootCmd(&cli.Factory{
		IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &stderr},
		OpenBrowser: func(url string) error {
			before = stderr.String()
			go func() {
				if resp, err := http.Get(url); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
			return nil
		},
	})
	root.SetArgs([]string{"--config", e.config, "login", "-e", "dev"})
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("login: %v\n%s", err, &stderr)
	}
	want := `freshtoken: dev: warning: the tokens stored for dev in ` + filepath.Join(e.dir, "state", "dev.json") + ` belong to client "another-client" at ` + e.api
	if !strings.Contains(before, want) || !strings.Contains(before, "this log-in replaces them once it succeeds") {
		t.Errorf("before the browser opened, stderr was:\n%s\nwant a line beginning %s, saying the log-in replaces them", before, want)
	}
	if rec := e.record(t, "dev"); rec.Grant.ClientID != "dev-client-id" {
		t.Errorf("the stored tokens are %s's; want dev-client-id's, the log-in's", rec.Grant.ClientID)
	}
}
