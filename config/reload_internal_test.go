package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReloadParsesOnlyWhatChanged: Reload gives an earlier reading again
// while the file holds the same bytes with the same mode (touched, its
// times changed), and reads the file anew otherwise: an edit of the same
// size, and a chmod that lets others read a file holding a plain
// client_secret, which is refused as Load refuses it.
func TestReloadParsesOnlyWhatChanged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.toml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("[env.dev]\nprovider = \"freeagent\"\nclient_id = \"a\"\nclient_secret = \"s\"\n")
	first, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	touched, err := Reload(p, first)
	if err != nil || touched == first || touched.Envs["dev"] != first.Envs["dev"] {
		t.Fatalf("touched: %v, the same File %v, its environment parsed again %v; want a copy of the reading given again",
			err, touched == first, touched.Envs["dev"] != first.Envs["dev"])
	}
	write("[env.dev]\nprovider = \"freeagent\"\nclient_id = \"b\"\nclient_secret = \"s\"\n")
	edited, err := Reload(p, touched)
	if err != nil || edited.Envs["dev"].ClientID != "b" {
		t.Fatalf("edited to the same size: %v, client %q; want b", err, edited.Envs["dev"].ClientID)
	}
	if !enforcesModes {
		return
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Reload(p, edited); err == nil {
		t.Fatal("made readable by others, its plain client_secret: read as before; want it refused")
	}
}
