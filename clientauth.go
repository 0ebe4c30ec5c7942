package freshtoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// ClientAuth is how the client proves who it is to the token and
// revocation endpoints. It is always chosen, never detected: detection
// retries a refused request another way, spending a rotating refresh token
// twice.
type ClientAuth string

const (
	// ClientAuthBasic sends the client id and secret by HTTP Basic
	// (RFC 6749 §2.3.1).
	ClientAuthBasic ClientAuth = "basic"
	// ClientAuthBody sends them as client_id and client_secret in the form.
	ClientAuthBody ClientAuth = "body"
	// ClientAuthNone is a public client: client_id in the form and no
	// secret at all. The log-in relies on PKCE, which it always uses.
	ClientAuthNone ClientAuth = "none"
	// ClientAuthPrivateKeyJWT signs a fresh, short-lived JWT with the
	// client's private key for every request (RFC 7523, OpenID Connect Core
	// §9 private_key_jwt); no secret is sent.
	ClientAuthPrivateKeyJWT ClientAuth = "private_key_jwt"
)

// ClientAuths lists every ClientAuth, in the order help text shows them.
// Each call returns a new slice, the caller's to change.
func ClientAuths() []ClientAuth {
	return []ClientAuth{ClientAuthBasic, ClientAuthBody, ClientAuthNone, ClientAuthPrivateKeyJWT}
}

// ClientKey is how a client using ClientAuthPrivateKeyJWT signs its
// assertions.
type ClientKey struct {
	// Load returns the private key: an *rsa.PrivateKey of 2048 bits or
	// more, or an *ecdsa.PrivateKey on P-256 or P-384, or a *CertifiedKey
	// holding one with its certificate. It is called when a request first
	// needs the key, and again after the provider has rejected the client
	// (a certificate renewed since is taken up); only a success is kept.
	// Its error is returned as it came, as ClientSecretFunc's is.
	// ctx ends within 30 seconds, as a renewal may wait for the key while
	// holding the renewal lock that every other renewer waits for.
	Load func(ctx context.Context) (crypto.Signer, error)
	// ID is the kid of the assertions' header, by which a provider that
	// holds several keys for the client finds this one; "" sends none.
	ID string
	// Algorithm is RS256 or PS256 for an RSA key, ES256 for P-256, ES384
	// for P-384; "" means RS256, ES256 or ES384 as the key's type says.
	Algorithm string
	// Audience is the assertions' aud; nil means the token endpoint's URL,
	// as OpenID Connect Core §9 advises. Some providers want their issuer.
	Audience []string
}

// MarshalJSON is the key's fields, Load shown as whether it is set: JSON
// has no functions, and slog's JSON handler, marshalling a ClientKey held
// in a struct (Settings), a map or a slice, logged "!ERROR" for it.
func (k ClientKey) MarshalJSON() ([]byte, error) {
	type shown ClientKey
	return json.Marshal(struct {
		shown
		Load bool
	}{shown(k), k.Load != nil})
}

// CertifiedKey is a client's private key with the X.509 certificate
// registered with the provider for it. Assertions signed with it name the
// certificate by its thumbprints in their header, x5t#S256 (SHA-256) and
// x5t (SHA-1): Microsoft Entra ID finds a client's key by them, and
// refuses an assertion without them.
type CertifiedKey struct {
	crypto.Signer
	Certificate *x509.Certificate
}

// MarshalJSON shows the key's type and its certificate's subject and
// SHA-256 thumbprint (x5t#S256), never the private key, which the Signer
// (an *rsa.PrivateKey, an *ecdsa.PrivateKey) marshals whole: slog's JSON
// handler marshals a key a program logs in a struct.
func (c CertifiedKey) MarshalJSON() ([]byte, error) {
	shown := struct {
		Key         string `json:"key"`
		Certificate string `json:"certificate,omitempty"`
		SHA256      string `json:"x5t#S256,omitempty"`
	}{Key: fmt.Sprintf("%T", c.Signer)}
	if c.Certificate != nil {
		shown.Certificate, shown.SHA256 = c.Certificate.Subject.String(), thumbprints(c.Certificate)["x5t#S256"]
	}
	return json.Marshal(shown)
}

// thumbprints are cert's x5t#S256 (SHA-256) and x5t (SHA-1) thumbprints,
// by which assertions signed with its key name it (RFC 7515 §4.1.7, §4.1.8).
func thumbprints(cert *x509.Certificate) map[string]string {
	sha256sum, sha1sum := sha256.Sum256(cert.Raw), sha1.Sum(cert.Raw)
	return map[string]string{
		"x5t#S256": base64.RawURLEncoding.EncodeToString(sha256sum[:]),
		"x5t":      base64.RawURLEncoding.EncodeToString(sha1sum[:]),
	}
}

// assertionType is client_assertion_type for a JWT (RFC 7523 §2.2).
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid. Each request
// signs its own, so it need only outlast one request.
const assertionLifetime = 2 * time.Minute

