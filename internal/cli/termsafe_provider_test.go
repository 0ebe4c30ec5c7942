package cli_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProviderWordsReachNoTerminalRaw: a provider's error_description
// holding escape sequences, C1 and bidirectional controls and line breaks
// reaches neither the error line on stderr nor `status` (the failure it
// stored, shown on a terminal and to a pipe alike) with any of them.
func TestProviderWordsReachNoTerminalRaw(t *testing.T) {
	e := newDevEnvBehind(t, func(provider http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/token_endpoint" && r.PostFormValue("grant_type") == "refresh_token" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":"invalid_grant","error_description":"\u001b]52;c;ZXZpbA==\u0007revoked\u001b[2J`+"\u009b31m\u202e"+`\r\nfreshtoken: all is well"}`)
				return
			}
			provider.ServeHTTP(w, r)
		})
	})
	e.login(t)
	raw := func(s string) bool { return strings.ContainsAny(s, "\x1b\x07\r\u009b\u202e") }
	ios, stdout, stderr := testStreams(true, true)
	if code := e.run(ios, "token", "--force"); code != 3 || raw(stderr.String()) || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "revoked") {
		t.Errorf("token --force: exit %d, stderr %q; want 3 and one line with the provider's words, none of their controls", code, stderr)
	}
	if stdout.Len() != 0 {
		t.Errorf("token --force printed %q", stdout)
	}
	for _, format := range []string{"text", "json"} {
		ios, _, stderr := testStreams(true, true)
		e.run(ios, "--debug", "--log-format", format, "token", "--force")
		if raw(stderr.String()) {
			t.Errorf("--debug --log-format %s token --force: stderr %q holds the provider's controls", format, stderr)
		}
	}
	for _, terminal := range []bool{true, false} {
		ios, stdout, stderr := testStreams(terminal, terminal)
		e.run(ios, "status")
		if raw(stdout.String()+stderr.String()) || !strings.Contains(stdout.String(), "revoked") {
			t.Errorf("status (terminal %t): %q %q; want the stored failure shown without the provider's controls", terminal, stdout, stderr)
		}
	}
	// A record another program wrote (an older freshtoken sharing the
	// store), its message holding the controls themselves.
	file := filepath.Join(e.dir, "state", "dev.json")
	rec, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rec, []byte(`"message": "`)) {
		t.Fatal("no failure message in the record")
	}
	rec = bytes.Replace(rec, []byte(`"message": "`), []byte(`"message":"\u001b]0;title\u0007\u009b2J\u202eworded\r`), 1)
	if err := os.WriteFile(file, rec, 0o600); err != nil {
		t.Fatal(err)
	}
	ios, stdout, stderr = testStreams(true, true)
	e.run(ios, "status")
	if raw(stdout.String()+stderr.String()) || !strings.Contains(stdout.String(), "worded") {
		t.Errorf("status of a record holding controls in its failure: %q %q; want them not shown", stdout, stderr)
	}
}
