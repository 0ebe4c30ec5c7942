package login_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/store"
)

// TestWhoseNamesTheOtherFile: whose tokens a record holds is its grant,
// and the configuration file that logged in only when OtherThan names it;
// the command line and the proxy each wrote it, "… logged in with FILE",
// in words of their own.
func TestWhoseNamesTheOtherFile(t *testing.T) {
	dir := t.TempDir()
	ours, theirs := filepath.Join(dir, "ours.toml"), filepath.Join(dir, "theirs.toml")
	for _, p := range []string{ours, theirs} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	grant := store.Grant{ClientID: "dev-client-id", TokenURL: "https://login.example.com/token"}
	for _, tt := range []struct {
		name string
		by   string
		want string
	}{
		{"our own log-in", ours, grant.String()},
		{"another file's", theirs, grant.String() + " logged in with " + theirs},
	} {
		r := &store.Record{Grant: grant, LoggedInWith: store.ConfigFile{Host: "here", Path: tt.by}}
		if got := login.Whose(r, store.ConfigFile{Host: "here", Path: ours}); got != tt.want {
			t.Errorf("%s: Whose = %q; want %q", tt.name, got, tt.want)
		}
	}
}
