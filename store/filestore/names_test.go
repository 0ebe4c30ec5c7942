package filestore_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestDeviceNamesRefusedOnWindows: an environment named as a Windows device
// (NUL, CON, COM1…, in any case) would have its record and lock files
// (nul.json, nul.lock) open the device there, which takes any extension:
// the record went nowhere and the lock locked nothing. On Windows the store
// refuses the name with one line saying to rename the environment; on
// other systems such a name makes ordinary files and stays valid.
func TestDeviceNamesRefusedOnWindows(t *testing.T) {
	for _, name := range []string{"con", "CON", "prn", "Aux", "nul", "NUL", "com1", "COM9", "lpt1", "Lpt9"} {
		err := filestore.CheckName(name, "windows")
		if !errors.Is(err, store.ErrReservedName) {
			t.Errorf("%s on Windows: %v; want store.ErrReservedName", name, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, `"`+name+`"`) || !strings.Contains(msg, strings.ToUpper(name)) || !strings.HasSuffix(msg, "; rename the environment") || strings.Contains(msg, "\n") {
			t.Errorf("%s on Windows: %q; want one line naming it and the device, saying to rename the environment", name, msg)
		}
		for _, goos := range []string{"linux", "darwin", "freebsd"} {
			if err := filestore.CheckName(name, goos); err != nil {
				t.Errorf("%s on %s: %v; want it valid", name, goos, err)
			}
		}
	}
	for _, name := range []string{"null", "nul-1", "nul_", "con2", "console", "com", "com0", "com10", "lpt0", "lpt12", "auxiliary", "sandbox", "prod"} {
		if err := filestore.CheckName(name, "windows"); err != nil {
			t.Errorf("%s on Windows: %v; want it valid (no device is named so)", name, err)
		}
	}
	for _, goos := range []string{"windows", "linux"} {
		if err := filestore.CheckName("nul.json", goos); err == nil || errors.Is(err, store.ErrReservedName) {
			t.Errorf("nul.json on %s: %v; want the name refused as every store refuses a dot", goos, err)
		}
	}
}
