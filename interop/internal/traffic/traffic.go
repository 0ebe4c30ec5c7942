// Package traffic keeps what one of the interop tests' servers (authserver
// and oidcop) saw, for the tests to assert on: its authorisation requests,
// its token requests and the tokens it issued, and every secret that went
// through it. Both servers embed a Log, so its reading methods are theirs.
package traffic

import (
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// TokenRequest is one request to the token endpoint, whatever its outcome.
type TokenRequest struct {
	Time       time.Time
	GrantType  string
	ClientAuth string // how the client authenticated, in freshtoken's words: "basic", "body", "none" or "private_key_jwt"
	Status     int
	Error      string // the OAuth error code of a refused request
}

// Issued is one successful answer of the token endpoint.
type Issued struct {
	GrantType    string
	AccessToken  string
	RefreshToken string
}

// List is a list that goroutines may add to and read at once. Its zero
// value is empty and ready.
type List[T any] struct {
	mu    sync.Mutex
	items []T
}

// Add appends items.
func (l *List[T]) Add(items ...T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, items...)
}

// All returns a copy of the items, oldest first.
func (l *List[T]) All() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.items)
}

// Log is what a server saw. Its zero value is ready; goroutines may add to
// it and read it at once.
type Log struct {
	secrets        List[string]
	authorizations List[url.Values]
	requests       List[TokenRequest]
	issued         List[Issued]
}

// AddAuthorization records the query of a request to the authorize
// endpoint.
func (l *Log) AddAuthorization(query url.Values) { l.authorizations.Add(query) }

// AddSecrets records secrets the server issued or received; empty values
// are left out.
func (l *Log) AddSecrets(values ...string) {
	for _, v := range values {
		if v != "" {
			l.secrets.Add(v)
		}
	}
}

// AddTokenRequest records a request to the token endpoint and the tokens
// it issued, if it issued any.
func (l *Log) AddTokenRequest(req TokenRequest, issued Issued) {
	if issued.AccessToken != "" {
		l.issued.Add(issued)
	}
	l.requests.Add(req)
}

// Secrets returns every secret the server issued or received.
func (l *Log) Secrets() []string { return l.secrets.All() }

// Authorizations returns the query of every request to the authorize
// endpoint, in order.
func (l *Log) Authorizations() []url.Values { return l.authorizations.All() }

// TokenRequests returns every request the token endpoint received, in order.
func (l *Log) TokenRequests() []TokenRequest { return l.requests.All() }

// TokenRequestsFor counts the token requests of one grant type, successful
// or not.
func (l *Log) TokenRequestsFor(grantType string) int {
	n := 0
	for _, r := range l.TokenRequests() {
		if r.GrantType == grantType {
			n++
		}
	}
	return n
}

// Issued returns every successful token endpoint answer, in order.
func (l *Log) Issued() []Issued { return l.issued.All() }

// LastIssued is the most recent successful token endpoint answer.
func (l *Log) LastIssued(t testing.TB) Issued {
	t.Helper()
	all := l.Issued()
	if len(all) == 0 {
		t.Fatal("the server has issued no tokens")
	}
	return all[len(all)-1]
}

// Summary describes the token endpoint's traffic, for failure messages.
func (l *Log) Summary() string {
	var b []byte
	for i, r := range l.TokenRequests() {
		b = fmt.Appendf(b, "\n  %d %s %s auth=%s status=%d %s", i+1, r.Time.Format("15:04:05.000"), r.GrantType, r.ClientAuth, r.Status, r.Error)
	}
	return string(b)
}
