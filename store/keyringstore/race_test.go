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
	r := keyringstore.New("freshtoken-test", state)
	cmd := exec.Command(os.Args[0], "-test.run=^TestReadRacingALogOutFindsNoTokens$")
	cmd.Env = append(os.Environ(), "KEYRINGSTORE_TEST_LOGOUTS=1", "KEYRINGSTORE_TEST_STATE="+state)
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
				t.Fatalf("the log-outs: %v", err)
			}
			t.Logf("%d reads", reads)
			return
		default:
		}
		if _, err := r.Load(ctx, "sandbox"); err != nil && !errors.Is(err, store.ErrNotFound) {
			cmd.Process.Kill()
			<-done
			t.Fatalf("a read racing a log-out: %v; want the tokens or none", err)
		}
	}
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
	cmd := exec.Command(os.Args[0], "-test.run=^TestReadRacingRenewalsFindsTheTokens$")
	cmd.Env = append(os.Environ(), "KEYRINGSTORE_TEST_SAVES=1", "KEYRINGSTORE_TEST_STATE="+state)
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
				t.Fatalf("the saves: %v", err)
			}
			t.Logf("%d reads", reads)
			return
		default:
		}
		got, err := r.Load(ctx, "sandbox")
		if err != nil || got.AccessToken != bigRecord(got.Renewals).AccessToken {
			cmd.Process.Kill()
			<-done
			t.Fatalf("a read racing renewals: %v; want whole tokens, old or new", err)
		}
	}
}
