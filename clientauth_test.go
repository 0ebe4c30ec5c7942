package freshtoken_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// TestExtraParamsReachEveryRequest: audience, resources and auth_params go
// on the authorization request; audience, resources and token_params on
// the code exchange, every refresh, and nowhere else; the revocation
// request gets none of them. They are the values given to New, whatever
// the caller does with its maps and slices afterwards.
func TestExtraParamsReachEveryRequest(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.settings.RevocationURL = r.url + "/v2/revoke"
	r.settings.Audience = "https://api.example.com"
	r.settings.Resources = []string{"https://api.example.com/a", "https://api.example.com/b"}
	r.settings.AuthParams = map[string]string{"prompt": "consent"}
	r.settings.TokenParams = map[string]string{"access_type": "offline"}
	common := url.Values{"audience": {r.settings.Audience}, "resource": slices.Clone(r.settings.Resources)}
	src := r.source()
	// The Source keeps copies of its maps and slices: a program reusing
	// them for its next Source (another tenant) changes nothing here.
	r.settings.Resources[0] = "https://other.example.com/"
	r.settings.AuthParams["prompt"] = "none"
	r.settings.TokenParams["access_type"] = "online"
	r.wholeGrant(src, 2)
	var grants []string
	for _, rcv := range r.provider.Received() {
		want := url.Values{}
		switch rcv.Endpoint {
		case "authorize":
			want = with(common, "prompt", "consent")
			if rcv.Params.Has("access_type") {
				t.Errorf("the authorization request carries a token parameter: %v", rcv.Params)
			}
		case "token":
			grants = append(grants, rcv.Params.Get("grant_type"))
			want = with(common, "access_type", "offline")
			if rcv.Params.Has("prompt") {
				t.Errorf("a token request carries an authorization parameter: %v", rcv.Params)
			}
		case "revoke":
			if rcv.Params.Has("audience") || rcv.Params.Has("access_type") {
				t.Errorf("the revocation request carries token parameters: %v", rcv.Params)
			}
		}
		for k, v := range want {
			if !slices.Equal(rcv.Params[k], v) {
				t.Errorf("%s request: %s = %q, want %q", rcv.Endpoint, k, rcv.Params[k], v)
			}
		}
	}
	if !slices.Equal(grants, []string{"authorization_code", "refresh_token", "refresh_token"}) {
		t.Fatalf("token requests %v; want the exchange and two refreshes", grants)
	}
}

func with(v url.Values, k, val string) url.Values {
	c := url.Values{k: {val}}
	for k, vs := range v {
		c[k] = vs
	}
	return c
}

func TestOwnParamsAreRefused(t *testing.T) {
	for _, tt := range []struct {
		auth, token map[string]string
		authURL     string
		want        string
	}{
		{authURL: "https://login.example.com/authorize?redirect_uri=https%3A%2F%2Fevil.example%2F&state=x&prompt=login", want: `Settings.AuthURL: its query holds redirect_uri, state, which the authorization request adds itself`},
		{auth: map[string]string{"state": "x"}, want: `AuthParams: freshtoken sets "state" itself`},
		{auth: map[string]string{"redirect_uri": "x"}, want: `AuthParams: freshtoken sets "redirect_uri" itself`},
		// The callback reads the code from the query: form_post or fragment
		// left the log-in waiting for a code that never came.
		{auth: map[string]string{"response_mode": "form_post"}, want: `AuthParams: freshtoken sets "response_mode" itself`},
		{auth: map[string]string{"scope": "x"}, want: `AuthParams: "scope" has a setting of its own (Scopes)`},
		{auth: map[string]string{"client_secret": "x"}, want: `AuthParams: "client_secret" is a credential, which never goes in the authorization URL`},
		{auth: map[string]string{"client_assertion": "x"}, want: `AuthParams: "client_assertion" is a credential, which never goes in the authorization URL`},
		{token: map[string]string{"grant_type": "x"}, want: `TokenParams: freshtoken sets "grant_type" itself`},
		{token: map[string]string{"client_assertion": "x"}, want: `TokenParams: freshtoken sets "client_assertion" itself`},
		{token: map[string]string{"resource": "x"}, want: `TokenParams: "resource" has a setting of its own (Resources)`},
	} {
		r := newRig(t, devprovider.Options{})
		r.settings.AuthParams, r.settings.TokenParams = tt.auth, tt.token
		if tt.authURL != "" {
			r.settings.AuthURL = tt.authURL
		}
		_, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New = %v, want an error saying %s", err, tt.want)
		}
	}
}

