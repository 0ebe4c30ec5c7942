package cli_test

import (
	"bytes"
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
	kr := keyringtest.Start(t)
	e := newDevEnv(t)
	for _, env := range []string{"dev", "prod"} {
		e.configureAs(t, env, "dev-client-id", config.EnvSettings{ClientSecret: "dev-client-secret"})
		e.loginOutsideAs(t, env)
	}
	before, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	var killed atomic.Bool
	kr.Relay(t, func(sent []byte) {
		if bytes.Contains(sent, []byte("prod")) && killed.CompareAndSwap(false, true) {
			kr.Kill(t)
		}
	})
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
