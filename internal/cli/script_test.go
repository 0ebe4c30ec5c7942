package cli_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
)

// unignoringSignals is m, run with testenv.UnignoreSignals: the tests'
// run alone, not the commands testscript runs from this same binary
// (freshtoken in a script), which begin with the signals as the script
// left them. Unignored there too, a script's `trap "" HUP` (nohup) was
// undone in freshtoken itself, which then could not be tested honouring it.
type unignoringSignals struct{ *testing.M }

func (m unignoringSignals) Run() int {
	testenv.UnignoreSignals()
	return m.M.Run()
}

func TestMain(m *testing.M) {
	testscript.Main(unignoringSignals{m}, map[string]func(){
		"freshtoken": func() { os.Exit(cli.Main(os.Args[1:], cli.SystemStreams())) },
		// approve plays a person's browser: it opens the URL and follows the
		// redirects, which an auto-approving dev provider sends back to the
		// login callback.
		"approve": scriptProgram("approve", func(args []string) error {
			return testenv.Visit(args[len(args)-1])
		}),
		// approve6 is approve in a browser that opens localhost at ::1, as
		// browsers do where ::1 is localhost too (this machine's resolver
		// may know 127.0.0.1 alone).
		"approve6": scriptProgram("approve6", func(args []string) error {
			var dialer net.Dialer
			browser := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if host, port, _ := net.SplitHostPort(addr); host == "localhost" {
					addr = net.JoinHostPort("::1", port)
				}
				return dialer.DialContext(ctx, network, addr)
			}}}
			resp, err := browser.Get(args[len(args)-1])
			if err != nil {
				return err
			}
			return resp.Body.Close()
		}),
		// deny plays a person who clicks Deny: the browser comes back to the
		// redirect URI with error=access_denied and the request's state. A
		// link to a proxy's log-in is followed to the provider's page first.
		"deny": scriptProgram("deny", func(args []string) error {
			u, err := url.Parse(args[len(args)-1])
			if err != nil {
				return err
			}
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for hops := 0; !u.Query().Has("state") && hops < 5; hops++ {
				resp, err := noFollow.Get(u.String())
				if err != nil {
					return err
				}
				resp.Body.Close()
				if u, err = resp.Location(); err != nil {
					return err
				}
			}
			return backToRedirectURI(u, url.Values{"error": {"access_denied"}, "error_description": {"The user denied access."}})
		}),
		// mixup plays a browser that a hostile provider sent on to another
		// provider, which answers the redirect URI with its own code, this
		// log-in's state, and its own issuer (RFC 9207's iss).
		"mixup": scriptProgram("mixup", func(args []string) error {
			u, err := url.Parse(args[len(args)-1])
			if err != nil {
				return err
			}
			return backToRedirectURI(u, url.Values{"code": {"corp-code-0123456789"}, "iss": {"https://corp.example.com/realms/staff"}})
		}),
		// mixupnoiss is mixup where the other provider names no issuer.
		"mixupnoiss": scriptProgram("mixupnoiss", func(args []string) error {
			u, err := url.Parse(args[len(args)-1])
			if err != nil {
				return err
			}
			return backToRedirectURI(u, url.Values{"code": {"corp-code-0123456789"}})
		}),
		// approvenoiss is approve at a provider that does not keep its
		// promise to name itself in every answer (RFC 9207's iss): the
		// browser comes back to the redirect URI with its code, no iss.
		"approvenoiss": scriptProgram("approvenoiss", func(args []string) error {
			browser := &http.Client{CheckRedirect: func(req *http.Request, _ []*http.Request) error {
				q := req.URL.Query()
				q.Del("iss")
				req.URL.RawQuery = q.Encode()
				return nil
			}}
			resp, err := browser.Get(args[len(args)-1])
			if err != nil {
				return err
			}
			return resp.Body.Close()
		}),
		// device plays a person at the device grant's verification page:
		//	device approve|deny|expire N URL
		// opened as a browser on the verification URL that carries the
		// user code, it waits until the provider has seen N token requests
		// (the log-in's polls), then approves or denies that code, or lets
		// it expire (through the provider's /_dev/expire-devices).
		"device": scriptProgram("device", func(args []string) error {
			return decideDevice(args[1], args[2], args[3])
		}),
	})
}

// scriptProgram is a program the scripts run, named name: run gets its
// arguments, and an error it returns is printed and exits 1.
func scriptProgram(name string, run func(args []string) error) func() {
	return func() {
		if err := run(os.Args); err != nil {
			fmt.Fprintln(os.Stderr, name+":", err)
			os.Exit(1)
		}
	}
}

