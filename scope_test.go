package freshtoken_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestAReducedScopeIsWarnedOnce: a provider may grant less than asked
// (RFC 6749 §5.1), naming the scope it granted in its answer. It was
// accepted without a word, and the person's API calls then failed with
// 403 and no clue. A log-in granted fewer scopes than the environment
// asks for, and a renewal granted fewer than the tokens before it, now
// warn once, naming the scopes not granted; the record keeps the scope
// granted (for status), space-separated even when the provider put commas
// between (it warned of every scope, all granted), and an answer naming
// none keeps the one before. No token is logged.
func TestAReducedScopeIsWarnedOnce(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	var granted atomic.Pointer[string] // the scope the answers name; "" names none
	grantingScope(t, r, &granted)
	r.settings.Scopes = []string{"read", "write"}
	var logs bytes.Buffer
	src := warningSource(t, r, &logs)
	const (
		atLogIn   = "the provider granted fewer scopes than asked for"
		atRenewal = "a renewal was granted fewer scopes than the tokens before it"
	)
	for _, step := range []struct {
		name, granted, stored, warned string
	}{
		{"log-in granted all", "read write", "read write", ""},
		// Named with a comma between (GitHub's OAuth apps): all granted.
		{"renewal granted all, with commas", "read,write", "read write", ""},
		{"renewal granted less", "read", "read", atRenewal + `; API calls that need the others will be refused (403): log in again to ask for them" env=sandbox not_granted=write granted=read`},
		{"renewal granted as little again", "read", "read", ""},
		{"renewal naming no scope", "", "read", ""},
		{"log-in granted less", "write", "write", atLogIn + `; API calls that need the others will be refused (403): check the scopes the app may ask for at the provider, then log in again" env=sandbox not_granted=read granted=write`},
	} {
		logs.Reset()
		granted.Store(&step.granted)
		if strings.HasPrefix(step.name, "log-in") {
			r.login(src)
		} else {
			r.clock.Advance(2 * time.Hour)
			if _, err := src.Renew(context.Background()); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
		}
		rec := r.record()
		if rec.Scope != step.stored {
			t.Errorf("%s: the record holds scope %q; want %q", step.name, rec.Scope, step.stored)
		}
		said := logs.String()
		if step.warned == "" && said != "" || step.warned != "" && (strings.Count(said, "level=WARN") != 1 || !strings.Contains(said, step.warned)) {
			t.Errorf("%s: logged %q; want %q", step.name, said, step.warned)
		}
		if strings.Contains(said, rec.AccessToken) || strings.Contains(said, rec.RefreshToken) {
			t.Errorf("%s: a token was logged: %q", step.name, said)
		}
	}
}

