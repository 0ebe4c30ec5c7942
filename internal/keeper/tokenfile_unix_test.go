//go:build unix

package keeper

import (
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
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
