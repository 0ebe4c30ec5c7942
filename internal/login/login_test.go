package login_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
)

func provider(t *testing.T, redirectURIs ...string) (*devprovider.Provider, *oauth2.Config) {
	t.Helper()
	p, base := devserver.Start(t, devprovider.Options{AutoApprove: true, RequirePKCE: true, RedirectURIs: redirectURIs})
	return p, &oauth2.Config{
		ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		Endpoint:    oauth2.Endpoint{AuthURL: base + "/v2/approve_app", TokenURL: base + "/v2/token_endpoint", AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL: "http://127.0.0.1:0/callback",
	}
}

// browse is a browser opening u: it follows the redirects, and sends the
// page it lands on, or why it could not, to page.
func browse(u string, page chan<- string) {
	resp, err := http.Get(u)
	if err != nil {
		page <- err.Error()
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		page <- string(b) + err.Error()
		return
	}
	page <- string(b)
}

func TestLoopbackLoginWithPKCE(t *testing.T) {
	p, conf := provider(t)
	var opened string
	page := make(chan string, 1)
	flow := &login.Flow{Env: "sandbox", Config: conf, Stderr: io.Discard, Timeout: 10 * time.Second,
		OpenBrowser: func(u string) error {
			opened = u
			go browse(u, page) // the browser follows the provider's redirect to the callback
			return nil
		}}
	ln, err := login.Listen("http://127.0.0.1:0/callback")
	if err != nil {
		t.Fatal(err)
	}
	conf.RedirectURL = "http://" + ln.Addr().String() + "/callback"
	flow.Listener = ln
	res, err := flow.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Token.AccessToken == "" || res.Token.RefreshToken == "" {
		t.Fatalf("token %+v", res.Token)
	}
	q := mustQuery(t, opened)
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 32 {
		t.Fatalf("authorisation URL lacks PKCE S256 or a strong state: %s", opened)
	}
	if p.Stats().Exchanges != 1 {
		t.Fatalf("exchanges = %d", p.Stats().Exchanges)
	}
	if got := <-page; !strings.Contains(got, "Logged in to sandbox") || !strings.Contains(got, "</html>") {
		t.Fatalf("the browser did not get the whole success page: %q", got)
	}
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Query()
}

// TestForgedCallbacksAreIgnored sends the running login's loopback server
// callbacks without its state, each carrying something that would end or
// steer the login if it were looked at; each gets a plain 400 and the login
// keeps waiting, until the real answer completes it.
func TestForgedCallbacksAreIgnored(t *testing.T) {
	forgeries := []string{
		"code=forged-code&state=wrong",
		"error=access_denied&error_description=Forged+text+for+the+terminal",
		"error=access_denied&error_description=Forged&state=wrong",
		"error=access_denied&error_description=Forged&state=",
		"code=forged-code",
	}
	p, conf := provider(t)
	ln, err := login.Listen("http://127.0.0.1:0/callback")
	if err != nil {
		t.Fatal(err)
	}
	conf.RedirectURL = "http://" + ln.Addr().String() + "/callback"
	type answer struct {
		status      int
		contentType string
		body        string
	}
	answers := make(chan answer, len(forgeries))
	stderr := testenv.NewOutput()
	flow := &login.Flow{Env: "sandbox", Config: conf, Listener: ln, Stderr: stderr, Timeout: 10 * time.Second,
		OpenBrowser: func(u string) error {
			authURL, err := url.Parse(u)
			if err != nil {
				return err
			}
			state := authURL.Query().Get("state")
			go func() {
				for _, q := range forgeries {
					// A near miss, the state's prefix, is refused too.
					if strings.HasSuffix(q, "state=wrong") {
						q = strings.TrimSuffix(q, "wrong") + state[:10]
					}
					resp, err := http.Get(conf.RedirectURL + "?" + q)
					if err != nil {
						answers <- answer{body: err.Error()}
						continue
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					answers <- answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
				}
				http.Get(u) // the real browser answer comes last
			}()
			return nil
		}}
	res, err := flow.Run(context.Background())
	if err != nil {
		t.Fatalf("a forged callback ended the login: %v", err)
	}
	for _, q := range forgeries {
		a := <-answers
		if a.status != http.StatusBadRequest || !strings.HasPrefix(a.contentType, "text/plain") || strings.Contains(a.body, "Forged") {
			t.Errorf("forged callback %q got %d %s %q, want a plain 400 that repeats nothing", q, a.status, a.contentType, a.body)
		}
		if !strings.Contains(q, "state=") && strings.Contains(a.body, "another login") {
			t.Errorf("callback %q, with no state, was told as another log-in's answer: %q", q, a.body)
		}
	}
	if res.Token.AccessToken == "" || p.Stats().TokenRequests != 1 {
		t.Fatalf("want exactly the real code exchanged; token requests = %d", p.Stats().TokenRequests)
	}
	if strings.Contains(stderr.String(), "Forged") {
		t.Fatalf("forged text reached the terminal: %s", stderr)
	}
}

// TestACallbackIsAnsweredOnce: the browser coming back twice with the same
// answer (a reload while the code exchange is under way) exchanges the code
// once. A second exchange of a code is what providers treat as a stolen
// code, revoking every token it gave.
func TestACallbackIsAnsweredOnce(t *testing.T) {
	var callbackURL string
	var requests atomic.Int32
	reload := make(chan int, 1)
	second := make(chan struct{})
	p, base := devserver.Start(t, devprovider.Options{AutoApprove: true, RequirePKCE: true,
		OnTokenRequest: func(string) {
			if requests.Add(1) > 1 {
				close(second)
				return
			}
			// The person reloads the page while the exchange is under way;
			// the exchange goes on once the reload is answered, or has sent
			// the code again.
			go func() {
				resp, err := http.Get(callbackURL)
				if err != nil {
					reload <- 0
					return
				}
				resp.Body.Close()
				reload <- resp.StatusCode
			}()
			select {
			case status := <-reload:
				reload <- status
			case <-second:
			}
		}})
	ln, err := login.Listen("http://127.0.0.1:0/callback")
	if err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		Endpoint:    oauth2.Endpoint{AuthURL: base + "/v2/approve_app", TokenURL: base + "/v2/token_endpoint", AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL: "http://" + ln.Addr().String() + "/callback"}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	flow := &login.Flow{Env: "sandbox", Config: conf, Listener: ln, Stderr: io.Discard, Timeout: 10 * time.Second,
		OpenBrowser: func(u string) error {
			resp, err := noFollow.Get(u)
			if err != nil {
				return err
			}
			resp.Body.Close()
			callbackURL = resp.Header.Get("Location")
			go http.Get(callbackURL)
			return nil
		}}
	res, err := flow.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if status := <-reload; status != http.StatusBadRequest {
		t.Errorf("the reloaded callback got %d, want 400", status)
	}
	if s := p.Stats(); s.TokenRequests != 1 || s.Exchanges != 1 || res.Token.RefreshToken == "" {
		t.Fatalf("want the code exchanged once, and its tokens returned: token requests %d, exchanges %d, token %+v", s.TokenRequests, s.Exchanges, res.Token)
	}
}

// TestPKCEVerifierIsTheChallenges checks the pair the flow sends: the
// challenge in the URL must be S256 of the verifier sent in the exchange.
func TestPKCEVerifierIsTheChallenges(t *testing.T) {
	_, conf := provider(t)
	req := login.NewRequest(conf)
	sum := sha256.Sum256([]byte(req.Verifier))
	if got := mustQuery(t, req.URL).Get("code_challenge"); got != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Fatalf("challenge %q is not S256(verifier)", got)
	}
	if other := login.NewRequest(conf); other.State == req.State || other.Verifier == req.Verifier {
		t.Fatal("state or verifier repeated between attempts")
	}
}

func TestManualPasteBack(t *testing.T) {
	p, conf := provider(t, "https://oauth.pstmn.io/v1/callback")
	conf.RedirectURL = "https://oauth.pstmn.io/v1/callback"
	pr, pw := io.Pipe()
	stderr := testenv.NewOutput()
	flow := &login.Flow{Env: "sandbox", Config: conf, Manual: true, Stdin: pr, Stderr: stderr, Timeout: 10 * time.Second}
	go func() {
		// The person opens the printed URL; the provider redirects to Postman's
		// callback, which they copy from the address bar.
		var authURL string
		for deadline := time.Now().Add(10 * time.Second); authURL == ""; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				pw.CloseWithError(errors.New("the flow printed no URL within 10s"))
				return
			}
			for _, l := range strings.Split(stderr.String(), "\n") {
				if strings.HasPrefix(l, "http") {
					authURL = l
				}
			}
		}
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(authURL)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		resp.Body.Close()
		io.WriteString(pw, resp.Header.Get("Location")+"\n")
	}()
	res, err := flow.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Token.RefreshToken == "" || p.Stats().Exchanges != 1 {
		t.Fatalf("manual login did not exchange the code: %+v", res.Token)
	}
}

