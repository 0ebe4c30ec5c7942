package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestImportPostmanStoresTokensPrivately imports a seed export whose tokens
// came from the provider without freshtoken, and checks what was stored: the
// tokens with their expiry counted from the export's issue time, and a
// configuration file, which now holds the client secret, that only its owner
// can read, with no staging file left beside it.
func TestImportPostmanStoresTokensPrivately(t *testing.T) {
	e := newDevEnv(t, devprovider.Options{})
	if err := os.Chmod(e.config, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, issued, err := loginOutside(t.Context(), e.api, "dev-client-secret")
	if err != nil {
		t.Fatal(err)
	}
	issuedMs := issued.UnixMilli()
	export := filepath.Join(t.TempDir(), "FreeAgent.postman_environment.json")
	data := fmt.Sprintf(`{"name": "FreeAgent", "values": [
		{"key": "ClientId", "value": "dev-client-id"},
		{"key": "ClientSecret", "value": "dev-client-secret", "type": "secret"},
		{"key": "Resource_sand", "value": %q},
		{"key": "RefreshToken_sand", "value": %q},
		{"key": "AccessToken_sand", "value": %q},
		{"key": "AccessTokenIss_sand", "value": "%d"},
		{"key": "AccessTokenExp_sand", "value": "%d"}
	]}`, e.api, tok.RefreshToken, tok.AccessToken, issuedMs, tok.ExpiresIn)
	if err := os.WriteFile(export, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}

	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", export); code != 0 {
		t.Fatalf("import exited %d: %s", code, stderr)
	}

	fi, err := os.Stat(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the configuration holds the client secret and has mode %04o, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(e.dir)
	var names []string
	for _, de := range entries {
		names = append(names, de.Name())
	}
	if !slices.Equal(names, []string{"config.toml", "state"}) {
		t.Errorf("the configuration folder holds %v, want only config.toml and state", names)
	}

	src, err := freshtoken.Open(t.Context(), freshtoken.OpenOptions{ConfigPath: e.config, Env: "sand"})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := src.Record(t.Context())
	if err != nil || rec == nil {
		t.Fatalf("no record stored: %v", err)
	}
	wantIssued := time.UnixMilli(issuedMs)
	if rec.RefreshToken != tok.RefreshToken || rec.AccessToken != tok.AccessToken || rec.TokenType != "Bearer" ||
		!rec.IssuedAt.Equal(wantIssued) || !rec.Expiry.Equal(wantIssued.Add(time.Duration(tok.ExpiresIn)*time.Second)) {
		t.Errorf("stored %+v; want the export's tokens, issued %s, expiring %ds later", rec, wantIssued, tok.ExpiresIn)
	}
}
