package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/store"
)

// TestStatusTellsOfAnUnusableAccessToken: a stored access token that no
// command can use (bound to a key, or holding a control character) is told
// of by `status`, with the command that fetches another, in --json
// (access_token_unusable) too, and status exits 5, as each command using
// it does. It showed "logged in: yes" and exited 0, while every command
// failed.
func TestStatusTellsOfAnUnusableAccessToken(t *testing.T) {
	for name, c := range map[string]struct{ tokenType, accessToken, want string }{
		"bound to a key":      {"DPoP", "", `of type "DPoP", bound to a key`},
		"a control character": {"Bearer", "abc\x1b[2Jdef", "holding control or non-ASCII characters"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newDevEnv(t)
			e.login(t)
			rec := e.record(t, "dev")
			rec.TokenType = c.tokenType
			if c.accessToken != "" {
				rec.AccessToken = c.accessToken
			}
			e.save(t, "dev", rec)
			fix := "run `freshtoken --config " + e.config + " token --force -e dev` for another"

			ios, stdout, stderr := testStreams(false, false)
			if code := e.run(ios, "status"); code != 5 {
				t.Errorf("status exited %d; want 5, as a command using the token does\n%s%s", code, stdout, stderr)
			}
			for _, want := range []string{"logged in:      yes, but the stored access token cannot be used", "access token:   cannot be used: ", c.want, fix} {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("status = %q; want it to say %q", stdout, want)
				}
			}
			if strings.Contains(stdout.String(), "access token:   expires") {
				t.Errorf("status gives the unusable access token's expiry: %q", stdout)
			}

			ios, stdout, stderr = testStreams(false, false)
			if code := e.run(ios, "status", "--json"); code != 5 {
				t.Errorf("status --json exited %d; want 5\n%s", code, stderr)
			}
			var all []map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &all); err != nil || len(all) != 1 {
				t.Fatalf("status --json = %s (%v); want one environment", stdout, err)
			}
			got, _ := all[0]["access_token_unusable"].(string)
			if !strings.Contains(got, c.want) || !strings.Contains(got, fix) {
				t.Errorf("access_token_unusable = %q; want it to say %q and %q", got, c.want, fix)
			}
			if all[0]["logged_in"] != true || all[0]["access_token_held"] != true {
				t.Errorf("status --json = %v; the existing fields changed (logged_in and access_token_held stay true: the grant is kept)", all[0])
			}
			for _, s := range []string{rec.AccessToken, rec.RefreshToken} {
				if strings.Contains(stdout.String(), s) {
					t.Errorf("status --json shows a token")
				}
			}
		})
	}
}

// TestStatusOfAUsableTokenSaysNothingOfIt: with a bearer token, --json
// has no access_token_unusable, and status exits 0.
func TestStatusOfAUsableTokenSaysNothingOfIt(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "status", "--json"); code != 0 {
		t.Fatalf("status --json exited %d\n%s", code, stderr)
	}
	if strings.Contains(stdout.String(), "access_token_unusable") {
		t.Errorf("status --json of a usable token = %s", stdout)
	}
}

// TestStatusOfAnUnusableClientCredentialsToken: with client credentials,
// status read "logged in: not needed, but the stored access token cannot
// be used", a "but" against nothing; it reads "not needed; the stored
// access token cannot be used".
func TestStatusOfAnUnusableClientCredentialsToken(t *testing.T) {
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", Grant: "client_credentials"})
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "token"); code != 0 {
		t.Fatalf("token exited %d\n%s%s", code, stdout, stderr)
	}
	rec := e.record(t, "dev")
	rec.TokenType = "DPoP"
	e.save(t, "dev", rec)
	ios, stdout, stderr = testStreams(false, false)
	if code := e.run(ios, "status"); code != 5 {
		t.Errorf("status exited %d; want 5\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"logged in:      not needed; the stored access token cannot be used\n", "access token:   cannot be used: "} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("status = %q; want it to say %q", stdout, want)
		}
	}
}

