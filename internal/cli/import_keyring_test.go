package cli_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/store"
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
	oldEnv, _ := e.keychainProd(t, "old-client", "old-secret")

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
	env, _ := e.keychainProd(t, "dev-client-id", "working-secret")
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
// secret, in the keychain; it returns prod and the keychain.
func (e *devEnv) keychainProd(t *testing.T, clientID, secret string) (*config.Env, *keyringtest.Bus) {
	t.Helper()
	b := keyringtest.Start(t)
	s := config.EnvSettings{Provider: "freeagent", APIURL: e.api, ClientID: clientID, ClientSecretKeyring: true}
	env, err := config.NewEnv("prod", s)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.KeepClientSecret(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
	e.configureAs(t, "prod", clientID, config.EnvSettings{ClientSecretKeyring: true})
	return env, b
}

// TestImportPostmanForceOverAKeychainThatCannotBeAsked: --force over an
// environment that keeps its client secret in the system keychain must ask
// the keychain whether it holds one for the export's client. A keychain
// that could not be asked (no Secret Service, no D-Bus, locked) was taken
// for one holding it: the import said it was done, the export's secret
// went nowhere, and the first renewal failed. Now it stops in one line,
// saying what to do, with the configuration and the tokens as they were.
func TestImportPostmanForceOverAKeychainThatCannotBeAsked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, b *keyringtest.Bus)
		exit  int
		says  string
	}{
		{"no Secret Service", func(t *testing.T, _ *keyringtest.Bus) { keyringtest.StartBus(t) }, 2, "no Secret Service is running"},
		{"no D-Bus", func(t *testing.T, _ *keyringtest.Bus) { keyringtest.NoBus(t) }, 2, "no D-Bus session bus was found"},
		{"locked", func(t *testing.T, b *keyringtest.Bus) { b.Lock(t) }, 5, "the system keychain is locked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnv(t)
			_, b := e.keychainProd(t, "old-client", "old-secret")
			export := e.seedExport(t, "prod")
			kept := e.configKept(t)
			tc.spoil(t, b)

			ios, stdout, stderr := testStreams(false, false)
			code := e.run(ios, "import", "postman", export, "--force")
			if code != tc.exit {
				t.Fatalf("import --force with a keychain that cannot be asked exited %d, want %d: %s%s", code, tc.exit, stdout, stderr)
			}
			msg := stderr.String()
			for _, want := range []string{"prod: it keeps its client secret in the system keychain, which could not be asked whether it holds one for client dev-client-id", tc.says, "--client-secret-env NAME", "nothing was imported"} {
				if !strings.Contains(msg, want) {
					t.Errorf("stderr = %q; want it to say %q", msg, want)
				}
			}
			if strings.Count(strings.TrimSpace(msg), "\n") > 0 {
				t.Errorf("stderr = %q; want one line", msg)
			}
			kept("the import failed")
			if _, err := os.Stat(filepath.Join(e.dir, "state", "prod.json")); !os.IsNotExist(err) {
				t.Errorf("the failed import stored tokens for prod (%v)", err)
			}
		})
	}
}

// TestImportPostmanFailedRemovesTheSecretItAdded: an import with
// --client-secret-keyring into a keychain holding no secret for the
// export's client, which fails once it has put the export's there (the
// tokens cannot be stored), removes it: the keychain is as it was, as the
// tokens and the configuration are. It was left there.
func TestImportPostmanFailedRemovesTheSecretItAdded(t *testing.T) {
	e := newDevEnv(t)
	b := keyringtest.Start(t)
	e.configure(t) // dev, to find the state folder; prod is new
	lock := filepath.Join(e.dir, "state", "prod.lock")
	if err := os.MkdirAll(lock, 0o700); err != nil { // prod's tokens cannot be stored
		t.Fatal(err)
	}
	kept := e.configKept(t)
	before := b.Items(t, "freshtoken")
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.seedExport(t, "prod"), "--client-secret-keyring"); code == 0 {
		t.Fatalf("import with a token store that cannot be written succeeded: %s", stderr)
	}
	if !strings.Contains(stderr.String(), "nothing was imported") {
		t.Errorf("stderr = %q; want it to say nothing was imported", stderr)
	}
	kept("the import failed")
	if after := b.Items(t, "freshtoken"); len(after) != len(before) {
		t.Errorf("the keychain held %q before the failed import and %q after; want it as it was", before, after)
	}
	env, err := config.NewEnv("prod", config.EnvSettings{Provider: "freeagent", APIURL: e.api, ClientID: "dev-client-id", ClientSecretKeyring: true})
	if err != nil {
		t.Fatal(err)
	}
	if held, err := env.KeychainHoldsClientSecret(t.Context()); err != nil || held {
		t.Errorf("after the failed import the keychain holds a client secret for the export's client: %v, %v; want none, as before", held, err)
	}
}

// TestImportPostmanPutsBackAKeychainWriteCtrlCAbandoned: the keychain
// takes a call freshtoken gave up waiting for (Ctrl-C, or no answer within
// 30 s while it waits on an unlock prompt): the keychain library takes no
// context, and its answer is dropped, but the write is made. An import
// stopped by Ctrl-C while its save's last write (the record's head, which
// commits it) was on its way left that save out of its put-back, and said
// "nothing was imported", while the keychain went on to hold the export's
// tokens for an environment the unchanged configuration does not name (in
// place of any it held). That write is now put back as a Redis write whose
// answer never came is: here, once the keychain has taken it, deleted.
func TestImportPostmanPutsBackAKeychainWriteCtrlCAbandoned(t *testing.T) {
	e := newDevEnv(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the keychain's renewal locks
	b := keyringtest.Start(t)
	export := e.seedExport(t, "sand")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var held atomic.Bool
	release := make(chan struct{})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	t.Cleanup(let)
	b.Relay(t, func(sent []byte) {
		// The head of the record (its parts written first), on its way
		// to the keychain: the user presses Ctrl-C, and the keychain
		// takes it only later.
		if bytes.Contains(sent, []byte(`{"slot":`)) && held.CompareAndSwap(false, true) {
			cancel()
			<-release
		}
	})
	// The keychain answers again once the import has given up the write
	// and calls it again: the put-back's look at what it holds.
	ctx = store.WithWaiting(ctx, func() {
		if held.Load() {
			let()
		}
	})
	const storeURL = "keyring://?service=freshtoken-gq"
	err := e.importStopped(t, ctx, storeURL, export, &held)
	let()
	st, serr := config.OpenStore(storeURL)
	if serr != nil {
		t.Fatal(serr)
	}
	// Read once the keychain has answered the write given up on: the
	// keychain's calls take turns.
	if rec, lerr := st.Load(t.Context(), "sand"); !errors.Is(lerr, store.ErrNotFound) {
		t.Fatalf("after the failed import (%v) the keychain holds %v, %v for sand; want none, as before", err, rec != nil, lerr)
	}
	if msg := err.Error(); !strings.Contains(msg, "the tokens of sand were put back as they were: nothing was imported") {
		t.Errorf("%s\nwant sand's tokens put back, and nothing imported", msg)
	}
}
