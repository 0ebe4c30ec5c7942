package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/corpnet"
)

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
