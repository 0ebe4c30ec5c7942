package configedit_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/corpnet"
	"github.com/freshtoken/freshtoken/internal/testenv"
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
	der, err := x509.MarshalPKCS8PrivateKey(p256)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: corpnet.SelfSigned(t, p256).Raw})
	for f, text := range map[string][]byte{key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), ca: cert, envCA: cert, tok: []byte("at\n")} {
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
		if got := configedit.Overwrites(path, conf); !strings.Contains(got, what) {
			t.Errorf("configedit.Overwrites(%s) = %q, want it to name %s", path, got, what)
		}
	}
	if got := configedit.Overwrites(filepath.Join(dir, "debug.log"), conf); got != "" {
		t.Errorf("a file of its own: Overwrites = %q, want none", got)
	}
}

// TestEditOfAHardLinkedFileIsRefused: init, remove and store migrate edit a
// configuration file by writing a new one in its place, so another name of
// it (a hard link, as some dotfile managers make) went on holding the old
// settings, without a word: a proxy or a script reading that name used
// them. Such a file is refused, saying what to do, and both names are left
// as they were.
func TestEditOfAHardLinkedFileIsRefused(t *testing.T) {
	text := "# mine\n[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n"
	p := testenv.WriteFile(t, "config.toml", text, 0o600)
	other := filepath.Join(t.TempDir(), "dotfiles-config.toml")
	if err := os.Link(p, other); err != nil {
		t.Skipf("no hard link here: %v", err)
	}
	// How a symbolic link is made there (on Windows it said ln -sf).
	linkCommand := "`ln -sf "
	if runtime.GOOS == "windows" {
		linkCommand = "`mklink OTHER-NAME "
	}
	for name, edit := range map[string]func() error{
		"init": func() error {
			_, err := configedit.WriteEnv(p, "b", config.EnvSettings{Provider: "freeagent", ClientID: "y"}, false)
			return err
		},
		"remove":        func() error { _, err := configedit.RemoveEnv(p, "a"); return err },
		"store migrate": func() error { _, err := configedit.SetStoreURL(other, "keyring://"); return err },
	} {
		err := edit()
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "is one of 2 names of one file (hard links)") || !strings.Contains(err.Error(), "nothing was written") ||
			!strings.Contains(err.Error(), linkCommand) {
			t.Errorf("%s: %v; want it refused, saying why and what to do (%s)", name, err, linkCommand)
		}
		for _, path := range []string{p, other} {
			if b, _ := os.ReadFile(path); string(b) != text {
				t.Fatalf("%s: %s became:\n%s", name, path, b)
			}
		}
	}
	if err := os.Remove(other); err != nil {
		t.Fatal(err)
	}
	if _, err := configedit.WriteEnv(p, "b", config.EnvSettings{Provider: "freeagent", ClientID: "y"}, false); err != nil {
		t.Fatalf("WriteEnv once the file has one name: %v", err)
	}
}