// TestPublicClient: client_auth none sends client_id and no secret, to the
// token endpoint and the revocation endpoint alike; the log-in uses PKCE.
func TestPublicClient(t *testing.T) {
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, AuthStyle: "none", RequirePKCE: true})
	r.settings.ClientAuth, r.settings.AuthStyle, r.settings.ClientSecret = freshtoken.ClientAuthNone, 0, ""
	r.settings.RevocationURL = r.url + "/v2/revoke"
	r.wholeGrant(r.source(), 1)
	if st := r.provider.Stats(); st.Exchanges != 1 || st.Refreshes != 1 || st.Revocations != 2 {
		t.Fatalf("stats %+v; want an exchange, a refresh and two revocations, all accepted", st)
	}
	for _, rcv := range r.provider.Received() {
		if rcv.Endpoint != "authorize" && rcv.Params.Get("client_id") != "dev-client-id" {
			t.Errorf("%s request without the client_id: %v", rcv.Endpoint, rcv.Params)
		}
	}
	r.settings.ClientSecret = "dev-client-secret"
	if _, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store}); err == nil || !strings.Contains(err.Error(), "sends no client secret") {
		t.Fatalf("New with a secret for a public client = %v; want it refused", err)
	}
}

// keyPair is a client key and the public half the provider registers.
type keyPair struct {
	name, alg string
	key       crypto.Signer
}

func clientKeys(t *testing.T) []keyPair {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	return []keyPair{{"RSA", "", rsaKey}, {"RSA-PSS", "PS256", rsaKey}, {"EC P-256", "", p256}, {"EC P-384", "", p384}}
}

// privateKeyJWT sets r's settings to private_key_jwt with key, as key-1.
func privateKeyJWT(r *rig, key crypto.Signer, alg string) {
	r.settings.ClientAuth, r.settings.AuthStyle, r.settings.ClientSecret = freshtoken.ClientAuthPrivateKeyJWT, 0, ""
	r.settings.ClientKey = &freshtoken.ClientKey{
		Load:      func(context.Context) (crypto.Signer, error) { return key, nil },
		ID:        "key-1",
		Algorithm: alg,
	}
	r.settings.RevocationURL = r.url + "/v2/revoke"
}

// TestPrivateKeyJWT: every token request (the exchange, each refresh) and
// each revocation carries an assertion of its own, signed with the
// client's key, that the provider verifies; no secret is sent.
func TestPrivateKeyJWT(t *testing.T) {
	for _, k := range clientKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{AccessTTL: time.Hour, AuthStyle: "private_key_jwt", ClientPublicKey: k.key.Public(), ClientKeyID: "key-1"})
			privateKeyJWT(r, k.key, k.alg)
			var logs bytes.Buffer
			src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
				Logger: slog.New(redact.NewHandler(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))})
			if err != nil {
				t.Fatal(err)
			}
			r.wholeGrant(src, 2) // the provider refuses an assertion it has seen: each must be new
			if st := r.provider.Stats(); st.ClientAssertions != 5 || st.Refreshes != 2 || st.Revocations != 2 {
				t.Fatalf("stats %+v; want 5 assertions accepted: the exchange, two refreshes, two revocations", st)
			}
			for _, s := range r.provider.Secrets() {
				if strings.Contains(logs.String(), s) {
					t.Fatalf("the debug log holds a secret the provider saw (%.10s…):\n%s", s, logs.String())
				}
			}
			if !strings.Contains(logs.String(), "client_auth=private_key_jwt") {
				t.Fatalf("the debug log does not say how the client authenticates:\n%s", logs.String())
			}
		})
	}
}

// TestKeyLoaderIsBounded: the client key's loader is given a context with
// a deadline, also when a renewal loads the key under the renewal lock
// with no deadline of its caller's: a loader that never answered (a key
// service down) held the lock, and every renewer of every process, for ever.
func TestKeyLoaderIsBounded(t *testing.T) {
	k := clientKeys(t)[0]
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, AuthStyle: "private_key_jwt", ClientPublicKey: k.key.Public(), ClientKeyID: "key-1"})
	privateKeyJWT(r, k.key, k.alg)
	var loads, unbounded atomic.Int32
	r.settings.ClientKey.Load = func(ctx context.Context) (crypto.Signer, error) {
		loads.Add(1)
		if _, ok := ctx.Deadline(); !ok {
			unbounded.Add(1)
		}
		return k.key, nil
	}
	r.login(r.source())
	r.clock.Advance(time.Hour)
	if _, err := r.source().Token(); err != nil { // a new process: the renewal loads the key
		t.Fatal(err)
	}
	if loads.Load() < 2 || unbounded.Load() != 0 {
		t.Fatalf("%d of %d loads had no deadline; want every one bounded", unbounded.Load(), loads.Load())
	}
}

