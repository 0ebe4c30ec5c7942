//go:build linux

package filestamp

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestStampOfAFileSystemWithNoChangeTimeSettlesByItsModificationTime: a
// file system that keeps no change time reports one all the same, 1970
// (a FUSE file system that fills none in) or 1601 (the Linux SMB client,
// of a server that sends none). Taken for the file's last change, a
// reading of a file written moments before was settled at once, and an
// edit of the same size within the tick of its clock was never read.
// The file is real; its change time is set as such a file system
// reports it.
func TestStampOfAFileSystemWithNoChangeTimeSettlesByItsModificationTime(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte("a = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, ctime := range map[string]int64{"1970": 0, "1601": -11644473600} {
		s := StampOf(p)
		st, ok := s.fi.Sys().(*syscall.Stat_t)
		if !ok {
			t.Fatalf("no stat_t in %T", s.fi.Sys())
		}
		st.Ctim = syscall.Timespec{Sec: ctime}
		written := s.fi.ModTime()
		if s.SettledAt(written) {
			t.Errorf("change time %s: a file written at the reading is settled", name)
		}
		if !s.SettledAt(written.Add(settleTime)) {
			t.Errorf("change time %s: a file written %s before the reading is not settled", name, settleTime)
		}
	}
}
