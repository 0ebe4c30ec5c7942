//go:build unix

package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fragmentsOf are the parts of v a server quotes.
func fragmentsOf(v string) []string {
	return []string{v[:min(40, len(v)-1)], v[3:], v[10 : len(v)-10], v[len(v)-20:], url.QueryEscape(v[5:min(45, len(v))])}
}

// fragmenting answers as p does but, failing (fault "refusal", "5xx" or
// "400"), quotes parts of every secret the client holds, as a provider
// cutting what it quotes does: the first 40 characters, all but the first
// three (a prefix it knows), the middle, the last 20, and 40 characters
// percent-encoded, in the error code and the description of a refusal, a
// 5xx and a 400.
func fragmenting(p *hostileProvider) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		held, fault, turn := p.hear(r)
		held = slices.DeleteFunc(held, func(s string) bool { return len(s) < 32 })
		slices.Sort(held)
		held = slices.Compact(held)
		// Each answer quotes one of the secrets, the next one each time,
		// its parts in another order, so that a message that shows only
		// the first words quoted shows each part of each in turn.
		quoted := fragmentsOf(held[turn%len(held)])
		k := turn / len(held) % len(quoted)
		quoted = append(quoted[k:], quoted[:k]...)
		code, description := strings.Join(quoted, "."), "could not process "+strings.Join(quoted, " ")
		switch {
		case r.URL.Path == "/v2/approve_app":
			p.answer(w, r, description)
		case fault == "refusal":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
		case fault == "5xx":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
		case fault == "400":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "%s: %s\n", code, description)
		default:
			p.answer(w, r, description)
		}
	}
}

// TestHostileServerEchoesNoFragmentOfASecret: a provider quoting part of
// the refresh token, code, verifier or client secret it was sent (its first
// 40 characters, all but a prefix, its middle) in its error code and
// description, and an API quoting part of the bearer token, had that part
// shown in the message and the log, as only whole secrets were masked.
// Across a log-in, renewals, API calls, log-outs and status, refused, failing with
// a 5xx and with a 400, with --debug in text and JSON, no run of 16
// characters of any secret sent shows, raw, percent-encoded, JSON-escaped
// or Go-quoted, in stdout (but for the API's own body, which `get` passes
// on), stderr or the log file.
func TestHostileServerEchoesNoFragmentOfASecret(t *testing.T) {
	t.Parallel()
	f := startHostileProvider(t, "Fr4gm3nt+Cl13nt/S3cr3t=&@! with spaces", fragmenting)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			w := f.world(t)
			flags := []string{"--debug", "--log-format", format}
			var all strings.Builder
			for _, fault := range []string{"refusal", "400"} {
				f.setFault(fault)
				for range 3 { // the client secret, the code, the verifier
					r := w.tryLogin(flags...)
					if r.code == 0 {
						t.Fatalf("a log-in whose code exchange was answered with a %s succeeded", fault)
					}
					all.WriteString(r.stdout + r.stderr)
				}
			}
			f.setFault("")
			all.WriteString(w.login(flags...).stderr)
			for _, fault := range []string{"refusal", "5xx", "400"} {
				f.setFault(fault)
				for range 3 { // the client secret, the access and refresh tokens
					r, logs := w.runLogging(append(flags, "token", "--force")...)
					if r.code == 0 {
						t.Fatalf("a renewal answered with a %s succeeded", fault)
					}
					all.WriteString(r.stdout + r.stderr + logs)
				}
				r, logs := w.runLogging(append(flags, "get", "/v2/company")...)
				all.WriteString(r.stderr + logs)
				// A log-out, a process that only reads the tokens it
				// revokes: refused, it keeps them.
				r, logs = w.runLogging(append(flags, "logout")...)
				if r.code == 0 {
					t.Fatalf("a log-out whose revocation was answered with a %s succeeded", fault)
				}
				all.WriteString(r.stdout + r.stderr + logs)
				r, logs = w.runLogging(append(flags, "status")...)
				all.WriteString(r.stdout + r.stderr + logs)
			}
			out := all.String()
			if !strings.Contains(out, "could not process") {
				t.Fatalf("the provider's words are never quoted; is it answering at all?\n%s", out)
			}
			for _, s := range f.secrets() {
				if leak := leakedRun(out, s); leak != "" {
					t.Errorf("a fragment of %.6s… in the %s output: %s", s, format, leak)
				}
			}
		})
	}
}

// leakedRun is the first run of 16 characters of v that out holds, raw,
// percent-encoded, JSON-escaped or Go-quoted, with what is around it; ""
// if there is none.
func leakedRun(out, v string) string {
	for i := 0; i+16 <= len(v); i++ {
		run := v[i : i+16]
		j, _ := json.Marshal(run)
		for _, form := range []string{run, url.QueryEscape(run), url.PathEscape(run), strings.Trim(string(j), `"`), strings.Trim(strconv.Quote(run), `"`)} {
			if at := strings.Index(out, form); at >= 0 {
				return fmt.Sprintf("%q in %q", form, out[max(0, at-200):min(len(out), at+len(form)+50)])
			}
		}
	}
	return ""
}