// TestPrivateKeyJWTWithACertificate: a provider that knows the client's
// key by its certificate, as Microsoft Entra ID does, takes the assertions
// of a key given with that certificate, which name it (x5t#S256, x5t), and
// refuses those of the key alone, which every request was.
func TestPrivateKeyJWTWithACertificate(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert := corpnet.SelfSigned(t, key)
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, AuthStyle: "private_key_jwt", ClientPublicKey: key.Public(), ClientCertificate: cert})
	privateKeyJWT(r, key, "")
	if _, err := r.source().OAuth2Config(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if err := r.source().SaveLogin(context.Background(), &oauth2.Token{AccessToken: "a", RefreshToken: "unknown-refresh-token"}, r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.source().Renew(context.Background()); !errors.Is(err, freshtoken.ErrClientRejected) {
		t.Fatalf("the key alone: err = %v; want the client rejected, its certificate unnamed", err)
	}
	privateKeyJWT(r, &freshtoken.CertifiedKey{Signer: key, Certificate: cert}, "")
	r.wholeGrant(r.source(), 2)
	if st := r.provider.Stats(); st.ClientAssertions != 5 {
		t.Fatalf("stats %+v; want 5 assertions accepted: the exchange, two refreshes, two revocations", st)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, ck := range []*freshtoken.CertifiedKey{{Signer: other, Certificate: cert}, {Certificate: cert}, {Signer: key}} {
		privateKeyJWT(r, ck, "")
		if _, err := r.source().OAuth2Config(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "certificate is not the key's own") {
			t.Fatalf("%+v: err = %v; want it refused before anything is sent", ck, err)
		}
	}
}

// TestPrivateKeyJWTRefusals: a key the provider does not know is a
// rejected client, tried once; a key that cannot be loaded, or does not fit
// the algorithm asked for, is reported before any request is sent.
func TestPrivateKeyJWTRefusals(t *testing.T) {
	keys := clientKeys(t)
	t.Run("another key", func(t *testing.T) {
		r := newRig(t, devprovider.Options{AccessTTL: time.Hour, AuthStyle: "private_key_jwt", ClientPublicKey: keys[2].key.Public()})
		privateKeyJWT(r, keys[2].key, "")
		r.loggedInSource()
		privateKeyJWT(r, keys[3].key, "")
		_, err := r.source().Renew(context.Background())
		if !errors.Is(err, freshtoken.ErrClientRejected) {
			t.Fatalf("err = %v, want ErrClientRejected", err)
		}
		if n := r.provider.Stats().TokenRequests; n != 2 {
			t.Fatalf("token requests = %d; want the exchange and one refresh try", n)
		}
	})
	for _, tt := range []struct {
		name string
		load func(context.Context) (crypto.Signer, error)
		alg  string
		want string
	}{
		{"unloadable", func(context.Context) (crypto.Signer, error) { return nil, errors.New("key.pem: no such file") }, "", "no such file"},
		{"wrong algorithm", func(context.Context) (crypto.Signer, error) { return keys[2].key, nil }, "RS256", `algorithm "RS256" does not fit this key; use [ES256]`},
		{"short RSA key", func(context.Context) (crypto.Signer, error) {
			k, err := rsa.GenerateKey(rand.Reader, 1024)
			return k, err
		}, "", "1024 bits"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, devprovider.Options{AuthStyle: "private_key_jwt", ClientPublicKey: keys[2].key.Public()})
			privateKeyJWT(r, nil, tt.alg)
			r.settings.ClientKey.Load = tt.load
			_, err := r.source().OAuth2Config(context.Background(), "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %s", err, tt.want)
			}
			if n := r.provider.Stats().TokenRequests; n != 0 {
				t.Fatalf("%d token requests sent with a key that cannot sign", n)
			}
		})
	}
}

