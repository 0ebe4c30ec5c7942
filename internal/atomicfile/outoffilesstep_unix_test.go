//go:build unix

package atomicfile_test

import (
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken/internal/atomicfile"
)

// TestOutOfFilesStepSaysWhichLimit: the process's limit met (EMFILE) is
// named as that, ulimit -n, with its value, to raise; the whole system's
// (ENFILE) as the system's, which no ulimit -n of freshtoken's raises.
// Both were "as many open as the system allows: raise ulimit -n".
func TestOutOfFilesStepSaysWhichLimit(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	own := atomicfile.OutOfFilesStep(&fs.PathError{Op: "open", Path: "/s/dev.json", Err: syscall.EMFILE})
	if want := fmt.Sprintf("its limit on open files allows (%d here): try again, or raise that limit", rl.Cur); !strings.Contains(own, want) {
		t.Errorf("EMFILE: %q; want it to say %q", own, want)
	}
	system := atomicfile.OutOfFilesStep(fmt.Errorf("dial tcp: socket: %w", syscall.ENFILE))
	if !strings.Contains(system, "the system has as many files open as it allows, every program's together") || strings.Contains(system, "raise that limit") {
		t.Errorf("ENFILE: %q; want the system's limit named, not freshtoken's to raise", system)
	}
}
