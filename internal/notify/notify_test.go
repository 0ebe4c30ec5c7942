package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// TestOncePerChangeOfState: a notice goes out on every channel when an
// environment's state changes to one that needs a person, not again while
// it stays, and again after it was cleared; a secret in the message is
// masked.
func TestOncePerChangeOfState(t *testing.T) {
	var (
		mu    sync.Mutex
		posts []string
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Text string }
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &body); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook got %q (%s)", data, r.Header.Get("Content-Type"))
		}
		mu.Lock()
		posts = append(posts, body.Text)
		mu.Unlock()
	}))
	defer hook.Close()
	out := filepath.Join(t.TempDir(), "told")
	n := &notify.Notifier{
		Config: config.Notify{Command: `printf '%s|%s|%s\n' "$FRESHTOKEN_EVENT" "$FRESHTOKEN_ENV" "$FRESHTOKEN_MESSAGE" >>` + out, Webhook: hook.URL},
		Logger: slog.New(slog.DiscardHandler),
	}
	secret := "a-secret-refresh-token-0123456789"
	redact.Register(secret)
	ctx := context.Background()
	n.Set(ctx, "sandbox", notify.GrantEnded, "sandbox: the grant ended while using "+secret)
	n.Set(ctx, "sandbox", notify.GrantEnded, "sandbox: the grant ended, said again")
	n.Set(ctx, "production", "", "")
	if got := n.Current(); len(got) != 1 || got[0].Env != "sandbox" {
		t.Errorf("current notices %+v", got)
	}
	n.Set(ctx, "sandbox", "", "")
	n.Set(ctx, "sandbox", notify.GrantEnded, "sandbox: the grant ended again")
	told, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(told)), "\n")
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 2 || len(posts) != 2 || !strings.HasPrefix(lines[0], "grant_ended|sandbox|sandbox: the grant ended while using ") ||
		!strings.HasSuffix(lines[1], "the grant ended again") {
		t.Fatalf("command told %q, webhook %q; want each notice once", lines, posts)
	}
	if strings.Contains(string(told), secret) || strings.Contains(strings.Join(posts, ""), secret) {
		t.Fatal("a secret was sent")
	}
}

// TestCommandCannotStallOrSwamp: a notify command is the user's own
// script, and may leave a child running that holds its output open (a
// `sleep` in a script that outlives the shell killed at the timeout) or
// write without end. Neither may stall the keeper, whose renewals wait
// for the notice, nor fill the process's memory with its output.
func TestCommandCannotStallOrSwamp(t *testing.T) {
	for _, tt := range []struct{ name, command string }{
		{"a child holding its output open", "sleep 60; true"},
		{"output by the hundred megabytes", "head -c 200000000 /dev/zero"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := &notify.Notifier{Config: config.Notify{Command: tt.command}, Logger: slog.New(slog.DiscardHandler), Timeout: time.Second}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			n.Set(context.Background(), "sandbox", notify.GrantEnded, "sandbox: the grant ended")
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("telling took %s with a timeout of 1s", took.Round(time.Second))
			}
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
				t.Errorf("telling allocated %d MiB for the command's output", grew>>20)
			}
		})
	}
}

// TestWebhookRedirectIsNotFollowed: a webhook that answers with a
// redirect (hostile, or taken over) cannot send the notice's POST on to
// another address, such as the local proxy, which would pass it to an
// API with the user's token; the notice is reported as failed.
func TestWebhookRedirectIsNotFollowed(t *testing.T) {
	var hits int
	var mu sync.Mutex
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	defer target.Close()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/production/v2/invoices", http.StatusTemporaryRedirect)
	}))
	defer hook.Close()
	var logs strings.Builder
	n := &notify.Notifier{Config: config.Notify{Webhook: hook.URL}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	n.Set(context.Background(), "sandbox", notify.GrantEnded, "sandbox: the grant ended")
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Fatalf("the webhook's redirect was followed %d times", hits)
	}
	if !strings.Contains(logs.String(), "notify: the webhook failed") {
		t.Fatalf("log %q; want the webhook's failure", logs.String())
	}
}

