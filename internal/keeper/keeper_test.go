package keeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// round is one look at every configured environment, one after
// another, as Run's watches each make them.
func (k *Keeper) round(ctx context.Context, look time.Duration) {
	names, ok := k.configured()
	if ok {
		k.keepNotices(names)
	}
	for _, name := range names {
		k.keep(ctx, name, look)
	}
}

// TestEachEventIsTold: each state that needs a person reaches the
// notifier once, with its event and the next step, from one look of the
// keeper; all well again clears it.
func TestEachEventIsTold(t *testing.T) {
	_, root := devserver.Start(t, devprovider.Options{AutoApprove: true})
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: root + "/v2/token_endpoint", AuthStyle: oauth2.AuthStyleInHeader}, freshtoken.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	grant := store.Grant{TokenURL: root + "/v2/token_endpoint", ClientID: "dev-client-id", Type: freshtoken.GrantAuthorizationCode}
	n := &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
	k := &Keeper{Envs: func() ([]string, error) { return []string{"dev"}, nil },
		Open:   func(context.Context, string) (*freshtoken.Source, error) { return src, nil },
		Logger: slog.New(slog.DiscardHandler), Notify: n}
	now := time.Now()
	base := store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890", IssuedAt: now,
		Expiry: now.Add(time.Hour), RefreshExpiry: now.Add(30 * 24 * time.Hour), Grant: grant}
	for _, tt := range []struct {
		name  string
		edit  func(r *store.Record)
		event string
		says  string
	}{
		{"grant ended", func(r *store.Record) {
			r.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token", At: now}
		}, notify.GrantEnded, "run `freshtoken login -e dev` to use it again, or `freshtoken logout -e dev` to forget its tokens"},
		// A secret from a variable is named, never its value: a user sent
		// to "the client secret in the config" found none there.
		{"client rejected, its secret from a variable", func(r *store.Record) {
			k.SecretWhere = func(string) string { return "$FT_SECRET" }
			r.Problem = &store.Problem{Kind: store.ProblemClientRejected, Message: "the token endpoint rejected the client again", At: now}
		}, notify.ClientRejected, "check client_id, the client secret ($FT_SECRET) and client_auth in the config"},
		{"client rejected", func(r *store.Record) {
			r.Problem = &store.Problem{Kind: store.ProblemClientRejected, Message: "the token endpoint rejected the client", At: now}
		}, notify.ClientRejected, "check client_id"},
		{"refresh token expiring, renewing does not help", func(r *store.Record) {
			r.RefreshNotExtended, r.RefreshExpiry = true, now.Add(3*24*time.Hour)
		}, notify.RefreshExpiring, "renewing does not extend it; run `freshtoken login -e dev` before then"},
		// A log-in that brought no refresh token ends with its access
		// token: status and the page said so, the notifier never heard.
		{"access token expired, no refresh token issued", func(r *store.Record) {
			r.RefreshToken, r.RefreshExpiry, r.Expiry = "", time.Time{}, now.Add(-time.Minute)
		}, notify.GrantEnded, "dev: the access token expired, and the provider issued no refresh token to renew it; run `freshtoken login -e dev`"},
		{"renewals failing for 15 minutes", func(r *store.Record) {
			r.IssuedAt = now.Add(-20 * time.Minute)
			k.state("dev").failing = &failure{since: now.Add(-16 * time.Minute), err: freshtoken.ErrUnreachable, renewing: true, issued: now.Add(-20 * time.Minute)}
		}, notify.Unreachable, "renewals have failed to reach the provider since " + now.Add(-16*time.Minute).Local().Format(noticeTime)},
		{"grant ended, the configuration named by --config", func(r *store.Record) {
			k.state("dev").failing = nil
			k.Suggesting = func(msg string) string {
				return strings.ReplaceAll(msg, "`freshtoken ", "`freshtoken --config b.toml ")
			}
			r.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token", At: now}
		}, notify.GrantEnded, "run `freshtoken --config b.toml login -e dev`"},
		{"all well", func(*store.Record) { k.Suggesting = nil }, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.edit(&r)
			if err := st.Save(context.Background(), "dev", &r); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the same state twice: told once
				k.round(context.Background(), time.Minute)
			}
			got := n.Current()
			if tt.event == "" {
				if len(got) != 0 {
					t.Fatalf("notices %+v; want none when all is well", got)
				}
				return
			}
			if len(got) != 1 || got[0].Event != tt.event || !strings.HasPrefix(got[0].Message, "dev: ") || !strings.Contains(got[0].Message, tt.says) {
				t.Fatalf("notices %+v; want %s saying %q", got, tt.event, tt.says)
			}
		})
	}
}

// TestTokenFileNeverHoldsAnotherClientsToken: a keeper of a configuration
// whose environment shares its name and store with another client's never
// puts that client's token in its token file; nor a token of its own that
// no HTTP header can carry, whose line break a script reading the file
// would send on as a header of its own.
func TestTokenFileNeverHoldsAnotherClientsToken(t *testing.T) {
	mine := store.Grant{TokenURL: "http://127.0.0.1:1/token", ClientID: "mine", Type: freshtoken.GrantAuthorizationCode}
	for _, tt := range []struct {
		name  string
		token string
		grant store.Grant
	}{
		{"another client's token", "their-access-token-123456", store.Grant{TokenURL: "http://127.0.0.1:2/token", ClientID: "theirs", Type: freshtoken.GrantAuthorizationCode}},
		{"a token with a line break", "my-access-token\r\nX-Injected: 1", mine},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
			src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: mine.ClientID, ClientSecret: "s3cr3t-value",
				TokenURL: mine.TokenURL, AuthStyle: oauth2.AuthStyleInHeader}, freshtoken.Options{Store: st})
			if err != nil {
				t.Fatal(err)
			}
			rec := &store.Record{AccessToken: tt.token, RefreshToken: "a-refresh-token-123456",
				IssuedAt: time.Now(), Expiry: time.Now().Add(time.Hour), Grant: tt.grant}
			if err := st.Save(context.Background(), "dev", rec); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "token")
			keeping(src, file).round(context.Background(), time.Minute)
			if b, err := os.ReadFile(file); err == nil {
				t.Fatalf("the token file was written with %s: %q", tt.name, b)
			}
		})
	}
}

