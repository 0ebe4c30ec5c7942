package freshtoken_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
	"github.com/freshtoken/freshtoken/store"
)

// TestBlankRefreshTokenKeepsTheGrant: a renewal's answer whose
// refresh_token is absent, empty or white space alone ("  ", a tab, a
// newline), in JSON or form-encoded, keeps the refresh token stored, as
// x/oauth2 keeps it when none comes: a blank one replaced it, and the grant
// was lost to a hostile or buggy provider (the next renewal sent " ").
func TestBlankRefreshTokenKeepsTheGrant(t *testing.T) {
	for _, body := range []string{
		`{"access_token":"access-token-number-%d","token_type":"bearer","expires_in":3600,"n":%d}`,
		`{"access_token":"access-token-number-%d","token_type":"bearer","expires_in":3600,"n":%d,"refresh_token":""}`,
		`{"access_token":"access-token-number-%d","token_type":"bearer","expires_in":3600,"n":%d,"refresh_token":" "}`,
		`{"access_token":"access-token-number-%d","token_type":"bearer","expires_in":3600,"n":%d,"refresh_token":"\t\n "}`,
		`{"access_token":"access-token-number-%d","token_type":"bearer","expires_in":3600,"n":%d,"refresh_token":null}`,
		`access_token=access-token-number-%d&token_type=bearer&expires_in=3600&n=%d&refresh_token=+%%09`,
	} {
		t.Run(body, func(t *testing.T) {
			rec := renewFrom(t, http.StatusOK, body)
			if rec.RefreshToken != "old-refresh-token" || rec.AccessToken != "access-token-number-1" {
				t.Fatalf("stored refresh token %q, access token %q; want the old refresh token kept beside the new access token", rec.RefreshToken, rec.AccessToken)
			}
		})
	}
}

// TestBlankTokensAreNotStored: a renewal's answer whose access_token is
// white space alone is no token: it is refused as one that is missing
// (x/oauth2 refuses an empty one), ErrUnreachable after the retries, and
// neither stored nor sent to the API as "Bearer  " (a space was served,
// a tab stored); a new refresh token beside it is kept, as beside a
// missing one. An answer that cannot be read whose refresh_token is blank
// keeps the refresh token stored (it stored the blank as a rotation).
func TestBlankTokensAreNotStored(t *testing.T) {
	for _, tt := range []struct{ body, refresh string }{
		{`{"access_token":" ","refresh_token":"refresh-token-number-%d","token_type":"bearer","expires_in":3600,"n":%d}`, "refresh-token-number-4"},
		{`{"access_token":"\t","refresh_token":"refresh-token-number-%d","token_type":"bearer","expires_in":3600,"n":%d}`, "refresh-token-number-4"},
		{`{"access_token":"  \n","refresh_token":"refresh-token-number-%d","token_type":"bearer","expires_in":3600,"n":%d}`, "refresh-token-number-4"},
		{`access_token=+&refresh_token=refresh-token-number-%d&token_type=bearer&expires_in=3600&n=%d`, "refresh-token-number-4"},
		{`{"refresh_token":" ","n":%d,"m":%d,`, "old-refresh-token"},
	} {
		t.Run(tt.body, func(t *testing.T) {
			srv, _ := tokenServer(t, http.StatusOK, tt.body)
			r := expiredAt(t, srv.URL)
			src := r.source()
			freshtoken.SetPause(src, r.clock.Sleep) // a renewal waits a second after a rotation
			tok, err := src.Token()
			if err == nil {
				t.Fatalf("token %q; want the renewal refused for its blank access token", tok.AccessToken)
			}
			if !errors.Is(err, freshtoken.ErrUnreachable) {
				t.Errorf("error %v; want ErrUnreachable (the provider answered with no usable token)", err)
			}
			if rec := r.record(); strings.TrimSpace(rec.AccessToken) == "" && rec.AccessToken != "" || rec.RefreshToken != tt.refresh {
				t.Errorf("stored access token %q, refresh token %q; want no blank token stored, and refresh token %q", rec.AccessToken, rec.RefreshToken, tt.refresh)
			}
		})
	}
}

// renewFrom renews an expired stored grant (see expiredAt) once against a
// token endpoint answering body with status (see tokenServer), and returns
// the record then stored.
func renewFrom(t *testing.T, status int, body string) *store.Record {
	t.Helper()
	srv, refreshes := tokenServer(t, status, body)
	r := expiredAt(t, srv.URL)
	if _, err := r.source().Token(); err != nil {
		t.Fatal(err)
	}
	if n := refreshes.Load(); n != 1 {
		t.Fatalf("%d token requests; want 1", n)
	}
	return r.record()
}

