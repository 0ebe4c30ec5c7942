package cli_test

import (
	"net"
	"strings"
	"testing"
)

// TestStorePasswordOfPlainWordsIsRefused: a Redis password made of
// lowercase letters alone (here freshtoken, as a team named it) is refused
// as a configuration mistake (exit 2), in words that say what to do and
// hold freshtoken's own words whole: masked wherever it appeared, it
// turned `freshtoken login` in every message into "…(10 chars) login"
// (here the debug log's store keys, freshtoken:dev), which mangled the
// messages and showed what the password is. The password itself is never
// written.
func TestStorePasswordOfPlainWordsIsRefused(t *testing.T) {
	e := newDevEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a port nothing answers on, once closed
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e.useStore(t, "redis://:freshtoken@"+addr+"/0?max_retries=-1")
	ios, _, stderr := testStreams(false, false)
	code := e.run(ios, "--debug", "token", "-e", "dev")
	said := stderr.String()
	if code != 2 || !strings.Contains(said, "give Redis a password with digits or capital letters") {
		t.Errorf("token with the Redis password freshtoken: exit %d, stderr %q; want 2 saying to give Redis another", code, said)
	}
	if strings.Contains(said, "(10 chars)") || !strings.HasPrefix(said, "freshtoken: ") {
		t.Errorf("stderr %q masks freshtoken's own words", said)
	}
}
