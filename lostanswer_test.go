package freshtoken_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
)

// TestALostAnswerIsToldWhenTheRetryEndsTheGrant: a renewal that the
// provider acted on, rotating the refresh token, and whose answer is lost
// (the connection cut before it, or the answer coming, or ending, after
// the timeout) is tried again, as any fault is, with the refresh token
// sent before; a provider that detects reuse (the dev provider, as fosite)
// then ends the grant. The error, and the note status shows, said only that the provider
// refused the refresh token, as if it had ended the grant of its own
// accord; they now say that an earlier try got no whole answer and what
// that did; an answer begun and not finished was told as one that "did
// not answer". A refusal with no lost answer before it (an error status, a web
// page) says nothing of one; a gateway's 502 or 504 is a lost answer, the
// provider behind it may have renewed (it was called no answer lost). One renewal, one retry: no loop spends
// tokens.
func TestALostAnswerIsToldWhenTheRetryEndsTheGrant(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lose   func(w http.ResponseWriter, req *http.Request) // after the provider answered the first try
		answer func(w http.ResponseWriter)                    // answers the first try, unsent to the provider
		want   string
	}{
		{"connection cut", func(w http.ResponseWriter, _ *http.Request) {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
		}, nil, "got no whole answer (EOF)"},
		{"answer after the timeout", func(_ http.ResponseWriter, req *http.Request) {
			<-req.Context().Done()
		}, nil, "got no whole answer (did not answer within 1s"},
		{"answer begun, not finished within the timeout", func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"token_type":"bearer","access_token":"`)
			w.(http.Flusher).Flush()
			<-req.Context().Done()
		}, nil, "got no whole answer (began to answer and did not finish within 1s (timeout))"},
		// A gateway that gave up waiting for the provider (504), or lost
		// its answer (502), whole or cut short: the provider may have
		// renewed all the same.
		{"gateway timeout", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusGatewayTimeout)
			io.WriteString(w, "<html><body>504 Gateway Time-out</body></html>")
		}, nil, "got no whole answer (HTTP 504 from a gateway in front of it, which lost the provider's answer or gave up waiting for it)"},
		{"bad gateway", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "upstream connection reset", http.StatusBadGateway)
		}, nil, "got no whole answer (HTTP 502 from a gateway in front of it"},
		{"gateway timeout cut short", func(w http.ResponseWriter, _ *http.Request) {
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				io.WriteString(c, "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n<html>")
				c.Close()
			}
		}, nil, "got no whole answer (HTTP 504 from a gateway in front of it"},
		{"refused outright", nil, nil, ""},
		// A provider that refuses with a 502 of its own, naming the OAuth
		// error: it handled the request, and nothing was lost.
		{"refused with a 502 naming the error", nil, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, `{"error":"invalid_grant","error_description":"refresh token revoked"}`)
		}, ""},
		{"refused after a 503", nil, func(w http.ResponseWriter) { http.Error(w, "busy", http.StatusServiceUnavailable) }, ""},
		{"refused after a 503 cut short", nil, func(w http.ResponseWriter) {
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nbusy")
				c.Close()
			}
		}, ""},
		{"refused after a web page", nil, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>sign in to this network</html>")
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := loggedIn(t)
			r.settings.Timeout = time.Second
			forward := toProvider(t, r)
			var tries atomic.Int32
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				first := tries.Add(1) == 1
				if first && tc.answer != nil {
					tc.answer(w)
					return
				}
				if first && tc.lose != nil {
					forward.ServeHTTP(httptest.NewRecorder(), req) // the provider rotates
					tc.lose(w, req)
					return
				}
				forward.ServeHTTP(w, req)
			}))
			defer front.Close()
			r.moveTokenEndpoint(front.URL + "/v2/token_endpoint")
			if tc.lose == nil {
				r.provider.Fault(devprovider.FaultInvalidGrant, 1)
			}
			r.clock.Advance(2 * time.Hour)
			_, err := r.source().Token()
			if !errors.Is(err, freshtoken.ErrLoginRequired) {
				t.Fatalf("err = %v; want log-in needed", err)
			}
			said := err.Error() + " | noted: " + r.record().Problem.Message
			if tc.want == "" {
				if strings.Contains(said, "no whole answer") {
					t.Fatalf("%s; want no word of a lost answer, as none was", said)
				}
				return
			}
			for _, w := range []string{tc.want, "taken the try after it for a reuse"} {
				if strings.Count(said, w) != 2 {
					t.Fatalf("%s; want the error and the note to say %q", said, w)
				}
			}
			if n, st := tries.Load(), r.provider.Stats(); n != 2 || st.Refreshes != 1 || st.ReuseDetected != 1 {
				t.Fatalf("%d tries, provider %+v; want the renewal tried once more, then reported", n, st)
			}
		})
	}
}

