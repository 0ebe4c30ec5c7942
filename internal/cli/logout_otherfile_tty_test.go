//go:build linux

package cli_test

import (
	"io"
	"testing"
)

// TestLogoutAsksBeforeEndingAnotherFilesLogIn plays a person at a terminal
// logging out with a personal configuration whose environment shares its
// record with a work configuration file on this machine (one store, one
// name, one client) that logged in: logout asks first, naming the work
// file. No ends it, exit 0, nothing sent or deleted, naming the command
// that logs out of them (it named none); yes logs out; --yes does not ask.
// It forgot the work configuration's tokens unasked.
func TestLogoutAsksBeforeEndingAnotherFilesLogIn(t *testing.T) {
	e := newTwoFiles(t)
	s := newScreen(t)
	done := s.start(t, io.Discard, "--config", e.personal, "logout", "-e", "dev")
	s.expect(t, "were logged in with "+e.work+", another configuration, which shares them; logging out ends them for it too")
	s.answered(t, done, "Log out? [y/N] ", "n")
	s.expect(t, "Nothing was sent and nothing changed: the tokens "+e.work+" logged in with are kept for dev. Run `freshtoken --config "+e.personal+" logout -e dev --yes` to log out of them for both.")
	if rec := e.record(t, "dev"); rec == nil || rec.LoggedInWith.Path != e.work {
		t.Fatalf("answered n, the stored tokens are %+v; want the work configuration's, kept", rec)
	}

	s = newScreen(t)
	done = s.start(t, io.Discard, "--config", e.personal, "logout", "-e", "dev")
	s.answered(t, done, "Log out? [y/N] ", "y")
	s.expect(t, "Logged out of dev")
	if rec := e.record(t, "dev"); rec != nil {
		t.Fatalf("answered y, the store still holds tokens logged in with %s; want none", rec.LoggedInWith.Path)
	}

	e.loginOutside(t)
	s = newScreen(t)
	done = s.start(t, io.Discard, "--config", e.personal, "logout", "-e", "dev", "--yes")
	if err := finished(t, done); err != nil {
		t.Fatalf("logout --yes: %v\nscreen:\n%s", err, s)
	}
	s.expect(t, "this log-out ends them for it too")
	if rec := e.record(t, "dev"); rec != nil {
		t.Fatalf("logout --yes: the store still holds tokens logged in with %s; want none", rec.LoggedInWith.Path)
	}
}
