package config_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/corpnet"
)

// TestLogFileNamingAFileTheConfigurationNames: a --log-file naming the
// private key (key_file), a ca_file or an environment's token_file, by its
// name or through a link, was taken, and the log appended to it: the key
// or the certificates no longer parsed (every renewal failed until the
// file was mended by hand) and the token file's readers sent the log as
// a token. It is refused, naming the file, as the token store's and the
// configuration file are.
func TestLogFileNamingAFileTheConfigurationNames(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	key, ca, envCA, tok := filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem"), filepath.Join(dir, "env-ca.pem"), filepath.Join(dir, "token")
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: corpnet.SelfSigned(t, p256).Raw})
	for f, text := range map[string][]byte{key: pem.EncodeToMemory(pkcs8(t, p256)), ca: cert, envCA: cert, tok: []byte("at\n")} {
		if err := os.WriteFile(f, text, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(conf, []byte(`ca_file = "`+ca+`"

[env.a]
provider = "generic"
client_id = "x"
api_url = "https://api.example.com/"
auth_url = "https://login.example.com/a"
token_url = "https://login.example.com/t"
client_auth = "private_key_jwt"
key_file = "`+key+`"
ca_file = "`+envCA+`"
token_file = "`+tok+`"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(conf); err != nil {
		t.Fatalf("the configuration does not load: %v", err)
	}
	if err := os.Symlink(key, filepath.Join(dir, "keylink")); err != nil {
		t.Fatal(err)
	}
	for path, what := range map[string]string{
		key:                           "env.a's key_file",
		filepath.Join(dir, "keylink"): "env.a's key_file",
		ca:                            "the ca_file",
		envCA:                         "env.a's ca_file",
		tok:                           "env.a's token_file",
	} {
		if got := config.Overwrites(path, conf); !strings.Contains(got, what) {
			t.Errorf("config.Overwrites(%s) = %q, want it to name %s", path, got, what)
		}
	}
	if got := config.Overwrites(filepath.Join(dir, "debug.log"), conf); got != "" {
		t.Errorf("a file of its own: Overwrites = %q, want none", got)
	}
}
