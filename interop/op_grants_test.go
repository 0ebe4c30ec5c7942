package interop

// Tests of discovery, the other grants and the other ways a client
// authenticates, against the OpenID provider.

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/interop/internal/traffic"
	"github.com/freshtoken/freshtoken/interop/oidcop"
)

// TestOPDiscovery configures `issuer` and no endpoint: login, renewal and
// logout find the authorization, token and revocation endpoints in the
// provider's discovery document, which is fetched once and cached for the
// processes that follow. An issuer with no discovery document is an error
// naming the URL.
func TestOPDiscovery(t *testing.T) {
	t.Parallel()

	t.Run("endpoints from discovery", func(t *testing.T) {
		t.Parallel()
		f := newOPFixture(t, opSetup{discovery: true})
		f.login(t)
		f.checkAuthorization(t)
		if tok := strings.TrimSpace(f.mustRun(t, "token", "--force")); tok != f.srv.LastIssued(t).AccessToken {
			t.Errorf("token --force printed %q, not the token the provider issued", tok)
		}
		f.checkMe(t, f.mustRun(t, "get", "/api/me"))
		f.checkClean(t)
		if n := f.srv.TokenRequestsFor(oidcop.GrantRefreshToken); n == 0 {
			t.Errorf("no refresh; traffic:%s", f.srv.Summary())
		}
		if r := f.freshtoken(t, "logout"); r.code != 0 {
			t.Fatalf("%v", r)
		}
		if revs := f.srv.Revocations(); len(revs) != 2 || f.srv.GrantsRevoked() != 1 {
			t.Errorf("logout did not revoke at the discovered revocation endpoint; traffic:%s", f.srv.Summary())
		}
		if n := f.srv.DiscoveryFetches(); n != 1 {
			t.Errorf("the discovery document was fetched %d times by 4 processes, want once (then cached)", n)
		}
	})

	t.Run("no discovery document", func(t *testing.T) {
		t.Parallel()
		f := newOPFixture(t, opSetup{discovery: true})
		f.editConfig(t, `issuer = "`+f.srv.URL+`"`, `issuer = "`+f.srv.URL+`/nowhere"`)
		r := f.freshtoken(t, "login", "--no-browser")
		named := regexp.MustCompile(regexp.QuoteMeta(f.srv.URL)+`/\S*\.well-known/\S*`).MatchString(r.stderr) && strings.Contains(r.stderr, "nowhere")
		if (r.code != 2 && r.code != 5) || !named {
			t.Errorf("want exit 2 or 5 naming the discovery URL it tried; got %v", r)
		}
		if n := len(f.srv.TokenRequests()); n != 0 {
			t.Errorf("%d token requests without a discovery document", n)
		}
		if n := len(f.srv.Authorizations()); n != 0 {
			t.Errorf("%d authorisation requests without a discovery document", n)
		}
	})
}

// TestOPClientCredentials uses grant = "client_credentials" with each
// client authentication method: no log-in, `token` fetches a token, and
// when it expires, 24 processes at once cause one token request.
func TestOPClientCredentials(t *testing.T) {
	eachClientAuth(t, secretAuths, func(t *testing.T, auth string) {
		f := newOPFixture(t, opSetup{clientAuth: auth, grant: "client_credentials"})
		tok := strings.TrimSpace(f.mustRun(t, "token"))
		if tok != f.srv.LastIssued(t).AccessToken {
			t.Fatalf("token printed %q, not the token the provider issued", tok)
		}
		if n := f.srv.TokenRequestsFor(oidcop.GrantClientCredentials); n != 1 {
			t.Fatalf("%d client_credentials requests, want 1; traffic:%s", n, f.srv.Summary())
		}
		checkMe(t, f.mustRun(t, "get", "/api/me"), f.client.ID, f.client.ID) // fetches a new token if the machine is slow: expires_in is 1
		f.checkClean(t)

		sent := len(f.srv.TokenRequests())
		if r := f.freshtoken(t, "login"); r.code == 1 || len(f.srv.Authorizations()) != 0 || len(f.srv.TokenRequests()) != sent {
			t.Errorf("login with client_credentials should say no log-in is needed, and send nothing; got %v\ntraffic:%s", r, f.srv.Summary())
		}

		f.waitExpired(t, f.srv.LastIssued(t).AccessToken)
		f.srv.SetAccessTokenLifetime(time.Hour) // a process late to the lock finds it fresh, not at half-life
		const n = 24
		tokens := f.runAtOnce(t, n, "token")
		issued := f.srv.LastIssued(t)
		if len(tokens) != 1 || tokens[issued.AccessToken] != n {
			t.Errorf("the %d processes printed %d different tokens, want all the one the provider issued last", n, len(tokens))
		}
		if got := len(f.srv.TokenRequests()) - sent; got != 1 {
			t.Errorf("%d processes at expiry made %d token requests, want 1; traffic:%s", n, got, f.srv.Summary())
		}
		if got := f.srv.TokenRequestsFor(oidcop.GrantClientCredentials); got != len(f.srv.TokenRequests()) {
			t.Errorf("token requests of other grants than client_credentials; traffic:%s", f.srv.Summary())
		}
		f.checkClean(t)
	})
}