// expiredAt is a rig whose token endpoint is tokenURL, its store holding
// an expired grant: old-access-token, old-refresh-token.
func expiredAt(t *testing.T, tokenURL string) *rig {
	t.Helper()
	r := newRig(t, devprovider.Options{})
	r.settings.TokenURL = tokenURL
	old := &store.Record{AccessToken: "old-access-token", RefreshToken: "old-refresh-token",
		IssuedAt: r.clock.Now().Add(-2 * time.Hour), Expiry: r.clock.Now().Add(-time.Hour)}
	if err := r.store.Save(context.Background(), "sandbox", old); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestUnreadableRefusalIsNoRefusal: a token endpoint answering a renewal
// with a 4xx whose body cannot be read (JSON broken by raw control bytes,
// a body of control bytes) said nothing freshtoken can act on: it is
// retried as malformed JSON is, then ErrUnreachable (exit 5), the tokens
// kept. It was taken for a refusal of the client (exit 2: "fix the
// configuration"). A plain line of text ("HTTP Basic: Access denied.")
// is still a refusal.
func TestUnreadableRefusalIsNoRefusal(t *testing.T) {
	for _, tt := range []struct {
		body string
		want error
	}{
		{"{\"error\":\"invalid_request\",\"error_description\":\"bad\x01\x1b[2J\"}", freshtoken.ErrUnreachable},
		{"{\"error\":\"invalid_req", freshtoken.ErrUnreachable},
		{"\x00\x01\x02\x7f", freshtoken.ErrUnreachable},
		{"HTTP Basic: Access denied.\n", freshtoken.ErrClientRejected},
	} {
		t.Run(tt.body, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n.Add(1)
				if strings.HasPrefix(tt.body, "{") {
					w.Header().Set("Content-Type", "application/json")
				} else {
					w.Header().Set("Content-Type", "text/plain")
				}
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			r := expiredAt(t, srv.URL)
			_, err := r.source().Token()
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v (%d requests); want %v", err, n.Load(), tt.want)
			}
			if rec := r.record(); rec.RefreshToken != "old-refresh-token" {
				t.Errorf("stored refresh token %q; want the old one kept", rec.RefreshToken)
			}
		})
	}
}

// TestTokensWrittenAsNumbersAreRead: a renewal's answer that writes a
// token as a JSON number, or token_type as anything but a string, is read
// with one request: the token as the digits written, the type dropped (every
// token goes as Bearer); a refresh token of another type (true, an object)
// is none, and the one stored is kept. x/oauth2 refused the whole answer, so a usable
// access token was thrown away and the renewal tried four times, exit 5
// at every call; a refresh token written as a number was not kept, and
// each retry sent again the refresh token the provider had rotated out,
// which ends the grant at a provider that detects reuse.
func TestTokensWrittenAsNumbersAreRead(t *testing.T) {
	for _, tc := range []struct{ body, access, refresh, kind string }{
		{`{"access_token":"access-token-number-%d","refresh_token":7700%d,"token_type":"bearer","expires_in":3600}`, "access-token-number-1", "77001", "bearer"},
		{`{"access_token":5500%d,"refresh_token":"refresh-token-number-%d","token_type":"bearer","expires_in":3600}`, "55001", "refresh-token-number-1", "bearer"},
		{`{"access_token":"access-token-number-%d","refresh_token":"refresh-token-number-%d","token_type":5,"expires_in":3600}`, "access-token-number-1", "refresh-token-number-1", "Bearer"},
		// A refresh token of another type is none: the one stored is kept.
		{`{"access_token":"access-token-number-%d","refresh_token":true,"token_type":"bearer","expires_in":3600,"n":%d}`, "access-token-number-1", "old-refresh-token", "bearer"},
		{`{"access_token":"access-token-number-%d","refresh_token":{"value":"r"},"token_type":"bearer","expires_in":3600,"n":%d}`, "access-token-number-1", "old-refresh-token", "bearer"},
		{`{"access_token":"access-token-number-%d","refresh_token":"refresh-token-number-%d","token_type":{"kind":"bearer"},"expires_in":3600}`, "access-token-number-1", "refresh-token-number-1", "Bearer"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			rec := renewFrom(t, http.StatusOK, tc.body)
			if rec.AccessToken != tc.access || rec.RefreshToken != tc.refresh || rec.TokenType != tc.kind {
				t.Fatalf("stored access token %q, refresh token %q, type %q; want %q, %q, %q", rec.AccessToken, rec.RefreshToken, rec.TokenType, tc.access, tc.refresh, tc.kind)
			}
		})
	}
}

// TestAnswerLabelledGzipIsRead: a renewal's answer labelled gzip
// (Content-Encoding) is read whether it is gzip or not: a gateway that
// unzips the provider's answer and leaves the label on it sent plain JSON
// that net/http refused ("gzip: invalid header"), so the new refresh token
// in it was lost, and each of four tries re-sent the one the provider had
// rotated out, which ends the grant at a provider that detects reuse.
func TestAnswerLabelledGzipIsRead(t *testing.T) {
	const answer = `{"access_token":"access-token-number-%d","refresh_token":"refresh-token-number-%d","token_type":"bearer","expires_in":3600}`
	for _, zipped := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip %v", zipped), func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := n.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Encoding", "gzip")
				if !zipped {
					fmt.Fprintf(w, answer, i, i)
					return
				}
				zw := gzip.NewWriter(w)
				fmt.Fprintf(zw, answer, i, i)
				zw.Close()
			}))
			t.Cleanup(srv.Close)
			r := expiredAt(t, srv.URL)
			if _, err := r.source().Token(); err != nil {
				t.Fatal(err)
			}
			if rec := r.record(); n.Load() != 1 || rec.AccessToken != "access-token-number-1" || rec.RefreshToken != "refresh-token-number-1" {
				t.Fatalf("%d token requests, stored %q and %q; want one request and its tokens", n.Load(), rec.AccessToken, rec.RefreshToken)
			}
		})
	}
}

