//go:build unix

package failure_test

import (
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/store"
)

// TestOutOfFilesIsOneRule: a file that could not be opened because
// freshtoken has as many open as it may (EMFILE, ENFILE) is one kind
// wherever it was opened, exit 5, with the limit to raise as the next
// step, unless the message says it already (the token store's). The
// configuration's was a configuration error, exit 2, with no next step.
func TestOutOfFilesIsOneRule(t *testing.T) {
	stored := fmt.Errorf("%w: %w; %s", store.ErrUnreachable, &fs.PathError{Op: "open", Path: "/s/dev.json", Err: syscall.EMFILE}, "freshtoken has as many files and connections open as the system allows: try again, or raise the limit on open files (ulimit -n)")
	for _, tc := range []struct {
		name, next string
		err        error
	}{
		{"the configuration", "freshtoken has as many files and connections open as the system allows: try again, or raise the limit on open files (ulimit -n)", fmt.Errorf("/c/config.toml: cannot read it: %w", syscall.EMFILE)},
		{"the system's limit", "freshtoken has as many files and connections open as the system allows: try again, or raise the limit on open files (ulimit -n)", fmt.Errorf("/c/ca.pem: %w", syscall.ENFILE)},
		{"the store, which says it", "", stored},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := failure.Of(tc.err)
			if k != failure.StoreUnreachable || k.Row().Exit != 5 || failure.Next(tc.err, "dev") != tc.next || strings.Count(tc.err.Error()+failure.Next(tc.err, "dev"), "ulimit -n") != 1 {
				t.Fatalf("%v: kind %v, next %q; want exit 5 and the limit to raise, told once", tc.err, k, failure.Next(tc.err, "dev"))
			}
		})
	}
}