// backToRedirectURI plays the browser coming back from the provider to the
// redirect URI that the authorization request u names, with answer and
// that request's state.
func backToRedirectURI(u *url.URL, answer url.Values) error {
	q := u.Query()
	answer.Set("state", q.Get("state"))
	return testenv.Visit(q.Get("redirect_uri") + "?" + answer.Encode())
}

func decideDevice(decision, polls, verifyURL string) error {
	u, err := url.Parse(verifyURL)
	if err != nil {
		return err
	}
	want, err := strconv.Atoi(polls)
	if err != nil {
		return err
	}
	stats := u.Scheme + "://" + u.Host + "/_dev/stats"
	for deadline := time.Now().Add(30 * time.Second); ; {
		var st devprovider.Stats
		resp, err := http.Get(stats)
		if err != nil {
			return err
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if st.TokenRequests >= want {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the provider saw %d token requests in 30s, not %d", st.TokenRequests, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	page := *u
	page.RawQuery = ""
	if decision == "expire" {
		page.Path = "/_dev/expire-devices"
	}
	resp, err := http.PostForm(page.String(), url.Values{"user_code": {u.Query().Get("user_code")}, "decision": {decision}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the verification page answered %s", resp.Status)
	}
	return nil
}

// TestScripts runs the end-to-end scripts in testdata/script: the real
// freshtoken binary against a dev provider over loopback HTTP.
func TestScripts(t *testing.T) {
	runScripts(t, "testdata/script", map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"expand": cmdExpand,
	})
}

// runScripts runs the scripts in dir, each with a home folder of its own
// and NO_COLOR set, with the devprovider and exits commands and cmds.
func runScripts(t *testing.T, dir string, cmds map[string]func(ts *testscript.TestScript, neg bool, args []string)) {
	cmds["devprovider"] = cmdDevProvider
	cmds["exits"] = cmdExits
	testscript.Run(t, testscript.Params{
		Dir: dir,
		// The test's own folder: testscript removes a folder of its own
		// only once every script ran, so a run of some (-run) left it.
		WorkdirRoot: t.TempDir(),
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
			env.Setenv("XDG_STATE_HOME", filepath.Join(env.WorkDir, ".state"))
			env.Setenv("NO_COLOR", "1")
			// A port of the script's own for a redirect URI or a listener:
			// the default 8787 may be held by the user's own proxy or by
			// another test.
			port, err := testenv.PickPort()
			env.Setenv("CALLBACK_PORT", strconv.Itoa(port))
			return err
		},
		Cmds: cmds,
		// [ipv6]: this machine has the IPv6 loopback address, ::1.
		Condition: func(cond string) (bool, error) {
			if cond != "ipv6" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			ln, err := net.Listen("tcp", "[::1]:0")
			if err == nil {
				ln.Close()
			}
			return err == nil, nil
		},
	})
}

// cmdExits runs a program as exec does and asserts its exit status:
//
//	exits N PROGRAM [ARGS...]
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	var ee *exec.ExitError
	if err := ts.Exec(args[1], args[2:]...); errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// cmdExpand writes a copy of a file with $VARIABLES replaced by their
// values, for files that must hold what a script learnt as it ran:
//
//	expand SOURCE DEST
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: expand SOURCE DEST")
	}
	text := os.Expand(ts.ReadFile(args[0]), ts.Getenv)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(text), 0o600))
}

var providers sync.Map // *testscript.TestScript → *devprovider.Provider