// TestManualRefusesAPasteTooLongToBeAnAnswer: a line longer than any
// address the browser lands on (megabytes pasted, or `< /dev/zero`) is said
// to be no answer as soon as it is too long, without being kept, and the
// right address pasted after it logs in; the whole line was read into
// memory, growing without bound until the log-in's timeout (gigabytes from
// /dev/zero).
func TestManualRefusesAPasteTooLongToBeAnAnswer(t *testing.T) {
	m, pw := pipedManual(t, context.Background(), time.Minute)
	m.authURL(t)
	// More than any answer, with no end of line yet: it is refused before
	// the line ends, and the rest of it is not taken for another paste.
	go io.WriteString(pw, "https://"+strings.Repeat("x", 4<<20))
	testenv.WaitFor(t, "the long paste refused", func() bool {
		return strings.Contains(m.stderr.String(), "That is too long to be the address your browser landed on")
	})
	go io.WriteString(pw, strings.Repeat("x", 1000)+"?code=x&state=y\n"+m.approve(t)+"\n")

	o := m.end(t)
	if o.err != nil {
		t.Fatalf("%v\nstderr:\n%s", o.err, m.stderr)
	}
	if n := strings.Count(m.stderr.String(), "That "); n != 1 {
		t.Errorf("%d pastes refused, want 1 (the long line's end is no paste of its own):\n%s", n, m.stderr)
	}
	if o.res.Token.RefreshToken == "" || m.provider.Stats().Exchanges != 1 {
		t.Fatalf("token %+v, stats %+v; want one exchange, for the right address", o.res.Token, m.provider.Stats())
	}
}

// TestManualRefusalSaysToLogInManuallyAgain: an answer pasted that says
// access was refused, or whose code the provider refuses, ends the log-in
// with its step, logging in again, told by LogInAgain, for the command
// line to name this log-in's command with its flags; and no other step
// after it. It named `freshtoken login -e ENV`, which waits for a browser
// on this machine, where there is none (or refuses a redirect URI
// elsewhere), and later `freshtoken login --manual -e ENV`, without the
// log-in's --timeout and the configuration's --config.
func TestManualRefusalSaysToLogInManuallyAgain(t *testing.T) {
	for _, answer := range []string{"error=access_denied", "code=not-a-code-it-gave"} {
		t.Run(answer, func(t *testing.T) {
			m, pw := pipedManual(t, context.Background(), time.Minute)
			state := m.authURL(t).Query().Get("state")
			go io.WriteString(pw, m.conf.RedirectURL+"?"+answer+"&state="+url.QueryEscape(state)+"\n")
			err := m.end(t).err
			if failure.Of(err) != failure.LoginRefused {
				t.Fatalf("got %v, a failure of kind %v; want a refused log-in", err, failure.Of(err))
			}
			var told interface{ LogInAgain() (before, after string) }
			if !errors.As(err, &told) {
				t.Fatalf("got %v; want its step told by LogInAgain", err)
			}
			before, after := told.LogInAgain()
			if before == "" || err.Error() != before+"log in again"+after || after != " and approve access in the browser" {
				t.Fatalf("said %q, LogInAgain %q, %q; want the step to log in again and approve access in the browser", err, before, after)
			}
			if next := failure.Next(err, "sandbox"); next != "" || strings.Contains(err.Error(), "freshtoken login") {
				t.Fatalf("said %q, then %q; want no command of its own, and no other step", err, next)
			}
		})
	}
}

// deadline is a context whose deadline passes when the test says: the
// log-in's timeout, reached without waiting for it.
type deadline struct {
	context.Context
	done chan struct{}
}

func (d deadline) Done() <-chan struct{} { return d.done }

