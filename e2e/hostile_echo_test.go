//go:build unix

package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// echoes are the ways a server quotes v (the Basic header's, of id and v,
// last).
func echoes(v string) []string {
	q := url.QueryEscape(v)
	j, _ := json.Marshal(v)
	return []string{
		v, q, url.PathEscape(v), strings.ReplaceAll(q, "+", "%20"),
		strings.ReplaceAll(strings.ReplaceAll(q, "+", "%20"), "%2F", "/"), // Python's quote
		url.QueryEscape(q), url.QueryEscape("http://127.0.0.1/cb?state=" + q),
		strings.Trim(string(j), `"`), strings.ReplaceAll(strings.Trim(string(j), `"`), "/", `\/`),
		htmlEscaped(v),
		base64.StdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
		base64.StdEncoding.EncodeToString([]byte(`{"token":"` + strings.Trim(string(j), `"`) + `"}`)),
		base64.StdEncoding.EncodeToString([]byte("dev-client-id:" + q)),
	}
}

// htmlEscaped is v as a web page made with html/template shows it: + as
// &#43;, & as &amp;.
func htmlEscaped(v string) string {
	var b strings.Builder
	template.Must(template.New("page").Parse("{{.}}")).Execute(&b, v)
	return b.String()
}

// echoing answers as p does, quoting in every answer every secret the
// client holds, in every encoding a server might quote one in: in headers
// (WWW-Authenticate, Location, Link, Set-Cookie), and, failing, in JSON
// error bodies, in HTML pages, in URLs carried in other URLs. Each answer
// starts its quotes further on, so that a client that shows only the first
// of a long quote shows each.
func echoing(p *hostileProvider) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		held, fault, turn := p.hear(r)
		var all []string
		for _, s := range held {
			if len(s) >= 8 {
				all = append(all, echoes(s)...)
			}
		}
		k := turn * 5 % len(all)
		all = append(all[k:], all[:k]...)
		quoted := strings.Join(all, " ")
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="api", error="invalid_token", error_description=%q`, quoted))
		w.Header().Set("Link", "<https://127.0.0.1/next?state="+url.QueryEscape(quoted)+`>; rel="next"`)
		w.Header().Set("X-Echo", quoted)
		http.SetCookie(w, &http.Cookie{Name: "session", Value: base64.URLEncoding.EncodeToString([]byte(quoted))})
		token := strings.HasSuffix(r.URL.Path, "/token_endpoint")
		switch {
		case r.URL.Path == "/v2/approve_app":
			p.answer(w, r, quoted)
		case fault == "json" && (token || r.URL.Path != "/v2/echoed"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"error": "invalid_request", "error_description": "could not process " + quoted, "echo": all})
		case fault == "html" && (token || r.URL.Path != "/v2/echoed"):
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "<html><body><h1>could not process</h1><p>%s</p><p>%s</p></body></html>", html.EscapeString(quoted), quoted)
		case fault == "401" && (token || r.URL.Path != "/v2/echoed"):
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, "HTTP Basic: Access denied. could not process %s\n", quoted)
		case fault == "redirect" && r.URL.Path != "/v2/echoed":
			// Each secret encoded once (also JSON-escaped first) and twice,
			// as a URL carries it, and in a URL carried in another's query
			// (a redirect_uri, a state).
			var raw, once, twice, based []string
			for _, s := range held {
				j, _ := json.Marshal(s)
				raw = append(raw, s)
				once = append(once, url.QueryEscape(s), url.QueryEscape(strings.Trim(string(j), `"`)))
				twice = append(twice, url.QueryEscape(url.QueryEscape(s)))
				based = append(based, base64.URLEncoding.EncodeToString([]byte(s)))
			}
			http.Redirect(w, r, "/v2/echoed?echo="+url.QueryEscape(strings.Join(raw, " "))+"&q="+strings.Join(once, "+")+"&qq="+strings.Join(twice, "+")+
				"&b="+strings.Join(based, ".")+"&redirect_uri="+url.QueryEscape("http://127.0.0.1:8787/callback?state="+url.QueryEscape(strings.Join(raw, " "))), http.StatusFound)
		default:
			p.answer(w, r, quoted)
		}
	}
}

