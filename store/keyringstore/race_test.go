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
	if os.Getenv("KEYRINGSTORE_TEST_LOGOUTS") != "" {
		s := keyringstore.New("freshtoken-test", os.Getenv("KEYRINGSTORE_TEST_STATE"))
		for n := range 60 {
			if err := s.Save(ctx, "sandbox", bigRecord(n)); err != nil {
				panic(err)
			}
			if err := s.Delete(ctx, "sandbox"); err != nil {
				panic(err)
			}
		}
		return
	}
	keyringtest.Start(t)
	state := filepath.Join(t.TempDir(), "state")
	readsRacing(t, state, "KEYRINGSTORE_TEST_LOGOUTS", func(_ *store.Record, err error) bool {
		return err == nil || errors.Is(err, store.ErrNotFound)
	})
}

// TestReadRacingRenewalsFindsTheTokens: a read racing saves in another
// process (renewals) always finds whole tokens, old or new.
func TestReadRacingRenewalsFindsTheTokens(t *testing.T) {
	if os.Getenv("KEYRINGSTORE_TEST_SAVES") != "" {
		s := keyringstore.New("freshtoken-test", os.Getenv("KEYRINGSTORE_TEST_STATE"))
		for n := range 60 {
			if err := s.Save(ctx, "sandbox", bigRecord(n)); err != nil {
				panic(err)
			}
		}
		return
	}
	keyringtest.Start(t)
	state := filepath.Join(t.TempDir(), "state")
	r := keyringstore.New("freshtoken-test", state)
	if err := r.Save(ctx, "sandbox", bigRecord(0)); err != nil {
		t.Fatal(err)
	}
	readsRacing(t, state, "KEYRINGSTORE_TEST_SAVES", func(got *store.Record, err error) bool {
		return err == nil && got.AccessToken == bigRecord(got.Renewals).AccessToken
	})
}

// readsRacing reads sandbox's record in state until the writes end that
// t's own test binary makes in another process, run as t with the variable
// writer set, and fails t at the first read whole says is not.
func readsRacing(t *testing.T, state, writer string, whole func(*store.Record, error) bool) {
	t.Helper()
	r := keyringstore.New("freshtoken-test", state)
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$")
	cmd.Env = append(os.Environ(), writer+"=1", "KEYRINGSTORE_TEST_STATE="+state)
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