// cmdDevProvider drives the dev provider of the running script:
//
//	devprovider start [ttl=2s] [grace=5s] [auth=basic|body|none|private_key_jwt]
//	                  [key=pkcs1|pkcs8|sec1] [rpm=N] [contacts=N] [rels=single] [links=none]
//	                  [offline=SCOPE] [iss=on]
//	                                 start it; sets $API, $ISSUER, $DEV_SECRET, $CALLBACK_PORT;
//	                                 iss=on names the issuer in every log-in answer, and
//	                                 says so in its discovery documents (RFC 9207);
//	                                 offline= gives a refresh token only to log-ins asking
//	                                 for SCOPE, as Xero and Microsoft do (offline_access);
//	                                 key= writes a new client key in that PEM encoding to
//	                                 $KEY_FILE and registers its public half (kid "k1");
//	                                 rels=single quotes Link relations as FreeAgent does
//	                                 (rel='next'), links=none drops every Link header
//	devprovider param ENDPOINT KEY [VALUE]
//	                                 assert the latest request to ENDPOINT (authorize,
//	                                 token, revoke) carried KEY, with VALUE (several values
//	                                 joined by commas); with !, that it did not carry KEY
//	devprovider grant                log in outside freshtoken, with x/oauth2; sets
//	                                 $ACCESS_TOKEN, $REFRESH_TOKEN, $ISSUED_MS (now, in ms)
//	devprovider throttle N [SECS]    the next N API requests get 429 with Retry-After: SECS (default 1;
//	                                 none: no Retry-After)
//	devprovider fault KIND N         the next N token requests fail as KIND
//	devprovider revoke               every current access token gets 401
//	devprovider stat NAME N          assert a Stats counter (json name) equals N
//	devprovider nosecrets FILE...    assert no issued secret appears in the files
func cmdDevProvider(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: devprovider start|fault|revoke|stat|nosecrets ...")
	}
	if args[0] == "start" {
		startProvider(ts, args[1:])
		return
	}
	v, ok := providers.Load(ts)
	if !ok {
		ts.Fatalf("devprovider start first")
	}
	p := v.(*devprovider.Provider)
	switch args[0] {
	case "grant":
		grantOutside(ts)
	case "throttle":
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		secs := "1"
		if len(args) > 2 {
			secs = args[2]
		}
		v, _ := throttles.Load(ts)
		v.(*throttle).set(n, secs)
	case "fault":
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		p.Fault(devprovider.Fault(args[1]), n)
	case "revoke":
		p.RevokeAccessTokens()
	case "param":
		checkParam(ts, p, neg, args[1:])
	case "stat":
		data, _ := json.Marshal(p.Stats())
		var m map[string]int
		json.Unmarshal(data, &m)
		got, ok := m[args[1]]
		if !ok {
			ts.Fatalf("no stat %q in %s", args[1], data)
		}
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		if (got == want) == neg {
			ts.Fatalf("stat %s = %d, want %s%d", args[1], got, map[bool]string{true: "not ", false: ""}[neg], want)
		}
	case "nosecrets":
		secrets := p.Secrets()
		if len(secrets) == 0 {
			ts.Fatalf("the provider issued no secrets: nothing to check")
		}
		for _, f := range args[1:] {
			text := ts.ReadFile(f)
			for _, s := range secrets {
				if strings.Contains(text, s) {
					ts.Fatalf("%s contains a secret the provider issued (%.6s…)", f, s)
				}
			}
		}
	default:
		ts.Fatalf("unknown devprovider subcommand %q", args[0])
	}
}

// scriptArg is v parsed by parse, failing the script if it does not parse.
func scriptArg[T any](ts *testscript.TestScript, v string, parse func(string) (T, error)) T {
	x, err := parse(v)
	ts.Check(err)
	return x
}

func startProvider(ts *testscript.TestScript, args []string) {
	opts := devprovider.Options{AutoApprove: true, RequirePKCE: true, DeviceInterval: time.Second}
	noLinks := false
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "ttl":
			opts.AccessTTL = scriptArg(ts, v, time.ParseDuration)
		case "grace":
			opts.ReuseGrace = scriptArg(ts, v, time.ParseDuration)
		case "auth":
			opts.AuthStyle = v
		case "rpm":
			opts.RequestsPerMinute = scriptArg(ts, v, strconv.Atoi)
		case "contacts":
			opts.Contacts = scriptArg(ts, v, strconv.Atoi)
		case "rels":
			opts.SingleQuotedRels = v == "single"
		case "links":
			noLinks = v == "none"
		case "offline":
			opts.OfflineScope = v
		case "iss":
			opts.NamesIssuer = v == "on"
		case "key":
			opts.ClientPublicKey = writeClientKey(ts, v)
			opts.ClientKeyID = "k1"
		default:
			ts.Fatalf("unknown devprovider option %q", a)
		}
	}
	p := devprovider.New(opts)
	th := &throttle{}
	h := th.wrap(p.Handler())
	if noLinks {
		h = dropLinks(h)
	}
	srv := httptest.NewServer(h)
	ts.Defer(func() { p.Close(); srv.Close() })
	providers.Store(ts, p)
	throttles.Store(ts, th)
	ts.Defer(func() { providers.Delete(ts); throttles.Delete(ts) })
	ts.Setenv("API", srv.URL+"/")
	ts.Setenv("ISSUER", srv.URL) // its discovery documents' issuer
	ts.Setenv("DEV_SECRET", "dev-client-secret")
}

var throttles sync.Map // *testscript.TestScript → *throttle

// throttle answers API requests 429 Too Many Requests the way FreeAgent does
// over its limit (Retry-After and a plain-text body), with a Retry-After short
// enough for a test to wait out.
type throttle struct {
	mu         sync.Mutex
	n          int
	retryAfter string
}