// TestHostileServerEchoesNoSecretIntoTheLogs runs a log-in, renewals,
// API requests, log-outs and proxied requests with --debug, in both formats,
// against a provider and an API that echo every secret they are sent in
// every encoding, in headers, JSON, HTML and redirects, failing in each of
// those ways, and looks for each secret in every encoding in stderr and
// the log files.
func TestHostileServerEchoesNoSecretIntoTheLogs(t *testing.T) {
	t.Parallel()
	h := startHostileProvider(t, "S3cr+t/=&@! with spaces", echoing)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			w := h.world(t)
			flags := []string{"--debug", "--log-format", format}
			var all strings.Builder
			// Failures that quote the provider's words, often enough for
			// each quote to come first once: a log-in's code exchange
			// (the code, the verifier), a renewal (the refresh token).
			for _, fault := range []string{"json", "401"} {
				h.setFault(fault)
				for range 20 {
					all.WriteString(w.tryLogin(flags...).stderr)
				}
			}
			h.setFault("")
			all.WriteString(w.login(flags...).stderr)
			for _, fault := range []string{"json", "401"} {
				h.setFault(fault)
				for range 20 {
					r, logs := w.runLogging(append(flags, "token", "--force")...)
					all.WriteString(r.stderr + logs)
				}
			}
			for _, fault := range []string{"", "json", "html", "401", "redirect"} {
				h.setFault(fault)
				for _, args := range [][]string{{"token", "--force"}, {"get", "/v2/company"}} {
					r, logs := w.runLogging(append(flags, args...)...)
					all.WriteString(r.stderr + logs)
				}
				if fault != "" {
					// A log-out, a process that only reads the tokens it
					// revokes: refused, it keeps them.
					r, logs := w.runLogging(append(flags, "logout")...)
					if r.code == 0 {
						t.Fatalf("a log-out whose revocation was answered with a %s fault succeeded", fault)
					}
					all.WriteString(r.stdout + r.stderr + logs)
				}
				// status tells of the last failure, in the provider's
				// words, and never shows a secret (stdout too).
				for _, args := range [][]string{{"status"}, {"status", "--json"}} {
					r, logs := w.runLogging(append(flags, args...)...)
					all.WriteString(r.stdout + r.stderr + logs)
				}
			}
			h.setFault("")
			all.WriteString(w.login(flags...).stderr)
			logFile := filepath.Join(t.TempDir(), "proxy.log")
			addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
			stop := w.startDaemon(append(flags, "--log-file", logFile, "proxy", "--listen", addr)...)
			waitListening(t, "http://"+addr)
			for _, fault := range []string{"", "json", "html", "401", "redirect"} {
				h.setFault(fault)
				unfollowed(t, "http://"+addr+"/dev/v2/company")
			}
			h.setFault("")
			stop()
			logs, err := os.ReadFile(logFile)
			if err != nil {
				t.Fatal(err)
			}
			all.WriteString(string(logs))
			out := all.String()
			for _, want := range []string{"refresh request", "api request", "code exchange"} {
				if !strings.Contains(strings.ToLower(out), want) {
					t.Fatalf("the debug log lacks %q; is it logging at all?\n%s", want, out)
				}
			}
			var leaked []string
			for _, s := range h.secrets() {
				for i, e := range echoes(s) {
					// Past what a mask shows: a quote cut short shows
					// the start of what it quotes.
					if len(e) >= 16 {
						e = strings.TrimPrefix(e, "http%3A%2F%2F127.0.0.1%2Fcb%3Fstate%3D")
						e = e[8:min(len(e), 24)]
					}
					if strings.Contains(out, e) {
						at := strings.Index(out, e)
						leaked = append(leaked, fmt.Sprintf("%.6s… as form %d: %s in %q", s, i, e, strings.ToValidUTF8(out[max(0, at-300):min(len(out), at+len(e)+100)], "")))
					}
				}
			}
			if len(leaked) > 0 {
				t.Errorf("secrets in the %s logs:\n%s", format, strings.Join(leaked, "\n"))
			}
		})
	}
}
