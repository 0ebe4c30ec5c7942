package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/cli"
)

// TestInitNeverMakesProductionTheDefault: init of FreeAgent's production
// first, then of its sandbox (the README's steps in the other order), leaves
// the sandbox the environment of commands without -e, and says so; a
// production environment was made default_env by being first, and `get`
// without -e reached the live books.
func TestInitNeverMakesProductionTheDefault(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.toml")
	initEnv := func(name, provider string) string {
		t.Helper()
		ios, _, stderr := testStreams(false, false)
		code := cli.Main([]string{"--config", cfg, "init", "-e", name, "--provider", provider,
			"--client-id", "dev-client-id", "--client-secret-env", "S"}, ios)
		if code != 0 {
			t.Fatalf("init -e %s: exit %d: %s", name, code, stderr)
		}
		return stderr.String()
	}
	initEnv("production", "freeagent")
	if b, _ := os.ReadFile(cfg); strings.Contains(string(b), "default_env") {
		t.Errorf("init of production alone wrote default_env:\n%s", b)
	}
	said := initEnv("sandbox", "freeagent-sandbox")
	b, _ := os.ReadFile(cfg)
	if !strings.Contains(string(b), `default_env = "sandbox"`) {
		t.Errorf("init of the sandbox after production did not make it the default:\n%s", b)
	}
	if !strings.Contains(said, "sandbox is now the default environment") {
		t.Errorf("init did not say the sandbox is now the default:\n%s", said)
	}
}