func (d deadline) Err() error {
	select {
	case <-d.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// TestManualTimeoutAfterAWrongPaste: a log-in whose time runs out after
// pastes that were no answer says the address was not pasted in time, and
// that what was pasted was not it; it said "no URL was pasted", to a
// person who had pasted one.
func TestManualTimeoutAfterAWrongPaste(t *testing.T) {
	ctx := deadline{context.Background(), make(chan struct{})}
	m, pw := pipedManual(t, ctx, time.Minute)
	testenv.WaitFor(t, "the question", func() bool { return strings.Contains(m.stderr.String(), "press Enter") })
	go io.WriteString(pw, "https://oauth.pstmn.io/v1/callback?code=x&state=an-earlier-one\n")
	testenv.WaitFor(t, "the paste asked for again", func() bool { return strings.Contains(m.stderr.String(), "That address answers another log-in") })
	close(ctx.done)
	if err := m.end(t).err; !errors.Is(err, login.ErrNotApproved) || strings.Contains(err.Error(), "no URL was pasted") || !strings.Contains(err.Error(), "was not it") {
		t.Fatalf("got %v; want the time out told, and that what was pasted was not the address", err)
	}
}

// TestManualAsksAgainAfterAPasteThatIsNoAnswer: words pasted where the
// address goes, then an earlier log-in's answer, are each said and another
// paste asked for, and the right address pasted next logs in, one exchange:
// the log-in ended at the first, and starting over asked the person to
// approve in the browser again.
func TestManualAsksAgainAfterAPasteThatIsNoAnswer(t *testing.T) {
	m, pw := pipedManual(t, context.Background(), 10*time.Second)
	m.authURL(t)
	io.WriteString(pw, "I approved it\n")
	testenv.WaitFor(t, "the paste asked for again", func() bool {
		return strings.Contains(m.stderr.String(), "That is not the address your browser landed on")
	})
	io.WriteString(pw, m.conf.RedirectURL+"?code=old-code&state=old-state\n")
	testenv.WaitFor(t, "the paste asked for again", func() bool { return strings.Contains(m.stderr.String(), "That address answers another log-in") })
	io.WriteString(pw, m.approve(t)+"\n")

	o := m.end(t)
	if o.err != nil {
		t.Fatalf("%v\nstderr:\n%s", o.err, m.stderr)
	}
	if o.res.Token.RefreshToken == "" || m.provider.Stats().Exchanges != 1 || m.provider.Stats().TokenRequests != 1 {
		t.Fatalf("token %+v, stats %+v; want one exchange, for the right address", o.res.Token, m.provider.Stats())
	}
}

// TestManualTakesTheAddressQuoted: the address the browser landed on,
// pasted within quotes or angle brackets (as a chat, an e-mail or a shell
// command wrote it), logs in with one exchange; it was refused as "not the
// address your browser landed on", which it was.
func TestManualTakesTheAddressQuoted(t *testing.T) {
	for _, wrap := range []string{`"%s"`, "'%s'", "<%s>", "`%s`", ` " %s " `, "\x1b[200~%s\x1b[201~", "\ufeff%s\u00a0"} {
		t.Run(wrap, func(t *testing.T) {
			m, pw := pipedManual(t, context.Background(), 10*time.Second)
			io.WriteString(pw, fmt.Sprintf(wrap, m.approve(t))+"\n")
			o := m.end(t)
			if o.err != nil {
				t.Fatalf("%v\nstderr:\n%s", o.err, m.stderr)
			}
			if o.res.Token.RefreshToken == "" || m.provider.Stats().Exchanges != 1 {
				t.Fatalf("token %+v, stats %+v; want one exchange", o.res.Token, m.provider.Stats())
			}
		})
	}
}

// TestManualSaysAPasteIsCutShort: the address the browser landed on,
// pasted cut short (all or part of its state missing, as a terminal's line
// or a selection cuts it), is said to be cut short and the whole address
// asked for, which then logs in; its code is not exchanged. It was said to
// answer "another log-in (an earlier one?)", exit 3, to a person who had
// pasted this one's.
func TestManualSaysAPasteIsCutShort(t *testing.T) {
	cuts := map[string]func(landed string) string{
		"part of the state": func(l string) string { return l[:len(l)-5] },
		"the whole state":   func(l string) string { return l[:strings.Index(l, "state=")+len("state=")] },
		"no state":          func(l string) string { return l[:strings.Index(l, "&state=")] },
		"half the code":     func(l string) string { return l[:strings.Index(l, "code=")+8] },
	}
	for name, cut := range cuts {
		t.Run(name, func(t *testing.T) {
			m, pw := pipedManual(t, context.Background(), 10*time.Second)
			landed := m.approve(t)
			io.WriteString(pw, cut(landed)+"\n")
			testenv.WaitFor(t, "the paste asked for again", func() bool {
				return strings.Contains(m.stderr.String(), "That address lacks all or part of this log-in's state, as an address cut short does: paste the whole address")
			})
			if m.provider.Stats().TokenRequests != 0 {
				t.Fatalf("stats %+v; want no token request for an address cut short", m.provider.Stats())
			}
			io.WriteString(pw, landed+"\n")
			if o := m.end(t); o.err != nil || m.provider.Stats().Exchanges != 1 {
				t.Fatalf("err %v, stats %+v; want the whole address to log in, with one exchange\nstderr:\n%s", o.err, m.provider.Stats(), m.stderr)
			}
		})
	}
}

// manualRun is a manual log-in to Postman's callback, run in the
// background; how it ends comes on done.
type manualRun struct {
	provider *devprovider.Provider
	conf     *oauth2.Config
	stderr   *testenv.Output
	done     chan manualEnd
}

// manualEnd is how a manual log-in ended.
type manualEnd struct {
	res *login.Result
	err error
}

// startManual begins a manual log-in with ctx, reading what is pasted from
// stdin, given timeout, as a person's at a terminal (InTTY), who is asked
// again after a paste that is no answer.
func startManual(t *testing.T, ctx context.Context, stdin io.Reader, timeout time.Duration) *manualRun {
	t.Helper()
	p, conf := provider(t, "https://oauth.pstmn.io/v1/callback")
	conf.RedirectURL = "https://oauth.pstmn.io/v1/callback"
	m := &manualRun{provider: p, conf: conf, stderr: testenv.NewOutput(), done: make(chan manualEnd, 1)}
	flow := &login.Flow{Env: "sandbox", Config: conf, Manual: true, Stdin: stdin, InTTY: true, Stderr: m.stderr, Timeout: timeout}
	go func() {
		res, err := flow.Run(ctx)
		m.done <- manualEnd{res, err}
	}()
	return m
}

// pipedManual is startManual reading what the test writes to pw.
func pipedManual(t *testing.T, ctx context.Context, timeout time.Duration) (m *manualRun, pw *io.PipeWriter) {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	return startManual(t, ctx, pr, timeout), pw
}

// authURL waits for the URL the log-in prints for the person to open.
func (m *manualRun) authURL(t *testing.T) *url.URL {
	t.Helper()
	var u *url.URL
	testenv.WaitFor(t, "the URL to open", func() bool {
		for _, l := range strings.Split(m.stderr.String(), "\n") {
			if strings.HasPrefix(l, "http") {
				u, _ = url.Parse(l)
			}
		}
		return u != nil
	})
	return u
}

// approve opens the log-in's URL as a browser does, the provider approving
// at once, and returns the address the browser lands on.
func (m *manualRun) approve(t *testing.T) string {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(m.authURL(t).String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Location")
}

// end waits for the log-in to end.
func (m *manualRun) end(t *testing.T) manualEnd {
	t.Helper()
	return testenv.Receive(t, "the log-in to end", m.done)
}

// TestManualPastesThatAreNoAnswer: what a person may paste instead of the
// address they landed on (nothing, words, the URL to open itself, an earlier
// log-in's answer), and pasting nothing in time, each end the log-in with
// one line that says to run the manual log-in again, and send nothing to
// the provider.
func TestManualPastesThatAreNoAnswer(t *testing.T) {
	p, conf := provider(t, "https://oauth.pstmn.io/v1/callback")
	conf.RedirectURL = "https://oauth.pstmn.io/v1/callback"
	tests := []struct {
		name  string
		paste func(authURL string) string // "" pastes nothing at all
		want  error
		say   string
	}{
		// stdin closed or /dev/null (cron, `<&-`): the person never had a
		// chance to paste, and is not told they pasted the wrong thing.
		{"end of input", func(string) string { return "" }, login.ErrBadPaste, "nothing was pasted: the standard input ended"},
		{"words", func(string) string { return "I approved it\n" }, login.ErrBadPaste, "paste the whole address"},
		{"the URL to open", func(u string) string { return u + "\n" }, login.ErrBadPaste, "it has no code"},
		{"an earlier answer", func(string) string { return conf.RedirectURL + "?code=old-code&state=old-state\n" }, login.ErrStateMismatch, "earlier log-in"},
		{"this answer cut short", func(u string) string {
			a, _ := url.Parse(u)
			return conf.RedirectURL + "?code=new-code&state=" + a.Query().Get("state")[:5] + "\n"
		}, login.ErrBadPaste, "as an address cut short does"},
		{"nothing in time", nil, login.ErrNotApproved, "no URL was pasted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			stderr := testenv.NewOutput()
			flow := &login.Flow{Env: "sandbox", Config: conf, Manual: true, Stdin: pr, Stderr: stderr, Timeout: 10 * time.Second}
			if tt.paste == nil {
				flow.Timeout = 100 * time.Millisecond
			} else {
				go func() {
					var authURL string
					for deadline := time.Now().Add(10 * time.Second); authURL == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
						for _, l := range strings.Split(stderr.String(), "\n") {
							if strings.HasPrefix(l, "http") {
								authURL = l
							}
						}
					}
					io.WriteString(pw, tt.paste(authURL))
					pw.Close()
				}()
			}
			_, err := flow.Run(context.Background())
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.say) || !toldToLogInAgain(err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want %v, on one line, saying %q and, through LogInAgain, to log in again", err, tt.want, tt.say)
			}
		})
	}
	if n := p.Stats().TokenRequests; n != 0 {
		t.Errorf("%d token requests for pastes that carry no answer", n)
	}
}

