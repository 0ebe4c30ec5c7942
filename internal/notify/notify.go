// Package notify tells a person, once per change of state, that a person
// is needed: the grant ended, the client was rejected, a renewal was
// refused with the provider's own error, the refresh token
// will expire and renewing does not extend it, renewals keep failing, a
// token file cannot be written, the token store is not set up as renewals need. It sends through a command, a webhook and
// the desktop, and never a secret: what it sends is an event's name, an
// environment's name and a sentence.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/clock"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/shellrun"
)

// Events, as FRESHTOKEN_EVENT names them.
const (
	GrantEnded     = "grant_ended"
	ClientRejected = "client_rejected"
	// RenewalRefused: the provider refused a renewal with an error of its
	// own, whose words, in the message, say what to do.
	RenewalRefused  = "renewal_refused"
	RefreshExpiring = "refresh_token_expiring"
	Unreachable     = "renewals_failing"
	// TokenFileFailing: a token_file has not been written for a while.
	TokenFileFailing = "token_file_failing"
	// StoreUnfit: the token store is not set up as renewals need (a Redis user
	// that may not write freshtoken's keys, a Redis that evicts keys or
	// keeps nothing on disk).
	StoreUnfit = "store_unfit"
)

// sendTimeout bounds each channel's delivery.
const sendTimeout = 10 * time.Second

// Notice is one message to a person about one environment.
type Notice struct {
	Event, Env, Message string
	At                  time.Time
	// occurrence tells apart two occurrences of one event (see SetOccurrence).
	occurrence string
}

// Notifier remembers each environment's state and sends a notice when it
// changes to one that needs a person.
type Notifier struct {
	Config config.Notify // as the configuration was; Configure changes it
	Logger *slog.Logger
	// Transport carries webhook posts; nil: http.DefaultTransport.
	Transport http.RoundTripper
	// Timeout bounds each notice's delivery on all channels (sendTimeout
	// when zero).
	Timeout time.Duration
	// Now is the clock that waits between tries of a notice that reached
	// no one are counted on (nil: time.Now).
	Now func() time.Time

	mu    sync.Mutex
	state map[string]Notice // the current notice per environment
	// undelivered are the notices in force that reached no one, per
	// environment: when to try again, and the wait after that.
	undelivered map[string]retry
}

// retry is when a notice that reached no one is sent again, and how long
// the wait after that try is.
type retry struct {
	at   time.Time
	wait time.Duration
}

// due reports whether the notice is to be tried again at now: its wait is
// over, or ends further on than the whole wait, as the clock was set back
// since (NTP after it ran ahead), which would hold it back that much more.
func (r retry) due(now time.Time) bool {
	return !now.Before(r.at) || r.at.Sub(now) > r.wait
}

// Waits between tries of a notice that reached no one: a minute, doubled
// at each try, to an hour.
const (
	firstRetry = time.Minute
	lastRetry  = time.Hour
)

// now is the wall clock alone, as Now reads it (clock.Wall): by the
// timers' reading, a clock set back was never seen (see retry.due).
func (n *Notifier) now() time.Time { return clock.Wall(n.Now) }

// Set records env's state: event "" means all is well. A new event is
// sent on every channel; the same event again is not, unless it reached
// no one (the command failed and the webhook too): then it is sent again
// a minute later, and at waits that double, to an hour, until it does.
func (n *Notifier) Set(ctx context.Context, env, event, message string) {
	n.SetOccurrence(ctx, env, event, "", message)
}

// SetOccurrence is Set, for one occurrence of event, which occurrence
// names: the same event again in another occurrence (a grant that ended,
// was logged in to again and ended again between two looks) is a new
// notice, sent on every channel; the same occurrence again is not.
func (n *Notifier) SetOccurrence(ctx context.Context, env, event, occurrence, message string) {
	n.mu.Lock()
	if n.state == nil {
		n.state = map[string]Notice{}
		n.undelivered = map[string]retry{}
	}
	prev, had := n.state[env]
	if event == "" {
		delete(n.state, env)
		delete(n.undelivered, env)
		n.mu.Unlock()
		return
	}
	again, undelivered := n.undelivered[env]
	same := had && prev.Event == event && prev.occurrence == occurrence
	if same && (!undelivered || !again.due(n.now())) {
		n.mu.Unlock()
		return
	}
	notice := Notice{Event: event, Env: env, Message: redact.OneLine(message, 400), At: n.now(), occurrence: occurrence}
	if same {
		notice.At = prev.At // told again, as first told
	} else {
		again = retry{}
	}
	n.state[env] = notice
	conf := n.Config
	n.mu.Unlock()
	delivered := n.send(ctx, conf, notice)
	n.mu.Lock()
	defer n.mu.Unlock()
	if cur, ok := n.state[env]; !ok || cur.Event != event || cur.occurrence != occurrence {
		return // changed meanwhile
	}
	if delivered || ctx.Err() != nil { // stopping: the next start tells it
		delete(n.undelivered, env)
		return
	}
	again.wait = min(max(again.wait*2, firstRetry), lastRetry)
	again.at = n.now().Add(again.wait)
	n.undelivered[env] = again
}