// TestFailedCommandOutputMasksSecretShapedWords: the output of a notify
// command that failed is logged, to the journal of a service; a script
// that printed a token in its error (its chat's bot token, a vault token)
// had it logged whole. Words shaped like secrets are masked, the rest of
// the output kept readable.
func TestFailedCommandOutputMasksSecretShapedWords(t *testing.T) {
	const token = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
	var logs strings.Builder
	n := &notify.Notifier{Config: config.Notify{Command: "echo 'chat: invalid_auth for " + token + "' >&2; exit 1"}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	n.Set(context.Background(), "sandbox", notify.GrantEnded, "sandbox: the grant ended")
	if got := logs.String(); !strings.Contains(got, "notify: the command failed") || strings.Contains(got, token) || !strings.Contains(got, "chat: invalid_auth for xoxb-123…(43 chars)") {
		t.Fatalf("log %q; want the command's failure, its output with the token masked", got)
	}
}

// TestDesktopNoticeOfAnEnvironmentNamedLikeAnOption: an environment may
// be named "-prod"; its message, which starts with the name, reaches
// notify-send after "--", as the body and not as an option that
// notify-send would refuse, losing the notice.
func TestDesktopNoticeOfAnEnvironmentNamedLikeAnOption(t *testing.T) {
	if args := desktopNotice(t, "-prod", "-prod: the grant ended"); !slices.Equal(args, []string{"--", "freshtoken: -prod", "-prod: the grant ended"}) {
		t.Fatalf("notify-send got %q; want the title and body after --", args)
	}
}

// TestDesktopNoticeIsNotMarkup: a desktop notice's body is markup to the
// notification server (the Desktop Notifications Specification), and a
// provider's words in it (an error_description) are text: a link the
// provider wrote was shown as one to click in a notice from freshtoken,
// and a bare & or < (a URL's query, an HTML error page) left a body that
// is not well-formed.
func TestDesktopNoticeIsNotMarkup(t *testing.T) {
	args := desktopNotice(t, "prod", `prod: the provider refused (<a href="https://evil.example/?a=1&b=2">log in here</a>)`)
	want := `prod: the provider refused (&lt;a href="https://evil.example/?a=1&amp;b=2"&gt;log in here&lt;/a&gt;)`
	if len(args) != 3 || args[2] != want {
		t.Fatalf("notify-send got %q; want the body %q, as text", args, want)
	}
}

// TestWebhookTextIsNotMarkup: a webhook's post is markup to the chat that
// shows it, and a provider's words in a notice (an error description) are
// text. Posted as they came, `<!channel>` pinged everyone in a Slack
// channel (Mattermost too, which also pings for a bare @channel),
// `<http://…|words>` showed a link to one place as another in Slack, and
// `[words](http://…)` in Mattermost and Teams. The post is one line that
// says it is freshtoken's, whatever line breaks or runs of spaces the
// provider wrote to make words of its own look like a post of
// freshtoken's.
func TestWebhookTextIsNotMarkup(t *testing.T) {
	posts := make(chan string, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Text string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Error(err)
		}
		posts <- body.Text
	}))
	defer hook.Close()
	n := &notify.Notifier{Config: config.Notify{Webhook: hook.URL}, Logger: slog.New(slog.DiscardHandler)}
	n.Set(context.Background(), "prod", notify.GrantEnded, "prod: the provider refused the refresh token (invalid_grant: <!channel> see "+
		"<https://evil.example/?a=1&b=2|https://www.freeagent.com/login> or [log in](https://evil.example/) @here\n"+
		"freshtoken: prod: renewed\u2028freshtoken: ok"+strings.Repeat(" ", 80)+"freshtoken: all fine); run `freshtoken login -e prod`")
	got := <-posts
	want := "freshtoken: prod: the provider refused the refresh token (invalid_grant: &lt;!channel&gt; see " +
		"&lt;https://evil.example/?a=1&amp;b=2|https://www.freeagent.com/login&gt; or [log in]\u2060(https://evil.example/) @\u2060here " +
		"freshtoken: prod: renewed freshtoken: ok freshtoken: all fine); run `freshtoken login -e prod`"
	if got != want {
		t.Fatalf("the webhook got\n%q\nwant\n%q", got, want)
	}
}