// TestManualWithoutATerminalAsksNothing: with standard input no terminal
// (a pipe), a manual log-in says to write the URL there as a line, not to
// press Enter, and a line that is no answer ends the log-in at once in one
// line, the pipe still open: nobody is there to paste another. It printed
// the question to press Enter (Ctrl-C to stop) and waited for the next line.
func TestManualWithoutATerminalAsksNothing(t *testing.T) {
	p, conf := provider(t, "https://oauth.pstmn.io/v1/callback")
	conf.RedirectURL = "https://oauth.pstmn.io/v1/callback"
	pr, pw := io.Pipe()
	defer pw.Close()
	go io.WriteString(pw, "junk\n") // and no more, nor the end of the input
	stderr := testenv.NewOutput()
	flow := &login.Flow{Env: "sandbox", Config: conf, Manual: true, Stdin: pr, Stderr: stderr, Timeout: 10 * time.Second}
	_, err := flow.Run(context.Background())
	if !errors.Is(err, login.ErrBadPaste) || !toldToLogInAgain(err) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v; want the line refused at once, in one line saying, through LogInAgain, to log in again", err)
	}
	if said := stderr.String(); strings.Contains(said, "press Enter") || strings.Contains(said, "Ctrl-C") || !strings.Contains(said, "to the standard input, as one line") {
		t.Errorf("stderr = %q; want the URL asked for as a line of the standard input, and nothing said of a terminal's keys", said)
	}
	if n := p.Stats().TokenRequests; n != 0 {
		t.Errorf("%d token requests for a line that carries no answer", n)
	}
}

// TestManualLoginCancelled: Ctrl-C while the manual log-in waits for the
// pasted URL says the log-in was cancelled, not that time ran out.
func TestManualLoginCancelled(t *testing.T) {
	_, conf := provider(t)
	conf.RedirectURL = "https://oauth.pstmn.io/v1/callback"
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := testenv.NewOutput()
	go func() {
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "press Enter") && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		}
		cancel()
	}()
	flow := &login.Flow{Env: "sandbox", Config: conf, Manual: true, Stdin: pr, InTTY: true, Stderr: stderr, Timeout: 10 * time.Second}
	_, err := flow.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "cancelled") || strings.Contains(err.Error(), "in time") {
		t.Fatalf("err = %v, want the log-in cancelled", err)
	}
}

func TestLoopbackAddr(t *testing.T) {
	tests := []struct {
		uri, want   string
		notLoopback bool
	}{
		{"http://127.0.0.1:8787/callback", "127.0.0.1:8787", false},
		{"http://localhost:9000/cb", "127.0.0.1:9000", false},
		{"http://[::1]:9000/cb", "[::1]:9000", false},
		{"http://127.1:08787/callback", "127.0.0.1:8787", false}, // spelled as browsers read it
		{"http://localhost/callback", "127.0.0.1:80", false},
		{"https://oauth.pstmn.io/v1/callback", "", true},
		{"http://0x7f000001.example.com:8787/callback", "", true},
		{"http://example.com:8787/callback", "", true},
	}
	for _, tt := range tests {
		got, err := login.LoopbackAddr(tt.uri)
		if tt.notLoopback {
			if !errors.Is(err, login.ErrNotLoopback) {
				t.Errorf("%s: err = %v, want ErrNotLoopback", tt.uri, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.uri, got, err, tt.want)
		}
	}
}

func TestBusyPort(t *testing.T) {
	ln, err := login.Listen("http://127.0.0.1:0/callback")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = login.Listen("http://" + ln.Addr().String() + "/callback")
	if !errors.Is(err, login.ErrPortBusy) || !strings.Contains(err.Error(), "in use") || login.BusyAddr(err) != ln.Addr().String() {
		t.Fatalf("err = %v (busy at %q), want the port reported busy at %s", err, login.BusyAddr(err), ln.Addr())
	}
}

// TestLocalhostHeldOnIPv6: a redirect_uri on localhost is listened on at
// 127.0.0.1, but a browser may open localhost at ::1, where another program
// (a freshtoken proxy given --listen [::1]:PORT) would get the browser and
// its code while the log-in waited in vain: the redirect address is busy
// there (ErrPortBusy, naming [::1]:PORT, where a freshtoken proxy takes
// the log-in as one on 127.0.0.1 does). It was ErrCannotListen, which
// `login` refused, though the proxy's page logs in there. A redirect_uri
// on 127.0.0.1 is what a browser opens: that one listens.
func TestLocalhostHeldOnIPv6(t *testing.T) {
	// Not a port the system picks for ::1: it may be in use at 127.0.0.1
	// (a server's or a connection's), where the test listens last.
	port := strconv.Itoa(testenv.FreePort(t))
	other, err := net.Listen("tcp", "[::1]:"+port)
	if err != nil {
		if probe, perr := net.Listen("tcp", "[::1]:0"); perr != nil {
			t.Skipf("this machine has no IPv6 loopback address (::1): %v", perr)
		} else {
			probe.Close()
		}
		t.Fatalf("listening on [::1]:%s: %v", port, err)
	}
	defer other.Close()
	// Fullwidth localhost is localhost to a browser, and was listened on
	// at 127.0.0.1 alone, unchecked.
	for _, uri := range []string{"http://localhost:" + port + "/callback", "http://Foo.Localhost.:" + port + "/callback", "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54:" + port + "/callback"} {
		ln, err := login.Listen(uri)
		if err == nil {
			ln.Close()
			t.Fatalf("%s: listened beside a program on [::1]:%s", uri, port)
		}
		want := "[::1]:" + port + " (redirect_uri " + uri + " names localhost, which a browser may open there)"
		if !errors.Is(err, login.ErrPortBusy) || login.BusyAddr(err) != "[::1]:"+port || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v (busy at %q); want ErrPortBusy at [::1]:%s saying %q", uri, err, login.BusyAddr(err), port, want)
		}
	}
	ln, err := login.Listen("http://127.0.0.1:" + port + "/callback")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

// TestRateLimitedExchangeSaysHowLongToWait: a code exchange the token
// endpoint answers with 429 says to log in again after the wait its
// Retry-After asks for (it always said "in a minute", to someone an hour
// of failed log-ins away), or after a minute when it does not say.
func TestRateLimitedExchangeSaysHowLongToWait(t *testing.T) {
	for retryAfter, want := range map[string]string{"3600": "log in again in 1h0m0s", "": "log in again in 1m0s"} {
		t.Run(retryAfter, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if retryAfter != "" {
					w.Header().Set("Retry-After", retryAfter)
				}
				http.Error(w, "Rate Limit Exceeded", http.StatusTooManyRequests)
			}))
			t.Cleanup(srv.Close)
			_, err := exchangeCode(t, srv.URL+"/token", nil)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v; want it to say %q", err, want)
			}
		})
	}
}

