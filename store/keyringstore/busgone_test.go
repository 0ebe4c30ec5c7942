package keyringstore_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// TestSessionBusGone: the D-Bus session bus this process reached its
// keychain on is gone (dbus-daemon crashed or was restarted, the desktop
// session ended under a long-running keeper), and comes back at the same
// address. Until it does, the keychain is one to wait for, as one whose
// daemon stopped is (store.ErrUnreachable, saying to start it again), not
// a system without one (ErrNoKeychain: a configuration error, exit 2, to
// which a renewal's answer is not waited for); then it is used again.
func TestSessionBusGone(t *testing.T) {
	kr := keyringtest.Start(t)
	s := keyringstore.New("freshtoken-test", filepath.Join(t.TempDir(), "state"))
	rec := storetest.Sample()
	if err := s.Save(ctx, "sandbox", rec); err != nil {
		t.Fatal(err)
	}
	kr.KillBus(t)
	_, loadErr := s.Load(ctx, "sandbox")
	saveErr := s.Save(ctx, "sandbox", rec)
	for what, err := range map[string]error{"Load": loadErr, "Save": saveErr} {
		if !errors.Is(err, store.ErrUnreachable) || errors.Is(err, keyringstore.ErrNoKeychain) ||
			!strings.Contains(err.Error(), "start it again") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s with the session bus gone: %v; want one line saying to start it again, store.ErrUnreachable", what, err)
		}
	}
	kr.RestartBus(t)
	got, err := s.Load(ctx, "sandbox")
	if err != nil || got.RefreshToken != rec.RefreshToken {
		t.Fatalf("after the bus came back: %v, %v; want the record saved before", got, err)
	}
	if err := s.Save(ctx, "sandbox", rec); err != nil {
		t.Fatalf("a save after the bus came back: %v", err)
	}
}
