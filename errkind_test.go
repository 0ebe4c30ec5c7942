package freshtoken_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestErrorKindIsASentinel: an *Error's Kind is, as its comment says, a
// sentinel of this package or of package store, so that a program may
// switch on it; the store's own error stays underneath (Err), errors.Is and
// errors.As finding both. A store's failure (a record that cannot be read,
// a folder others may read) was its Kind as the store returned it, which
// equals no sentinel.
func TestErrorKindIsASentinel(t *testing.T) {
	r, _ := loggedIn(t)
	for _, c := range []struct {
		name  string
		spoil func(dir string)
		want  error
	}{
		{"a record that cannot be read", func(dir string) {
			if err := os.WriteFile(filepath.Join(dir, "sandbox.json"), []byte("{not json"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, store.ErrCorrupt},
		{"a folder others may read", func(dir string) {
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}, store.ErrInsecure},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "tokens")
			st := filestore.New(dir)
			if err := st.Save(t.Context(), "sandbox", r.record()); err != nil {
				t.Fatal(err)
			}
			c.spoil(dir)
			src, err := freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Token()
			var fe *freshtoken.Error
			if !errors.As(err, &fe) || fe.Kind != c.want || !errors.Is(err, c.want) {
				t.Fatalf("Token: %v (kind %#v); want an *Error of kind %v", err, fe, c.want)
			}
			if fe.Err == nil || fe.Err == c.want {
				t.Errorf("Err = %v; want the store's own error underneath", fe.Err)
			}
		})
	}
}

// TestCheckGrantOfNoRecord: Record returns nil for an environment never
// logged in, and a program passes what it returns on to CheckGrant, as to
// Plan and Unusable, which take nil: CheckGrant panicked on it (a nil
// pointer dereference). No record holds no other client's tokens: nil.
func TestCheckGrantOfNoRecord(t *testing.T) {
	r := newRig(t, devprovider.Options{})
	src := r.source()
	rec, err := src.Record(t.Context())
	if err != nil || rec != nil {
		t.Fatalf("Record before any log-in: %v, %v; want nil, nil", rec, err)
	}
	if err := src.CheckGrant(rec); err != nil {
		t.Errorf("CheckGrant(nil) = %v; want nil", err)
	}
}