// TestARefusedExchangeIsToldByItsErrorCode: a code exchange refused with
// invalid_scope, invalid_target, invalid_request or a code of the
// provider's own (account_locked) was told as the token endpoint having
// "rejected the client", to be fixed in client_id and the client secret,
// and noted for status as a rejected client. It is sorted as a renewal's
// refusal is (tokenerr.RefusalOf): the setting to check, or the
// provider's words quoted, kind renewal_refused and nothing noted.
func TestARefusedExchangeIsToldByItsErrorCode(t *testing.T) {
	for _, tc := range []struct {
		code, want string
		kind       failure.Kind
		noted      bool // told as a client rejected (login.ClientRejection)
	}{
		{"account_locked", `refused the log-in with an error of its own, which only its words explain (HTTP 400 account_locked: "locked"); check what they name`, failure.Refused, false},
		{"invalid_scope", `refused the scope asked for (HTTP 400 invalid_scope: "locked"); check scopes`, failure.ClientRejected, true},
		{"invalid_target", `refused the resource asked for (HTTP 400 invalid_target: "locked"); check resource`, failure.ClientRejected, true},
		{"invalid_request", `refused the log-in request as malformed (HTTP 400 invalid_request: "locked"); check client_auth, token_params, audience and resource`, failure.ClientRejected, true},
		{"invalid_client", `rejected the client (HTTP 400 invalid_client: "locked")`, failure.ClientRejected, true},
	} {
		t.Run(tc.code, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"error":%q,"error_description":"locked"}`, tc.code)
			}))
			t.Cleanup(srv.Close)
			_, err := exchangeCode(t, srv.URL+"/token", nil)
			if want := "sandbox: the token endpoint " + tc.want; err == nil || err.Error() != want {
				t.Fatalf("err = %v; want %q", err, want)
			}
			if k := failure.Of(err); k != tc.kind || k.Row().Exit != 2 {
				t.Errorf("kind %v; want %v, exit 2", k, tc.kind)
			}
			if _, noted := login.ClientRejection(err); noted != tc.noted {
				t.Errorf("told as a rejected client: %v; want %v", noted, tc.noted)
			}
		})
	}
}

// exchanging is a client of a token endpoint on loopback that answers
// every code exchange with tokens, and the count of the exchanges it got.
func exchanging(t *testing.T) (*oauth2.Config, *atomic.Int32) {
	t.Helper()
	exchanges := new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		exchanges.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"at-0123456789","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-0123456789"}`)
	}))
	t.Cleanup(srv.Close)
	return &oauth2.Config{ClientID: "id", Endpoint: oauth2.Endpoint{AuthURL: srv.URL + "/auth", TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}, exchanges
}

// TestAnswerFromAnotherIssuerIsRefused: a provider that sends the browser
// on to another provider's authorization endpoint, with this log-in's
// state and PKCE challenge (a mix-up attack), gets that provider's code
// back through the callback; exchanged at this environment's token
// endpoint, it would hand the code and the PKCE verifier to the first
// provider, which redeems them at the other as a public client. An answer
// whose iss (RFC 9207) names another issuer than the environment's is
// refused before anything is sent, in one line; one naming this issuer,
// or none, is exchanged.
func TestAnswerFromAnotherIssuerIsRefused(t *testing.T) {
	conf, exchanges := exchanging(t)
	const issuer = "https://shady.example.com"
	flow := &login.Flow{Env: "shady", Config: conf, Issuer: issuer}
	for _, tc := range []struct {
		iss     string
		refused bool
	}{
		{"https://corp.example.com/realms/staff", true},
		{issuer + "/", true},
		{issuer, false},
		{"", false},
	} {
		req := login.NewRequest(conf)
		q := url.Values{"state": {req.State}, "code": {"corp-code-0123456789"}}
		if tc.iss != "" {
			q.Set("iss", tc.iss)
		}
		before := exchanges.Load()
		_, err := flow.Complete(t.Context(), req, q)
		sent := exchanges.Load() - before
		if !tc.refused {
			if err != nil || sent != 1 {
				t.Fatalf("iss %q: err = %v, %d exchanges; want the code exchanged", tc.iss, err, sent)
			}
			continue
		}
		if !errors.Is(err, login.ErrMixUp) || sent != 0 || !strings.Contains(err.Error(), tc.iss) || strings.Contains(err.Error(), "corp-code") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("iss %q: err = %v, %d exchanges; want ErrMixUp naming the other issuer, on one line, nothing exchanged", tc.iss, err, sent)
		}
	}
}

// TestAnswerWithTwoIssuersIsRefused: the redirect URI a mix-up's first
// provider chose for the other provider's log-in can carry a query of its
// own (an authorization server that matches redirect URIs by prefix, or
// keeps their query, as RFC 6749 3.1.2 says), such as iss naming this
// environment's issuer, or naming none; the other provider adds its own iss
// after it. Only the first was checked (url.Values.Get), so the other
// provider's code went to this environment's token endpoint. Every iss an
// answer carries must name the environment's issuer.
func TestAnswerWithTwoIssuersIsRefused(t *testing.T) {
	conf, exchanges := exchanging(t)
	const issuer, other = "https://shady.example.com", "https://corp.example.com/realms/staff"
	flow := &login.Flow{Env: "shady", Config: conf, Issuer: issuer}
	for _, isses := range [][]string{{issuer, other}, {"", other}, {""}} {
		req := login.NewRequest(conf)
		q := url.Values{"state": {req.State}, "code": {"corp-code-0123456789"}, "iss": isses}
		before := exchanges.Load()
		_, err := flow.Complete(t.Context(), req, q)
		if sent := exchanges.Load() - before; !errors.Is(err, login.ErrMixUp) || sent != 0 || strings.Contains(err.Error(), "\n") {
			t.Errorf("iss %q: err = %v, %d exchanges; want ErrMixUp on one line, nothing exchanged", isses, err, sent)
		}
	}
	req := login.NewRequest(conf)
	if _, err := flow.Complete(t.Context(), req, url.Values{"state": {req.State}, "code": {"c-0123456789"}, "iss": {issuer, issuer}}); err != nil {
		t.Errorf("an answer naming this issuer twice: %v; want it exchanged", err)
	}
}

// TestAnswerWithoutIssuerFromAProviderThatNamesItself: a provider whose
// discovery document promises iss in every answer
// (authorization_response_iss_parameter_supported, RFC 9207) did not write
// an answer without one: another provider, to which a mix-up sent the
// browser on with this log-in's state, did, one that names no issuer. Its
// code was exchanged, with the PKCE verifier, at this environment's token
// endpoint. It is refused before anything is sent, error answers too, as
// RFC 9207 section 2.4 says; a provider that promises nothing is not held
// to it, and one that keeps its promise logs in. A provider that does not
// keep it (some leave iss out of error answers, or of all) looks the same:
// the line said the provider had sent the browser on to another, and to
// check issuer and auth_url, which were right; it says that either may be
// so, and how to log in meanwhile (an auth_url of its own).
func TestAnswerWithoutIssuerFromAProviderThatNamesItself(t *testing.T) {
	conf, exchanges := exchanging(t)
	const issuer = "https://kc.example.com/realms/staff"
	for _, tc := range []struct {
		promised bool
		q        url.Values
		refused  bool
	}{
		{true, url.Values{"code": {"corp-code-0123456789"}}, true},
		{true, url.Values{"error": {"access_denied"}, "error_description": {"corp-code-0123456789"}}, true},
		{true, url.Values{"code": {"kc-code-0123456789"}, "iss": {issuer}}, false},
		{false, url.Values{"code": {"kc-code-0123456789"}}, false},
	} {
		flow := &login.Flow{Env: "kc", Config: conf, Issuer: issuer, IssuerInAnswers: tc.promised}
		req := login.NewRequest(conf)
		tc.q.Set("state", req.State)
		before := exchanges.Load()
		_, err := flow.Complete(t.Context(), req, tc.q)
		sent := exchanges.Load() - before
		if !tc.refused {
			if err != nil || sent != 1 {
				t.Errorf("promised %v, answer %v: err = %v, %d exchanges; want the code exchanged", tc.promised, tc.q, err, sent)
			}
			continue
		}
		if !errors.Is(err, login.ErrMixUp) || sent != 0 || !strings.Contains(err.Error(), "names no issuer") || strings.Contains(err.Error(), "corp-code") || strings.Contains(err.Error(), "\n") {
			t.Errorf("answer %v: err = %v, %d exchanges; want ErrMixUp saying the answer names no issuer, on one line, nothing exchanged", tc.q, err, sent)
		}
		// A provider that breaks its promise looks the same: the line
		// says so, and how to log in with it meanwhile.
		if wayOut := fmt.Sprintf("set auth_url = %q", conf.Endpoint.AuthURL); !strings.Contains(err.Error(), "does not keep its promise") || !strings.Contains(err.Error(), wayOut) {
			t.Errorf("answer %v: err = %v; want it to say the provider may not keep its promise, and to %s meanwhile", tc.q, err, wayOut)
		}
	}
}