// deviceLogin is `freshtoken login` of the device grant, under way.
type deviceLogin struct {
	*watched
	userCode string
}

// userCodeRE matches the provider's user codes (op.UserCodeBase20).
var userCodeRE = regexp.MustCompile(`\b([BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4})\b`)

// startDeviceLogin starts `freshtoken login --no-browser` with the device
// grant and waits for the verification URL and the user code on stderr.
func (f *opFixture) startDeviceLogin(t *testing.T) *deviceLogin {
	t.Helper()
	w := f.watch(t, "login", "--no-browser")
	w.waitFor(t, "the verification URL", regexp.MustCompile(regexp.QuoteMeta(f.srv.VerificationURL())))
	code := w.waitFor(t, "the user code", userCodeRE)[1]
	return &deviceLogin{watched: w, userCode: code}
}

// devicePolls returns the device grant's polls the provider received.
func (f *opFixture) devicePolls() []traffic.TokenRequest {
	var polls []traffic.TokenRequest
	for _, r := range f.srv.TokenRequests() {
		if r.GrantType == oidcop.GrantDeviceCode {
			polls = append(polls, r)
		}
	}
	return polls
}

// waitPolls waits until the provider has answered n polls.
func (f *opFixture) waitPolls(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(f.devicePolls()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d polls in 30s, want %d; traffic:%s", len(f.devicePolls()), n, f.srv.Summary())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOPDeviceGrant logs in with grant = "device_code": login prints the
// verification URL and user code, and polls at the interval while the
// user has not decided (authorization_pending), slows down by 5 seconds
// when told (slow_down), and ends on approval (tokens stored), denial
// (access_denied) or expiry (expired_token). The provider answers any poll
// sooner than the interval allows with slow_down and counts it; none may
// come.
func TestOPDeviceGrant(t *testing.T) {
	t.Parallel()

	t.Run("approved", func(t *testing.T) {
		t.Parallel()
		f := newOPFixture(t, opSetup{discovery: true, grant: "device_code"})
		d := f.startDeviceLogin(t)
		f.waitPolls(t, 2)
		f.decideDevice(t, d.userCode, "approve")
		if r := d.wait(t); r.code != 0 {
			t.Fatalf("%v\ntraffic:%s", r, f.srv.Summary())
		}
		polls := f.devicePolls()
		for i, p := range polls {
			if last := i == len(polls)-1; (last && p.Status != http.StatusOK) || (!last && p.Error != "authorization_pending") || p.ClientAuth != "basic" {
				t.Errorf("want polls answered authorization_pending, then tokens, all with basic; traffic:%s", f.srv.Summary())
				break
			}
		}
		if n := f.srv.TooFastPolls(); n != 0 || f.srv.DeviceAuthorizations() != 1 {
			t.Errorf("%d polls came sooner than the interval; %d device authorizations, want 1", n, f.srv.DeviceAuthorizations())
		}
		issued, rec := f.srv.LastIssued(t), f.record(t)
		if rec.AccessToken != issued.AccessToken || rec.RefreshToken != issued.RefreshToken || issued.RefreshToken == "" {
			t.Fatal("the store does not hold the tokens the provider issued")
		}
		f.checkMe(t, f.mustRun(t, "get", "/api/me"))
		before := f.srv.TokenRequestsFor(oidcop.GrantRefreshToken)
		if tok := strings.TrimSpace(f.mustRun(t, "token", "--force")); tok != f.srv.LastIssued(t).AccessToken || f.srv.TokenRequestsFor(oidcop.GrantRefreshToken) != before+1 {
			t.Errorf("the device grant's refresh token did not renew; traffic:%s", f.srv.Summary())
		}
		if n := f.srv.ReuseDetections(); n != 0 {
			t.Errorf("ReuseDetections = %d", n)
		}
	})

	t.Run("slow_down", func(t *testing.T) {
		t.Parallel()
		f := newOPFixture(t, opSetup{discovery: true, grant: "device_code"})
		d := f.startDeviceLogin(t)
		f.waitPolls(t, 1)
		f.srv.SlowDown(t, d.userCode, 1)
		f.waitPolls(t, 2) // the slowed-down one
		f.decideDevice(t, d.userCode, "approve")
		if r := d.wait(t); r.code != 0 {
			t.Fatalf("%v\ntraffic:%s", r, f.srv.Summary())
		}
		polls := f.devicePolls()
		if len(polls) != 3 || polls[1].Error != "slow_down" {
			t.Fatalf("want a pending poll, a slowed-down one, then the tokens; traffic:%s", f.srv.Summary())
		}
		if gap := polls[2].Time.Sub(polls[1].Time); gap < 6*time.Second-100*time.Millisecond {
			t.Errorf("the poll after slow_down came %v later, want the interval (1s) plus 5s", gap)
		}
		if n := f.srv.TooFastPolls(); n != 0 {
			t.Errorf("%d polls came sooner than the (grown) interval", n)
		}
		if rec := f.record(t); rec.AccessToken != f.srv.LastIssued(t).AccessToken {
			t.Error("the store does not hold the token the provider issued")
		}
	})

	for _, c := range []struct {
		name, answer, says string
		end                func(*testing.T, *opFixture, *deviceLogin)
	}{
		{"denied", "access_denied", "denied", func(t *testing.T, f *opFixture, d *deviceLogin) { f.decideDevice(t, d.userCode, "deny") }},
		{"expired", "expired_token", "expired", func(t *testing.T, f *opFixture, d *deviceLogin) { f.srv.ExpireDevice(t, d.userCode) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newOPFixture(t, opSetup{discovery: true, grant: "device_code"})
			d := f.startDeviceLogin(t)
			f.waitPolls(t, 1)
			c.end(t, f, d)
			r := d.wait(t)
			if r.code != 3 || !strings.Contains(strings.ToLower(r.stderr), c.says) {
				t.Errorf("want exit 3 saying the log-in was %s; got %v", c.says, r)
			}
			polls := f.devicePolls()
			if last := polls[len(polls)-1]; last.Error != c.answer {
				t.Errorf("the last poll was answered %q, want %s: login went on polling after it; traffic:%s", last.Error, c.answer, f.srv.Summary())
			}
			if !f.forgotten(t) || len(f.srv.Issued()) != 0 {
				t.Error("tokens were issued or stored")
			}
		})
	}
}

// TestOPClientAuth logs in, renews and logs out as a public client
// (client_auth = "none": no secret anywhere, PKCE S256 on the code) and as
// a client that authenticates with a private key (client_auth =
// "private_key_jwt", key_file in PEM: every token and revocation request
// carries an assertion signed with the key the provider registered; zitadel
// accepts only its issuer as the assertions' audience, so the environment
// sets assertion_audience). Neither the key nor an assertion is logged.
func TestOPClientAuth(t *testing.T) {
	eachClientAuth(t, []string{"none", "private_key_jwt"}, func(t *testing.T, auth string) {
		f := newOPFixture(t, opSetup{clientAuth: auth})
		f.login(t)
		f.checkAuthorization(t)
		f.checkMe(t, f.mustRun(t, "get", "/api/me"))
		if tok := strings.TrimSpace(f.mustRun(t, "token", "--force")); tok != f.srv.LastIssued(t).AccessToken {
			t.Errorf("token --force printed %q, not the token the provider issued", tok)
		}
		f.checkClean(t)
		if n := f.srv.TokenRequestsFor(oidcop.GrantRefreshToken); n == 0 {
			t.Errorf("no refresh; traffic:%s", f.srv.Summary())
		}
		if r := f.freshtoken(t, "logout"); r.code != 0 {
			t.Fatalf("%v", r)
		}
		for _, rv := range f.srv.Revocations() {
			if rv.Status != http.StatusOK || rv.ClientAuth != auth {
				t.Errorf("a revocation failed or was authenticated other than with %s; traffic:%s", auth, f.srv.Summary())
			}
		}
		if f.srv.GrantsRevoked() != 1 {
			t.Errorf("logout did not end the grant; traffic:%s", f.srv.Summary())
		}
	})
}