// warningSource is a Source of r's settings whose warnings go to logs.
func warningSource(t *testing.T, r *rig, logs io.Writer) *freshtoken.Source {
	t.Helper()
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// grantingScope has r's token endpoint answer with the scope granted
// names, where it is not "".
func grantingScope(t *testing.T, r *rig, granted *atomic.Pointer[string]) {
	t.Helper()
	forward := toProvider(t, r)
	forward.ModifyResponse = func(resp *http.Response) error {
		scope := *granted.Load()
		if resp.StatusCode != http.StatusOK || scope == "" {
			return nil
		}
		var answer map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
			return err
		}
		answer["scope"] = scope
		b, _ := json.Marshal(answer)
		resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	front := httptest.NewServer(forward)
	t.Cleanup(front.Close)
	r.settings.TokenURL = front.URL + "/v2/token_endpoint"
}

// TestAClientCredentialsScopeIsComparedWithTheConfiguration: under client
// credentials each token is asked for the configured scopes afresh. A
// scope taken out of the configuration was warned of as a renewal granted
// fewer scopes than the tokens before it, with "log in again to ask for
// them": it was not asked for. The scopes asked for now are what is
// compared, a scope not granted told once.
func TestAClientCredentialsScopeIsComparedWithTheConfiguration(t *testing.T) {
	r := clientRig(t, devprovider.Options{AccessTTL: time.Hour})
	var granted atomic.Pointer[string]
	grantingScope(t, r, &granted)
	var logs bytes.Buffer
	for _, step := range []struct {
		name    string
		asked   []string
		granted string
		warned  string
	}{
		{"all granted", []string{"read", "write"}, "read write", ""},
		{"write no longer asked for", []string{"read"}, "read", ""},
		{"write asked for again, and granted", []string{"read", "write"}, "read write", ""},
		{"write no longer granted", []string{"read", "write"}, "read", "the provider granted fewer scopes than asked for"},
		{"write still not granted", []string{"read", "write"}, "read", ""},
	} {
		logs.Reset()
		granted.Store(&step.granted)
		r.settings.Scopes = step.asked
		src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(2 * time.Hour)
		if _, err := src.Token(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if said := logs.String(); step.warned == "" && said != "" || step.warned != "" && (strings.Count(said, "level=WARN") != 1 || !strings.Contains(said, step.warned)) {
			t.Errorf("%s: logged %q; want %q", step.name, said, step.warned)
		}
	}
}

// TestAScopeTheTokensLackIsWarnedAtRenewal: a scope added to the
// environment's scopes after the log-in is not in its tokens, and no
// renewal brings it (a refresh asks for no more than the log-in was
// granted). Renewals granted as much as before said nothing, while status
// showed the scope not granted and API calls needing it got 403. Each
// process (a command, a proxy's run) now warns once, naming it, whichever
// of its Sources renews, and again only for a scope it has not told of.
// A scope the provider refused at the log-in lacks as well, and is told
// of by each command that renews: the warning said only "added to its
// scopes since the log-in?" and to log in again, which the provider
// refuses again, in a loop. It names that case too, and the way out of
// it, taking the scope out of the environment's scopes.
func TestAScopeTheTokensLackIsWarnedAtRenewal(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	var granted atomic.Pointer[string]
	grantingScope(t, r, &granted)
	var logs bytes.Buffer
	source := func(scopes ...string) *freshtoken.Source {
		r.settings.Scopes = scopes
		return warningSource(t, r, &logs)
	}
	const lacking = `"the tokens lack scopes the environment asks for, which no renewal can add (added to its scopes since the log-in, or refused at it); API calls that need them will be refused (403): log in again to ask for them, or take those the provider refuses out of the environment's scopes" env=sandbox not_granted=`
	read := source("read")
	scope := "read"
	granted.Store(&scope)
	r.login(read)
	var src *freshtoken.Source
	for _, step := range []struct {
		name    string
		src     func() *freshtoken.Source // nil: the one before
		granted string
		warned  string
	}{
		{"write added; a Source renews", func() *freshtoken.Source { return source("read", "write") }, "read", lacking + "write granted=read"},
		{"the same Source renews again", nil, "read", ""},
		{"again, naming no scope", nil, "", ""},
		{"another Source renews", func() *freshtoken.Source { return source("read", "write") }, "read", ""},
		{"admin added too; another Source renews", func() *freshtoken.Source { return source("read", "write", "admin") }, "read", lacking + `"write admin" granted=read`},
		{"write taken out; another Source renews", func() *freshtoken.Source { return source("read", "admin") }, "read", ""},
		{"admin taken out; another Source renews", func() *freshtoken.Source { return source("read") }, "read", ""},
		{"write added again; another Source renews", func() *freshtoken.Source { return source("read", "write") }, "read", lacking + "write granted=read"},
	} {
		logs.Reset()
		if step.src != nil {
			src = step.src()
		}
		granted.Store(&step.granted)
		r.clock.Advance(2 * time.Hour)
		if _, err := src.Renew(context.Background()); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if said := logs.String(); step.warned == "" && said != "" || step.warned != "" && (strings.Count(said, "level=WARN") != 1 || !strings.Contains(said, step.warned)) {
			t.Errorf("%s: logged %q; want %q", step.name, said, step.warned)
		}
	}
	// Logged in again with every scope: nothing lacks, nothing is told.
	logs.Reset()
	src = source("read", "write")
	scope = "read write"
	granted.Store(&scope)
	r.login(src)
	r.clock.Advance(2 * time.Hour)
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if said := logs.String(); said != "" {
		t.Errorf("logged in with every scope, then renewed: logged %q", said)
	}
}

// TestAHostileScopeIsLoggedBounded: a provider naming a scope of 10,000
// words (its answer may be up to a megabyte) had the whole of it logged in
// the warning of the scopes not granted, at the log-in and again at a
// renewal, a line of 50 KB each time; with control characters in it, on
// the lines a log file's reader sees. The scope granted is logged as
// status shows it: on one line, its first 1,000 characters.
func TestAHostileScopeIsLoggedBounded(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	var granted atomic.Pointer[string]
	grantingScope(t, r, &granted)
	r.settings.Scopes = []string{"read", "write"}
	var logs bytes.Buffer
	src := warningSource(t, r, &logs)
	scope := "read \x1b]0;owned\x07" + strings.Repeat(" word", 10000)
	granted.Store(&scope)
	r.login(src)
	said := logs.String()
	if !strings.Contains(said, "not_granted=write") || len(said) > 2000 || strings.Contains(said, `\x1b`) {
		t.Errorf("the log-in granted a scope of 10,000 words; logged %d bytes: %.300q…", len(said), said)
	}
}