// Keep forgets the state of every environment but envs, those still
// configured: a notice of one removed or renamed is no longer in force.
func (n *Notifier) Keep(envs []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for env := range n.state {
		if !slices.Contains(envs, env) {
			delete(n.state, env)
			delete(n.undelivered, env)
		}
	}
}

// Configure makes c the channels of the notices from now on: a running
// process follows edits to the configuration.
func (n *Notifier) Configure(c config.Notify) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c.Webhook != n.Config.Webhook && c.WebhookInClear() {
		n.Logger.Warn(WebhookInClear)
	}
	n.Config = c
}

// WebhookInClear warns of a webhook that is plain http:// to another
// machine (config.Notify.WebhookInClear), without its address.
const WebhookInClear = "warning: [notify] webhook is plain http:// to another machine: anyone on the way can read its address, often its only password, and every notice; write its https:// address"

// Current lists the notices in force, for the status page's banner.
func (n *Notifier) Current() []Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Notice, 0, len(n.state))
	for _, v := range n.state {
		out = append(out, v)
	}
	return out
}

// send sends notice on every channel of conf, and reports whether it
// reached someone: the command or the webhook did their part, or neither
// is configured (a desktop that has no notifier is no failure to try
// again: a server has none).
func (n *Notifier) send(ctx context.Context, conf config.Notify, notice Notice) (delivered bool) {
	n.Logger.Warn("a person is needed", "env", notice.Env, "event", notice.Event, "message", notice.Message)
	timeout := n.Timeout
	if timeout <= 0 {
		timeout = sendTimeout
	}
	// ctx ends when freshtoken stops (Ctrl-C, SIGTERM): the notice is cut
	// short rather than holding the stop up to its time limit, as the next
	// start tells it again (the notices in force live in this memory).
	sending, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The channels are sent at once, each within the notice's time: one
	// that hangs (a command that runs on, a webhook that does not answer)
	// keeps the others from none of it. stopping is said once.
	var stopping sync.Once
	// cut says, and reports, whether sending ended before its channel
	// did: freshtoken stopping, or the time limit.
	cut := func(channel, next string) bool {
		switch {
		case ctx.Err() != nil:
			stopping.Do(func() {
				n.Logger.Warn("notify: freshtoken is stopping, so the notice was cut short; it is told again when freshtoken next starts", "env", notice.Env, "event", notice.Event)
			})
		case sending.Err() != nil:
			n.Logger.Warn(fmt.Sprintf("notify: the %s did not finish within %s and was stopped, so the notice may not have reached you; %s", channel, timeout, next), "env", notice.Env, "event", notice.Event)
		default:
			return false
		}
		return true
	}
	var (
		wg      sync.WaitGroup
		reached atomic.Bool
	)
	if conf.Command == "" && conf.Webhook == "" {
		reached.Store(true)
	}
	if c := conf.Command; c != "" {
		wg.Go(func() {
			env := []string{"FRESHTOKEN_EVENT=" + notice.Event, "FRESHTOKEN_ENV=" + notice.Env, "FRESHTOKEN_MESSAGE=" + notice.Message}
			stdout, stderr, _, err := shellrun.Run(sending, c, env, 200, 1<<20)
			if err == nil {
				reached.Store(true)
			}
			if err != nil && !cut("command", "make it finish sooner, leaving what must go on running in the background") {
				n.Logger.Warn("notify: the command failed", "env", notice.Env, "event", notice.Event, "error", err.Error(), "output", redact.FreeText(string(stdout)+" "+string(stderr), 200))
			}
		})
	}
	if conf.Webhook != "" {
		wg.Go(func() {
			err := n.post(sending, conf.Webhook, notice)
			if err == nil {
				reached.Store(true)
			}
			if err != nil && !cut("webhook", "check [notify] webhook, and that this machine reaches it") {
				n.Logger.Warn("notify: the webhook failed", "env", notice.Env, "event", notice.Event, "error", redact.OneLine(err.Error(), 200))
			}
		})
	}
	if conf.Desktop {
		wg.Go(func() {
			if err := desktop(sending, notice); err != nil {
				n.Logger.Debug("notify: no desktop notification", "env", notice.Env, "error", err.Error())
			}
		})
	}
	wg.Wait()
	return reached.Load()
}