// TestTokenFileOfARecordWithoutGrantAdoptsIt: a record stored before
// grants were belongs to the first environment that uses it. The keeper
// putting its token in the environment's token file is a use: the record
// is adopted first, so that another configuration of the name, finding it
// later, is refused it. It wrote the file and left the record unadopted,
// and the other configuration then used it too.
func TestTokenFileOfARecordWithoutGrantAdoptsIt(t *testing.T) {
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	set := freshtoken.Settings{Env: "dev", ClientID: "mine", ClientSecret: "s3cr3t-value",
		TokenURL: "http://127.0.0.1:1/token", AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: true}
	src, err := freshtoken.New(set, freshtoken.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	rec := &store.Record{AccessToken: "legacy-access-token-123456", RefreshToken: "a-refresh-token-123456",
		IssuedAt: time.Now(), Expiry: time.Now().Add(time.Hour)}
	if err := st.Save(context.Background(), "dev", rec); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "token")
	keeping(src, file).round(context.Background(), time.Minute)
	if b, err := os.ReadFile(file); err != nil || string(b) != rec.AccessToken+"\n" {
		t.Fatalf("token file %q, %v; want the record's token", b, err)
	}
	if got, err := st.Load(context.Background(), "dev"); err != nil || !got.Grant.Bound || got.Grant.ClientID != "mine" {
		t.Fatalf("the record's grant after the keeper's look: %+v, %v; want this environment's, bound", got, err)
	}
	set.ClientID = "theirs"
	other, err := freshtoken.New(set, freshtoken.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Token(); !errors.Is(err, freshtoken.ErrLoginRequired) {
		t.Fatalf("another configuration of the name, after the keeper used the record: %v; want log-in needed", err)
	}
}

// TestRejectedClientCredentialsAreTold: a client-credentials environment
// with a token file, whose client the provider rejects before any token
// was had, has no record to note the problem in; the keeper still tells
// the person (once), tries again every 5 minutes rather than at every
// look, and stops telling once a token is had.
func TestRejectedClientCredentialsAreTold(t *testing.T) {
	p, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	open := func(secret string) *freshtoken.Source {
		src, err := freshtoken.New(freshtoken.Settings{Env: "machine", ClientID: "dev-client-id", ClientSecret: secret,
			TokenURL: root + "/v2/token_endpoint", AuthStyle: oauth2.AuthStyleInHeader,
			Grant: freshtoken.GrantClientCredentials, KeepAccess: true}, freshtoken.Options{Store: st, Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	src := open("a-wrong-client-secret")
	n := &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
	file := filepath.Join(t.TempDir(), "token")
	var logs syncBuffer
	k := &Keeper{Envs: func() ([]string, error) { return []string{"machine"}, nil },
		Open:   func(context.Context, string) (*freshtoken.Source, error) { return src, nil },
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Notify: n, Now: clock.Now,
		TokenFile: func(string) string { return file }}
	k.round(context.Background(), time.Minute)
	for range 30 {
		clock.Advance(time.Minute)
		k.round(context.Background(), time.Minute)
	}
	if n := p.Stats().TokenRequests; n < 2 || n > 7 {
		t.Fatalf("%d token requests in half an hour with a rejected client; want one every 5 minutes", n)
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"keeper: renewal failed\""); n != 1 {
		t.Fatalf("the failed tries were warned of %d times; want once, the first:\n%s", n, logs.String())
	}
	got := n.Current()
	if len(got) != 1 || got[0].Event != notify.ClientRejected || !strings.HasPrefix(got[0].Message, "machine: ") || !strings.Contains(got[0].Message, "check client_id") {
		t.Fatalf("notices %+v; want the rejected client told", got)
	}
	src = open("dev-client-secret")
	clock.Advance(time.Hour)
	tells(t, k, n, "")
	if b, err := os.ReadFile(file); err != nil || len(b) < 10 {
		t.Fatalf("token file: %q, %v", b, err)
	}
}

// TestTokenURLWhereNoEndpointIsIsTold: client credentials at a token URL
// where no endpoint is (a mistyped path, answered 404) are told once, as a
// rejected client is, in words that say to check token_url, not the
// client's credentials (the notice said both).
func TestTokenURLWhereNoEndpointIsIsTold(t *testing.T) {
	p, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	src, err := freshtoken.New(freshtoken.Settings{Env: "machine", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: root + "/v2/token_endpont", AuthStyle: oauth2.AuthStyleInHeader,
		Grant: freshtoken.GrantClientCredentials, KeepAccess: true}, freshtoken.Options{Store: filestore.New(filepath.Join(t.TempDir(), "tokens")), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	n := &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
	k := &Keeper{Envs: func() ([]string, error) { return []string{"machine"}, nil },
		Open:   func(context.Context, string) (*freshtoken.Source, error) { return src, nil },
		Logger: slog.New(slog.DiscardHandler), Notify: n, Now: clock.Now,
		TokenFile: func(string) string { return filepath.Join(t.TempDir(), "token") }}
	for range 30 {
		k.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	if n := p.Stats().TokenRequests; n != 0 {
		t.Fatalf("%d token requests counted by the provider; want none: the token URL is not its endpoint", n)
	}
	got := n.Current()
	if len(got) != 1 || got[0].Event != notify.ClientRejected || !strings.Contains(got[0].Message, "check token_url") || strings.Contains(got[0].Message, "check client_id") {
		t.Fatalf("notices %+v; want one saying to check token_url alone", got)
	}
}

// TestNoticesOfRemovedEnvironmentsEnd: an environment taken out of the
// configuration, or renamed, under a running keeper takes its notice with
// it: the status page's banner no longer tells of a grant nobody keeps.
func TestNoticesOfRemovedEnvironmentsEnd(t *testing.T) {
	src := stored(t, false, func(r *store.Record) {
		r.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token", At: r.IssuedAt}
	})
	envs := []string{"dev"}
	n := &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
	k := &Keeper{Envs: func() ([]string, error) { return envs, nil },
		Open:   func(context.Context, string) (*freshtoken.Source, error) { return src, nil },
		Logger: slog.New(slog.DiscardHandler), Notify: n}
	tells(t, k, n, "dev: the provider refused the refresh token")
	envs = nil
	tells(t, k, n, "")
}

// TestRenewalsFailingForAnyReasonAreTold: renewals that keep failing
// for a reason of this machine's (the service does not see the client
// secret's variable, the keychain is locked, the stored tokens are
// unreadable) let the grant lapse as surely as a provider that cannot be
// reached; after the same 15 minutes a person is told, once, with the
// reason, and the notice ends after a log-in elsewhere (on a machine
// whose clock is behind too), or when renewals work again.
func TestRenewalsFailingForAnyReasonAreTold(t *testing.T) {
	_, root := devserver.Start(t, devprovider.Options{AutoApprove: true})
	clock := fakeclock.New()
	dir := filepath.Join(t.TempDir(), "tokens")
	st := filestore.New(dir)
	locked := false
	open := func(context.Context, string) (*freshtoken.Source, error) { // as the keeper does, each round
		return freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", TokenURL: root + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app",
			AuthStyle: oauth2.AuthStyleInHeader, IdleLimit: time.Hour,
			ClientSecretFunc: func(context.Context) (string, error) {
				if locked {
					return "", errors.New("the keychain is locked; unlock it")
				}
				return "dev-client-secret", nil
			}}, freshtoken.Options{Store: st, Clock: clock.Now})
	}
	src, err := open(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	devserver.LoginSource(t, src, clock.Now())
	locked = true
	clock.Advance(time.Hour) // past the idle limit's plan: due
	n := &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
	k := &Keeper{Envs: func() ([]string, error) { return []string{"dev"}, nil },
		Open:   open,
		Logger: slog.New(slog.DiscardHandler), Notify: n, Now: clock.Now}
	k.round(context.Background(), time.Minute)
	if got := n.Current(); len(got) != 0 {
		t.Fatalf("notices %+v at the first failure; want none yet", got)
	}
	clock.Advance(16 * time.Minute)
	for range 2 {
		k.round(context.Background(), time.Minute)
	}
	if got := n.Current(); len(got) != 1 || got[0].Event != notify.Unreachable || !strings.HasPrefix(got[0].Message, "dev: renewals have failed since "+clock.Now().Add(-16*time.Minute).Local().Format(noticeTime)) ||
		!strings.Contains(got[0].Message, "the keychain is locked; unlock it") {
		t.Fatalf("notices %+v; want renewals failing for 16m, saying why", got)
	}
	loginElsewhere := func(sent time.Time) { // by hand (a log-in reads the secret afresh)
		locked = false
		devserver.LoginSource(t, src, sent)
		locked = true
	}
	for _, end := range []struct {
		what string
		do   func()
	}{
		{"a log-in elsewhere", func() { loginElsewhere(clock.Now()) }},
		{"renewals working again", func() { locked = false }},
		// Its tokens "issued" before these failures began: they changed,
		// whatever the clocks say.
		{"a log-in on a machine whose clock is 20 minutes behind", func() { loginElsewhere(clock.Now().Add(-20 * time.Minute)) }},
	} {
		end.do()
		k.round(context.Background(), time.Minute)
		if got := n.Current(); len(got) != 0 {
			t.Fatalf("notices %+v after %s; want none", got, end.what)
		}
		locked = true
		clock.Advance(time.Hour)
		k.round(context.Background(), time.Minute)
		clock.Advance(16 * time.Minute)
		k.round(context.Background(), time.Minute)
		if got := n.Current(); len(got) != 1 {
			t.Fatalf("notices %+v; want renewals failing again after %s", got, end.what)
		}
	}
}

// TestTokenFileIsPutBack: a token file removed, changed or opened to
// others under a running keeper (the session's /run/user folder emptied
// at log-out, an editor's slip, a careless chmod) holds the current token
// again, readable by the user alone, at the next look, not only after the
// next renewal, which for a long-lived token may be a day away.
func TestTokenFileIsPutBack(t *testing.T) {
	src := stored(t, true, func(r *store.Record) { r.Expiry = r.IssuedAt.Add(24 * time.Hour) })
	file := filepath.Join(t.TempDir(), "token")
	k := keeping(src, file)
	for _, spoil := range []func() error{
		func() error { return os.Remove(file) },
		func() error { return os.WriteFile(file, []byte("edited\n"), 0o600) },
		func() error { return os.Chmod(file, 0o644) },
	} {
		k.round(context.Background(), time.Minute)
		if err := spoil(); err != nil {
			t.Fatal(err)
		}
		k.round(context.Background(), time.Minute)
		if b, err := os.ReadFile(file); err != nil || string(b) != "access-token-1234567890\n" {
			t.Fatalf("token file %q, %v; want the current token put back", b, err)
		}
		if fi, err := os.Stat(file); runtime.GOOS != "windows" && (err != nil || fi.Mode().Perm() != 0o600) {
			t.Fatalf("token file mode %v, %v; want 0600 again", fi.Mode().Perm(), err)
		}
	}
}

// TestTokenFileWrittenByTwoConfigurationsIsTold: two keepers with other
// configurations (a service and a proxy started by hand) whose
// environments name one token_file each put their own token back at every
// look, and its readers get either: a script for one company's books
// sent the other's token. Each warns once, and after 15 minutes of it a
// person is told; once one of them stops, the notice ends. A single edit
// by hand is put back untold.
func TestTokenFileWrittenByTwoConfigurationsIsTold(t *testing.T) {
	clock := fakeclock.New()
	file := filepath.Join(t.TempDir(), "token")
	day := func(r *store.Record) { r.Expiry = r.IssuedAt.Add(24 * time.Hour) }
	a, na := keepingTold(stored(t, true, day), file, clock)
	var logA strings.Builder
	a.Logger = slog.New(slog.NewTextHandler(&logA, nil))
	b, nb := keepingTold(stored(t, true, func(r *store.Record) { day(r); r.AccessToken = "other-access-token-0987654321" }), file, clock)
	tells(t, a, na, "")
	tells(t, b, nb, "")
	for range 17 {
		clock.Advance(time.Minute)
		a.round(context.Background(), time.Minute)
		b.round(context.Background(), time.Minute)
	}
	const want = "dev: the token file "
	for _, n := range []*notify.Notifier{na, nb} {
		got := n.Current()
		if len(got) != 1 || got[0].Event != notify.TokenFileFailing || !strings.HasPrefix(got[0].Message, want) || !strings.Contains(got[0].Message, "written by something else too") {
			t.Fatalf("after 17 minutes of two keepers writing one token file, notices %+v; want token_file_failing saying so", got)
		}
	}
	if c := strings.Count(logA.String(), "something else writes it too"); c != 1 {
		t.Errorf("warned %d times; want once:\n%s", c, logA.String())
	}
	tells(t, a, na, "dev: the token file ")
	tells(t, a, na, "") // b stopped: a's token stays
	if err := os.WriteFile(file, []byte("edited\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock.Advance(16 * time.Minute)
	tells(t, a, na, "")
	tells(t, a, na, "")
	if b, _ := os.ReadFile(file); string(b) != "access-token-1234567890\n" {
		t.Fatalf("token file %q; want the token put back", b)
	}
}

// TestUnreadableConfigurationIsTold: a configuration that an edit left
// unreadable keeps the keeper from renewing anything; as for any other
// failing renewals, each environment is told after 15 minutes, with the
// reason, and the notice ends once it is fixed.
func TestUnreadableConfigurationIsTold(t *testing.T) {
	clock := fakeclock.New()
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "s3cr3t-value",
		TokenURL: "http://127.0.0.1:1/token", AuthStyle: oauth2.AuthStyleInHeader}, freshtoken.Options{Store: filestore.New(filepath.Join(t.TempDir(), "tokens")), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	broken := false
	n := &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
	k := &Keeper{Envs: func() ([]string, error) { return []string{"dev"}, nil },
		Open: func(context.Context, string) (*freshtoken.Source, error) { // as config.Open, which reads the file
			if broken {
				return nil, errors.New("/home/me/.config/freshtoken/config.toml:3: syntax error")
			}
			return src, nil
		},
		Logger: slog.New(slog.DiscardHandler), Notify: n, Now: clock.Now}
	k.round(context.Background(), time.Minute)
	broken = true
	tells(t, k, n, "")
	clock.Advance(16 * time.Minute)
	tells(t, k, n, "dev: renewals have failed since "+clock.Now().Add(-16*time.Minute).Local().Format(noticeTime)+": /home/me/.config/freshtoken/config.toml:3: syntax error")
	broken = false
	tells(t, k, n, "")
}

// TestTokenFileGoesWithTheTokens: a log-out (by the command line or the
// status page's button) forgets the tokens; the token file the keeper
// wrote goes with them, rather than keep an access token that `logout
// --local` left valid. A file the keeper did not write is left alone.
func TestTokenFileGoesWithTheTokens(t *testing.T) {
	src := stored(t, true, func(*store.Record) {})
	file := filepath.Join(t.TempDir(), "token")
	k := keeping(src, file)
	k.round(context.Background(), time.Minute)
	if err := src.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	k.round(context.Background(), time.Minute)
	if b, err := os.ReadFile(file); err == nil {
		t.Fatalf("the token file still holds %q after a log-out", b)
	}
	if err := os.WriteFile(file, []byte("the user's own\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k.round(context.Background(), time.Minute)
	if b, err := os.ReadFile(file); err != nil || string(b) != "the user's own\n" {
		t.Fatalf("a file the keeper did not write: %q, %v; want it left alone", b, err)
	}
}

// TestASilentProviderHoldsUpNoOtherEnvironment: one environment's
// provider that takes its time to answer (down for hours behind a
// firewall that drops packets: each renewal waits out its timeout and
// retries) holds up no other environment's renewals, nor its token file.
func TestASilentProviderHoldsUpNoOtherEnvironment(t *testing.T) {
	release := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer silent.Close()
	_, root := devserver.Start(t, devprovider.Options{AutoApprove: true})
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	sources := map[string]*freshtoken.Source{}
	for name, tokenURL := range map[string]string{"a-silent": silent.URL + "/token", "b-fine": root + "/v2/token_endpoint"} {
		src, err := freshtoken.New(freshtoken.Settings{Env: name, ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
			TokenURL: tokenURL, AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: true,
			Timeout: time.Minute}, freshtoken.Options{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		sources[name] = src
	}
	devserver.LoginSource(t, sources["b-fine"], time.Now().Add(-2*time.Hour)) // its token is due
	if err := st.Save(context.Background(), "a-silent", &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
		IssuedAt: time.Now().Add(-2 * time.Hour), Expiry: time.Now().Add(-time.Hour),
		Grant: store.Grant{TokenURL: silent.URL + "/token", ClientID: "dev-client-id", Type: freshtoken.GrantAuthorizationCode}}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "b-token")
	ctx, cancel := context.WithCancel(context.Background())
	k := &Keeper{Envs: func() ([]string, error) { return []string{"a-silent", "b-fine"}, nil },
		Open:      func(_ context.Context, name string) (*freshtoken.Source, error) { return sources[name], nil },
		Logger:    slog.New(slog.DiscardHandler),
		TokenFile: func(env string) string { return map[string]string{"b-fine": file}[env] }}
	done := make(chan struct{})
	go func() { defer close(done); k.Run(ctx) }()
	defer func() { cancel(); close(release); <-done }()
	testenv.WaitFor(t, "b-fine's token file while a-silent's provider says nothing", func() bool {
		_, err := os.Stat(file)
		return err == nil
	})
}

// stored is a source for "dev" (keeping a token file if keepAccess) whose
// store holds a log-in of its client, as edit changes it.
func stored(t *testing.T, keepAccess bool, edit func(*store.Record)) *freshtoken.Source {
	t.Helper()
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	grant := store.Grant{TokenURL: "http://127.0.0.1:1/token", ClientID: "dev-client-id", Type: freshtoken.GrantAuthorizationCode}
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: grant.ClientID, ClientSecret: "s3cr3t-value",
		TokenURL: grant.TokenURL, AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: keepAccess}, freshtoken.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rec := &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
		IssuedAt: now, Expiry: now.Add(time.Hour), Grant: grant}
	edit(rec)
	if err := st.Save(context.Background(), "dev", rec); err != nil {
		t.Fatal(err)
	}
	return src
}

// TestTokenFileOfTwoKeepersOfOneConfigurationIsNotTold: two keepers of one
// configuration on one store (the service and a proxy started by hand)
// write its environment's token file in turn, each the store's token as
// it renews it or finds it renewed. One that found the file holding the
// store's token already, written by the other, took it for nobody's: at
// its next write, after a renewal, it warned that something else writes
// the file too, such as another configuration, and told token_file_failing
// once that went on, though both wrote the same grant's tokens.
func TestTokenFileOfTwoKeepersOfOneConfigurationIsNotTold(t *testing.T) {
	_, root, clock := devserver.StartOnClock(t, devprovider.Options{})
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	open := func() *freshtoken.Source { // a process's own
		src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
			TokenURL: root + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: true},
			freshtoken.Options{Store: st, Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	src, other := open(), open()
	devserver.LoginSource(t, src, clock.Now())
	file := filepath.Join(t.TempDir(), "token")
	var logs strings.Builder
	a, b := keeping(src, file), keeping(other, file)
	for _, k := range []*Keeper{a, b} {
		k.Now = clock.Now
		k.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	}
	renew := func(s *freshtoken.Source) {
		t.Helper()
		clock.Advance(2 * time.Second)
		if _, err := s.Renew(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	b.round(context.Background(), time.Minute) // writes the token
	a.round(context.Background(), time.Minute) // finds it there
	renew(src)
	a.round(context.Background(), time.Minute) // writes the renewed one
	b.round(context.Background(), time.Minute) // finds it there
	renew(other)
	b.round(context.Background(), time.Minute) // writes the renewed one
	rec, err := st.Load(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(file); string(got) != rec.AccessToken+"\n" {
		t.Fatalf("the token file holds %q; want the store's token", got)
	}
	if strings.Contains(logs.String(), "something else writes it too") {
		t.Errorf("two keepers of one configuration were told that something else writes their token file:\n%s", logs.String())
	}
}

// keeping is a keeper of src's environment alone, with its token file at
// file.
func keeping(src *freshtoken.Source, file string) *Keeper {
	return &Keeper{Envs: func() ([]string, error) { return []string{src.Env()}, nil },
		Open:      func(context.Context, string) (*freshtoken.Source, error) { return src, nil },
		Logger:    slog.New(slog.DiscardHandler),
		TokenFile: func(string) string { return file }}
}

// loggedInOnClock is a source for "dev" (keeping a token file if
// keepAccess) of a dev provider made with opts on a fake clock, logged in
// there, with the provider, the clock and the source's store.
func loggedInOnClock(t *testing.T, opts devprovider.Options, keepAccess bool) (*devprovider.Provider, *fakeclock.Clock, *filestore.Store, *freshtoken.Source) {
	t.Helper()
	p, root, clock := devserver.StartOnClock(t, opts)
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: root + "/v2/token_endpoint", AuthURL: root + "/v2/approve_app", AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: keepAccess},
		freshtoken.Options{Store: st, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	devserver.LoginSource(t, src, clock.Now())
	return p, clock, st, src
}

// keepingTold is keeping on clock, with a notifier to read what it tells.
func keepingTold(src *freshtoken.Source, file string, clock *fakeclock.Clock) (*Keeper, *notify.Notifier) {
	k := keeping(src, file)
	k.Now = clock.Now
	n := &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
	k.Notify = n
	return k, n
}

// unwritable is a keeper on a fake clock, with a notifier, of a log-in
// whose access token lasts life and whose token file, dir/token, cannot be
// written: its folder dir does not exist.
func unwritable(t *testing.T, life time.Duration) (k *Keeper, n *notify.Notifier, clock *fakeclock.Clock, dir string) {
	t.Helper()
	clock = fakeclock.New()
	src := stored(t, true, func(r *store.Record) { r.Expiry = r.IssuedAt.Add(life) })
	dir = filepath.Join(t.TempDir(), "run")
	k, n = keepingTold(src, filepath.Join(dir, "token"), clock)
	return k, n, clock, dir
}

// tells has k look at its environments, and checks that n then holds one
// notice, saying want, or none if want is "".
func tells(t *testing.T, k *Keeper, n *notify.Notifier, want string) {
	t.Helper()
	k.round(context.Background(), time.Minute)
	got := n.Current()
	if want == "" && len(got) != 0 || want != "" && (len(got) != 1 || !strings.HasPrefix(got[0].Message, want)) {
		t.Fatalf("notices %+v; want %q", got, want)
	}
}

// TestProviderDownForHoursThenBack: the provider answers 503 for hours.
// The keeper keeps trying, tells a person once after 15 minutes (not on
// every failed look), keeps the stored tokens, and once the provider is
// back renews, writes the token file and takes the notice back.
func TestProviderDownForHoursThenBack(t *testing.T) {
	p, clock, st, k, file := keepingForFaults(t)
	told := filepath.Join(t.TempDir(), "told")
	k.Notify = &notify.Notifier{Logger: slog.New(slog.DiscardHandler),
		Config: config.Notify{Command: `printf '%s\n' "$FRESHTOKEN_EVENT" >>` + told}}
	k.round(context.Background(), time.Minute)
	first, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p.Fault(devprovider.Fault5xx, 1<<20)
	clock.Advance(2 * time.Hour) // the access token is due
	for range 3 * 60 {           // three hours of looks, a minute apart
		k.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	if b, _ := os.ReadFile(told); string(b) != notify.Unreachable+"\n" {
		t.Fatalf("told %q over three hours down; want renewals_failing once", b)
	}
	if rec, err := st.Load(context.Background(), "dev"); err != nil || rec.AccessToken != strings.TrimSpace(string(first)) {
		t.Fatalf("the stored tokens changed while the provider was down: %v", err)
	}
	p.ClearFaults()
	tells(t, k, k.Notify, "")
	if b, err := os.ReadFile(file); err != nil || string(b) == string(first) {
		t.Fatalf("token file %q, %v; want a new token once the provider is back", b, err)
	}
}

// TestProviderDownBeforeAnyTokenIsHad: client credentials whose provider
// is down from the start, so no token was ever stored: the notice after
// 15 minutes says nothing is stored yet; it said "the stored tokens are
// unchanged" of a store that held none.
func TestProviderDownBeforeAnyTokenIsHad(t *testing.T) {
	p, root := devserver.Start(t, devprovider.Options{})
	p.Fault(devprovider.Fault5xx, 1<<20)
	clock := fakeclock.New()
	src, err := freshtoken.New(freshtoken.Settings{Env: "machine", ClientID: "dev-client-id", ClientSecret: "dev-client-secret",
		TokenURL: root + "/v2/token_endpoint", AuthStyle: oauth2.AuthStyleInHeader, Grant: freshtoken.GrantClientCredentials,
		KeepAccess: true, RetryBackoff: []time.Duration{time.Millisecond}}, freshtoken.Options{Store: filestore.New(filepath.Join(t.TempDir(), "tokens")), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	k := keeping(src, filepath.Join(t.TempDir(), "token"))
	k.Now = clock.Now
	k.Notify = &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
	for range 20 {
		k.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	got := k.Notify.Current()
	if len(got) != 1 || got[0].Event != notify.Unreachable || !strings.Contains(got[0].Message, "nothing is stored yet") || strings.Contains(got[0].Message, "unchanged") {
		t.Fatalf("notices %+v; want renewals failing, saying nothing is stored yet", got)
	}
}

// TestRefreshTokenExpiresWhileAsleep: the machine sleeps past the refresh
// token's expiry, so the keeper's planned renewal never came. At its
// first look after waking it tries, meets the provider's invalid_grant,
// and tells a person once to log in; it does not try again until then.
func TestRefreshTokenExpiresWhileAsleep(t *testing.T) {
	p, clock, _, src := loggedInOnClock(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour}, false)
	k, _ := keepingTold(src, "", clock)
	tells(t, k, k.Notify, "")
	clock.Advance(3 * 24 * time.Hour) // asleep, lid closed
	tells(t, k, k.Notify, "dev: the provider")
	before := p.Stats().TokenRequests
	for range 10 {
		clock.Advance(time.Minute)
		tells(t, k, k.Notify, "dev: the provider")
	}
	if n := p.Stats().TokenRequests - before; n != 0 {
		t.Fatalf("%d more token requests with an ended grant; want none before a log-in", n)
	}
	if got := k.Notify.Current(); got[0].Event != notify.GrantEnded || !strings.Contains(got[0].Message, "run `freshtoken login -e dev`") {
		t.Fatalf("notice %+v; want the grant ended, saying to log in", got)
	}
}

// TestRejectedClientIsNotHammered: the provider rejects the client (its
// secret was rotated at the provider, say) and nobody fixes the
// configuration for days. A rejected client is a configuration error,
// never retried as such: the keeper tries again every 5 minutes, in case
// the secret was fixed where the configuration does not show it (the
// keychain), not at every look, which providers count as an attack.
func TestRejectedClientIsNotHammered(t *testing.T) {
	p, clock, _, src := loggedInOnClock(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 30 * 24 * time.Hour}, true)
	k, _ := keepingTold(src, filepath.Join(t.TempDir(), "token"), clock)
	var logs syncBuffer
	k.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	p.Fault(devprovider.FaultInvalidClient, 1<<20)
	clock.Advance(2 * time.Hour)
	before := p.Stats().TokenRequests
	for range 3 * 60 { // three hours of looks, a minute apart
		k.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	if n := p.Stats().TokenRequests - before; n > 3*60/5+1 {
		t.Fatalf("%d token requests in three hours with a rejected client; want one every 5 minutes", n)
	}
	// Warned of once: 36 lines in the journal for three hours of the same
	// refusal, which is told (see tell) until it ends.
	if n := strings.Count(logs.String(), "level=WARN msg=\"keeper: renewal failed\""); n != 1 {
		t.Fatalf("the failed renewals were warned of %d times; want once:\n%s", n, logs.String())
	}
	p.ClearFaults()
	clock.Advance(5 * time.Minute)
	tells(t, k, k.Notify, "")
}

// TestLockedKeychainIsTold: with client_secret_keyring, the keyring
// locked under a running keeper (a screen lock, a timeout, a session
// that ended while the service lingers) stops every renewal. Against a
// real Secret Service, the person is told after 15 minutes that the
// keychain is locked, and to unlock it; the stored tokens are kept.
func TestLockedKeychainIsTold(t *testing.T) {
	bus := keyringtest.Start(t)
	_, root, clock := devserver.StartOnClock(t, devprovider.Options{AccessTTL: time.Hour})
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.toml")
	text := fmt.Sprintf("[store]\nurl = \"file://%s/tokens\"\n\n[env.dev]\nprovider = \"freeagent-sandbox\"\napi_url = \"%s/\"\nclient_id = \"dev-client-id\"\nclient_secret_keyring = true\nrefresh_idle_limit = \"2h\"\n", dir, root)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := keyringstore.SetClientSecret(context.Background(), "dev-client-id", root+"/v2/token_endpoint", "dev-client-secret"); err != nil {
		t.Fatal(err)
	}
	open := func(ctx context.Context, env string) (*freshtoken.Source, error) {
		return config.Open(ctx, config.OpenOptions{Path: conf, Env: env, Clock: clock.Now})
	}
	src, err := open(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	devserver.LoginSource(t, src, clock.Now())
	before, err := src.Record(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
	k := &Keeper{Envs: func() ([]string, error) { return []string{"dev"}, nil }, Open: open,
		Logger: slog.New(slog.DiscardHandler), Notify: n, Now: clock.Now}
	bus.Lock(t)
	clock.Advance(2 * time.Hour) // the idle limit's plan is due
	tells(t, k, n, "")
	clock.Advance(16 * time.Minute)
	tells(t, k, n, "dev: renewals have failed since ")
	if msg := n.Current()[0].Message; !strings.Contains(msg, "locked") || !strings.Contains(msg, "unlock it") {
		t.Fatalf("notice %q; want it to say the keychain is locked, and to unlock it", msg)
	}
	if after, err := src.Record(context.Background()); err != nil || after.RefreshToken != before.RefreshToken {
		t.Fatalf("the stored tokens changed with the keychain locked: %v", err)
	}
}

// TestUnwritableTokenFileIsTold: a token file whose folder is missing
// (a path mistyped, a /run/user folder gone) or cannot be written leaves
// the scripts that read it with a stale token or none. After 15 minutes
// a person is told, once, with the reason in words to act on (the folder
// that does not exist, which Go's words left out, naming a temp file);
// the notice ends once the file is written.
func TestUnwritableTokenFileIsTold(t *testing.T) {
	k, n, clock, dir := unwritable(t, 24*time.Hour)
	tells(t, k, n, "")
	clock.Advance(16 * time.Minute)
	tells(t, k, n, "dev: the token file "+filepath.Join(dir, "token")+" cannot be written since ")
	// The folder the person named, not the temp file the write failed at.
	if got := n.Current(); got[0].Event != notify.TokenFileFailing || !strings.Contains(got[0].Message, "(its folder "+dir+" does not exist; make it, or name a token_file in a folder that does)") || strings.Contains(got[0].Message, ".tmp-") {
		t.Fatalf("notice %+v; want token_file_failing saying why", got)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	tells(t, k, n, "")
}

// TestTokenFileNeverReplacesAnotherFile: a token_file that names a file
// of something else (~/.netrc, a script's settings: several lines) is left
// as it was, and a person told after 15 minutes; the keeper replaced it
// whole with an access token, and what it held was lost. Once it is moved
// away, the token is written there.
func TestTokenFileNeverReplacesAnotherFile(t *testing.T) {
	clock := fakeclock.New()
	src := stored(t, true, func(r *store.Record) { r.Expiry = r.IssuedAt.Add(24 * time.Hour) })
	file := filepath.Join(t.TempDir(), ".netrc")
	const netrc = "machine api.example.com\n  login me\n  password hunter2\n"
	if err := os.WriteFile(file, []byte(netrc), 0o600); err != nil {
		t.Fatal(err)
	}
	k, n := keepingTold(src, file, clock)
	tells(t, k, n, "")
	if b, _ := os.ReadFile(file); string(b) != netrc {
		t.Fatalf("the file holds %q; want it as it was", b)
	}
	clock.Advance(16 * time.Minute)
	tells(t, k, n, "dev: the token file "+file+" cannot be written since ")
	if got := n.Current(); got[0].Event != notify.TokenFileFailing || !strings.Contains(got[0].Message, "holds several lines, not a token") {
		t.Fatalf("notice %+v; want token_file_failing saying why", got)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	tells(t, k, n, "")
	if b, _ := os.ReadFile(file); string(b) != "access-token-1234567890\n" {
		t.Fatalf("once moved away, the file holds %q; want the token", b)
	}
}

// TestTokenFileOnAFullDisk: the token file's disk fills up, or is
// remounted read-only (as the system does after errors). The file keeps
// the token it held, whole (never a part of the new one), no temp file is
// left behind, and after 15 minutes a person is told why in words to act
// on (Go's named the temp file the write failed at); once the disk can be
// written again the file holds the current token and the notice ends.
func TestTokenFileOnAFullDisk(t *testing.T) {
	for name, c := range map[string]struct {
		fail func(t *testing.T, dir string) (undo func())
		says string
	}{
		"full":      {fail: func(t *testing.T, dir string) func() { return testdisk.Fill(t, dir) }, says: "is full; free some space"},
		"read-only": {fail: func(t *testing.T, dir string) func() { return testdisk.ReadOnly(t, dir) }, says: "is on a disk mounted read-only; name a token_file on one that can be written"},
	} {
		t.Run(name, func(t *testing.T) {
			file := testdisk.SmallFile(t, "64k", "token", []byte("an-older-token\n"))
			dir := filepath.Dir(file)
			clock := fakeclock.New()
			src := stored(t, true, func(*store.Record) {})
			k, n := keepingTold(src, file, clock)
			var log bytes.Buffer
			k.Logger = slog.New(slog.NewTextHandler(&log, nil))
			undo := c.fail(t, dir)
			tells(t, k, n, "")
			clock.Advance(16 * time.Minute)
			tells(t, k, n, "dev: the token file "+file+" cannot be written since ")
			if warned := strings.Count(log.String(), "cannot write the token file"); warned != 1 {
				t.Fatalf("the log warned %d times in two looks, want once:\n%s", warned, &log)
			}
			if got := n.Current(); !strings.Contains(got[0].Message, dir+" "+c.says+")") {
				t.Fatalf("notice %+v; want it to say %q", got, c.says)
			}
			if b, err := os.ReadFile(file); err != nil || string(b) != "an-older-token\n" {
				t.Fatalf("token file %q, %v; want the older token, whole", b, err)
			}
			if names, _ := filepath.Glob(filepath.Join(dir, ".token.tmp-*")); len(names) != 0 {
				t.Fatalf("temp files left behind: %q", names)
			}
			undo()
			tells(t, k, n, "")
			if b, err := os.ReadFile(file); err != nil || string(b) != "access-token-1234567890\n" {
				t.Fatalf("token file %q, %v once the disk can be written; want the current token", b, err)
			}
		})
	}
}

// TestTokenFileMadeAFolderIsWarnedOfOnce: a folder made at a token_file's
// path under a running keeper, or a file made where its folder was (or
// anything else the system refuses there), is warned of once, saying what
// is wrong where: the warning named the temp
// file the write failed at, a new one at each look ("rename
// …/.token.tmp-412637872 …: file exists", "open
// …/run/.token.tmp-651581525: not a directory"), so it came at every look,
// a line a minute for as long as it lasted.
func TestTokenFileMadeAFolderIsWarnedOfOnce(t *testing.T) {
	for name, c := range map[string]struct {
		make func(file string) error
		says func(file string) string
	}{
		"a folder at its path": {
			make: func(file string) error { return os.MkdirAll(file, 0o700) },
			says: func(file string) string {
				return file + " is a folder now; remove it, or name a token_file in it, such as " + filepath.Join(file, "token")
			},
		},
		"a file where its folder was": {
			make: func(file string) error { return os.WriteFile(filepath.Dir(file), nil, 0o600) },
			says: func(file string) string {
				return "its folder " + filepath.Dir(file) + " is a file now; remove it and make the folder, or name a token_file in a folder"
			},
		},
		"a link to itself where its folder was": {
			make: func(file string) error { return os.Symlink("run", filepath.Dir(file)) },
			says: func(file string) string {
				return "it cannot be written in its folder " + filepath.Dir(file) + " (too many levels of symbolic links)"
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "run", "token")
			if err := c.make(file); err != nil {
				t.Fatal(err)
			}
			clock := fakeclock.New()
			k, n := keepingTold(stored(t, true, func(*store.Record) {}), file, clock)
			var log bytes.Buffer
			k.Logger = slog.New(slog.NewTextHandler(&log, nil))
			tells(t, k, n, "")
			clock.Advance(16 * time.Minute)
			tells(t, k, n, "dev: the token file "+file+" cannot be written since ")
			want := c.says(file)
			if warned := strings.Count(log.String(), "cannot write the token file"); warned != 1 || !strings.Contains(log.String(), want) {
				t.Fatalf("the log warned %d times in two looks, want once, saying %q:\n%s", warned, want, &log)
			}
			if got := n.Current(); !strings.Contains(got[0].Message, want) {
				t.Fatalf("notice %+v; want it to say %q", got, want)
			}
		})
	}
}

// TestTokenFileLeftBehindIsRemoved: the configuration is edited under a
// running keeper: token_file moved to another path, then taken out, and
// the environment taken out of the file. The file the keeper wrote at the
// old path goes each time, if it still holds what the keeper wrote there
// (it stayed, an access token nothing kept current any more, usable until
// it expired); a file it did not write is left alone.
func TestTokenFileLeftBehindIsRemoved(t *testing.T) {
	src := stored(t, true, func(*store.Record) {})
	dir := t.TempDir()
	first, second, third := filepath.Join(dir, "first"), filepath.Join(dir, "second"), filepath.Join(dir, "third")
	var (
		mu   sync.Mutex
		file = first
		envs = []string{"dev"}
	)
	k := keeping(src, "")
	k.TokenFile = func(string) string { mu.Lock(); defer mu.Unlock(); return file }
	k.Envs = func() ([]string, error) { mu.Lock(); defer mu.Unlock(); return slices.Clone(envs), nil }
	set := func(f string) { mu.Lock(); file = f; mu.Unlock() }
	exists := func(f string) bool { _, err := os.Lstat(f); return err == nil }

	k.round(context.Background(), time.Minute)
	set(second)
	k.round(context.Background(), time.Minute)
	if exists(first) || !exists(second) {
		t.Fatalf("token_file moved: the old file there %t, the new %t; want only the new", exists(first), exists(second))
	}
	set("")
	k.round(context.Background(), time.Minute)
	if !exists(second) {
		t.Fatal("token_file taken out at one look: the file went (a configuration read as an editor saves it may name none)")
	}
	k.round(context.Background(), time.Minute)
	if exists(second) {
		t.Fatal("token_file taken out: the file the keeper wrote is still there")
	}
	set(first)
	k.round(context.Background(), time.Minute)
	if err := os.WriteFile(first, []byte("the user's own\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	set(second)
	k.round(context.Background(), time.Minute)
	if b, err := os.ReadFile(first); err != nil || string(b) != "the user's own\n" {
		t.Fatalf("a file the keeper did not write: %q, %v; want it left alone", b, err)
	}

	set(third)
	k.Look = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); k.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testenv.WaitFor(t, "the token file at its new path", func() bool { return exists(third) })
	mu.Lock()
	envs = nil // the environment taken out of the configuration
	mu.Unlock()
	testenv.WaitFor(t, "the token file of an environment taken out of the configuration to go", func() bool { return !exists(third) })
}

// TestAnotherClientsTokensAreTold: an edit of the configuration (client_id,
// token_url, issuer, audience, resource) leaves the stored tokens another client's, which are
// never used: only a log-in helps. The keeper tells it once, saying to log
// in (nothing was said: no renewal was tried, so none failed, and the
// token file went stale untold), and takes away the token file it wrote
// with that client's token.
func TestAnotherClientsTokensAreTold(t *testing.T) {
	for _, edit := range []struct {
		name               string
		clientID, audience string
	}{{"another client", "another-client", "https://a.example/"}, {"another audience", "dev-client-id", "https://b.example/"}} {
		t.Run(edit.name, func(t *testing.T) {
			st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
			open := func(clientID, audience string) *freshtoken.Source {
				src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: clientID, ClientSecret: "s3cr3t-value", Audience: audience,
					TokenURL: "http://127.0.0.1:1/token", AuthStyle: oauth2.AuthStyleInHeader, KeepAccess: true}, freshtoken.Options{Store: st})
				if err != nil {
					t.Fatal(err)
				}
				return src
			}
			now := time.Now()
			if err := st.Save(context.Background(), "dev", &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
				IssuedAt: now, Expiry: now.Add(time.Hour),
				Grant: store.Grant{TokenURL: "http://127.0.0.1:1/token", ClientID: "dev-client-id", Type: freshtoken.GrantAuthorizationCode, Audience: "https://a.example/"}}); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "token")
			k := keeping(open("dev-client-id", "https://a.example/"), file)
			k.Notify = &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
			tells(t, k, k.Notify, "")
			if _, err := os.Stat(file); err != nil {
				t.Fatal(err)
			}
			other := open(edit.clientID, edit.audience)
			k.Open = func(context.Context, string) (*freshtoken.Source, error) { return other, nil }
			tells(t, k, k.Notify, "dev: the stored tokens belong to")
			if got := k.Notify.Current()[0]; got.Event != notify.GrantEnded || !strings.HasSuffix(got.Message, "run `freshtoken login -e dev`") {
				t.Fatalf("notice %+v; want the grant ended for this configuration, saying to log in", got)
			}
			if b, err := os.ReadFile(file); err == nil {
				t.Fatalf("the token file still holds another client's token %q", b)
			}
		})
	}
}

// TestRejectionNotedByAClockAheadIsTriedAgain: the provider rejected the
// client while the clock ran a month ahead; the clock was set right, and
// the secret fixed. The keeper tries again within the hour, and the grant
// is kept alive: it held every renewal back until an hour after the noted
// time, a month away, and the grant lapsed meanwhile.
func TestRejectionNotedByAClockAheadIsTriedAgain(t *testing.T) {
	p, clock, st, src := loggedInOnClock(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour}, false)
	rec, err := st.Load(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	rec.Problem = &store.Problem{Kind: store.ProblemClientRejected, Message: "dev: the provider rejected the client", At: clock.Now().Add(30 * 24 * time.Hour)}
	if err := st.Save(context.Background(), "dev", rec); err != nil {
		t.Fatal(err)
	}
	k := keeping(src, "")
	k.Now = clock.Now
	clock.Advance(22 * time.Hour) // the refresh token is due
	for range 60 {
		k.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	if n := p.Stats().Refreshes; n != 1 {
		t.Fatalf("%d renewals in the hour after the refresh token was due; want one, the rejection noted in the future not holding it back", n)
	}
}

// TestFailuresAreToldAfterTheClockIsSetBack: a token file that cannot be
// written, and the clock set back a day meanwhile (by NTP, after it ran
// ahead). The person is told once the failure has gone on 15 minutes of
// this clock: the failure seemed to begin a day in the future, and was
// told only a day later.
func TestFailuresAreToldAfterTheClockIsSetBack(t *testing.T) {
	k, n, clock, dir := unwritable(t, 48*time.Hour)
	tells(t, k, n, "")
	clock.Advance(-24 * time.Hour)
	tells(t, k, n, "")
	clock.Advance(16 * time.Minute)
	tells(t, k, n, "dev: the token file "+filepath.Join(dir, "token")+" cannot be written since ")
}

// editedConfig is a configuration file in a folder of its own, holding
// a [store] there and env's settings (TOML lines, $DIR standing for the
// folder), which edit rewrites;
// and a keeper of it on clock that reads it afresh at each look, as the
// proxy's does (config.Open, config.Load), with a notifier.
func editedConfig(t *testing.T, clock *fakeclock.Clock, env, settings string) (k *Keeper, n *notify.Notifier, edit func(settings string)) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.toml")
	edit = func(settings string) {
		t.Helper()
		text := fmt.Sprintf("[store]\nurl = %q\n\n[env.%s]\n%s", "file://"+filepath.Join(dir, "tokens"), env, strings.ReplaceAll(settings, "$DIR", dir))
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	edit(settings)
	n = &notify.Notifier{Logger: slog.New(slog.DiscardHandler)}
	k = &Keeper{
		Envs: func() ([]string, error) {
			c, err := config.Load(conf)
			if err != nil {
				return nil, err
			}
			return c.Names(), nil
		},
		Open: func(ctx context.Context, env string) (*freshtoken.Source, error) {
			return config.Open(ctx, config.OpenOptions{Path: conf, Env: env, Clock: clock.Now})
		},
		Settings: func(env string) any {
			if c, err := config.Load(conf); err == nil && c.Envs[env] != nil {
				return c.Envs[env]
			}
			return nil
		},
		TokenFile: func(env string) string {
			if c, err := config.Load(conf); err == nil && c.Envs[env] != nil {
				return c.Envs[env].TokenFile
			}
			return ""
		},
		Logger: slog.New(slog.DiscardHandler), Notify: n, Now: clock.Now,
	}
	return k, n, edit
}

// TestAnEditAfterARejectionIsTriedAtOnce: once the provider has rejected
// an environment's client (a token_url where no endpoint is; a wrong
// client secret), an edit of that environment's configuration is tried at
// the next look, and the grant kept or the token had at once; the keeper
// waited out the hour after the rejection whatever was fixed, and the
// notice stayed. Without an edit it waits 5 minutes (rejectedRetry), and
// an edit that fixed nothing is tried once, then waits again.
func TestAnEditAfterARejectionIsTriedAtOnce(t *testing.T) {
	t.Run("token_url", func(t *testing.T) {
		p, root, clock := devserver.StartOnClock(t, devprovider.Options{})
		machine := func(tokenURL string) string {
			return fmt.Sprintf("provider = \"generic\"\napi_url = %q\ntoken_url = %q\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\ngrant = \"client_credentials\"\ntoken_file = \"$DIR/token\"\n",
				root+"/", tokenURL)
		}
		k, n, edit := editedConfig(t, clock, "machine", machine(root+"/v2/token_endpont"))
		for range 10 {
			k.round(context.Background(), time.Minute)
			clock.Advance(time.Minute)
		}
		if got := n.Current(); len(got) != 1 || got[0].Event != notify.ClientRejected || !strings.Contains(got[0].Message, "check token_url") {
			t.Fatalf("notices %+v; want one saying to check token_url", got)
		}
		edit(machine(root + "/v2/token_endpoint"))
		tells(t, k, n, "")
		if got := p.Stats().TokenRequests; got != 1 {
			t.Fatalf("%d token requests at the look after token_url was fixed; want 1", got)
		}
	})
	t.Run("client secret", func(t *testing.T) {
		p, root, clock := devserver.StartOnClock(t, devprovider.Options{AccessTTL: time.Hour})
		dev := func(secret string) string {
			return fmt.Sprintf("provider = \"freeagent-sandbox\"\napi_url = %q\nclient_id = \"dev-client-id\"\nclient_secret = %q\nrefresh_idle_limit = \"2h\"\n", root+"/", secret)
		}
		k, n, edit := editedConfig(t, clock, "dev", dev("dev-client-secret"))
		src, err := k.Open(context.Background(), "dev")
		if err != nil {
			t.Fatal(err)
		}
		devserver.LoginSource(t, src, clock.Now())
		edit(dev("a-wrong-client-secret"))
		clock.Advance(2 * time.Hour) // the idle limit's plan is due
		looks := func(minutes int) (requests int) {
			before := p.Stats().TokenRequests
			for range minutes {
				k.round(context.Background(), time.Minute)
				clock.Advance(time.Minute)
			}
			return p.Stats().TokenRequests - before
		}
		if got := looks(2); got != 1 {
			t.Fatalf("%d token requests in 2 minutes with a wrong client secret; want the one rejected", got)
		}
		tells(t, k, n, "dev: ")
		if got := looks(2); got != 0 {
			t.Fatalf("%d token requests in 2 more minutes, nothing edited; want none until 5 minutes after the rejection", got)
		}
		edit(dev("another-wrong-client-secret"))
		if got := looks(4); got != 1 {
			t.Fatalf("%d token requests in the 4 minutes after an edit that fixed nothing; want the one try at once", got)
		}
		edit(dev("dev-client-secret"))
		before := p.Stats().Refreshes
		tells(t, k, n, "")
		if got := p.Stats().Refreshes - before; got != 1 {
			t.Fatalf("%d renewals at the look after the secret was fixed; want 1", got)
		}
	})
}

// TestTokenFileLitterIsRemoved: a keeper killed while it wrote the token
// file (SIGKILL, power loss) left its temp file beside it, holding an
// access token, in a folder of the user's where nothing ever removed it:
// logout removed the token file and left the copy. The next keeper's look
// removes a temp file of that token file's that no writer has touched for
// a while; one just written (another keeper writing now) and files of
// other names stay.
func TestTokenFileLitterIsRemoved(t *testing.T) {
	src := stored(t, true, func(r *store.Record) { r.Expiry = r.IssuedAt.Add(24 * time.Hour) })
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	crashed, live, other := filepath.Join(dir, ".token.tmp-123"), filepath.Join(dir, ".token.tmp-456"), filepath.Join(dir, ".other.tmp-789")
	for _, p := range []string{crashed, live, other} {
		if err := os.WriteFile(p, []byte("access-token-0987654321\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	for _, p := range []string{crashed, other} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	keeping(src, file).round(context.Background(), time.Minute)
	if _, err := os.Lstat(crashed); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temp file a crashed writer left: %v; want it removed", err)
	}
	for _, p := range []string{live, other, file} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s: %v; want it kept", filepath.Base(p), err)
		}
	}
	// A log-out with no keeper running takes it too, with the token file.
	if err := os.Chtimes(live, old, old); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ForgetTokenFile(context.Background(), file, "access-token-1234567890", "", Owner{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{live, file} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after the log-out: %v; want it removed", filepath.Base(p), err)
		}
	}
}

// TestAGrantEndingAgainIsToldAgain: the grant ends and is told; a log-in
// brings new tokens, whose grant ends too before the keeper's next look
// (the refresh token lapses while the machine sleeps). That look still
// finds the grant ended, a state it told already, and told nobody of the
// second end. Each end is told once: the second too, the same end read
// again not.
func TestAGrantEndingAgainIsToldAgain(t *testing.T) {
	_, clock, _, src := loggedInOnClock(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour}, false)
	k, n := keepingTold(src, "", clock)
	sent := countingWebhook(t, n)
	tells(t, k, n, "")
	clock.Advance(3 * 24 * time.Hour) // the refresh token lapsed
	tells(t, k, n, "dev: the provider refused the refresh token")
	tells(t, k, n, "dev: the provider refused the refresh token")
	if got := sent(); got != 1 {
		t.Fatalf("%d notices sent of the first end; want 1", got)
	}
	devserver.LoginSource(t, src, clock.Now())
	clock.Advance(3 * 24 * time.Hour) // before the keeper looks again
	tells(t, k, n, "dev: the provider refused the refresh token")
	if got := sent(); got != 2 {
		t.Fatalf("%d notices sent after the grant ended again; want 2, the second end told too", got)
	}
	for range 3 {
		clock.Advance(time.Minute)
		tells(t, k, n, "dev: the provider refused the refresh token")
	}
	if got := sent(); got != 2 {
		t.Fatalf("%d notices sent; want 2, each end told once", got)
	}
}

// TestAnotherClientsRenewalsAreToldOnce: the stored tokens belong to
// another client, which renews them now and then; each renewal brings
// tokens issued at another time, and the state this configuration is in
// (its grant's tokens are not there) is the same: told once.
func TestAnotherClientsRenewalsAreToldOnce(t *testing.T) {
	st := filestore.New(filepath.Join(t.TempDir(), "tokens"))
	src, err := freshtoken.New(freshtoken.Settings{Env: "dev", ClientID: "dev-client-id", ClientSecret: "s3cr3t-value",
		TokenURL: "http://127.0.0.1:1/token", AuthStyle: oauth2.AuthStyleInHeader}, freshtoken.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	k, n := keepingTold(src, "", fakeclock.New())
	sent := countingWebhook(t, n)
	now := time.Now()
	for i := range 3 {
		issued := now.Add(time.Duration(i) * time.Hour) // the other client renewed
		if err := st.Save(context.Background(), "dev", &store.Record{AccessToken: "access-token-1234567890", RefreshToken: "refresh-token-1234567890",
			IssuedAt: issued, Expiry: issued.Add(time.Hour),
			Grant: store.Grant{TokenURL: "http://127.0.0.1:1/token", ClientID: "another-client", Type: freshtoken.GrantAuthorizationCode}}); err != nil {
			t.Fatal(err)
		}
		tells(t, k, n, "dev: the stored tokens belong to another client")
	}
	if got := sent(); got != 1 {
		t.Fatalf("%d notices sent; want 1, another client's tokens being one state", got)
	}
}

// countingWebhook makes a webhook n's notices are posted to, and returns
// how many it has had so far.
func countingWebhook(t *testing.T, n *notify.Notifier) (sent func() int) {
	t.Helper()
	var mu sync.Mutex
	posts := 0
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			t.Error(err)
		}
		mu.Lock()
		posts++
		mu.Unlock()
	}))
	t.Cleanup(webhook.Close)
	n.Config.Webhook = webhook.URL
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return posts
	}
}

// TestAClientRejectedAgainIsToldAgain: the provider rejects the client and
// the keeper tells it; a person fixes it (a renewal succeeds), and the
// client is rejected again before the keeper's next look (the secret
// rotated at the provider once more). That look found the client
// rejected, a state it told already, and told nobody of the second
// rejection. Each rejection is told once: the second too, and not the same
// one read again, as the keeper's tries every 5 minutes re-note it, nor, after a
// restart (a new keeper and notifier), once more at those tries.
func TestAClientRejectedAgainIsToldAgain(t *testing.T) {
	p, clock, _, src := loggedInOnClock(t, devprovider.Options{AccessTTL: time.Hour, RefreshTTL: 30 * 24 * time.Hour}, true)
	k, n := keepingTold(src, "", clock)
	sent := countingWebhook(t, n)
	tells(t, k, n, "")
	p.Fault(devprovider.FaultInvalidClient, 1<<20)
	clock.Advance(2 * time.Hour) // the renewal is due
	tells(t, k, n, "dev: the token endpoint")
	if got := sent(); got != 1 {
		t.Fatalf("%d notices sent of the rejection; want 1", got)
	}
	// Fixed, and rejected again, between two looks: another process
	// renews, then is rejected.
	p.ClearFaults()
	clock.Advance(time.Minute)
	if _, err := src.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Fault(devprovider.FaultInvalidClient, 1<<20)
	clock.Advance(time.Minute)
	if _, err := src.Renew(context.Background()); !errors.Is(err, freshtoken.ErrClientRejected) {
		t.Fatalf("renewal: %v; want the client rejected", err)
	}
	tells(t, k, n, "dev: the token endpoint")
	if got := sent(); got != 2 {
		t.Fatalf("%d notices sent after the client was rejected again; want 2, the second rejection told too", got)
	}
	// Three hours of looks: the keeper tries again every 5 minutes, each try
	// rejected and noted anew; the same rejection, told no more.
	looks := func(k *Keeper, n *notify.Notifier) {
		for range 3 * 60 {
			clock.Advance(time.Minute)
			tells(t, k, n, "dev: the token endpoint")
		}
	}
	before := p.Stats().TokenRequests
	looks(k, n)
	if got := p.Stats().TokenRequests - before; got < 2 {
		t.Fatalf("%d token requests in three hours; want the tries every 5 minutes", got)
	}
	if got := sent(); got != 2 {
		t.Fatalf("%d notices sent; want 2, each rejection told once", got)
	}
	// A restart remembers no notice: the rejection in force is told once
	// at its first look, and its tries tell it no more.
	k, n = keepingTold(src, "", clock)
	sent = countingWebhook(t, n)
	before = p.Stats().TokenRequests
	looks(k, n)
	if got := p.Stats().TokenRequests - before; got < 2 {
		t.Fatalf("%d token requests in three hours after the restart; want the tries every 5 minutes", got)
	}
	if got := sent(); got != 1 {
		t.Fatalf("%d notices sent after the restart; want 1", got)
	}
}

// TestALogInIsSeenWithinSeconds: an environment with a token file that
// awaits a log-in (nothing stored, or a grant that ended) is looked at
// again within seconds, so a log-in in another terminal has its token file
// written at once; the keeper waited out its whole look, a minute, the
// token file missing meanwhile for every script reading it. One with no
// token file still waits the whole look.
func TestALogInIsSeenWithinSeconds(t *testing.T) {
	ended := func(r *store.Record) {
		r.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token", At: time.Now()}
	}
	for _, tt := range []struct {
		name     string
		edit     func(*store.Record)
		logOut   bool
		file     string
		awaiting bool
	}{
		{"a live grant", func(*store.Record) {}, false, "token", false},
		{"nothing stored", func(*store.Record) {}, true, "token", true},
		{"grant ended", ended, false, "token", true},
		{"nothing stored, no token file", func(*store.Record) {}, true, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := stored(t, true, tt.edit)
			if tt.logOut {
				if err := src.Logout(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			file := ""
			if tt.file != "" {
				file = filepath.Join(t.TempDir(), tt.file)
			}
			k := keeping(src, file)
			wait := k.keep(context.Background(), "dev", time.Minute)
			if tt.awaiting && wait > loginLook {
				t.Fatalf("an environment awaiting a log-in is looked at again in %s; want within %s", wait, loginLook)
			}
			if !tt.awaiting && wait < 30*time.Second {
				t.Fatalf("looked at again in %s; want the whole look", wait)
			}
		})
	}
}