// TestAnswerFromThisIssuerWrittenOtherwise: a provider whose answer names
// it with a trailing slash that its discovery document (whose issuer the
// environment's is, exactly) does not write, or without one it does.
// RFC 9207 compares iss as a string, so the answer is refused still, but
// it is no mix-up, and the refusal said the provider had sent the browser
// on to another: it says the provider writes its name two ways.
func TestAnswerFromThisIssuerWrittenOtherwise(t *testing.T) {
	conf := &oauth2.Config{ClientID: "id", Endpoint: oauth2.Endpoint{AuthURL: "http://127.0.0.1:1/auth", TokenURL: "http://127.0.0.1:1/token"}}
	for _, tc := range []struct{ issuer, iss string }{
		{"https://kc.example.com/realms/x/", "https://kc.example.com/realms/x"},
		{"https://kc.example.com/realms/x", "https://kc.example.com/realms/x/"},
	} {
		flow := &login.Flow{Env: "kc", Config: conf, Issuer: tc.issuer}
		req := login.NewRequest(conf)
		_, err := flow.Complete(t.Context(), req, url.Values{"state": {req.State}, "code": {"c-0123456789"}, "iss": {tc.iss}})
		if !errors.Is(err, login.ErrMixUp) || strings.Contains(err.Error(), "sent your browser on to another") || !strings.Contains(err.Error(), strconv.Quote(tc.iss)+" in its answer") || !strings.Contains(err.Error(), "tell the provider") {
			t.Errorf("issuer %q, iss %q: %v; want it refused, saying the provider names itself two ways", tc.issuer, tc.iss, err)
		}
	}
}

// TestTimeoutAfterTheProviderRefusedTheRedirectURI: a redirect URI other
// than the one registered (localhost for 127.0.0.1, another port) is
// refused on the provider's page, where the browser stays; the log-in's
// time running out said only to approve access in the browser, which that
// page does not offer. It names the redirect URI to register.
func TestTimeoutAfterTheProviderRefusedTheRedirectURI(t *testing.T) {
	_, conf := provider(t, "http://127.0.0.1:8787/callback")
	ln, err := login.Listen("http://localhost:0/callback")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	conf.RedirectURL = "http://localhost:" + port + "/callback"
	got, err := browseUntilTimeOut(conf, ln, func(u string) string { return u })
	if !strings.Contains(got, "is not registered") {
		t.Fatalf("the provider's page: %q; want it to refuse the redirect URI", got)
	}
	want := "no answer from the browser within 1m0s (if the provider's page refused the redirect URI, register " + conf.RedirectURL + " with the provider exactly as shown, or set redirect_uri to the one registered)"
	if !errors.Is(err, login.ErrNotApproved) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v; want it to contain %q", err, want)
	}
}

// TestEveryListenFailureSaysWhatToWrite: a callback address that could not
// be listened on for any reason but a busy port or one only an
// administrator may open (an address this machine does not have, such as
// 127.0.0.2 on macOS or ::1 without IPv6, or the system's own refusal) was
// told in net's words, exit 1 (a bug), saying nothing of what to do. Each is
// now a configuration mistake (exit 2), naming the environment, the
// redirect_uri and what to write instead. The errors are the ones net.Listen
// returns, which no test can make happen on every machine.
func TestEveryListenFailureSaysWhatToWrite(t *testing.T) {
	listenErr := func(addr string, errno syscall.Errno) error {
		a, _ := net.ResolveTCPAddr("tcp", addr)
		return &net.OpError{Op: "listen", Net: "tcp", Addr: a, Err: os.NewSyscallError("bind", errno)}
	}
	for _, c := range []struct {
		name, uri, addr string
		err             error
		kind            error
		want            string
	}{
		{"an address this machine does not have", "http://127.0.0.2:8787/callback", "127.0.0.2:8787", listenErr("127.0.0.2:8787", syscall.EADDRNOTAVAIL), login.ErrCannotListen,
			"redirect_uri http://127.0.0.2:8787/callback asks for the callback on 127.0.0.2, which is not an address of this machine (" + syscall.EADDRNOTAVAIL.Error() + "); write 127.0.0.1 in redirect_uri, such as http://127.0.0.1:8787/callback, and register that with the provider, or give this machine the address 127.0.0.2"},
		{"too many open files", "http://127.0.0.1:8787/callback", "127.0.0.1:8787", listenErr("127.0.0.1:8787", syscall.EMFILE), login.ErrCannotListen,
			"cannot listen on 127.0.0.1:8787 for the callback of redirect_uri http://127.0.0.1:8787/callback: " + syscall.EMFILE.Error() + ", so no connection can be opened; raise the limit on open files (ulimit -n) or close programs holding many, and run it again"},
		{"a port only an administrator may open", "http://127.0.0.1/callback", "127.0.0.1:80", listenErr("127.0.0.1:80", syscall.EACCES), login.ErrPortRefused,
			"redirect_uri http://127.0.0.1/callback is on port 80, which only an administrator may listen on; write a port of 1024 or more in redirect_uri, such as http://127.0.0.1:8787/callback, and register that with the provider"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := login.ListenFailed(c.uri, c.addr, c.err)
			if !errors.Is(err, c.kind) || err.Error() != c.want {
				t.Fatalf("got %v; want %q", err, c.want)
			}
			if got := failure.Of(err).Row().Exit; got != 2 {
				t.Fatalf("exit %d; want 2, a configuration mistake", got)
			}
		})
	}
	t.Run("through a log-in, naming the environment", func(t *testing.T) {
		// A port no TCP listener can have: a real failure, before any
		// browser.
		conf := &oauth2.Config{ClientID: "c", RedirectURL: "http://127.0.0.1:99999/callback",
			Endpoint: oauth2.Endpoint{AuthURL: "http://127.0.0.1:1/authorize", TokenURL: "http://127.0.0.1:1/token", AuthStyle: oauth2.AuthStyleInParams}}
		_, err := (&login.Flow{Env: "sandbox", Config: conf, Stderr: io.Discard, Timeout: time.Second}).Run(context.Background())
		want := "sandbox: redirect_uri http://127.0.0.1:99999/callback has no port freshtoken can listen on; write a port of 1024 or more in redirect_uri, such as http://127.0.0.1:8787/callback, and register that with the provider"
		if err == nil || err.Error() != want {
			t.Fatalf("got %v; want %q", err, want)
		}
		if got := failure.Of(err).Row().Exit; got != 2 {
			t.Fatalf("exit %d; want 2, a configuration mistake", got)
		}
	})
}

