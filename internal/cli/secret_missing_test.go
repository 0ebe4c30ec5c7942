package cli_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
)

// TestAFreeAgentEnvironmentWithoutASecretIsToldBeforeTheBrowser: FreeAgent
// refuses a client without its secret, and a newcomer's
// `init --provider freeagent --client-id ID` wrote one, which status showed
// as "a public client" and login sent through the browser, only for the
// code exchange to fail with 401. Now init refuses to write it, status
// tells of it (exit 2, client_secret_problem), and login stops before the
// browser (exit 2), each naming the flag that fixes it.
func TestAFreeAgentEnvironmentWithoutASecretIsToldBeforeTheBrowser(t *testing.T) {
	e := newDevEnv(t)
	before, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "init", "-e", "dev", "--provider", "freeagent", "--api-url", e.api, "--client-id", "dev-client-id"); code != 2 ||
		!strings.Contains(stderr.String(), "--client-secret-env NAME") || !strings.Contains(stderr.String(), "nothing was written") {
		t.Fatalf("init without a secret: exit %d, stderr %q; want 2 naming --client-secret-env", code, stderr)
	}
	if after, _ := os.ReadFile(e.config); string(after) != string(before) {
		t.Fatalf("init refused, yet the configuration changed:\n%s", after)
	}

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
	err = root.ExecuteContext(t.Context())
	if !errors.Is(err, config.ErrInvalid) || opened || !strings.Contains(err.Error(), "--client-secret-env NAME") {
		t.Fatalf("login: %v (browser opened: %v); want a configuration error before the browser", err, opened)
	}

	// A public client says so (client_auth = "none"), and is one.
	e.configureWith(t, config.EnvSettings{ClientAuth: "none"})
	ios, stdout, stderr = testStreams(false, false)
	if code := e.run(ios, "status"); code != 0 || !strings.Contains(stdout.String(), "client secret:  none (a public client)") {
		t.Fatalf("status of a public client: exit %d, stdout %q, stderr %q; want 0", code, stdout, stderr)
	}
}
