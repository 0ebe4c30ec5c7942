package store_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// TestRedactURL: a store's URL is shown without what may hold a secret
// (user, password, query, fragment). A file URL's path is shown as written:
// a space was shown as %20, which is not what the configuration holds, and
// a path written without slashes (file:tokens) was shown as "the [store]
// url", so an error about it read `"the [store] url" needs an absolute
// path` instead of naming what was typed; and as store migrate's --to
// holds one too, one that does not parse is no longer "the [store] url".
func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"file:///srv/my tokens":                 "file:///srv/my tokens",
		"file:///srv/tokens?x=1#y":              "file:///srv/tokens",
		"file:tokens":                           "file:tokens",
		"file:tokens?secret=1":                  "file:tokens",
		"file://localhost/srv/tokens":           "file://localhost/srv/tokens",
		"redis://user:s3cr3t@h:6379/0?x=s3cr3t": "redis://h:6379/0",
		"rediss://:s3cr3t@h/1":                  "rediss://h/1",
		"redis:s3cr3t@h":                        "redis:…",
		"redis:/user:s3cr3t@h:6379/0":           "…@h:6379/0",
		"rediss//user:s3@cr3t@h/1":              "…@h/1",
		"%zz":                                   "the URL",
		// A password beginning with digits and holding a # or a ? unescaped
		// (8675309#x9): what precedes it reads as a port, the rest as a
		// fragment or a query holding the @.
		"redis://user:8675309#x9@h:6379/0": "…@h:6379/0",
		"redis://user:8675309?x9@h:6379/0": "…@h:6379/0",
		"rediss//user:8675309#x9@h:6379/0": "…@h:6379/0",
		"redis:/user:pa#ss@h/0":            "…@h/0",
	} {
		if got := store.RedactURL(raw); got != want {
			t.Errorf("RedactURL(%q) = %q; want %q", raw, got, want)
		}
	}
}

// TestRecordPrintsNoToken: a Record (as Source.Record and KeepAlive return
// it) printed with fmt's verbs or logged through slog shows its tokens
// masked and the rest as it is. %v printed the access and refresh tokens
// whole, so a program logging what it read handed out its grant.
// json.Marshal, the stored form, keeps them (see TestStoredLayoutUnchanged).
func TestRecordPrintsNoToken(t *testing.T) {
	const access, refresh = "at-0123456789abcdef-0123456789abcdef", "rt-fedcba9876543210-fedcba9876543210"
	r := &store.Record{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", Renewals: 7,
		Problem: &store.Problem{Kind: store.ProblemGrantEnded, Message: "ended"}}
	for _, s := range append(testenv.Printed(r, *r, struct{ R *store.Record }{r}), testenv.Logged(r, *r)) {
		if testenv.Leaked(s, access, refresh) != "" {
			t.Fatalf("printed with a token: %.400s", s)
		}
	}
	if s := fmt.Sprintf("%+v", r); !strings.Contains(s, "Renewals:7") || !strings.Contains(s, "TokenType:Bearer") {
		t.Errorf("printed as %q: want the rest shown", s)
	}
}

// TestRecordPrintsItsProblemAndRest: a record printed or logged shows the
// failure noted beside its tokens (the grant ended, the client rejected)
// and the rest renewals take, not the addresses they are kept at
// (Problem:0xc000123450), which told a program's log nothing.
func TestRecordPrintsItsProblemAndRest(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	r := &store.Record{AccessToken: "at-0123456789abcdef", Renewals: 2,
		Problem: &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token", At: at},
		Rest:    &store.Rest{Until: at.Add(time.Minute), Message: "the token endpoint kept failing", RateLimited: true}}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("read", "rec", r)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("read", "rec", *r)
	shown := []string{logged.String()}
	for _, verb := range []string{"%v", "%+v", "%s"} {
		shown = append(shown, fmt.Sprintf(verb, r), fmt.Sprintf(verb, *r))
	}
	for _, s := range shown {
		for _, want := range []string{"grant_ended", "the provider refused the refresh token", "the token endpoint kept failing", "RateLimited:true", "2026-03-01"} {
			if !strings.Contains(s, want) {
				t.Errorf("printed as %.600s: want %q in it", s, want)
			}
		}
		if strings.Contains(s, "0x") {
			t.Errorf("printed as %.600s: an address, not what it holds", s)
		}
	}
	if s := fmt.Sprintf("%v", &store.Record{}); !strings.Contains(s, "Problem:<nil>") || !strings.Contains(s, "Rest:<nil>") {
		t.Errorf("a record with no problem printed as %s", s)
	}
}

// TestGrantPrintsNoKeyInAURL: a record's grant, printed with the record or
// alone, with fmt's verbs or slog, shows a key in its URLs' queries
// (?subscription-key=…) and a password in them masked, and the rest of the
// query as it is. String masked them, but %#v, which calls no String, showed
// the record's grant whole.
func TestGrantPrintsNoKeyInAURL(t *testing.T) {
	const key = "Zq7xW" // too short to be registered: only masking by name hides it
	u := "https://user:" + key + "pw@login.example.com/token?subscription-key=" + key + "&view=all"
	g := store.Grant{TokenURL: u, Issuer: u, IssuerTokenURL: u, ClientID: "client"}
	r := &store.Record{AccessToken: "at-0123456789abcdef", Grant: g}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("read", "rec", r, "grant", g)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("read", "rec", *r, "grant", g)
	shown := []string{logged.String()}
	for _, v := range []any{r, *r, g, &g} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			shown = append(shown, fmt.Sprintf(verb, v))
		}
	}
	for _, s := range shown {
		if strings.Contains(s, key) || !strings.Contains(s, "subscription-key=…(5 chars)&view=all") {
			t.Errorf("printed as %.600s: want the key masked and the rest of the query shown", s)
		}
	}
	if s := fmt.Sprintf("%#v", g); !strings.HasPrefix(s, `store.Grant{TokenURL:"https://`) || !strings.Contains(s, `ClientID:"client"`) {
		t.Errorf("%%#v of a grant: %s; want it as Go syntax", s)
	}
}