// checkClientAuth settles s.ClientAuth and the AuthStyle x/oauth2 is to use
// for it. ClientAuth "" takes its value from AuthStyle, as set before
// ClientAuth existed.
func checkClientAuth(s *Settings) error {
	want := oauth2.AuthStyleInParams
	switch s.ClientAuth {
	case "":
		switch s.AuthStyle {
		case oauth2.AuthStyleInHeader:
			s.ClientAuth = ClientAuthBasic
		case oauth2.AuthStyleInParams:
			s.ClientAuth = ClientAuthBody
		default:
			return errors.New("freshtoken: set Settings.ClientAuth (or Settings.AuthStyle to AuthStyleInHeader or AuthStyleInParams); it is never detected")
		}
		return nil
	case ClientAuthBasic:
		want = oauth2.AuthStyleInHeader
	case ClientAuthBody:
	case ClientAuthNone, ClientAuthPrivateKeyJWT:
		if s.ClientSecret != "" || s.ClientSecretFunc != nil {
			return fmt.Errorf("freshtoken: a client using %s sends no client secret; leave Settings.ClientSecret and ClientSecretFunc unset", s.ClientAuth)
		}
	default:
		return fmt.Errorf("freshtoken: Settings.ClientAuth %q is not basic, body, none or private_key_jwt", s.ClientAuth)
	}
	if s.AuthStyle != oauth2.AuthStyleAutoDetect && s.AuthStyle != want {
		return fmt.Errorf("freshtoken: Settings.AuthStyle contradicts Settings.ClientAuth %q; leave AuthStyle unset", s.ClientAuth)
	}
	s.AuthStyle = want
	if (s.ClientAuth == ClientAuthPrivateKeyJWT) != (s.ClientKey != nil && s.ClientKey.Load != nil) {
		return errors.New("freshtoken: Settings.ClientKey (with Load) is needed for private_key_jwt, and only for it")
	}
	return nil
}

// signingKey is a loaded client key and the JWT algorithm it signs with.
type signingKey struct {
	key    crypto.Signer
	method jwt.SigningMethod
	// thumbprints are the x5t#S256 and x5t headers of a CertifiedKey's
	// assertions; nil for a key without a certificate.
	thumbprints map[string]string
}

// clientKey loads the client's private key the first time it is needed.
// Only a success is kept, until the provider rejects the client
// (forgetClientCredentials): a key file fixed after a failure is read again.
// The caller holds s.credMu.
func (s *Source) clientKey(ctx context.Context) (*signingKey, error) {
	if s.key != nil {
		return s.key, nil
	}
	lctx, cancel := context.WithTimeout(ctx, secretTimeout)
	defer cancel()
	key, err := s.set.ClientKey.Load(lctx)
	if err != nil {
		return nil, err
	}
	var named map[string]string
	if ck, ok := key.(*CertifiedKey); ok {
		if ck.Signer == nil || ck.Certificate == nil || !samePublicKey(ck.Public(), ck.Certificate.PublicKey) {
			return nil, fmt.Errorf("%s: the client key's certificate is not the key's own", s.set.Env)
		}
		named = thumbprints(ck.Certificate)
		key = ck.Signer
	}
	method, err := signingMethod(key, s.set.ClientKey.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("%s: the client key cannot sign assertions: %w", s.set.Env, err)
	}
	s.key = &signingKey{key: key, method: method, thumbprints: named}
	return s.key, nil
}

// samePublicKey reports whether a and b are one public key.
func samePublicKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// signingMethod is the JWT algorithm for key: alg if it fits the key, or
// the key's usual one when alg is "".
func signingMethod(key crypto.Signer, alg string) (jwt.SigningMethod, error) {
	var fits []jwt.SigningMethod
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("the RSA key has %d bits; use one of 2048 bits or more", k.N.BitLen())
		}
		fits = []jwt.SigningMethod{jwt.SigningMethodRS256, jwt.SigningMethodPS256}
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			fits = []jwt.SigningMethod{jwt.SigningMethodES256}
		case elliptic.P384():
			fits = []jwt.SigningMethod{jwt.SigningMethodES384}
		default:
			return nil, fmt.Errorf("the EC key is on %s; use P-256 or P-384", k.Curve.Params().Name)
		}
	default:
		return nil, fmt.Errorf("a %T cannot sign here; use an RSA key or an EC key on P-256 or P-384", key)
	}
	if alg == "" {
		return fits[0], nil
	}
	for _, m := range fits {
		if m.Alg() == alg {
			return m, nil
		}
	}
	names := make([]string, len(fits))
	for i, m := range fits {
		names[i] = m.Alg()
	}
	return nil, fmt.Errorf("algorithm %q does not fit this key; use %v", alg, names)
}

// clientAssertion signs a new assertion that the client is itself, for one
// request to the provider: iss and sub the client id, aud the token
// endpoint (or ClientKey.Audience), a random jti and a short life. Every
// log masks it from then on.
func (s *Source) clientAssertion(ctx context.Context) (string, error) {
	s.credMu.Lock()
	k, err := s.clientKey(ctx)
	s.credMu.Unlock()
	if err != nil {
		return "", err
	}
	now := s.now()
	claims := jwt.MapClaims{
		"iss": s.set.ClientID,
		"sub": s.set.ClientID,
		"aud": s.set.TokenURL,
		"jti": httpx.RandomToken(),
		"iat": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
	}
	switch aud := s.set.ClientKey.Audience; len(aud) {
	case 0:
	case 1:
		claims["aud"] = aud[0]
	default:
		claims["aud"] = aud
	}
	t := jwt.NewWithClaims(k.method, claims)
	if s.set.ClientKey.ID != "" {
		t.Header["kid"] = s.set.ClientKey.ID
	}
	for h, v := range k.thumbprints {
		t.Header[h] = v
	}
	a, err := t.SignedString(k.key)
	if err != nil {
		return "", fmt.Errorf("%s: signing the client assertion failed: %w", s.set.Env, err)
	}
	redact.Set("client assertion of "+s.set.Env+" at "+s.set.TokenURL, a)
	return a, nil
}