func (th *throttle) set(n int, retryAfter string) {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.n, th.retryAfter = n, retryAfter
}

func (th *throttle) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		th.mu.Lock()
		limited := th.n > 0 && strings.HasPrefix(r.URL.Path, "/v2/") && r.URL.Path != "/v2/token_endpoint" && r.URL.Path != "/v2/approve_app"
		if limited {
			th.n--
		}
		retryAfter := th.retryAfter
		th.mu.Unlock()
		if !limited {
			h.ServeHTTP(w, r)
			return
		}
		if retryAfter != "none" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, "Rate Limit Exceeded", http.StatusTooManyRequests)
	})
}

// dropLinks serves h without its Link headers.
func dropLinks(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&linkDropper{ResponseWriter: w}, r)
	})
}

type linkDropper struct{ http.ResponseWriter }

func (d *linkDropper) WriteHeader(code int) {
	d.Header().Del("Link")
	d.ResponseWriter.WriteHeader(code)
}

func (d *linkDropper) Write(b []byte) (int, error) {
	d.Header().Del("Link")
	return d.ResponseWriter.Write(b)
}

// grantOutside logs in to the script's dev provider with x/oauth2, as a
// Postman user once did, so a script can import tokens freshtoken never saw.
func grantOutside(ts *testscript.TestScript) {
	tok, issued, err := loginOutside(context.Background(), ts.Getenv("API"), ts.Getenv("DEV_SECRET"))
	ts.Check(err)
	ts.Setenv("ACCESS_TOKEN", tok.AccessToken)
	ts.Setenv("REFRESH_TOKEN", tok.RefreshToken)
	ts.Setenv("ISSUED_MS", strconv.FormatInt(issued.UnixMilli(), 10))
}

// loginOutside gets tokens from the auto-approving dev provider at api (with
// its trailing slash) as any OAuth client would, without freshtoken: the
// provider redirects straight back with a code, which x/oauth2 exchanges.
// issued is when the exchange was sent.
func loginOutside(ctx context.Context, api, secret string) (tok *oauth2.Token, issued time.Time, err error) {
	conf := &oauth2.Config{
		ClientID:     "dev-client-id",
		ClientSecret: secret,
		RedirectURL:  "http://127.0.0.1:8787/callback",
		Endpoint:     oauth2.Endpoint{AuthURL: api + "v2/approve_app", TokenURL: api + "v2/token_endpoint", AuthStyle: oauth2.AuthStyleInHeader},
	}
	issued = time.Now()
	tok, err = devserver.Login(ctx, conf)
	return tok, issued, err
}

// writeClientKey writes a new client key to $WORK/client-key.pem in the PEM
// encoding named (pkcs1: RSA; pkcs8: RSA; sec1: EC P-256), sets $KEY_FILE,
// and returns the public half.
func writeClientKey(ts *testscript.TestScript, encoding string) crypto.PublicKey {
	var key crypto.Signer
	var block *pem.Block
	switch encoding {
	case "pkcs1", "pkcs8":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		ts.Check(err)
		key, block = k, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
		if encoding == "pkcs8" {
			der, err := x509.MarshalPKCS8PrivateKey(k)
			ts.Check(err)
			block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
		}
	case "sec1":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ts.Check(err)
		der, err := x509.MarshalECPrivateKey(k)
		ts.Check(err)
		key, block = k, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	default:
		ts.Fatalf("unknown key encoding %q", encoding)
	}
	path := ts.MkAbs("client-key.pem")
	ts.Check(os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
	ts.Setenv("KEY_FILE", path)
	return key.Public()
}

// checkParam asserts what the latest request to an endpoint carried:
//
//	devprovider param ENDPOINT KEY [VALUE]
func checkParam(ts *testscript.TestScript, p *devprovider.Provider, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: devprovider param ENDPOINT KEY [VALUE]")
	}
	r, ok := p.LastReceived(args[0])
	if !ok {
		ts.Fatalf("no %s request was received", args[0])
	}
	got, has := r.Params[args[1]]
	switch {
	case neg && has:
		ts.Fatalf("the %s request carried %s = %q", args[0], args[1], got)
	case neg:
	case !has:
		ts.Fatalf("the %s request did not carry %s (it carried %v)", args[0], args[1], r.Params)
	case len(args) == 3 && strings.Join(got, ",") != args[2]:
		ts.Fatalf("the %s request carried %s = %q, want %q", args[0], args[1], strings.Join(got, ","), args[2])
	}
}
