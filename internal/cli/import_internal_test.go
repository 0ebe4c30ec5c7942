package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
)

// TestImportPostmanStdinAtAClosedTerminal: `import postman -` reading a
// terminal that closes mid-read ends as its hang-up (exit 129), as `-d @-`
// does, the configuration not written: it was told as a malformed export,
// exit 2, "standard input: the terminal closed (input/output error)".
func TestImportPostmanStdinAtAClosedTerminal(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.toml")
	var out, errOut bytes.Buffer
	ios := &IOStreams{In: iotest.ErrReader(hungUp(syscall.EIO)), Out: &out, ErrOut: &errOut}
	code := Main([]string{"--config", cfg, "import", "postman", "-"}, ios)
	if code != 128+int(syscall.SIGHUP) || !strings.HasPrefix(errOut.String(), "freshtoken: interrupted") || out.Len() != 0 {
		t.Errorf("import postman - at a closed terminal: exit %d, stderr %q, stdout %q; want exit %d, interrupted", code, errOut.String(), out.String(), 128+int(syscall.SIGHUP))
	}
}