// TestADeviceLogInsLostAnswerIsTold: the device grant's poll that the
// provider answered with the tokens, the answer lost with the connection,
// is followed by a poll the provider refuses (the device code spent): the
// refusal says an earlier poll got no whole answer, whose tokens it may
// have held. It said only that the provider refused the device code, to a
// person who had just approved the log-in.
func TestADeviceLogInsLostAnswerIsTold(t *testing.T) {
	r, _ := deviceRig(t, devprovider.Options{})
	forward := toProvider(t, r)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		answer := httptest.NewRecorder()
		forward.ServeHTTP(answer, req)
		if answer.Code == http.StatusOK {
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return
		}
		for k, v := range answer.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(answer.Code)
		w.Write(answer.Body.Bytes())
	}))
	defer front.Close()
	d := deviceLoginPolling(t, r, front.URL+"/v2/token_endpoint")
	if err := r.provider.DecideDevice(d.UserCode, true); err != nil {
		t.Fatal(err)
	}
	err := d.Wait(context.Background(), nil)
	if !errors.Is(err, freshtoken.ErrLoginRefused) || !strings.Contains(err.Error(), "the provider refused the device code (") ||
		!strings.Contains(err.Error(), "; an earlier poll reached the token endpoint and got no whole answer (EOF): the provider may have issued the tokens in it") {
		t.Fatalf("err = %v; want the refusal, saying an earlier poll's answer was lost", err)
	}
	if st := r.provider.Stats(); st.DeviceLogins != 1 {
		t.Fatalf("provider %+v; want the one device log-in whose answer was lost", st)
	}
}

// TestADevicePollLostBeforeAPendingOneIsNotBlamed: a poll whose answer
// was lost (a Wi-Fi blip), followed by a poll the provider answers
// authorization_pending, lost nothing: the provider was still waiting for
// the person then, so it had issued no tokens. A later refusal of the
// device code said all the same that the lost poll may have held the
// tokens, to a person who had not approved yet.
func TestADevicePollLostBeforeAPendingOneIsNotBlamed(t *testing.T) {
	r, _ := deviceRig(t, devprovider.Options{})
	forward := toProvider(t, r)
	var polls atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if polls.Add(1) == 1 {
			forward.ServeHTTP(httptest.NewRecorder(), req) // pending, and lost
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return
		}
		forward.ServeHTTP(w, req)
	}))
	defer front.Close()
	d := deviceLoginPolling(t, r, front.URL+"/v2/token_endpoint")
	err := d.Wait(context.Background(), func(freshtoken.DevicePoll) {
		r.provider.Fault(devprovider.FaultInvalidGrant, 1) // the next poll is refused
	})
	if !errors.Is(err, freshtoken.ErrLoginRefused) || !strings.Contains(err.Error(), "the provider refused the device code (") {
		t.Fatalf("err = %v; want the refusal", err)
	}
	if strings.Contains(err.Error(), "earlier poll") {
		t.Fatalf("err = %v; want no word of the poll lost before a pending one", err)
	}
	if n := polls.Load(); n != 3 {
		t.Fatalf("%d polls; want the lost one, the pending one and the refused one", n)
	}
}

// TestARenewalIsNotWrittenIntoAConnectionKeptFromTheLast: a provider
// (or the load balancer before it) closes a kept-alive connection as the
// next renewal, an hour later, is written into it; the provider never sees
// that request. It was told as an answer lost, and when the renewal's
// next try was refused, the refusal said the provider may have renewed
// and taken the try for a reuse. Each token request now goes over a new
// connection: the front here, which drops any request on a connection it
// served before, sees none.
func TestARenewalIsNotWrittenIntoAConnectionKeptFromTheLast(t *testing.T) {
	r, _ := loggedIn(t)
	forward := toProvider(t, r)
	type served struct{ n atomic.Int32 }
	var dropped atomic.Int32
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Context().Value(served{}).(*served).n.Add(1) > 1 {
			dropped.Add(1) // closed as if idle, before the provider read it
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return
		}
		forward.ServeHTTP(w, req)
	}))
	front.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, served{}, new(served))
	}
	front.Start()
	defer front.Close()
	r.moveTokenEndpoint(front.URL + "/v2/token_endpoint")
	src := r.source()
	r.clock.Advance(2 * time.Hour)
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(2 * time.Hour)
	r.provider.Fault(devprovider.FaultInvalidGrant, 1)
	_, err := src.Token()
	if !errors.Is(err, freshtoken.ErrLoginRequired) || strings.Contains(err.Error(), "no whole answer") {
		t.Fatalf("err = %v; want the refusal, with no word of a lost answer", err)
	}
	if n := dropped.Load(); n != 0 {
		t.Fatalf("%d token requests went over a connection kept from an earlier one; want none", n)
	}
}

