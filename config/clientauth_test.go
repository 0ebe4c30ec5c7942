package config_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// writeKey writes key to a private file as PEM blocks of the types given
// (each with the same DER, which is what the types' encodings hold), and
// returns its path.
func writeKey(t *testing.T, mode os.FileMode, blocks ...*pem.Block) string {
	t.Helper()
	var text []byte
	for _, b := range blocks {
		text = append(text, pem.EncodeToMemory(b)...)
	}
	return testenv.WriteFile(t, "key.pem", string(text), mode)
}

func pkcs8(t *testing.T, key any) *pem.Block {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

func sec1(t *testing.T, key *ecdsa.PrivateKey) *pem.Block {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
}

// TestReadClientKey: the standard PEM encodings of RSA and EC keys are
// read; anything else, or a file others could read, is refused with one
// line saying what to do.
func TestReadClientKey(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	shortRSA, _ := rsa.GenerateKey(rand.Reader, 1024)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	pub, _ := x509.MarshalPKIXPublicKey(rsaKey.Public())
	rsaCert := &pem.Block{Type: "CERTIFICATE", Bytes: corpnet.SelfSigned(t, rsaKey).Raw}
	p256Cert := &pem.Block{Type: "CERTIFICATE", Bytes: corpnet.SelfSigned(t, p256).Raw}
	for _, tt := range []struct {
		name   string
		mode   os.FileMode
		blocks []*pem.Block
		want   string // in the error; "" reads the key
	}{
		{"RSA, PKCS #1", 0o600, []*pem.Block{{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}}, ""},
		{"RSA, PKCS #8", 0o400, []*pem.Block{pkcs8(t, rsaKey)}, ""},
		{"EC P-256, SEC 1 after its parameters", 0o600, []*pem.Block{{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}, sec1(t, p256)}, ""},
		{"EC P-256, PKCS #8", 0o600, []*pem.Block{pkcs8(t, p256)}, ""},
		{"EC P-384, SEC 1", 0o600, []*pem.Block{sec1(t, p384)}, ""},
		{"readable by others", 0o644, []*pem.Block{pkcs8(t, p256)}, "can be read or changed by group or others (mode 0644), who could sign as your client; run `chmod 600 PATH`"},
		{"readable by the group", 0o640, []*pem.Block{pkcs8(t, p256)}, "(mode 0640)"},
		{"not PEM", 0o600, nil, "holds no PEM private key; it should start with -----BEGIN PRIVATE KEY-----"},
		{"a public key", 0o600, []*pem.Block{{Type: "PUBLIC KEY", Bytes: pub}}, "holds a public key, not a private key; key_file names the private key, whose public half is registered with the provider"},
		{"encrypted", 0o600, []*pem.Block{{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}}, "is encrypted with a passphrase"},
		{"Ed25519", 0o600, []*pem.Block{pkcs8(t, edKey)}, "holds an Ed25519 key"},
		{"EC P-521", 0o600, []*pem.Block{sec1(t, p521)}, "holds an EC key on P-521; use an RSA key (2048 bits or more) or an EC key on P-256 or P-384"},
		{"short RSA", 0o600, []*pem.Block{pkcs8(t, shortRSA)}, "holds an RSA key of 1024 bits"},
		// ssh-keygen's own format, which used to be called "not a private key".
		{"an OpenSSH key", 0o600, []*pem.Block{{Type: "OPENSSH PRIVATE KEY", Bytes: []byte("openssh-key-v1\x00")}}, "holds a private key in OpenSSH's format, which freshtoken cannot read; rewrite it as PEM with `ssh-keygen -p -m PKCS8 -f PATH`"},
		{"corrupt", 0o600, []*pem.Block{{Type: "EC PRIVATE KEY", Bytes: []byte("nonsense")}}, "holds a EC PRIVATE KEY block that cannot be read"},
		// As Microsoft Entra ID's certificate credentials are kept: the
		// key with its certificate, in either order. The certificate was
		// refused as "not a private key", or ignored.
		{"RSA after its certificate", 0o600, []*pem.Block{rsaCert, pkcs8(t, rsaKey)}, ""},
		{"EC P-256 before its certificate", 0o600, []*pem.Block{sec1(t, p256), p256Cert}, ""},
		{"a certificate alone", 0o600, []*pem.Block{rsaCert}, "holds a certificate, not a private key; key_file names the private key (its certificate may stand beside it in the file)"},
		{"another key's certificate", 0o600, []*pem.Block{rsaCert, sec1(t, p256)}, "holds a certificate of another key than its private key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeKey(t, tt.mode, tt.blocks...)
			key, err := config.ReadClientKey(path)
			if tt.want == "" {
				if err != nil || key == nil {
					t.Fatalf("ReadClientKey = %v", err)
				}
				withCert := slices.ContainsFunc(tt.blocks, func(b *pem.Block) bool { return b.Type == "CERTIFICATE" })
				if ck, ok := key.(*freshtoken.CertifiedKey); ok != withCert || ok && !bytes.Equal(ck.Certificate.Raw, tt.blocks[slices.IndexFunc(tt.blocks, func(b *pem.Block) bool { return b.Type == "CERTIFICATE" })].Bytes) {
					t.Fatalf("ReadClientKey = %T; want the key with the file's certificate: %v", key, withCert)
				}
				text, _ := os.ReadFile(path)
				if masked := redact.Scrub(string(text)); strings.Contains(masked, "PRIVATE KEY-----\n") {
					t.Fatalf("the key's text is not masked in logs: %q", masked)
				}
				return
			}
			want := strings.ReplaceAll(tt.want, "PATH", path)
			if err == nil || !strings.HasPrefix(err.Error(), path+" ") || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("ReadClientKey = %v; want one line starting with the path, saying %s", err, want)
			}
		})
	}
	t.Run("the odd key files of real tools", func(t *testing.T) {
		pemOf := func(blocks ...*pem.Block) string {
			var b strings.Builder
			for _, bl := range blocks {
				b.Write(pem.EncodeToMemory(bl))
			}
			return b.String()
		}
		expired := &pem.Block{Type: "CERTIFICATE", Bytes: corpnet.SelfSignedUntil(t, rsaKey, time.Now().Add(-30*24*time.Hour)).Raw}
		for _, tt := range []struct {
			name, text string
			cert       *pem.Block // the certificate read with the key; nil: none
			want       string     // in the error; "" reads the key
		}{
			// Notepad saves with a byte-order mark, which hid the key: "holds
			// a certificate, not a private key", or "holds no PEM private
			// key" of a file that visibly starts with one.
			{"byte-order mark and CRLF", "\ufeff" + strings.ReplaceAll(pemOf(pkcs8(t, rsaKey), rsaCert), "\n", "\r\n"), rsaCert, ""},
			{"byte-order mark, no certificate", "\ufeff" + pemOf(sec1(t, p256)), nil, ""},
			// A certificate renewed for the same key, the old one left in the
			// file: the one still valid is the one the provider knows; the
			// expired one's thumbprint was sent, and every assertion refused.
			{"an expired certificate before its renewal", pemOf(pkcs8(t, rsaKey), expired, rsaCert), rsaCert, ""},
			{"an expired certificate after its renewal", pemOf(rsaCert, expired, pkcs8(t, rsaKey)), rsaCert, ""},
			// Two keys: which one the provider knows, freshtoken cannot tell;
			// the first was used, without a word.
			{"two private keys", pemOf(sec1(t, p256), pkcs8(t, rsaKey), rsaCert), nil, "holds more than one private key; keep in it only the client's, the one registered with the provider"},
			// Text beginning with 0 is not DER.
			{"text starting with 0", "0123456789abcdef\n", nil, "holds no PEM private key"},
			// A .pfx as Azure Key Vault's secret holds it: base64, no PEM
			// lines. It was said only to hold no PEM private key.
			{"base64 of a .pfx", base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(rsaKey)) + "\n", nil,
				"holds base64 of binary DER, not PEM (a .pfx as Azure Key Vault gives it): decode it with `base64 -d FILE > app.pfx`, then convert it with `openssl pkcs12 -in app.pfx -nodes -out key.pem`"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				key, err := config.ReadClientKey(testenv.WriteFile(t, "key.pem", tt.text, 0o600))
				switch ck, ok := key.(*freshtoken.CertifiedKey); {
				case tt.want != "":
					if err == nil || !strings.Contains(err.Error(), tt.want) {
						t.Fatalf("ReadClientKey = %v; want it to say %s", err, tt.want)
					}
				case err != nil:
					t.Fatalf("ReadClientKey = %v", err)
				case ok != (tt.cert != nil) || ok && !bytes.Equal(ck.Certificate.Raw, tt.cert.Bytes):
					t.Fatalf("ReadClientKey = %T; want the key with the certificate still valid (%v)", key, tt.cert != nil)
				}
			})
		}
	})
	t.Run("binary DER or PKCS #12", func(t *testing.T) {
		// Azure exports certificate credentials as .pfx; it was said to
		// hold no PEM private key, and not how to get one.
		path := filepath.Join(t.TempDir(), "app.pfx")
		if err := os.WriteFile(path, x509.MarshalPKCS1PrivateKey(rsaKey), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := config.ReadClientKey(path)
		if err == nil || !strings.Contains(err.Error(), "holds binary DER, not PEM: convert a .pfx or .p12 file with `openssl pkcs12") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("err = %v; want one line saying how to convert it to PEM", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := config.ReadClientKey(filepath.Join(t.TempDir(), "nowhere.pem"))
		if err == nil || !strings.Contains(err.Error(), "nowhere.pem does not exist; write the client's private key there (PEM), or correct key_file") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a folder", func(t *testing.T) {
		_, err := config.ReadClientKey(t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "is not a regular file") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("another user's", func(t *testing.T) {
		testenv.NeedRoot(t, "giving a file to another user")
		path := writeKey(t, 0o600, pkcs8(t, p256))
		if err := os.Chown(path, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		_, err := config.ReadClientKey(path)
		if err == nil || !strings.Contains(err.Error(), "belongs to uid 12345, not to you (uid 0), so it may not be yours to sign with") {
			t.Fatalf("err = %v", err)
		}
	})
}

// appEndpoints are the keys of an environment of no preset: its API,
// its provider's endpoints, its client.
const appEndpoints = `api_url = "https://api.example.com/"
auth_url = "https://login.example.com/authorize"
token_url = "https://login.example.com/token"
client_id = "app"`

// TestClientAuthAndExtras: what the keys say reaches the engine's settings.
func TestClientAuthAndExtras(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyFile := writeKey(t, 0o600, sec1(t, p256))
	p := write(t, `
[env.public]
`+appEndpoints+`
client_auth = "none"
audience = "https://api.example.com"
resource = "https://api.example.com/"
auth_params = { prompt = "consent", max_age = 300 }

[env.public.token_params]
access_type = "offline"

[env.signed]
`+appEndpoints+`
client_auth = "private_key_jwt"
key_file = "`+keyFile+`"
key_id = "k1"
assertion_audience = ["https://login.example.com", "https://login.example.com/token"]
resource = ["https://a.example.com/", "https://b.example.com/"]
`)
	f, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	pub := f.Envs["public"].Settings()
	if pub.ClientAuth != freshtoken.ClientAuthNone || pub.ClientSecretFunc != nil || pub.ClientKey != nil ||
		pub.Audience != "https://api.example.com" || !slices.Equal(pub.Resources, []string{"https://api.example.com/"}) ||
		pub.AuthParams["prompt"] != "consent" || pub.AuthParams["max_age"] != "300" || pub.TokenParams["access_type"] != "offline" {
		t.Fatalf("public: %+v", pub)
	}
	signed := f.Envs["signed"].Settings()
	if signed.ClientAuth != freshtoken.ClientAuthPrivateKeyJWT || signed.ClientSecretFunc != nil || signed.ClientKey.ID != "k1" ||
		!slices.Equal(signed.ClientKey.Audience, []string{"https://login.example.com", "https://login.example.com/token"}) ||
		!slices.Equal(signed.Resources, []string{"https://a.example.com/", "https://b.example.com/"}) {
		t.Fatalf("signed: %+v", signed)
	}
	key, err := signed.ClientKey.Load(context.Background())
	if err != nil || !key.Public().(*ecdsa.PublicKey).Equal(p256.Public()) {
		t.Fatalf("the key loaded is not the one in key_file: %v", err)
	}
	for _, name := range []string{"public", "signed"} {
		if _, err := config.Open(context.Background(), config.OpenOptions{Path: p, Env: name}); err != nil {
			t.Fatalf("Open %s: %v", name, err)
		}
	}
	os.Chmod(keyFile, 0o644)
	if _, err := signed.ClientKey.Load(context.Background()); !errors.Is(err, config.ErrInvalid) || !strings.HasPrefix(err.Error(), "environment signed: key_file "+keyFile+" can be read") {
		t.Fatalf("a loose key file: %v; want a configuration error naming the environment and the file", err)
	}
}

// TestClientAuthMistakes: each mistake is reported at its line, naming the
// key and what to do.
func TestClientAuthMistakes(t *testing.T) {
	const head = "[env.x]\nprovider = \"freeagent\"\nclient_id = \"id\"\n"
	for _, tt := range []struct {
		body string
		want string // after "PATH:"
	}{
		{`client_auth = "jwt"`, `4: env.x.client_auth: "jwt" is not "basic", "body", "none" or "private_key_jwt"`},
		{"client_auth = \"none\"\nclient_secret_env = \"S\"", `5: env.x.client_secret_env: a client with client_auth = "none" sends no client secret; remove client_secret_env`},
		{"client_auth = \"none\"\nclient_secret_keyring = true", `5: env.x.client_secret_keyring: a client with client_auth = "none" sends no client secret; remove client_secret_keyring`},
		{`client_auth = "private_key_jwt"`, `1: env.x.key_file: missing; client_auth = "private_key_jwt" signs with the private key in this PEM file`},
		{"client_auth = \"private_key_jwt\"\nkey_file = \"key.pem\"", `5: env.x.key_file: "key.pem" is not an absolute path`},
		{"client_auth = \"private_key_jwt\"\nkey_file = \"/k.pem\"\nkey_alg = \"HS256\"", `6: env.x.key_alg: "HS256" is not one of RS256, PS256, ES256, ES384`},
		{`key_id = "k1"`, `4: env.x.key_id: is only for client_auth = "private_key_jwt"`},
		{`resource = "api"`, `4: env.x.resource: "api" is not an absolute URI without a fragment (RFC 8707)`},
		{`auth_params = { prompt = "consent", state = "x" }`, `4: env.x.auth_params.state: freshtoken sets "state" itself; remove it from the table`},
		{`auth_params = { response_mode = "form_post" }`, `4: env.x.auth_params.response_mode: freshtoken sets "response_mode" itself; remove it from the table`},
		{`auth_params = { scope = "read" }`, `4: env.x.auth_params.scope: "scope" has a key of its own; set scopes instead`},
		{"[env.x.token_params]\naccess_type = \"offline\"\ngrant_type = \"password\"", `6: env.x.token_params.grant_type: freshtoken sets "grant_type" itself`},
		{"[env.x.token_params]\naudience = \"a\"", `5: env.x.token_params.audience: "audience" has a key of its own; set audience instead`},
		{`auth_params = { n = [1] }`, `4: env.x.auth_params: `},
		// A whole log-in URL copied from a browser or Postman: the provider
		// would take its redirect_uri and stale state, not freshtoken's.
		{"[env.y]\napi_url = \"https://api.example.com/\"\nauth_url = \"https://login.example.com/authorize?client_id=id&response_type=code&redirect_uri=https%3A%2F%2Foauth.pstmn.io%2Fv1%2Fcallback&state=3f9a1c&client_secret=hunter2&p=B2C_1_signin\"\ntoken_url = \"https://login.example.com/token\"\nclient_id = \"id\"",
			`6: env.y.auth_url: its query holds client_id, client_secret, redirect_uri, response_type, state, the parameters of one log-in (copied from a browser?), which freshtoken adds itself; write the authorization endpoint alone, such as "https://login.example.com/authorize?p=B2C_1_signin"`},
		{`resource = 3`, `4: env.x.resource: `},
	} {
		p := write(t, head+tt.body+"\n")
		_, err := config.Load(p)
		if !errors.Is(err, config.ErrInvalid) || !strings.HasPrefix(err.Error(), p+":"+tt.want) {
			t.Errorf("%s\nLoad = %v\nwant %s:%s", tt.body, err, p, tt.want)
		}
	}
}

// TestClientAuthsAndKeyAlgsAreTheCallers: the values client_auth and
// key_alg take were slices exported as variables, which the configuration
// checked keys against: a program that changed one (a name for its own
// help text) changed which configuration files load, for every loader in
// the process. Each call now gives a slice of the caller's own.
func TestClientAuthsAndKeyAlgsAreTheCallers(t *testing.T) {
	freshtoken.ClientAuths()[0] = "password"
	config.KeyAlgs()[2] = "none"
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := load(t, `
[env.basic]
`+appEndpoints+`
client_secret = "s"
client_auth = "basic"

[env.signed]
`+appEndpoints+`
client_auth = "private_key_jwt"
key_file = "`+writeKey(t, 0o600, sec1(t, p256))+`"
key_alg = "ES256"
`)
	if f.Envs["basic"].ClientAuth != "basic" || f.Envs["signed"].KeyAlg != "ES256" {
		t.Errorf("client_auth %q, key_alg %q; want basic and ES256, whatever a caller did with the slices it was given", f.Envs["basic"].ClientAuth, f.Envs["signed"].KeyAlg)
	}
	if auths, algs := freshtoken.ClientAuths(), config.KeyAlgs(); auths[0] != freshtoken.ClientAuthBasic || algs[2] != "ES256" {
		t.Errorf("ClientAuths %v, KeyAlgs %v after a caller changed its own; want basic first and ES256 among them", auths, algs)
	}
}
