package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/keyringtest"
)

// TestImportPostmanForceOverAKeychainSecretOfAnotherClient: --force over an
// environment whose client secret is in the system keychain keeps it
// there, but the keychain keeps a secret for one client id at one token
// endpoint, and the export's client (or API) is another: the export's
// secret is put into the keychain for it, and the tokens renew. It was
// dropped, the summary said the environment "keeps reading its client
// secret from the system keychain", and the next renewal failed: the
// keychain held no client secret for the export's client. The old
// client's secret is left as it was, and a secret the keychain already
// holds for the export's client is not replaced.
func TestImportPostmanForceOverAKeychainSecretOfAnotherClient(t *testing.T) {
	e := newDevEnv(t)
	oldEnv := e.keychainProd(t, "old-client", "old-secret")

	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.seedExport(t, "prod"), "--force"); code != 0 {
		t.Fatalf("import --force exited %d: %s", code, stderr)
	}
	if strings.Contains(stderr.String(), "the export's was not stored") {
		t.Errorf("import --force says the export's secret was not stored, though the keychain held none for its client: %s", stderr)
	}
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "-e", "prod", "token", "--force"); code != 0 {
		t.Errorf("a renewal after import --force over a keychain secret of another client exited %d: %s%s", code, stdout, stderr)
	}
	f, err := config.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.Envs["prod"].ClientSecretValue(t.Context()); err != nil || got != "dev-client-secret" {
		t.Errorf("prod's client secret = %q, %v; want the export's", got, err)
	}
	if got, err := oldEnv.ClientSecretValue(t.Context()); err != nil || got != "old-secret" {
		t.Errorf("the old client's secret = %q, %v; want it left as it was", got, err)
	}

	// Imported again, the keychain holds a secret for the export's client
	// (here another than the export's, as after a rotation): it is kept.
	if err := f.Envs["prod"].KeepClientSecret(t.Context(), "rotated-secret"); err != nil {
		t.Fatal(err)
	}
	ios, _, stderr = testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.seedExport(t, "prod"), "--force"); code != 0 {
		t.Fatalf("import --force again exited %d: %s", code, stderr)
	}
	if !strings.Contains(stderr.String(), "prod keeps reading its client secret from the system keychain; the export's was not stored") {
		t.Errorf("import --force again: %s; want it to say prod keeps the keychain's secret", stderr)
	}
	if got, err := f.Envs["prod"].ClientSecretValue(t.Context()); err != nil || got != "rotated-secret" {
		t.Errorf("prod's client secret = %q, %v; want the keychain's kept", got, err)
	}
}

// TestImportPostmanFailedLeavesTheKeychainAsItWas: an import with
// --client-secret-keyring that fails once the export's client secret is in
// the keychain (the tokens cannot be stored) puts back
// the secret the keychain held for that client, as it puts back the tokens.
// It said nothing was imported, and the keychain held the export's secret
// in place of the one the environment had been working with.
func TestImportPostmanFailedLeavesTheKeychainAsItWas(t *testing.T) {
	e := newDevEnv(t)
	env := e.keychainProd(t, "dev-client-id", "working-secret")
	// prod's tokens cannot be stored: its lock file's name is a folder's.
	lock := filepath.Join(e.dir, "state", "prod.lock")
	os.Remove(lock)
	if err := os.MkdirAll(lock, 0o700); err != nil {
		t.Fatal(err)
	}
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.seedExport(t, "prod"), "--force", "--client-secret-keyring"); code == 0 {
		t.Fatalf("import with a token store that cannot be written succeeded: %s", stderr)
	}
	if !strings.Contains(stderr.String(), "nothing was imported") {
		t.Errorf("stderr = %q; want it to say nothing was imported", stderr)
	}
	if got, err := env.ClientSecretValue(t.Context()); err != nil || got != "working-secret" {
		t.Errorf("the keychain's client secret after the failed import = %q, %v; want the one it held", got, err)
	}
}

// keychainProd starts a private keychain and configures environment prod,
// FreeAgent's at e's API, for client clientID with its client secret,
// secret, in the keychain; it returns prod.
func (e *devEnv) keychainProd(t *testing.T, clientID, secret string) *config.Env {
	t.Helper()
	keyringtest.Start(t)
	s := config.EnvSettings{Provider: "freeagent", APIURL: e.api, ClientID: clientID, ClientSecretKeyring: true}
	env, err := config.NewEnv("prod", s)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.KeepClientSecret(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
	if _, err := config.WriteEnv(e.config, "prod", s, true); err != nil {
		t.Fatal(err)
	}
	return env
}
