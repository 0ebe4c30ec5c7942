package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// TestGrantWithoutAudienceIsStoredAsBefore: a record whose grant names no
// audience or resource is written byte for byte as before grants could name
// them, but for "bound": true, which says that it names none (and which a
// freshtoken that does not know it ignores); one that names them says so
// in the grant.
func TestGrantWithoutAudienceIsStoredAsBefore(t *testing.T) {
	r := &store.Record{AccessToken: "a", TokenType: "Bearer", IssuedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Grant: store.Grant{TokenURL: "https://idp.example/token", ClientID: "c", Type: "authorization_code", Bound: true}}
	got, err := store.Marshal("dev", r)
	if err != nil {
		t.Fatal(err)
	}
	const before = `{
  "version": 1,
  "env": "dev",
  "access_token": "a",
  "token_type": "Bearer",
  "issued_at": "2026-01-02T03:04:05Z",
  "renewals": 0,
  "grant": {
    "token_url": "https://idp.example/token",
    "client_id": "c",
    "type": "authorization_code",
    "bound": true
  }
}
`
	if string(got) != before {
		t.Fatalf("stored as\n%s\nwant, as before,\n%s", got, before)
	}
	r.Grant.Audience, r.Grant.Resource = "https://api.example/", store.Resources([]string{"https://b.example/", "https://a.example/"})
	got, err = store.Marshal("dev", r)
	if err != nil {
		t.Fatal(err)
	}
	back, err := store.Unmarshal(got, "dev")
	if err != nil || back.Grant != r.Grant {
		t.Fatalf("read back %+v (%v); want %+v", back.Grant, err, r.Grant)
	}
}