func (n *Notifier) post(ctx context.Context, webhook string, notice Notice) error {
	body, _ := json.Marshal(map[string]string{"text": chatText(notice)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhook, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	// A redirect is not followed: a hostile webhook would send the post
	// on to any address, the local proxy's included, which would pass it
	// to an API with the user's token. It is a failure, as webhooks of
	// chat services do not redirect.
	client := &http.Client{Transport: n.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		// Its URL, as Go writes it (the scheme in lower case, a password
		// as ***), is the webhook's password in a form redaction may not
		// know.
		return httpx.UnwrapURLError(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("it answered %s", resp.Status)
	}
	return nil
}

// markupText escapes text for a notification body, which the Desktop
// Notifications Specification makes a small XML-based markup, and for a
// chat webhook's post (see chatText), as Slack documents.
var markupText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// chatText is notice as the text of a chat webhook's post: one line that
// says who speaks, as the desktop notice's title does, then the message.
// The message is text, words of the provider's among it (an error
// description), and the post is markup. To Slack, `<!channel>` pings
// everyone in the channel and `<http://…|words>` is a link showing other
// words: &, < and > are escaped as Slack documents, and Markdown readers
// (Mattermost, Teams) show the escapes as the characters, as a receiver
// that reads the post as plain text will not, but freshtoken's own words
// hold none of them. Markdown readers also take `[words](http://…)` for a
// link showing other words, and Mattermost `@channel` for a ping: an
// invisible word joiner (U+2060) keeps each from being read so. The
// message is one line already (redact.OneLine); runs of white space become
// one space, so that no words are pushed onto a line that would look like
// a post of freshtoken's own.
func chatText(notice Notice) string {
	text := markupText.Replace(strings.Join(strings.Fields(notice.Message), " "))
	text = strings.ReplaceAll(text, "](", "]\u2060(")
	var b strings.Builder
	for i, r := range text {
		b.WriteRune(r)
		if r == '@' {
			if next, _ := utf8.DecodeRuneInString(text[i+1:]); unicode.IsLetter(next) || unicode.IsDigit(next) {
				b.WriteRune('\u2060')
			}
		}
	}
	return "freshtoken: " + b.String()
}

// desktop shows notice with the system's notifier, where it has one.
func desktop(ctx context.Context, notice Notice) error {
	name, args, err := desktopCommand(runtime.GOOS, notice)
	if err != nil {
		return err
	}
	return exec.CommandContext(ctx, name, args...).Run()
}

// desktopCommand is the command that shows notice on goos.
func desktopCommand(goos string, notice Notice) (name string, args []string, err error) {
	title := "freshtoken: " + notice.Env
	switch goos {
	case "linux", "freebsd", "openbsd":
		// "--": a message starting with an environment named "-prod" is
		// the body, not an option. The body is markup to the notification
		// server, and the message is text: a provider's words in it must
		// not become a link to click, nor leave it not well-formed.
		return "notify-send", []string{"--", title, markupText.Replace(notice.Message)}, nil
	case "darwin":
		// The words are the script's arguments, not written into it:
		// AppleScript's strings know none of Go's escapes (%q wrote
		// U+200B as \u200b, and the notice failed to show). The title
		// comes first: it starts with no "-" that osascript could take
		// for an option, and BSD's getopt stops at it.
		return "osascript", []string{"-e", "on run argv", "-e", "display notification (item 2 of argv) with title (item 1 of argv)", "-e", "end run", title, notice.Message}, nil
	}
	return "", nil, fmt.Errorf("no desktop notifications on %s", goos)
}
