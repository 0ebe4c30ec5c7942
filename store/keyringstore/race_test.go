package keyringstore_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// TestReadRacingALogOutFindsNoTokens: a read racing log-outs in another
// process (Delete, which takes the head and then the parts) finds the
// tokens or none, never "unreadable": it read the head, found the parts
// gone, and reported the record corrupt, saying a log-in replaces it.
func TestReadRacingALogOutFindsNoTokens(t *testing.T) {
	readsRacing(t, false, func(s *keyringstore.Store, n int) error {
		if err := s.Save(ctx, "sandbox", bigRecord(n)); err != nil {
			return err
		}
		return s.Delete(ctx, "sandbox")
	}, func(_ *store.Record, err error) bool {
		return err == nil || errors.Is(err, store.ErrNotFound)
	})
}

// TestReadRacingRenewalsFindsTheTokens: a read racing saves in another
// process (renewals) always finds whole tokens, old or new.
func TestReadRacingRenewalsFindsTheTokens(t *testing.T) {
	readsRacing(t, true, func(s *keyringstore.Store, n int) error {
		return s.Save(ctx, "sandbox", bigRecord(n))
	}, func(got *store.Record, err error) bool {
		return err == nil && got.AccessToken == bigRecord(got.Renewals).AccessToken
	})
}

// racingState names, to the other process readsRacing starts, the state
// folder of the keychain store it writes to.
const racingState = "KEYRINGSTORE_TEST_RACING_STATE"

// readsRacing reads sandbox's record in a keychain store of a test
// keychain until t's own test binary, run as t in another process, has
// made 60 writes (write with n from 0 to 59) to it, and fails t at the
// first read whole says is not; with seed, bigRecord(0) is saved before
// the writes begin. Run as that other process, it makes the writes.
func readsRacing(t *testing.T, seed bool, write func(s *keyringstore.Store, n int) error, whole func(*store.Record, error) bool) {
	t.Helper()
	if state := os.Getenv(racingState); state != "" {
		s := keyringstore.New("freshtoken-test", state)
		for n := range 60 {
			if err := write(s, n); err != nil {
				panic(err)
			}
		}
		return
	}
	keyringtest.Start(t)
	state := filepath.Join(t.TempDir(), "state")
	if seed {
		if err := keyringstore.New("freshtoken-test", state).Save(ctx, "sandbox", bigRecord(0)); err != nil {
			t.Fatal(err)
		}
	}
	r := keyringstore.New("freshtoken-test", state)
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$")
	cmd.Env = append(os.Environ(), racingState+"="+state)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for reads := 0; ; reads++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("the writes in another process: %v", err)
			}
			t.Logf("%d reads", reads)
			return
		default:
		}
		if got, err := r.Load(ctx, "sandbox"); !whole(got, err) {
			cmd.Process.Kill()
			<-done
			t.Fatalf("a read racing the writes in another process: %v; want whole tokens, old or new, or none", err)
		}
	}
}

// TestReadOvertakenBySavesFindsTheTokens: a read overtaken again and again
// by renewals (a save completed before each of its calls to the keychain,
// as when the keychain answers the reader slowly under load) finds the
// newest whole tokens once the saves stop: it gave up after its third
// attempt and called the tokens unreadable, so a command between renewals
// said to log in again.
func TestReadOvertakenBySavesFindsTheTokens(t *testing.T) {
	keyringtest.Start(t)
	state := filepath.Join(t.TempDir(), "state")
	w := keyringstore.New("freshtoken-test", state)
	if err := w.Save(ctx, "sandbox", bigRecord(0)); err != nil {
		t.Fatal(err)
	}
	const saves = 20
	n := 0
	overtaken := store.WithWaiting(ctx, func() {
		if n < saves {
			n++
			if err := w.Save(ctx, "sandbox", bigRecord(n)); err != nil {
				t.Fatal(err)
			}
		}
	})
	got, err := keyringstore.New("freshtoken-test", state).Load(overtaken, "sandbox")
	if err != nil {
		t.Fatalf("a read overtaken by %d saves: %v; want the newest tokens", n, err)
	}
	if got.Renewals != saves || got.AccessToken != bigRecord(saves).AccessToken {
		t.Fatalf("a read overtaken by %d saves found the tokens of save %d, or a mix; want whole tokens of the last", saves, got.Renewals)
	}
}