// TestAnswerFollowedByStrayTextIsRead: a renewal's JSON answer followed by
// text (an HTML comment a server adds, a warning printed after the JSON) is
// read, its tokens stored from one request: x/oauth2 refused it ("invalid
// character '<' after top-level value"), so its access token was said not
// to be usable and the renewal tried four times, exit 5 at every call.
func TestAnswerFollowedByStrayTextIsRead(t *testing.T) {
	rec := renewFrom(t, http.StatusOK, `{"access_token":"access-token-number-%d","refresh_token":"refresh-token-number-%d","token_type":"bearer","expires_in":3600}`+"\n<!-- served by node-7 -->\n")
	if rec.AccessToken != "access-token-number-1" || rec.RefreshToken != "refresh-token-number-1" {
		t.Fatalf("stored %q and %q; want the answer's tokens", rec.AccessToken, rec.RefreshToken)
	}
}

// TestCutAnswerWithARefreshTokenWrittenAsANumberKeepsIt: a renewal's
// answer that writes its new refresh token as a JSON number and is then
// cut off (its connection lost, or, unzipped, longer than the 1 MiB an
// answer is read to) keeps that refresh token, the digits written, and the
// next try spends it. The part read is read as tokenerr reads a whole
// answer: the token written as a number was dropped from the part read,
// and the next try re-sent the refresh token the provider had rotated
// out, which ends the grant at a provider that detects reuse.
func TestCutAnswerWithARefreshTokenWrittenAsANumberKeepsIt(t *testing.T) {
	const first = `{"refresh_token": 770012345678901234567890,"access_token":"a1","token_type":"bearer","padding":"`
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		second string // the refresh token the second try spends
	}{
		{"connection lost", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "1000")
			io.WriteString(w, first+"xx")
		}, "770012345678901234567890"},
		{"gzip longer than 1 MiB unzipped", func(w http.ResponseWriter) {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			io.WriteString(zw, first+strings.Repeat("x", tokenerr.MaxAnswer)+`"}`)
			zw.Close()
		}, "770012345678901234567890"},
		// Cut inside the number, whose end nothing shows: its digits may
		// be a part of the token, which is not kept.
		{"connection lost inside the number", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "1000")
			io.WriteString(w, `{"refresh_token": 7700123`)
		}, "old-refresh-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				n    atomic.Int32
				sent []string
				mu   sync.Mutex
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				sent = append(sent, r.PostFormValue("refresh_token"))
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				if n.Add(1) == 1 {
					tc.answer(w)
					return
				}
				io.WriteString(w, `{"access_token":"access-token-2","refresh_token":"refresh-token-2","token_type":"bearer","expires_in":3600}`)
			}))
			t.Cleanup(srv.Close)
			r := expiredAt(t, srv.URL)
			src := r.source()
			freshtoken.SetPause(src, func(ctx context.Context, d time.Duration) error { return r.clock.Sleep(ctx, d) })
			if _, err := src.Token(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(sent) != 2 || sent[0] != "old-refresh-token" || sent[1] != tc.second {
				t.Fatalf("refresh tokens sent %q; want the stored one, then %q", sent, tc.second)
			}
		})
	}
}

// TestGzipAnswerOfEmptyMembersIsBounded: a renewal's answer labelled gzip
// that is a stream of empty gzip members (or empty blocks), which unzip to
// nothing, is refused as larger than an answer is read to, once twice that
// has been read zipped: the 1 MiB an answer is read to counted only what
// it unzipped to, so a hostile provider held each try for the whole of
// its timeout (half a gigabyte read in 3 s on loopback), and one that
// stopped was read whole.
func TestGzipAnswerOfEmptyMembersIsBounded(t *testing.T) {
	var member bytes.Buffer
	zw := gzip.NewWriter(&member)
	zw.Close()
	members := bytes.Repeat(member.Bytes(), 8*tokenerr.MaxAnswer/member.Len())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(members)
	}))
	t.Cleanup(srv.Close)
	r := expiredAt(t, srv.URL)
	src := r.source()
	freshtoken.SetPause(src, func(ctx context.Context, d time.Duration) error { return r.clock.Sleep(ctx, d) })
	_, err := src.Token()
	if err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Fatalf("Token = %v; want the answer refused as larger than 1 MiB", err)
	}
	if rec := r.record(); rec.RefreshToken != "old-refresh-token" {
		t.Fatalf("stored refresh token %q; want old-refresh-token kept", rec.RefreshToken)
	}
}
