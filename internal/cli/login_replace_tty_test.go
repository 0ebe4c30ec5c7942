//go:build linux

package cli_test

import (
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestLoginAsksBeforeReplacingAnotherConfigurationsTokens plays a person at
// a terminal whose store holds, under the environment's name, another
// configuration's tokens: login asks first, naming both clients. No (or
// just Enter) ends it, exit 0, with nothing sent and the tokens kept; yes
// logs in and replaces them; --yes does not ask. login went straight to the
// browser and replaced them, and that configuration lost its refresh token.
func TestLoginAsksBeforeReplacingAnotherConfigurationsTokens(t *testing.T) {
	e := newDevEnv(t)
	e.storeAnotherConfigurations(t)
	sent := e.provider.Stats() // the other configuration's log-in
	const question = `(another configuration's, or this one's before a change), not to this configuration's client "dev-client-id" at `
	for _, no := range []string{"n", ""} {
		s := newScreen(t)
		done := s.start(t, io.Discard, "--config", e.config, "login", "-e", "dev")
		s.expect(t, `The tokens stored for dev in `)
		s.expect(t, `belong to client "another-client" at `)
		s.expect(t, question)
		s.answered(t, done, "Log in and replace them? [y/N] ", no)
		s.expect(t, "Nothing was sent and nothing changed")
		if rec := e.record(t, "dev"); rec.Grant.ClientID != "another-client" {
			t.Fatalf("answered %q, the stored tokens are %s's; want the other configuration's, kept", no, rec.Grant.ClientID)
		}
		if st := e.provider.Stats(); st.TokenRequests != sent.TokenRequests {
			t.Fatalf("answered %q, stats %+v; want nothing sent", no, st)
		}
	}

	// Ctrl-C at the question ends login, nothing sent.
	newScreen(t).interruptAt(t, "Log in and replace them? [y/N] ", "--config", e.config, "login", "-e", "dev")
	if rec := e.record(t, "dev"); rec.Grant.ClientID != "another-client" {
		t.Fatalf("interrupted, the stored tokens are %s's; want the other configuration's, kept", rec.Grant.ClientID)
	}

	loginAnsweredYes(t, e, "Logged in to dev")
	if st := e.provider.Stats(); st.Exchanges != sent.Exchanges+1 {
		t.Errorf("stats %+v; want one exchange, the log-in answered y", st)
	}

	// --yes: no question; the line saying so, then the log-in.
	e.storeAnotherConfigurations(t)
	s := newScreen(t)
	done := s.start(t, io.Discard, "--config", e.config, "login", "-e", "dev", "--yes")
	if err := finished(t, done); err != nil {
		t.Fatalf("login --yes: %v\nscreen:\n%s", err, s)
	}
	s.expect(t, `freshtoken: dev: warning: the tokens stored for dev in `)
	s.expect(t, "this log-in replaces them once it succeeds")
	s.expect(t, "Logged in to dev")
	if rec := e.record(t, "dev"); rec.Grant.ClientID != "dev-client-id" {
		t.Fatalf("login --yes: the stored tokens are %s's; want this configuration's", rec.Grant.ClientID)
	}
}

// TestLoginAsksBeforeReplacingANewerFreshtokensTokens plays a person at a
// terminal whose store holds tokens a newer freshtoken wrote (an upgrade
// rolled back, or two versions sharing a store): login asks first, saying
// a newer freshtoken wrote them and can use them. No ends it, exit 0,
// nothing sent and the record kept as it was; yes logs in and replaces
// it. login replaced it with no question, only a warning logged after, and
// the newer freshtoken's grant was gone.
func TestLoginAsksBeforeReplacingANewerFreshtokensTokens(t *testing.T) {
	e := newDevEnv(t)
	path, newer := e.storeNewerFreshtokens(t)
	sent := e.provider.Stats()

	s := newScreen(t)
	done := s.start(t, io.Discard, "--config", e.config, "login", "-e", "dev")
	s.expect(t, "The tokens stored for dev in "+path+" were written by a newer freshtoken, which can use them")
	s.answered(t, done, "Log in and replace them? [y/N] ", "n")
	s.expect(t, "Nothing was sent and nothing changed: the newer freshtoken's tokens are kept. Upgrade freshtoken")
	if got, _ := os.ReadFile(path); string(got) != newer {
		t.Fatalf("answered n, the record is now %s; want the newer freshtoken's, kept", got)
	}
	if st := e.provider.Stats(); st.TokenRequests != sent.TokenRequests {
		t.Fatalf("answered n, stats %+v; want nothing sent", st)
	}

	loginAnsweredYes(t, e, "Logged in to dev")
}

// loginAnsweredYes runs login -e dev, with flags, at a terminal and
// answers y to its question: it logs in, saying says, and the tokens
// stored are this configuration's.
func loginAnsweredYes(t *testing.T, e *devEnv, says string, flags ...string) {
	t.Helper()
	s := newScreen(t)
	done := s.start(t, io.Discard, append([]string{"--config", e.config, "login", "-e", "dev"}, flags...)...)
	s.answered(t, done, "Log in and replace them? [y/N] ", "y")
	s.expect(t, says)
	if rec := e.record(t, "dev"); rec.Grant.ClientID != "dev-client-id" {
		t.Fatalf("answered y, the stored tokens are %s's; want this configuration's", rec.Grant.ClientID)
	}
}

// TestLoginBesideAProxyReplacesWhatThePersonConfirmed: login at a
// terminal, with a proxy of the same configuration on its redirect port,
// asks before replacing another configuration's tokens, as it does alone;
// answered y, the proxy, which keeps another configuration's tokens unless
// the command that opened its link says to replace them, replaces those
// the person confirmed, and login says it logged in.
func TestLoginBesideAProxyReplacesWhatThePersonConfirmed(t *testing.T) {
	e := newDevEnv(t)
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", RedirectURI: "http://" + addr + "/callback"})
	e.loginOutside(t)
	e.anotherClientStores(t)
	startProxy(t, e.config, addr)
	loginAnsweredYes(t, e, "Logged in to dev through the freshtoken proxy", "--timeout", "20s")
}

// TestLoginAsksBeforeReplacingAnotherFilesLogIn plays a person at a
// terminal logging in with a personal configuration whose environment
// shares its record with a work configuration file on this machine (one
// store, one name, one client) that logged in: login asks first, naming
// both files. No ends it, exit 0, nothing sent, the work log-in kept; yes
// logs in. It replaced the work configuration's tokens unasked, and that
// configuration then acted on the personal account.
func TestLoginAsksBeforeReplacingAnotherFilesLogIn(t *testing.T) {
	e := newTwoFiles(t)
	sent := e.provider.Stats()
	s := newScreen(t)
	done := s.start(t, io.Discard, "--config", e.personal, "login", "-e", "dev")
	s.expect(t, "were logged in with "+e.work+", not with this configuration ("+e.personal+")")
	s.expect(t, e.work+" will then use the account this log-in chooses.")
	s.answered(t, done, "Log in and replace them? [y/N] ", "n")
	s.expect(t, "Nothing was sent and nothing changed")
	if rec := e.record(t, "dev"); rec.LoggedInWith.Path != e.work {
		t.Fatalf("answered n, the stored tokens were logged in with %s; want the work configuration's, kept", rec.LoggedInWith.Path)
	}
	if st := e.provider.Stats(); st.TokenRequests != sent.TokenRequests {
		t.Fatalf("answered n, stats %+v; want nothing sent", st)
	}

	s = newScreen(t)
	done = s.start(t, io.Discard, "--config", e.personal, "login", "-e", "dev")
	s.answered(t, done, "Log in and replace them? [y/N] ", "y")
	s.expect(t, "Logged in to dev")
	if rec := e.record(t, "dev"); rec.LoggedInWith.Path != e.personal {
		t.Fatalf("answered y, the stored tokens were logged in with %s; want the personal configuration, this log-in's", rec.LoggedInWith.Path)
	}
}