// TestResources: resource indicators given in any order, or twice, name
// one grant; a space within one cannot join two into one.
func TestResources(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"https://b.example/", "https://a.example/", "https://b.example/"}, "https://a.example/ https://b.example/"},
		{[]string{"https://a.example/x https://b.example/"}, "https://a.example/x%20https://b.example/"},
	} {
		if got := store.Resources(tc.in); got != tc.want {
			t.Errorf("Resources(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestGrantString: a grant names its audience and resources when it has
// them, after its type.
func TestGrantString(t *testing.T) {
	g := store.Grant{Issuer: "https://idp.example/", ClientID: "c", Type: "urn:ietf:params:oauth:grant-type:device_code"}
	if got, want := g.String(), `client "c" of https://idp.example/ by device code`; got != want {
		t.Errorf("%q; want %q", got, want)
	}
	g.Audience, g.Resource = "https://api.example/", "https://a.example/ https://b.example/"
	if got, want := g.String(), `client "c" of https://idp.example/ by device code for audience "https://api.example/" for resource https://a.example/ and https://b.example/`; got != want {
		t.Errorf("%q; want %q", got, want)
	}
	g = store.Grant{Issuer: "https://idp.example/", IssuerTokenURL: "https://gw.example/token", ClientID: "c", Type: "authorization_code", ScopeResource: "api://x"}
	if got, want := g.String(), `client "c" of https://idp.example/ at https://gw.example/token by authorization code for resource api://x`; got != want {
		t.Errorf("%q; want %q", got, want)
	}
}

// TestGrantShowsNoKeyOfItsAPI: a grant's audience or resource indicator
// carrying a key (?api_key=…) shows it masked, printed (%v, %#v) as in
// the words saying the stored tokens belong to another grant, which reach
// logs: they showed it whole, masking only the token endpoint's.
func TestGrantShowsNoKeyOfItsAPI(t *testing.T) {
	g := store.Grant{TokenURL: "https://idp.example/token", ClientID: "c", Audience: "https://api.example/?api_key=aud-k3y-0123456789",
		Resource: store.Resources([]string{"https://b.example/", "https://a.example/?api_key=res-k3y-0123456789"})}
	want := `client "c" at https://idp.example/token for audience "https://api.example/?api_key=aud-…(18 chars)" for resource https://a.example/?api_key=res-…(18 chars) and https://b.example/`
	if got := g.String(); got != want {
		t.Errorf("%q; want %q", got, want)
	}
	if got := fmt.Sprintf("%#v", g); strings.Contains(got, "k3y") {
		t.Errorf("%%#v shows a key: %s", got)
	}
}

// TestScopesNotGranted: the scopes asked for that the scope granted lacks,
// none when no answer named a scope. A scope granted under a longer name
// ending in it (Google's userinfo.email for email) counts, and so does
// offline_access while a refresh token is held (Microsoft never names it);
// so do scopes granted separated by commas (GitHub), in another case, or
// without their resource (Microsoft), and a resource's .default: warning
// of any would send a person after a scope they have.
func TestScopesNotGranted(t *testing.T) {
	for _, tc := range []struct {
		scope, refresh string
		asked          []string
		want           string
	}{
		{"", "", []string{"read"}, ""},
		{"read", "", []string{"read", "write", "write"}, "write"},
		{"openid https://www.googleapis.com/auth/userinfo.email", "", []string{"openid", "email", "profile"}, "profile"},
		{"User.Read profile openid", "r-1", []string{"offline_access", "User.Read"}, ""},
		{"User.Read", "", []string{"offline_access", "User.Read"}, "offline_access"},
		// GitHub's OAuth apps separate the scopes granted with commas.
		{"repo,gist", "", []string{"repo", "gist", "workflow"}, "workflow"},
		{"repo, gist", "", []string{"repo", "gist"}, ""},
		// Microsoft names a scope back in its own case, a Graph scope
		// without its resource, and never .default.
		{"User.Read Mail.Read openid", "r-1", []string{"user.read", "mail.read", "mail.send"}, "mail.send"},
		{"User.Read profile openid", "r-1", []string{"https://graph.microsoft.com/User.Read", "https://graph.microsoft.com/Mail.Send"}, "https://graph.microsoft.com/Mail.Send"},
		{"https://graph.microsoft.com/User.Read", "r-1", []string{"https://graph.microsoft.com/.default", "offline_access"}, ""},
	} {
		got := strings.Join(store.Record{Scope: tc.scope, RefreshToken: tc.refresh}.ScopesNotGranted(tc.asked), " ")
		if got != tc.want {
			t.Errorf("granted %q, asked %v: not granted %q; want %q", tc.scope, tc.asked, got, tc.want)
		}
	}
}

// TestSameAndOtherLogIn: copies of one log-in are records of a log-in at
// the same time; two log-ins, records of log-ins at two times. A record
// written before records kept that time, or none, is neither.
func TestSameAndOtherLogIn(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	one, copyOfOne := &store.Record{LoggedInAt: at, Renewals: 1}, &store.Record{LoggedInAt: at.In(time.Local), Renewals: 4}
	later, old := &store.Record{LoggedInAt: at.Add(time.Second)}, &store.Record{}
	for _, tt := range []struct {
		name        string
		a, b        *store.Record
		same, other bool
	}{
		{"copies of one log-in", one, copyOfOne, true, false},
		{"two log-ins", one, later, false, true},
		{"an old record", old, one, false, false},
		{"two old records", old, &store.Record{}, false, false},
		{"no record", nil, one, false, false},
	} {
		for _, ab := range [][2]*store.Record{{tt.a, tt.b}, {tt.b, tt.a}} {
			if got := store.SameLogIn(ab[0], ab[1]); got != tt.same {
				t.Errorf("%s: SameLogIn = %v; want %v", tt.name, got, tt.same)
			}
			if got := store.OtherLogIn(ab[0], ab[1]); got != tt.other {
				t.Errorf("%s: OtherLogIn = %v; want %v", tt.name, got, tt.other)
			}
		}
	}
}

// TestLogInWaitMade: a wait for a log-in stored by another process takes
// for one a record noted at its start or later, or at another log-in time
// than the record stored as it began (the clock set back since, NTP or a
// person, notes one made since at an earlier time), and not the record
// stored then, renewed or not, nor an earlier log-in when the store could
// not be read as it began.
func TestLogInWaitMade(t *testing.T) {
	began := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	held := &store.Record{AccessToken: "a", IssuedAt: began.Add(-time.Hour), LoggedInAt: began.Add(-time.Hour)}
	renewed := *held
	renewed.IssuedAt, renewed.RenewedAt = began.Add(time.Minute), began.Add(time.Minute)
	setBack := &store.Record{AccessToken: "b", IssuedAt: began.Add(-time.Minute), LoggedInAt: began.Add(-time.Minute)}
	later := &store.Record{AccessToken: "c", IssuedAt: began.Add(time.Minute), LoggedInAt: began.Add(time.Minute)}
	unread := errors.New("the store could not be read")
	for _, c := range []struct {
		name string
		wait store.LogInWait
		rec  *store.Record
		want bool
	}{
		{"the record held, renewed", store.NewLogInWait(began, held, nil), &renewed, false},
		{"a log-in since", store.NewLogInWait(began, held, nil), later, true},
		{"a log-in since, the clock set back", store.NewLogInWait(began, held, nil), setBack, true},
		{"a log-in since, the clock set back, none held", store.NewLogInWait(began, nil, nil), setBack, true},
		{"an earlier log-in, the store unread", store.NewLogInWait(began, nil, unread), setBack, false},
		{"a log-in since, the store unread", store.NewLogInWait(began, nil, unread), later, true},
	} {
		if got := c.wait.Made(c.rec); got != c.want {
			t.Errorf("%s: Made %v, want %v", c.name, got, c.want)
		}
	}
}

// TestOtherThanNamesOnlyAnotherFileOnThisMachine: a record's LoggedInWith
// names another configuration file's log-in only for a file on this host,
// another than ours by any path, that may be there, at a path a log-in
// could have recorded. Each row is one of OtherThan's rules (seen failing
// with that rule taken out; a log-in that named no file is no path a log-in
// records, too), the last two what is left: another file, there or kept
// from this user's sight.
func TestOtherThanNamesOnlyAnotherFileOnThisMachine(t *testing.T) {
	dir := t.TempDir()
	file := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ours, theirs := file("ours.toml"), file("theirs.toml")
	linked := filepath.Join(dir, "linked.toml")
	if err := os.Symlink(ours, linked); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.toml")
	if err := os.Link(ours, hard); err != nil {
		t.Fatal(err)
	}
	here := func(path string) store.ConfigFile { return store.ConfigFile{Host: "here", Path: path} }
	for _, tt := range []struct {
		name        string
		theirs, our store.ConfigFile
		asNobody    bool // looked at as a user who may not look in dir
		want        string
	}{
		{"a log-in that named no file", here(""), here(ours), false, ""},
		{"settings of no file", here(theirs), here(""), false, ""},
		{"our own file", here(ours), here(ours), false, ""},
		{"our own file, which we may not look at", here(ours), here(ours), true, ""},
		{"our file by a symbolic link", here(linked), here(ours), false, ""},
		{"our file by a hard link", here(hard), here(ours), false, ""},
		{"a log-in on another host", store.ConfigFile{Host: "there", Path: theirs}, here(ours), false, ""},
		{"a file gone", here(filepath.Join(dir, "gone.toml")), here(ours), false, ""},
		{"a path through a file", here(filepath.Join(theirs, "config.toml")), here(ours), false, ""},
		{"a relative path", here("store.go"), here(ours), false, ""}, // there, in the package's folder
		{"a path not clean", here(dir + "/./theirs.toml"), here(ours), false, ""},
		{"a terminal escape", here(file("\x1b]0;owned\a.toml")), here(ours), false, ""},
		{"a bidirectional control", here(file("gpj.\u202etoml")), here(ours), false, ""},
		{"bytes that are no UTF-8", here(file("\x9b31m.toml")), here(ours), false, ""},
		{"another file", here(theirs), here(ours), false, theirs},
		{"another file we may not look at", here(theirs), here(ours), true, theirs},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			if tt.asNobody {
				testenv.AsUser(t, 65534, func() { got = tt.theirs.OtherThan(tt.our) })
			} else {
				got = tt.theirs.OtherThan(tt.our)
			}
			if got != tt.want {
				t.Errorf("%+v.OtherThan(%+v) = %q; want %q", tt.theirs, tt.our, got, tt.want)
			}
		})
	}
}

// TestStoredLayoutUnchanged: the stored layout is frozen: a record every
// field of which is set is written byte for byte as every version since
// the layout's version 1 wrote it, and reads back whole. json.Marshal of a
// Record is its stored form, the tokens and the grant's URLs whole, and
// json.Unmarshal reads it back, and the stored layout, whole: a program's
// own store keeps records so (for a while json.Marshal masked them, and
// such a store kept masked tokens at its first renewal, the grant lost).
// A struct of a program's own that embeds a Record beside fields of its
// own reads back whole too: a Record's UnmarshalJSON, promoted to it,
// read the record alone and dropped the program's fields.
func TestStoredLayoutUnchanged(t *testing.T) {
	full := storetest.Full()
	full.Grant.TokenURL += "?subscription-key=gw-key-0123456789abcdef"
	got, err := store.Marshal("sandbox", storetest.Full())
	if err != nil || string(got) != storetest.FullStored {
		t.Fatalf("stored as\n%s\n(%v); want, as before,\n%s", got, err, storetest.FullStored)
	}
	back, err := store.Unmarshal([]byte(storetest.FullStored), "sandbox")
	if err != nil || !reflect.DeepEqual(back, storetest.Full()) {
		t.Fatalf("read back %+v (%v); want %+v", back, err, storetest.Full())
	}
	var own store.Record
	if err := json.Unmarshal([]byte(storetest.FullStored), &own); err != nil || !reflect.DeepEqual(&own, storetest.Full()) {
		t.Fatalf("json.Unmarshal of the stored layout: %+v (%v); want %+v", own, err, storetest.Full())
	}

	saved, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"access_token":"access-1"`, `"refresh_token":"refresh-1"`, `subscription-key=gw-key-0123456789abcdef`} {
		if !strings.Contains(string(saved), want) {
			t.Errorf("json.Marshal of a record: %s; want the stored form, %s in it", saved, want)
		}
	}
	own = store.Record{}
	if err := json.Unmarshal(saved, &own); err != nil || !reflect.DeepEqual(&own, full) {
		t.Errorf("json.Unmarshal of json.Marshal's: %+v (%v); want %+v", own, err, full)
	}

	type entry struct {
		store.Record
		Customer string `json:"customer"`
	}
	saved, err = json.Marshal(entry{*full, "acme"})
	if err != nil {
		t.Fatal(err)
	}
	var read entry
	if err := json.Unmarshal(saved, &read); err != nil || read.Customer != "acme" || !reflect.DeepEqual(&read.Record, full) {
		t.Errorf("a struct embedding a record, json.Marshal's %s read back as %+v (%v)", saved, read, err)
	}
}

// TestMaskedRecordIsCorrupt: a record in the stored layout whose tokens are
// masked, as a Record prints them (a person pasted it from what a program
// logged), is corrupt, saying where and that it was kept: Unmarshal read it
// as tokens, which freshtoken then sent, the masked refresh token to the
// provider.
func TestMaskedRecordIsCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name string
		mask func(*store.Record)
	}{
		{"both", func(r *store.Record) {
			r.AccessToken, r.RefreshToken = redact.Mask(r.AccessToken), redact.Mask(r.RefreshToken)
		}},
		{"the access token alone", func(r *store.Record) { r.AccessToken, r.RefreshToken = redact.Mask(r.AccessToken), "" }},
		{"the refresh token alone", func(r *store.Record) { r.AccessToken, r.RefreshToken = "", redact.Mask(r.RefreshToken) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := storetest.Full()
			tc.mask(rec)
			masked, err := store.Marshal("sandbox", rec)
			if err != nil {
				t.Fatal(err)
			}
			r, err := store.Unmarshal(masked, "/state/sandbox.json")
			if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "/state/sandbox.json holds its tokens masked") {
				t.Fatalf("Unmarshal of %s: %+v, %v; want an error wrapping store.ErrCorrupt naming the place", masked, r, err)
			}
		})
	}
}

// TestProblemThenKeepsWhenItsKindWasFirstNoted: a problem noted again,
// of the kind noted before, keeps when that kind was first noted (First),
// as the engine's note in a record and the keeper's note of a refusal
// with no record both read it; one of another kind, or after none,
// starts anew.
func TestProblemThenKeepsWhenItsKindWasFirstNoted(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	next := store.Problem{Kind: store.ProblemClientRejected, Message: "refused again", At: at(time.Hour)}
	for _, tt := range []struct {
		name string
		was  *store.Problem
		want time.Time // next's Since
	}{
		{"after none", nil, time.Time{}},
		{"after one of its kind, noted once", &store.Problem{Kind: store.ProblemClientRejected, At: at(5 * time.Minute)}, at(5 * time.Minute)},
		{"after one of its kind, noted since a time", &store.Problem{Kind: store.ProblemClientRejected, At: at(5 * time.Minute), Since: t0}, t0},
		{"after one of another kind", &store.Problem{Kind: store.ProblemRefused, At: at(5 * time.Minute), Since: t0}, time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.was.Then(next)
			if !got.Since.Equal(tt.want) || got.Kind != next.Kind || got.Message != next.Message || !got.At.Equal(next.At) {
				t.Fatalf("Then: %v; want %v since %v", got, next, tt.want)
			}
			first := tt.want
			if first.IsZero() {
				first = next.At
			}
			if !got.First().Equal(first) {
				t.Fatalf("First of %v: %v; want %v", got, got.First(), first)
			}
		})
	}
}