// toProvider is a reverse proxy to r's provider, for a server in front of
// it that loses or changes some of its answers.
func toProvider(t *testing.T, r *rig) *httputil.ReverseProxy {
	t.Helper()
	provider, err := url.Parse(r.url)
	if err != nil {
		t.Fatal(err)
	}
	return httputil.NewSingleHostReverseProxy(provider)
}

// TestRenewalsThatLostEveryAnswerDoNotPromiseTheTokens: a token endpoint
// slow past the timeout at every try, in front of a provider that rotates
// refresh tokens and ends the grant on reuse, got the first try (and
// rotated) and the retries (and ended the grant), every answer lost. The
// renewal said "your stored tokens are unchanged, try again later", a
// promise it could not keep: only the next run learnt of invalid_grant.
// It now says that the refresh token may have been spent, to try again,
// and to log in if it is refused; its error carries the lost answer for
// the keeper's notice; the rest noted in the store says the same; and the
// next renewal reports the ended grant. A renewal whose tries were never
// answered at all (refused outright, 503s) still says the tokens are
// unchanged, and nothing more.
func TestRenewalsThatLostEveryAnswerDoNotPromiseTheTokens(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout bool // every answer comes after the timeout; else the connection is cut
	}{{"answers after the timeout", true}, {"connections cut", false}} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := loggedIn(t)
			r.settings.Timeout = time.Second
			r.settings.RetryBackoff = []time.Duration{5 * time.Millisecond}
			forward := toProvider(t, r)
			var mended atomic.Bool
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if mended.Load() {
					forward.ServeHTTP(w, req)
					return
				}
				forward.ServeHTTP(httptest.NewRecorder(), req) // the provider acts on it
				if tc.timeout {
					<-req.Context().Done()
					return
				}
				if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
					c.Close()
				}
			}))
			defer front.Close()
			r.moveTokenEndpoint(front.URL + "/v2/token_endpoint")
			before := r.record().RefreshToken
			r.clock.Advance(2 * time.Hour)
			_, err := r.source().Token()
			if !errors.Is(err, freshtoken.ErrUnreachable) {
				t.Fatalf("err = %v; want the provider unreachable", err)
			}
			rec := r.record()
			for _, said := range []string{err.Error(), rec.Rest.Message} {
				if strings.Contains(said, "unchanged, try again") || !strings.Contains(said, "but a try reached the token endpoint and got no whole answer: the provider may have renewed then, spending the stored refresh token; try again later, and if the provider refuses it, log in again") {
					t.Fatalf("said %q; want it to say the refresh token may have been spent, and what to do", said)
				}
			}
			if tokenerr.LostIn(err) == "" {
				t.Fatalf("err = %v; want it to carry the lost answer", err)
			}
			if rec.RefreshToken != before {
				t.Fatal("the stored refresh token changed")
			}
			if st := r.provider.Stats(); st.Refreshes != 1 || st.ReuseDetected != 1 {
				t.Fatalf("provider %+v; want one renewal and one reuse of the refresh token", st)
			}
			mended.Store(true)
			r.clock.Advance(time.Minute) // past the rest
			if _, err := r.source().Token(); !errors.Is(err, freshtoken.ErrLoginRequired) {
				t.Fatalf("next renewal: %v; want log-in needed", err)
			}
		})
	}
	t.Run("never answered", func(t *testing.T) {
		r, _ := loggedIn(t)
		r.provider.Fault(devprovider.Fault5xx, 10)
		r.clock.Advance(2 * time.Hour)
		_, err := r.source().Token()
		if !errors.Is(err, freshtoken.ErrUnreachable) || !strings.HasSuffix(err.Error(), "; your stored tokens are unchanged, try again later") || tokenerr.LostIn(err) != "" {
			t.Fatalf("err = %v; want the tokens told unchanged", err)
		}
	})
}