// TestRotatedClientCredentialsAreReadAgain: once the provider has rejected
// the client, the next request reads its key or secret again, so that a
// long-running process (the proxy, a service) takes up a certificate
// renewed in the key file or a secret rotated in the keychain: it kept
// sending the rejected one, every renewal refused, until it restarted.
func TestRotatedClientCredentialsAreReadAgain(t *testing.T) {
	ctx := context.Background()
	t.Run("certificate renewed in the key file", func(t *testing.T) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		old, renewed := corpnet.SelfSigned(t, key), corpnet.SelfSigned(t, key)
		r := newRig(t, devprovider.Options{AccessTTL: time.Hour, AuthStyle: "private_key_jwt", ClientPublicKey: key.Public(), ClientCertificate: renewed})
		privateKeyJWT(r, &freshtoken.CertifiedKey{Signer: key, Certificate: renewed}, "")
		r.login(r.source())
		inFile := &freshtoken.CertifiedKey{Signer: key, Certificate: old} // not yet updated
		r.settings.ClientKey.Load = func(context.Context) (crypto.Signer, error) { return inFile, nil }
		src := r.source()
		if _, err := src.Renew(ctx); !errors.Is(err, freshtoken.ErrClientRejected) {
			t.Fatalf("with the old certificate: %v; want the client rejected", err)
		}
		inFile = &freshtoken.CertifiedKey{Signer: key, Certificate: renewed}
		if _, err := src.Renew(ctx); err != nil {
			t.Fatalf("once the key file holds the renewed certificate: %v", err)
		}
	})
	t.Run("secret rotated", func(t *testing.T) {
		r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
		r.login(r.source())
		secret := "the-old-secret"
		r.settings.ClientSecret, r.settings.ClientSecretFunc = "", func(context.Context) (string, error) { return secret, nil }
		src := r.source()
		if _, err := src.Renew(ctx); !errors.Is(err, freshtoken.ErrClientRejected) {
			t.Fatalf("with the old secret: %v; want the client rejected", err)
		}
		secret = "dev-client-secret"
		if _, err := src.Renew(ctx); err != nil {
			t.Fatalf("once the secret is the new one: %v", err)
		}
	})
	// A log-in (the proxy's page) reads them afresh too: one whose code
	// exchange was the first to be rejected sent the old secret again.
	t.Run("secret rotated before a log-in", func(t *testing.T) {
		r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
		secret := "the-old-secret"
		r.settings.ClientSecret, r.settings.ClientSecretFunc = "", func(context.Context) (string, error) { return secret, nil }
		src := r.source()
		if conf, err := src.OAuth2Config(ctx, "http://127.0.0.1:1/callback"); err != nil || conf.ClientSecret != secret {
			t.Fatalf("OAuth2Config: %v, %v", conf, err)
		}
		secret = "dev-client-secret"
		r.login(src)
	})
}