// desktopNotice sends the desktop notice that env's grant ended, saying
// message, to a notify-send put on PATH that records the arguments it
// would parse, and returns them. Desktop notices are Linux's: elsewhere
// the test is skipped.
func desktopNotice(t *testing.T, env, message string) []string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("notify-send is the desktop's notifier on Linux")
	}
	bin := t.TempDir()
	got := filepath.Join(bin, "args")
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >" + got + "\n"
	if err := os.WriteFile(filepath.Join(bin, "notify-send"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	n := &notify.Notifier{Config: config.Notify{Desktop: true}, Logger: slog.New(slog.DiscardHandler)}
	n.Set(context.Background(), env, notify.GrantEnded, message)
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestWebhookFailureNeverShowsItsURL: the webhook's URL is its password,
// and is never logged, however it is written: Go's errors quote the URL
// as it reads it (the scheme in lower case, a password as ***), which is
// not the text of the configuration that redaction knows.
func TestWebhookFailureNeverShowsItsURL(t *testing.T) {
	for _, hook := range []string{
		"HTTP://127.0.0.1:1/services/T0/B0/webhook-path-secret-1",
		"http://user:pass@127.0.0.1:1/services/T0/B0/webhook-path-secret-2",
	} {
		redact.RegisterAddress(hook) // as config.Load does
		var logs strings.Builder
		n := &notify.Notifier{Config: config.Notify{Webhook: hook}, Logger: slog.New(redact.NewHandler(slog.NewTextHandler(&logs, nil)))}
		n.Set(context.Background(), "sandbox", notify.GrantEnded, "sandbox: the grant ended")
		if !strings.Contains(logs.String(), "notify: the webhook failed") || strings.Contains(logs.String(), "webhook-path-secret") {
			t.Errorf("log %q; want the failure, without the webhook's URL", logs.String())
		}
	}
}

// TestWebhookInClearIsWarnedOfWhenConfigured: an edit under a running
// keeper that makes the webhook plain http:// to another machine is
// warned of once, without the webhook's address; one on this machine, or
// https, is not.
func TestWebhookInClearIsWarnedOfWhenConfigured(t *testing.T) {
	var logs strings.Builder
	n := &notify.Notifier{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	n.Configure(config.Notify{Webhook: "https://hooks.example.com/services/SECRETPATH"})
	n.Configure(config.Notify{Webhook: "http://127.0.0.1:9/services/SECRETPATH"})
	if logs.Len() != 0 {
		t.Fatalf("log %q; want no warning", logs.String())
	}
	for range 2 {
		n.Configure(config.Notify{Webhook: "http://hooks.example.com/services/SECRETPATH"})
	}
	if got := logs.String(); strings.Count(got, "plain http://") != 1 || strings.Contains(got, "SECRETPATH") {
		t.Fatalf("log %q; want one warning, without the address", got)
	}
}

// TestUndeliveredNoticeIsSentAgain: a notice that reached no one (the
// webhook answered 500, the command failed) is sent again at a later
// look, after a minute, then at longer waits, until it is delivered: it
// was taken as told, and a webhook down for a minute as the grant ended
// left the person never told. Once delivered it is not sent again.
func TestUndeliveredNoticeIsSentAgain(t *testing.T) {
	var (
		mu    sync.Mutex
		posts int
		fail  = true
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		posts++
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer hook.Close()
	now := time.Now()
	n := &notify.Notifier{Config: config.Notify{Webhook: hook.URL}, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	ctx := context.Background()
	look := func(want int) {
		t.Helper()
		n.Set(ctx, "sandbox", notify.GrantEnded, "sandbox: the grant ended")
		mu.Lock()
		defer mu.Unlock()
		if posts != want {
			t.Fatalf("at %s: %d posts; want %d", now.Format(time.TimeOnly), posts, want)
		}
	}
	look(1)
	look(1) // at once: not yet
	now = now.Add(time.Minute)
	look(2)
	now = now.Add(time.Minute)
	look(2) // the wait grows
	now = now.Add(time.Minute)
	mu.Lock()
	fail = false
	mu.Unlock()
	look(3)
	now = now.Add(24 * time.Hour)
	look(3) // delivered: once
}

// TestUndeliveredNoticeAfterTheClockIsSetBack: a notice that reached no
// one is tried again a minute on, by the clock; set back two hours since
// (NTP, after it ran ahead), the clock held the next try back those two
// hours more. A wait that ends further on than it lasts is over.
func TestUndeliveredNoticeAfterTheClockIsSetBack(t *testing.T) {
	var posts atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer hook.Close()
	now := time.Now()
	n := &notify.Notifier{Config: config.Notify{Webhook: hook.URL}, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	n.Set(context.Background(), "sandbox", notify.GrantEnded, "sandbox: the grant ended")
	now = now.Add(-2 * time.Hour)
	n.Set(context.Background(), "sandbox", notify.GrantEnded, "sandbox: the grant ended")
	if got := posts.Load(); got != 2 {
		t.Fatalf("%d posts; want the notice tried again once the clock was set back", got)
	}
}
