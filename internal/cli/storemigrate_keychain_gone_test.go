package cli_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/keyringtest"
)

// TestStoreMigrateToAKeychainWhoseDaemonDies: `store migrate --to
// keyring://` whose keychain daemon dies (killed, crashed) half-way, as
// the second environment is asked for: nothing is moved, [store] still
// names the folder, both environments' tokens work there, and the one line
// says to start the keychain again or to move the tokens elsewhere, exit
// 5. It said to unlock the keychain "or keep the tokens in files instead:
// take the keyring:// url out of [store]", which [store] did not name.
// Once the daemon is back, the same command moves both.
func TestStoreMigrateToAKeychainWhoseDaemonDies(t *testing.T) {
	e, kr, killed := twoLoggedInAndAKeychainThatDies(t, func(sent []byte) bool {
		return bytes.Contains(sent, []byte("prod"))
	})
	before, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "store", "migrate", "--to", "keyring://"); code != 5 {
		t.Fatalf("store migrate exited %d, want 5 (the keychain unreachable):\n%s", code, stderr)
	}
	said := stderr.String()
	if !killed.Load() || !strings.Contains(said, "start it again") || !strings.Contains(said, "--to file:///") ||
		strings.Contains(said, "out of [store]") || strings.Contains(said, "unlock it") || !strings.Contains(said, "nothing was moved, and [store] url still names") {
		t.Errorf("store migrate to a keychain whose daemon died said:\n%s\nwant: start it again, or move the tokens elsewhere with --to; nothing moved", said)
	}
	if after, _ := os.ReadFile(e.config); !bytes.Equal(after, before) {
		t.Errorf("the configuration changed:\n%s", after)
	}
	for _, env := range []string{"dev", "prod"} {
		ios, _, stderr := testStreams(false, false)
		if code := e.run(ios, "token", "--force", "-e", env); code != 0 {
			t.Fatalf("token --force -e %s after the failed move exited %d: %s", env, code, stderr)
		}
	}
	kr.Restart(t)
	ios, _, stderr = testStreams(false, false)
	if code := e.run(ios, "store", "migrate", "--to", "keyring://"); code != 0 {
		t.Fatalf("store migrate once the keychain was back exited %d: %s", code, stderr)
	}
	for _, env := range []string{"dev", "prod"} {
		ios, _, stderr := testStreams(false, false)
		if code := e.run(ios, "token", "--force", "-e", env); code != 0 {
			t.Fatalf("token --force -e %s from the keychain exited %d: %s", env, code, stderr)
		}
	}
}

// TestStoreMigrateAgainAfterALogInOverALeftCopy: a move to a keychain whose
// daemon died half-way could not take back the copy it made of dev there,
// and notes it beside the configuration (no token in the note); dev then
// logged in again, in the folder [store] still names. The same move, once
// the keychain is back, moves the new log-in's tokens over the copy left
// there, this configuration's own older log-in, says so, and forgets the
// note. It
// was refused as "another log-in", saying to run `freshtoken logout
// --local -e dev` and move again, which deleted the new log-in's tokens
// and moved to the copy's, of the log-in they had replaced.
func TestStoreMigrateAgainAfterALogInOverALeftCopy(t *testing.T) {
	e, kr, _ := twoLoggedInAndAKeychainThatDies(t, func(sent []byte) bool {
		return bytes.Contains(sent, []byte("CreateItem")) && bytes.Contains(sent, []byte("prod"))
	})
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "store", "migrate", "--to", "keyring://"); code != 5 || !strings.Contains(stderr.String(), "dev: its copy in") || !strings.Contains(stderr.String(), "could not be taken back") {
		t.Fatalf("store migrate exited %d, want 5 with dev's copy left in the keychain:\n%s", code, stderr)
	}
	// The reason first, then what became of the copies made: the lines
	// about them came first, the reason under them.
	if said := stderr.String(); !strings.HasPrefix(said, "prod: ") || !strings.Contains(said, "\ndev: its copy in") {
		t.Errorf("store migrate said:\n%s\nwant the reason (prod: …) first, then that dev's copy could not be taken back", said)
	}
	// The copies it could not take back are noted beside the
	// configuration, by a fingerprint of their tokens, not the tokens.
	note, err := os.ReadFile(e.config + ".left-copies")
	if err != nil || !bytes.Contains(note, []byte(`"env":"dev"`)) {
		t.Fatalf("the note of the copies left: %s (%v); want dev's copy in it", note, err)
	}
	if rec := e.record(t, "dev"); bytes.Contains(note, []byte(rec.RefreshToken)) || bytes.Contains(note, []byte(rec.AccessToken)) {
		t.Errorf("the note of the copies left holds dev's tokens: %s", note)
	}
	kr.Restart(t)
	loggedIn := e.loginOutsideAs(t, "dev")
	rec, err := loggedIn.Record(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "store", "migrate", "--to", "keyring://"); code != 0 {
		t.Fatalf("store migrate after the new log-in exited %d, want 0: %s", code, stderr)
	}
	if said := stdout.String(); !strings.Contains(said, ", in place of a copy of this configuration's earlier log-in (logged in ") {
		t.Errorf("store migrate said:\n%s\nwant it to say the copy left there was replaced", said)
	}
	if _, err := os.Stat(e.config + ".left-copies"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the note of the copies left is still there once they were replaced (%v)", err)
	}
	moved, err := config.Open(t.Context(), config.OpenOptions{Path: e.config, Env: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := moved.Record(t.Context())
	if err != nil || !got.LoggedInAt.Equal(rec.LoggedInAt) || got.RefreshToken != rec.RefreshToken {
		t.Fatalf("dev in the keychain: %v, logged in %v; want the new log-in's tokens, logged in %v", err, got, rec.LoggedInAt)
	}
	ios, _, stderr = testStreams(false, false)
	if code := e.run(ios, "token", "--force", "-e", "dev"); code != 0 {
		t.Fatalf("token --force -e dev from the keychain exited %d: %s", code, stderr)
	}
}

// twoLoggedInAndAKeychainThatDies is a devEnv with dev and prod logged in,
// in the folder [store] names, and a keychain whose daemon is killed at
// the first message to it that dies matches; killed says whether it was.
func twoLoggedInAndAKeychainThatDies(t *testing.T, dies func(sent []byte) bool) (e *devEnv, kr *keyringtest.Bus, killed *atomic.Bool) {
	t.Helper()
	kr = keyringtest.Start(t)
	e = newDevEnv(t)
	for _, env := range []string{"dev", "prod"} {
		e.configureAs(t, env, "dev-client-id", config.EnvSettings{ClientSecret: "dev-client-secret"})
		e.loginOutsideAs(t, env)
	}
	killed = new(atomic.Bool)
	kr.Relay(t, func(sent []byte) {
		if dies(sent) && killed.CompareAndSwap(false, true) {
			kr.Kill(t)
		}
	})
	return e, kr, killed
}