// TestStatusTellsOfARefreshTokenRenewingDoesNotExtend: a refresh token
// whose expiry renewals have been seen not to extend (a provider with an
// absolute grant lifetime) is told of by `status`, with the log-in to run
// before it expires, and in --json (refresh_token_not_extended), as the
// running proxy's notice (refresh_token_expiring) tells it: status gave its
// expiry alone, which a person took to move on with each renewal.
func TestStatusTellsOfARefreshTokenRenewingDoesNotExtend(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	ios, stdout, _ := testStreams(false, false)
	e.run(ios, "status")
	if strings.Contains(stdout.String(), "does not extend") {
		t.Fatalf("status of a fresh log-in says renewals do not extend the refresh token: %q", stdout)
	}
	rec := e.record(t, "dev")
	rec.RefreshNotExtended = true
	e.save(t, "dev", rec)
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "status"); code != 0 {
		t.Errorf("status exited %d\n%s%s", code, stdout, stderr)
	}
	if want := "; renewing does not extend it: run `freshtoken --config " + e.config + " login -e dev` before then"; !strings.Contains(stdout.String(), want) {
		t.Errorf("status = %q; want it to say %q", stdout, want)
	}
	ios, stdout, _ = testStreams(false, false)
	e.run(ios, "status", "--json")
	var all []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &all); err != nil || len(all) != 1 {
		t.Fatalf("status --json = %s (%v); want one environment", stdout, err)
	}
	if all[0]["refresh_token_not_extended"] != true || all[0]["logged_in"] != true {
		t.Errorf("status --json = %v; want refresh_token_not_extended true, still logged in", all[0])
	}
	// Past its expiry, there is no "before then" to log in by.
	rec.RefreshExpiry = time.Now().Add(-time.Hour)
	e.save(t, "dev", rec)
	ios, stdout, _ = testStreams(false, false)
	e.run(ios, "status")
	if want := " UTC); renewing did not extend it: run `freshtoken --config " + e.config + " login -e dev`\n"; !strings.Contains(stdout.String(), want) {
		t.Errorf("status = %q; want it to say %q", stdout, want)
	}
}

// TestStatusOfAnExpiredRefreshTokenSaysToLogIn: with the access token
// expired and the refresh token past the expiry the provider gave it,
// `status` says, as the proxy's page does ("log in again"), that a log-in is
// needed, and which: it said "logged in: yes", giving both expiries alone.
func TestStatusOfAnExpiredRefreshTokenSaysToLogIn(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	rec := e.record(t, "dev")
	rec.IssuedAt = rec.IssuedAt.Add(-3 * time.Hour)
	rec.Expiry, rec.RefreshExpiry = rec.IssuedAt.Add(time.Hour), rec.IssuedAt.Add(2*time.Hour)
	e.save(t, "dev", rec)
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "status"); code != 0 {
		t.Errorf("status exited %d\n%s%s", code, stdout, stderr)
	}
	if want := "logged in:      yes, but the refresh token has expired too, so no renewal can help: run `freshtoken --config " + e.config + " login -e dev`"; !strings.Contains(stdout.String(), want) {
		t.Errorf("status = %q; want it to say %q", stdout, want)
	}
}

// TestStatusOfTimesItCannotCountFrom: a problem recorded without its time
// (by another program sharing the store) and a problem or renewal recorded
// by a clock ahead of this machine's (another machine of a fleet) are told
// as such: status said "106751d ago (0001-01-01 00:00:00 UTC)" and
// "-1h30m0s ago".
func TestStatusOfTimesItCannotCountFrom(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	ahead := time.Now().Add(90 * time.Minute)
	for name, c := range map[string]struct {
		problemAt, renewedAt time.Time
		want                 string
	}{
		"a problem without its time":             {time.Time{}, time.Time{}, "so the grant has ended (its time not recorded)"},
		"a problem by a clock ahead":             {ahead, time.Time{}, ", by a clock 1h"},
		"a renewal by a clock ahead, no problem": {time.Time{}, ahead, "last renewal:   " + ahead.Local().Format("2006-01-02 15:04:05 MST")},
	} {
		t.Run(name, func(t *testing.T) {
			rec := e.record(t, "dev")
			rec.Problem = nil
			if name != "a renewal by a clock ahead, no problem" {
				rec.Problem = &store.Problem{Kind: store.ProblemGrantEnded, Message: "the provider refused the refresh token (HTTP 400 invalid_grant), so the grant has ended", At: c.problemAt}
			}
			rec.RenewedAt, rec.RenewedFor, rec.Renewals = c.renewedAt, store.RenewedForExpiry, 1
			e.save(t, "dev", rec)
			ios, stdout, _ := testStreams(false, false)
			e.run(ios, "status")
			if !strings.Contains(stdout.String(), c.want) || strings.Contains(stdout.String(), "106751d") || strings.Contains(stdout.String(), "-1h") {
				t.Errorf("status = %q; want it to say %q", stdout, c.want)
			}
		})
	}
}