// TestManualTakesAnAnswerOnlyAtTheRedirectURI: a pasted address with this
// log-in's state that is not at its redirect URI is no answer to it: the
// provider logged in at sent the browser on to another provider with the
// state (a mix-up, RFC 9700 §4.4.2), which answered at its own
// environment's redirect URI. Its code is not exchanged, with the PKCE
// verifier, at this provider's token endpoint; the person is asked again.
// The redirect URI written otherwise (the host's case, a trailing dot, its
// default port) is the same address.
func TestManualTakesAnAnswerOnlyAtTheRedirectURI(t *testing.T) {
	m, pw := pipedManual(t, context.Background(), 10*time.Second)
	state := url.QueryEscape(m.authURL(t).Query().Get("state"))
	io.WriteString(pw, "https://app.other.example/callback?code=other-providers-code&state="+state+"\n")
	testenv.WaitFor(t, "the paste asked for again", func() bool {
		return strings.Contains(m.stderr.String(), "That address is not at the redirect URI")
	})
	if n := m.provider.Stats().TokenRequests; n != 0 {
		t.Fatalf("the answer at another redirect URI was exchanged (%d token requests)", n)
	}
	landed, err := url.Parse(m.approve(t))
	if err != nil {
		t.Fatal(err)
	}
	landed.Host = "OAUTH.pstmn.io.:443"
	io.WriteString(pw, landed.String()+"\n")
	o := m.end(t)
	if o.err != nil {
		t.Fatalf("%v\nstderr:\n%s", o.err, m.stderr)
	}
	if st := m.provider.Stats(); st.Exchanges != 1 || st.TokenRequests != 1 {
		t.Fatalf("stats %+v; want one exchange, for the answer at the redirect URI", st)
	}
}

// TestOversizedExchangeAnswerSaysSo: a token endpoint that answers the
// code exchange with more than freshtoken reads (a hostile or misnamed
// endpoint) is told as that: it was "could not be reached or kept
// failing … check your connection" with "unexpected end of JSON input",
// hiding that the size limit cut it. (An error status over the limit is
// told by its status, as any error status is.)
func TestOversizedExchangeAnswerSaysSo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"at-0123456789","token_type":"Bearer","padding":"%s"}`, strings.Repeat("x", tokenerr.MaxAnswer))
	}))
	t.Cleanup(srv.Close)
	_, err := exchangeCode(t, srv.URL+"/token", nil)
	want := "sandbox: the answer of the token endpoint " + srv.URL + "/token to the log-in was not read: the answer was larger than 1 MiB, more than freshtoken reads from a provider; check token_url, then log in again"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v; want %q", err, want)
	}
}

// TestExchangeAnsweredWithoutTokensSaysSo: a code exchange that the token
// endpoint answered 200 with what holds no token freshtoken can read (a
// single-page app's page at a mistyped token URL, a network's sign-in
// page, JSON without an access token or cut short) says the endpoint
// answered and to check token_url. It said the endpoint "could not be
// reached or kept failing" and to check the connection and api_url, of an
// endpoint asked once that had answered, and a web page was told as
// "cannot parse json: invalid character '<'".
func TestExchangeAnsweredWithoutTokensSaysSo(t *testing.T) {
	for _, tc := range []struct{ contentType, body, want string }{
		{"text/html; charset=utf-8", "<!doctype html><html><div id=root></div></html>", "(HTTP 200, a web page rather than an OAuth answer"},
		{"text/html", "", "(HTTP 200, a web page rather than an OAuth answer"},
		{"application/json", `{"token_type":"bearer","refresh_token":"r-123"}`, "(oauth2: server response missing access_token)"},
		{"application/json", `{"access_token":"at-0123456789","refresh_token":"r-1`, "(oauth2: cannot parse json: unexpected end of JSON input)"},
	} {
		srv := answering(t, tc.contentType, tc.body)
		_, err := exchangeCode(t, srv.URL+"/token", nil)
		want := "sandbox: the token endpoint " + srv.URL + "/token answered the log-in without tokens freshtoken can read "
		if err == nil || !strings.HasPrefix(err.Error(), want+tc.want) || !strings.HasSuffix(err.Error(), "; check token_url, then log in again") {
			t.Errorf("%s: err = %v; want %q, then to check token_url", tc.body, err, want+tc.want)
		}
	}
}

// TestUnreachableTokenEndpointIsNamed: a code exchange that cannot reach
// the token endpoint (a closed port, a certificate not trusted) names the
// endpoint, a key in its query masked: the message said only "the token
// endpoint could not be reached" with net/http's error, which for a
// certificate names no host, so the person could not tell where it failed.
// It says to check token_url, the setting that names the endpoint: it said
// api_url, of an endpoint set by hand elsewhere.
func TestUnreachableTokenEndpointIsNamed(t *testing.T) {
	closed := fmt.Sprintf("http://127.0.0.1:%d/token", testenv.FreePort(t))
	untrusted := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(untrusted.Close)
	for _, tokenURL := range []string{closed, untrusted.URL + "/token"} {
		_, err := exchangeCode(t, tokenURL+"?api_key=Zq7xW&view=all", nil)
		if err == nil || !strings.Contains(err.Error(), "the token endpoint "+tokenURL+"?api_key=…(5 chars)&view=all could not be reached") || strings.Contains(err.Error(), "Zq7xW") {
			t.Errorf("err = %v; want the token endpoint named, its key masked", err)
		}
		if err == nil || !strings.HasSuffix(err.Error(), "; check your connection and token_url, then log in again") {
			t.Errorf("err = %v; want the connection and token_url to check", err)
		}
	}
}

// TestALostExchangeAnswerSaysToLogInAgain: a code exchange that reached
// the token endpoint and whose answer was lost (the connection cut, no
// answer within the timeout, a gateway's 504 or 502) said the endpoint
// "could not be reached or kept failing" and to check the connection,
// then log in again; the code, single use, may have been spent, so it now
// says so, and to run the log-in again. An endpoint not reached is said
// not to have been reached; one answering an error of its own (503 once,
// or a 502 naming an OAuth error) is said to have failed the log-in with
// that answer, and when to log in again: it said "could not be reached or
// kept failing", after one try.
func TestALostExchangeAnswerSaysToLogInAgain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer http.HandlerFunc
		want   string
	}{
		{"connection cut", func(w http.ResponseWriter, _ *http.Request) {
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
		}, "got the log-in's code, and its answer was lost (EOF); the provider may have spent the code, which works once: log in again"},
		{"no answer in time", func(_ http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // so that the server sees the client leave
			<-r.Context().Done()
		},
			"got the log-in's code, and its answer was lost (did not answer within 300ms (timeout)"},
		{"gateway timeout", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "<html>504 Gateway Time-out</html>", http.StatusGatewayTimeout)
		}, "got the log-in's code, and its answer was lost (HTTP 504 from a gateway in front of it, which lost the provider's answer or gave up waiting for it); the provider may have spent the code, which works once: log in again"},
		{"service unavailable", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}, "sandbox: the token endpoint URL failed the log-in: it answered its code, which is sent once, with HTTP 503 \"busy\"; no tokens were stored: log in again later"},
		{"service unavailable for a while", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		}, "failed the log-in: it answered its code, which is sent once, with HTTP 503 \"maintenance\"; no tokens were stored: log in again in 2m0s, as it asks"},
		// The provider's own 502, naming its OAuth error: it says it did
		// not take the code, and no gateway lost its answer.
		{"the provider's own 502", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, `{"error":"temporarily_unavailable"}`)
		}, "failed the log-in: it answered its code, which is sent once, with HTTP 502 temporarily_unavailable"},
	} {
		srv := httptest.NewServer(tc.answer)
		t.Cleanup(srv.Close)
		_, err := exchangeCode(t, srv.URL+"/token", tokenerr.Lenient(&http.Client{Timeout: 300 * time.Millisecond}))
		want := strings.Replace(tc.want, "URL", srv.URL+"/token", 1)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "a-code") || strings.Contains(err.Error(), "kept failing") {
			t.Errorf("%s: err = %v; want it to say %q", tc.name, err, want)
		}
	}
}

