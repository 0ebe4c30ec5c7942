//go:build unix

package e2e_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// fragmenting is a provider and API that, failing, quote parts of every
// secret they are sent, as a provider cutting what it quotes does: the
// first 40 characters, all but the first three (a prefix it knows), the
// middle, the last 20, and 40 characters percent-encoded, in the error
// code and the description of a refusal, a 5xx and a 400.
type fragmenting struct {
	clientSecret string
	mu           sync.Mutex
	seen         []string
	fault        string // "", "refusal", "5xx" or "400"
	access       string
	refresh      string
	turn         int // answers given
}

// newFragmentedToken is a long token of kind holding the characters
// encodings write differently.
func newFragmentedToken(kind string) string {
	return kind + "+/" + rand.Text() + "/" + rand.Text() + "%41=&x y"
}

// fragmentsOf are the parts of v a server quotes.
func fragmentsOf(v string) []string {
	return []string{v[:min(40, len(v)-1)], v[3:], v[10 : len(v)-10], v[len(v)-20:], url.QueryEscape(v[5:min(45, len(v))])}
}

func (f *fragmenting) saw(v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.seen, v) {
		f.seen = append(f.seen, v)
	}
}

func (f *fragmenting) serve(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f.mu.Lock()
	held := []string{f.clientSecret, f.access, f.refresh}
	fault := f.fault
	f.mu.Unlock()
	for _, name := range []string{"code", "code_verifier", "refresh_token", "client_secret"} {
		held = append(held, r.Form[name]...)
	}
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		held = append(held, bearer)
	}
	held = slices.DeleteFunc(held, func(s string) bool { return len(s) < 32 })
	slices.Sort(held)
	held = slices.Compact(held)
	for _, s := range held {
		f.saw(s)
	}
	// Each answer quotes one of the secrets, the next one each time, its
	// parts in another order, so that a message that shows only the
	// first words quoted shows each part of each in turn.
	f.mu.Lock()
	f.turn++
	turn := f.turn
	f.mu.Unlock()
	quoted := fragmentsOf(held[turn%len(held)])
	k := turn / len(held) % len(quoted)
	quoted = append(quoted[k:], quoted[:k]...)
	code, description := strings.Join(quoted, "."), "could not process "+strings.Join(quoted, " ")
	token := strings.HasSuffix(r.URL.Path, "/token_endpoint")
	switch {
	case r.URL.Path == "/v2/approve_app":
		code := newFragmentedToken("code")
		http.Redirect(w, r, r.FormValue("redirect_uri")+"?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(r.FormValue("state")), http.StatusFound)
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
	case token:
		f.mu.Lock()
		f.access, f.refresh = newFragmentedToken("at"), newFragmentedToken("rt")
		access, refresh := f.access, f.refresh
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": access, "refresh_token": refresh, "token_type": "bearer", "expires_in": 3600})
	default:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"company":{"name":"Fragments Ltd"}}`)
	}
}

// TestHostileServerEchoesNoFragmentOfASecret: a provider quoting part of
// the refresh token, code, verifier or client secret it was sent (its first
// 40 characters, all but a prefix, its middle) in its error code and
// description, and an API quoting part of the bearer token, had that part
// shown in the message and the log, as only whole secrets were masked.
// Across a log-in, renewals, API calls and status, refused, failing with
// a 5xx and with a 400, with --debug in text and JSON, no run of 16
// characters of any secret sent shows, raw, percent-encoded, JSON-escaped
// or Go-quoted, in stdout (but for the API's own body, which `get` passes
// on), stderr or the log file.
func TestHostileServerEchoesNoFragmentOfASecret(t *testing.T) {
	t.Parallel()
	const clientSecret = "Fr4gm3nt+Cl13nt/S3cr3t=&@! with spaces"
	f := &fragmenting{clientSecret: clientSecret, seen: []string{clientSecret}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			f.mu.Lock()
			f.fault, f.access, f.refresh = "", "", ""
			f.mu.Unlock()
			setFault := func(fault string) {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.fault = fault
			}
			w := newWorld(t, devprovider.Options{}, "")
			w.env = append(w.env, "E2E_FRAGMENT_SECRET="+clientSecret)
			setSecretSource(t, w, `client_secret_env = "E2E_FRAGMENT_SECRET"`)
			w.writeConfig(strings.Replace(w.readConfig(), fmt.Sprintf("api_url = %q", w.api), fmt.Sprintf("api_url = %q", srv.URL+"/"), 1))
			flags := []string{"--debug", "--log-format", format}
			var all strings.Builder
			for _, fault := range []string{"refusal", "400"} {
				setFault(fault)
				for range 3 { // the client secret, the code, the verifier
					r := w.tryLogin(flags...)
					if r.code == 0 {
						t.Fatalf("a log-in whose code exchange was answered with a %s succeeded", fault)
					}
					all.WriteString(r.stdout + r.stderr)
				}
			}
			setFault("")
			all.WriteString(w.login(flags...).stderr)
			for _, fault := range []string{"refusal", "5xx", "400"} {
				setFault(fault)
				for range 3 { // the client secret, the access and refresh tokens
					r, logs := w.runLogging(append(flags, "token", "--force")...)
					if r.code == 0 {
						t.Fatalf("a renewal answered with a %s succeeded", fault)
					}
					all.WriteString(r.stdout + r.stderr + logs)
				}
				r, logs := w.runLogging(append(flags, "get", "/v2/company")...)
				all.WriteString(r.stderr + logs)
				r, logs = w.runLogging(append(flags, "status")...)
				all.WriteString(r.stdout + r.stderr + logs)
			}
			out := all.String()
			if !strings.Contains(out, "could not process") {
				t.Fatalf("the provider's words are never quoted; is it answering at all?\n%s", out)
			}
			f.mu.Lock()
			seen := slices.Clone(f.seen)
			f.mu.Unlock()
			for _, s := range seen {
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
