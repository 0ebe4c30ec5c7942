package freshtoken

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/freshtoken/freshtoken/internal/extraparams"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
)

// checkParams checks both tables of extra parameters, and the query of
// the authorization endpoint.
func checkParams(s *Settings) error {
	if own, _ := extraparams.OwnInAuthURL(s.AuthURL); len(own) > 0 {
		return fmt.Errorf("freshtoken: Settings.AuthURL: its query holds %s, which the authorization request adds itself; give the endpoint alone", strings.Join(own, ", "))
	}
	for _, t := range []struct {
		name  string
		check func(string) error
		m     map[string]string
	}{{"AuthParams", extraparams.CheckAuth, s.AuthParams}, {"TokenParams", extraparams.CheckToken, s.TokenParams}} {
		for k := range t.m {
			if err := t.check(k); err != nil {
				return fmt.Errorf("freshtoken: Settings.%s: %w", t.name, err)
			}
		}
	}
	return nil
}

// extraParams are the parameters that Audience, Resources and params add
// to a request.
func extraParams(s *Settings, params map[string]string) url.Values {
	v := url.Values{}
	if s.Audience != "" {
		v.Set("audience", s.Audience)
	}
	for _, r := range s.Resources {
		v.Add("resource", r)
	}
	for k, p := range params {
		v.Set(k, p)
	}
	return v
}

// authURL is base, the authorization endpoint, with the environment's
// audience, resources and AuthParams added to its query, so that every
// authorization request made from it (x/oauth2's AuthCodeURL keeps the
// query) asks for them.
func authURL(s *Settings, base string) (string, error) {
	extra := extraParams(s, s.AuthParams)
	if base == "" || len(extra) == 0 {
		return base, nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("freshtoken: Settings.AuthURL: %w", err)
	}
	q := u.Query()
	for k, v := range extra {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// tokenRequests is the one layer every request to the provider's token
// and revocation endpoints passes through, whatever grant or log-in sends
// it over the Source's TokenClient: each POST to the token endpoint gains
// the environment's audience, resources and TokenParams, and under
// private_key_jwt each POST to it or to another endpoint where the client
// authenticates gains a client assertion of its own. A parameter the request already carries is left as it is.
// Requests to any other URL pass untouched, so the assertion, which names
// the token endpoint, goes nowhere else. The first request after the
// machine slept closes the connections kept from before (see wake.Watch).
// Each POST to the token endpoint goes over a connection of its own (see
// httpx.OneUse): one kept alive since the last, an hour before, may be
// one the provider is closing as the request is written, and a request
// lost so would be told as one the provider may have acted on.
type tokenRequests struct {
	base   http.RoundTripper
	oneUse http.RoundTripper // base over connections used once
	src    *Source
	params url.Values
}

// tokenClient returns c with tokenRequests in front of its transport.
func (s *Source) tokenClient(c *http.Client) (*http.Client, error) {
	t := &tokenRequests{base: c.Transport, oneUse: tokenerr.LenientTransport(httpx.OneUse(s.apiTransport)), src: s, params: extraParams(&s.set, s.set.TokenParams)}
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	for _, e := range []struct{ name, url string }{
		{"TokenURL", s.set.TokenURL}, {"RevocationURL", s.set.RevocationURL}, {"DeviceAuthURL", s.set.DeviceAuthURL},
	} {
		if _, err := url.Parse(e.url); err != nil {
			return nil, fmt.Errorf("freshtoken: Settings.%s: %w", e.name, err)
		}
	}
	tc := *c
	tc.Transport = t
	return &tc, nil
}

func (t *tokenRequests) RoundTrip(req *http.Request) (*http.Response, error) {
	t.src.closeAfterSleep(&t.src.tokenWake, t.src.apiTransport)
	// The endpoints as known now: discovery may fill them after New.
	ep := t.src.knownEndpoints()
	toToken := req.Method == http.MethodPost && sameEndpoint(req.URL, ep.TokenURL)
	// The other endpoints where the client authenticates.
	toOther := req.Method == http.MethodPost && slices.ContainsFunc([]string{ep.RevocationURL, ep.DeviceAuthURL}, func(e string) bool { return e != "" && sameEndpoint(req.URL, e) })
	if !toToken && !toOther {
		return t.base.RoundTrip(req)
	}
	rt := t.base
	if toToken {
		rt = t.oneUse
	}
	add := url.Values{}
	if toToken {
		for k, v := range t.params {
			add[k] = v
		}
	}
	if t.src.set.ClientAuth == ClientAuthPrivateKeyJWT {
		a, err := t.src.clientAssertion(req.Context())
		if err != nil {
			closeBody(req)
			return nil, err
		}
		add.Set("client_assertion_type", assertionType)
		add.Set("client_assertion", a)
	}
	if len(add) == 0 {
		return rt.RoundTrip(req)
	}
	form, err := readForm(req)
	if err != nil {
		return nil, err
	}
	var added []string
	for k, v := range add {
		if !form.Has(k) {
			form[k] = v
			added = append(added, k)
		}
	}
	sort.Strings(added)
	t.src.log.Debug("token request parameters added", "url", redactURL(req.URL), "client_auth", string(t.src.set.ClientAuth), "added", strings.Join(added, ","))
	body := form.Encode()
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(strings.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return rt.RoundTrip(r)
}

// readForm reads and closes req's form body.
func readForm(req *http.Request) (url.Values, error) {
	if req.Body == nil {
		return url.Values{}, nil
	}
	defer req.Body.Close()
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	return url.ParseQuery(string(b))
}

// sameEndpoint reports whether u addresses the endpoint at endpoint: one
// origin however spelled (see httpx.SameOrigin), one path and one query.
func sameEndpoint(u *url.URL, endpoint string) bool {
	e, err := url.Parse(endpoint)
	if err != nil || endpoint == "" {
		return false
	}
	return httpx.SameOrigin(u, e) && u.EscapedPath() == e.EscapedPath() && u.RawQuery == e.RawQuery
}