// TestExchangeTimeoutIsToldPlainly: a code exchange that the token
// endpoint does not answer within the client's timeout was told as Go's
// "Client.Timeout exceeded while awaiting headers"; it is now "did not
// answer within 300ms (timeout)", naming the endpoint, its key masked.
func TestExchangeTimeoutIsToldPlainly(t *testing.T) {
	srv := testenv.SilentServer(t)
	_, err := exchangeCode(t, srv.URL+"/token?api_key=Zq7xW", tokenerr.Lenient(&http.Client{Timeout: 300 * time.Millisecond}))
	if err == nil || !strings.Contains(err.Error(), "did not answer within 300ms (timeout)") || !strings.Contains(err.Error(), srv.URL+"/token?api_key=…(5 chars)") ||
		strings.Contains(err.Error(), "Client.Timeout") || strings.Contains(err.Error(), "Zq7xW") {
		t.Fatalf("err = %v; want the token endpoint named, its key masked, and said not to have answered within 300ms (timeout)", err)
	}
}

// TestTimeoutAfterAnAnswerToAnotherLogIn: the browser coming back with an
// earlier log-in's answer (its tab approved after that log-in was stopped
// and another begun) is told on that tab as an answer to another log-in,
// with where to approve instead, and a log-in whose time then runs out says
// so: it said "no answer from the browser" and to check the redirect URI
// registered, to a person whose browser had answered.
func TestTimeoutAfterAnAnswerToAnotherLogIn(t *testing.T) {
	_, conf := provider(t)
	ln, err := login.Listen("http://127.0.0.1:0/callback")
	if err != nil {
		t.Fatal(err)
	}
	conf.RedirectURL = "http://" + ln.Addr().String() + "/callback"
	earlier := login.NewRequest(conf)
	got, err := browseUntilTimeOut(conf, ln, func(string) string { return earlier.URL }) // the earlier log-in's tab, approved
	if !strings.Contains(got, "This is the answer to another login (a tab left from an earlier one?)") {
		t.Errorf("the earlier tab's page: %q; want it to say it answered another log-in", got)
	}
	want := "sandbox: access was not approved: within 1m0s the browser came back only with the answer to another log-in (a tab left from an earlier one?), never this one's"
	if !errors.Is(err, login.ErrNotApproved) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v; want it to contain %q", err, want)
	}
}

// browseUntilTimeOut runs a log-in of conf on ln for a minute whose browser
// opens visit(the URL to open), and once the browser has its page, ends the
// minute: it returns that page and the log-in's outcome.
func browseUntilTimeOut(conf *oauth2.Config, ln net.Listener, visit func(authURL string) string) (string, error) {
	page := make(chan string, 1)
	ctx := deadline{context.Background(), make(chan struct{})}
	flow := &login.Flow{Env: "sandbox", Config: conf, Listener: ln, Stderr: io.Discard, Timeout: time.Minute,
		OpenBrowser: func(u string) error {
			go browse(visit(u), page)
			return nil
		}}
	done := make(chan error, 1)
	go func() {
		_, err := flow.Run(ctx)
		done <- err
	}()
	got := <-page
	close(ctx.done)
	return got, <-done
}

// exchangeCode completes a log-in of "sandbox" whose code, "a-code", the
// token endpoint at tokenURL is asked to exchange, through client (nil:
// the flow's own). The log-in page, never opened, is at tokenURL too.
func exchangeCode(t *testing.T, tokenURL string, client *http.Client) (*login.Result, error) {
	t.Helper()
	conf := &oauth2.Config{ClientID: "id", Endpoint: oauth2.Endpoint{AuthURL: tokenURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}}
	req := login.NewRequest(conf)
	return (&login.Flow{Env: "sandbox", Config: conf, HTTP: client, TokenURLSetting: "token_url"}).Complete(t.Context(), req, url.Values{"state": {req.State}, "code": {"a-code"}})
}

// answering is a token endpoint that answers every request 200 with body,
// labelled contentType.
func answering(t *testing.T, contentType, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestExchangeAnswerWithTokensAndAnErrorIsALogIn: a code exchange answered
// 2xx with an access token and also an "error" member (JSON or form) is a
// log-in (RFC 6749 5.1; an error answer is a 400), as a renewal so
// answered is: x/oauth2 took it for a refusal, and the log-in failed with
// the tokens the provider had issued thrown away.
func TestExchangeAnswerWithTokensAndAnErrorIsALogIn(t *testing.T) {
	for _, tc := range []struct{ contentType, body string }{
		{"application/json", `{"access_token":"at-0123456789","refresh_token":"rt-0123456789","token_type":"bearer","expires_in":3600,"error":"invalid_grant"}`},
		{"application/x-www-form-urlencoded", `access_token=at-0123456789&refresh_token=rt-0123456789&token_type=bearer&expires_in=3600&error=invalid_grant`},
	} {
		srv := answering(t, tc.contentType, tc.body)
		res, err := exchangeCode(t, srv.URL+"/token", nil)
		if err != nil || res.Token.AccessToken != "at-0123456789" || res.Token.RefreshToken != "rt-0123456789" {
			t.Errorf("%s: Complete = %+v, %v; want the answer's tokens", tc.contentType, res, err)
		}
	}
}

// toldToLogInAgain reports whether err's step is logging in again, told
// by LogInAgain for the command line to name the log-in as it was run
// (--timeout, --config), and err names no command of its own: one it
// wrote itself dropped them.
func toldToLogInAgain(err error) bool {
	var told interface{ LogInAgain() (before, after string) }
	if !errors.As(err, &told) || strings.Contains(err.Error(), "freshtoken") {
		return false
	}
	before, _ := told.LogInAgain()
	return before != ""
}

// TestExchangeAnswerWithTokensWrittenAsNumbersIsALogIn: a code exchange
// answered with a token written as a JSON number, or a token_type that is
// not a string, is a log-in, the token the digits written: x/oauth2
// refused the whole answer, and the log-in failed with the tokens the
// provider had issued, and its code, spent.
func TestExchangeAnswerWithTokensWrittenAsNumbersIsALogIn(t *testing.T) {
	for _, tc := range []struct{ body, access, refresh string }{
		{`{"access_token":"at-0123456789","token_type":"bearer","refresh_token":4400123}`, "at-0123456789", "4400123"},
		{`{"access_token":5500123,"token_type":"bearer","refresh_token":"rt-0123456789"}`, "5500123", "rt-0123456789"},
		{`{"access_token":"at-0123456789","token_type":7,"refresh_token":"rt-0123456789"}`, "at-0123456789", "rt-0123456789"},
	} {
		srv := answering(t, "application/json", tc.body)
		res, err := exchangeCode(t, srv.URL+"/token", tokenerr.Lenient(&http.Client{}))
		if err != nil || res.Token.AccessToken != tc.access || res.Token.RefreshToken != tc.refresh {
			t.Errorf("%s: Complete = %v; want access token %q and refresh token %q", tc.body, err, tc.access, tc.refresh)
		}
	}
}