// TestProviderEchoingAnAssertionDoesNotLeakIt: a token endpoint that quotes
// the client assertion in its error, raw or form-encoded, must not put it
// into the error message or the log.
func TestProviderEchoingAnAssertionDoesNotLeakIt(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, AuthStyle: "private_key_jwt", ClientPublicKey: key.Public()})
	privateKeyJWT(r, key, "")
	r.login(r.source())
	var echoed []string
	echoing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		form, _ := url.ParseQuery(string(body))
		echoed = append(echoed, form.Get("client_assertion"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": "bad assertion " + form.Get("client_assertion") + " in " + string(body)})
	}))
	defer echoing.Close()
	r.moveTokenEndpoint(echoing.URL)
	var logs bytes.Buffer
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: r.store, Clock: r.clock.Now,
		Logger: slog.New(redact.NewHandler(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Renew(context.Background())
	if err == nil || !strings.Contains(err.Error(), "invalid_request") {
		t.Fatalf("err = %v; want invalid_request", err)
	}
	if len(echoed) != 1 || echoed[0] == "" {
		t.Fatalf("the endpoint saw assertions %q; want one", echoed)
	}
	// Messages are clipped, so even a part of it must not show.
	if out := err.Error() + logs.String(); strings.Contains(out, echoed[0][:60]) {
		t.Fatalf("the assertion leaked:\n%s", out)
	}
}

// TestCredentialErrorsAreReturnedAsTheyCame: the error of a program's
// ClientSecretFunc, or of its ClientKey.Load, reaches the caller of Token and
// of a Client's request as it came (errors.Is finds it), nothing sent, and
// the next token request calls the function again, as docs/library.md says.
func TestCredentialErrorsAreReturnedAsTheyCame(t *testing.T) {
	sealed := errors.New("the vault is sealed")
	for _, c := range []struct {
		name  string
		using func(r *rig, calls *atomic.Int32)
	}{
		{"ClientSecretFunc", func(r *rig, calls *atomic.Int32) {
			r.settings.ClientSecret = ""
			r.settings.ClientSecretFunc = func(context.Context) (string, error) { calls.Add(1); return "", sealed }
		}},
		{"ClientKey.Load", func(r *rig, calls *atomic.Int32) {
			r.settings.ClientAuth, r.settings.AuthStyle, r.settings.ClientSecret = freshtoken.ClientAuthPrivateKeyJWT, 0, ""
			r.settings.ClientKey = &freshtoken.ClientKey{Load: func(context.Context) (crypto.Signer, error) { calls.Add(1); return nil, sealed }}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := loggedIn(t)
			var calls atomic.Int32
			c.using(r, &calls)
			src := r.source()
			r.clock.Advance(time.Hour)
			sent := r.provider.Stats().TokenRequests
			if _, err := src.Token(); !errors.Is(err, sealed) {
				t.Fatalf("Token: %v; want the function's own error", err)
			}
			if _, err := src.Client().Get(src.APIURL() + "v2/company"); !errors.Is(err, sealed) {
				t.Fatalf("a Client's request: %v; want the function's own error", err)
			}
			if n := r.provider.Stats().TokenRequests; n != sent || calls.Load() != 2 {
				t.Fatalf("%d token requests sent, the function called %d times; want none sent, and a call for each", n-sent, calls.Load())
			}
		})
	}
}

// TestClientSecretWithWhiteSpaceIsRefused: a client secret with white space
// around it (read with its line ending from a file, as os.ReadFile gives
// it) is refused before anything is sent: by New, and, from a program's
// ClientSecretFunc, by the token request that fetched it, neither showing
// it. It was sent as it was, and the provider's refusal said the client was
// rejected, while the secret looked right. One that a program's function
// gives trimmed afterwards is used.
func TestClientSecretWithWhiteSpaceIsRefused(t *testing.T) {
	r, _ := loggedIn(t)
	set := r.settings
	set.ClientSecret = "dev-client-secret\n"
	if _, err := freshtoken.New(set, freshtoken.Options{Store: r.store}); err == nil || !strings.Contains(err.Error(), "Settings.ClientSecret has white space around it") || strings.Contains(err.Error(), "dev-client-secret") {
		t.Fatalf("New: %v; want an error saying the secret has white space around it, without the secret", err)
	}
	read := "  dev-client-secret\r\n"
	r.settings.ClientSecret = ""
	r.settings.ClientSecretFunc = func(context.Context) (string, error) { return read, nil }
	src := r.source()
	r.clock.Advance(time.Hour)
	sent := r.provider.Stats().TokenRequests
	_, err := src.Token()
	if err == nil || !strings.Contains(err.Error(), "white space around it") || strings.Contains(err.Error(), "dev-client-secret") {
		t.Fatalf("Token: %v; want an error saying the secret has white space around it, without the secret", err)
	}
	if n := r.provider.Stats().TokenRequests; n != sent {
		t.Fatalf("%d token requests sent with the secret; want none", n-sent)
	}
	read = "dev-client-secret"
	if _, err := src.Token(); err != nil {
		t.Fatalf("Token once the function trims the secret: %v", err)
	}
}

// TestClientSecretWithWhiteSpaceIsTheClientsToFix: the refusal of a client
// secret with white space around it from a program's ClientSecretFunc is an
// *Error of kind ErrClientRejected, as the provider's refusal of it was
// before it was refused unsent, and as docs/library.md files a wrong secret:
// by Token, and by Revoke, so that a program that keeps the tokens when a
// revocation fails for the client (as `freshtoken logout` does) keeps them,
// the grant alive at the provider. It matched no sentinel, and such a
// program forgot the only tokens that could end the grant.
func TestClientSecretWithWhiteSpaceIsTheClientsToFix(t *testing.T) {
	r, _ := loggedIn(t)
	r.settings.ClientSecret = ""
	r.settings.ClientSecretFunc = func(context.Context) (string, error) { return "dev-client-secret\n", nil }
	r.settings.RevocationURL = r.url + "/v2/revoke"
	src := r.source()
	if err := src.Revoke(t.Context()); !errors.Is(err, freshtoken.ErrClientRejected) {
		t.Errorf("Revoke: %v; want an error of kind ErrClientRejected", err)
	}
	r.clock.Advance(time.Hour)
	_, err := src.Token()
	var fe *freshtoken.Error
	if !errors.As(err, &fe) || fe.Kind != freshtoken.ErrClientRejected || fe.Env != "sandbox" || strings.Contains(err.Error(), "dev-client-secret") {
		t.Errorf("Token: %v; want an *Error of kind ErrClientRejected, without the secret", err)
	}
	if st := r.provider.Stats(); st.Revocations != 0 {
		t.Errorf("%d revocation requests sent; want none", st.Revocations)
	}
}
