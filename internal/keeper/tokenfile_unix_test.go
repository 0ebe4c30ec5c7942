//go:build unix

package keeper

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// TestALedgerNoteThatIsAFIFODoesNotHang: a FIFO where the ledger's note
// of a token file is (planted, or left by a tool) was opened and read, and
// a read of a FIFO waits for a writer: `logout` and `remove` hung for
// good. A note is read only when it is a regular file, and this one is
// no note: the user's file is left, and the command goes on.
func TestALedgerNoteThatIsAFIFODoesNotHang(t *testing.T) {
	ledger, file := ledgerWorld(t)
	if err := syscall.Mkfifo(ledgerEntry(ledger, file), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan bool, 1)
	go func() {
		removed, _, _ := ForgetTokenFile(context.Background(), file, "", ledger, Owner{})
		done <- removed
	}()
	if testenv.Receive(t, "ForgetTokenFile past a FIFO at the note", done) {
		t.Fatal("ForgetTokenFile removed the user's file")
	}
	if got, err := os.ReadFile(file); err != nil || string(got) != "mine\n" {
		t.Fatalf("the user's file holds %q, %v; want it left", got, err)
	}
}

// TestTokenFilePastTheFileSizeLimit: a token file that would be larger
// than the process's file size limit (ulimit -f, set in a copy of the
// test) is warned of once, and told after 15 minutes, naming the limit
// and how to raise it: it said "it cannot be written in its folder (file
// too large)", as if the folder were at fault.
func TestTokenFilePastTheFileSizeLimit(t *testing.T) {
	if os.Getenv("FRESHTOKEN_TEST_FSIZE") == "" {
		testenv.RunAgain(t, "FRESHTOKEN_TEST_FSIZE=1").End()
		return
	}
	file := filepath.Join(t.TempDir(), "token")
	clock := fakeclock.New()
	k, n := keepingTold(stored(t, true, func(*store.Record) {}), file, clock)
	var log bytes.Buffer
	k.Logger = slog.New(slog.NewTextHandler(&log, nil))
	testenv.LimitFileSize(t, 8)
	tells(t, k, n, "")
	clock.Advance(16 * time.Minute)
	tells(t, k, n, "dev: the token file "+file+" cannot be written since ")
	want := "it would be larger than this process's file size limit (ulimit -f) of 8 bytes (file too large); raise the file size limit (`ulimit -f unlimited`"
	if warned := strings.Count(log.String(), "cannot write the token file"); warned != 1 || !strings.Contains(log.String(), want) {
		t.Fatalf("the log warned %d times in two looks, want once, saying %q:\n%s", warned, want, &log)
	}
	if got := n.Current(); !strings.Contains(got[0].Message, want) {
		t.Fatalf("notice %+v; want it to say %q", got, want)
	}
}
