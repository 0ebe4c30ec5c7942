package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/cli"
)

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
