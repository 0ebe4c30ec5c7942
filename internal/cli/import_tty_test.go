//go:build linux

package cli_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/cli"
)

// TestImportPostmanStdinAtATerminal: `import postman -` with standard input
// a terminal (the export not piped in) is refused at once, exit 2, saying
// to pipe it in or give its path: it waited on the terminal without a
// word, and an export pasted there showed its client secret and refresh
// tokens on the screen and in the scrollback.
func TestImportPostmanStdinAtATerminal(t *testing.T) {
	s := newScreen(t)
	cfg := filepath.Join(t.TempDir(), "config.toml")
	var stdout bytes.Buffer
	err := finished(t, s.start(t, &stdout, "--config", cfg, "import", "postman", "-"))
	if err == nil || cli.ExitCode(err) != cli.ExitUsage || !strings.Contains(err.Error(), "standard input is a terminal") || !strings.Contains(err.Error(), "import postman - < ") || !strings.HasSuffix(err.Error(), "nothing was imported") {
		t.Errorf("import postman - at a terminal: %v (exit %d); want a usage error saying to pipe the export in", err, cli.ExitCode(err))
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q", stdout.String())
	}
}
