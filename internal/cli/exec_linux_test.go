package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testdisk"
)

// TestExecOnANoExecMountSaysSo: exec of a script on a file system mounted
// noexec (/tmp on a hardened machine or CI runner) said only "permission
// denied", of a file whose mode plainly lets it run, or to chmod +x one
// without; it says what stops it and what to do, exit 126.
func TestExecOnANoExecMountSaysSo(t *testing.T) {
	dir := testdisk.NoExec(t)
	for _, mode := range []os.FileMode{0o755, 0o644} {
		script := filepath.Join(dir, "export.sh")
		if err := os.WriteFile(script, []byte("#!/bin/sh\necho ran\n"), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(script, mode)
		var errOut bytes.Buffer
		f := &Factory{IO: &IOStreams{ErrOut: &errOut}}
		if err := f.setupLogging(); err != nil {
			t.Fatal(err)
		}
		err := runCommand(f, exec.Command(script))
		want := "freshtoken: " + script + ": permission denied: the file is on a file system mounted noexec, from which no program runs, whatever its permissions; run it with its interpreter (such as sh " + script + "), or put it in another folder\n"
		if code := ExitCode(err); code != 126 || errOut.String() != want {
			t.Errorf("exec of a %o script on a noexec mount: exit %d, stderr %q; want 126, %q", mode, code, errOut.String(), want)
		}
		if strings.Contains(errOut.String(), "chmod") {
			t.Errorf("it said to chmod +x a file no mode lets run")
		}
	}
}
