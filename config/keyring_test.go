package config_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

func TestKeyringStoreURLs(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	for url, want := range map[string]string{
		"keyring://":                     `service "freshtoken"`,
		"keyring:":                       `service "freshtoken"`,
		"KEYRING://":                     `service "freshtoken"`,
		"keyring://?service=freshtoken2": `service "freshtoken2"`,
	} {
		s, err := config.OpenStore(url)
		if err != nil {
			t.Errorf("%s: %v", url, err)
			continue
		}
		if loc := s.Location("dev"); !strings.Contains(loc, want) {
			t.Errorf("%s: Location %q, want %s", url, loc, want)
		}
	}
	for url, want := range map[string]string{
		"keyring://host":            "not a keychain URL",
		"keyring:///path":           "not a keychain URL",
		"keyring://?service=":       "needs a name",
		"keyring://?collection=x":   "takes one option, service",
		"keyring://user:pw@/":       "not a keychain URL",
		"keyring://?service=x#frag": "not a keychain URL",
		// A % not beginning an escape: the URL was called "the URL", in
		// quotes, and one in the query dropped the service, for the
		// default's tokens to be mixed with these.
		"keyring://%zz":              "not a valid URL (a % in it must begin an escape such as %25, which stands for % itself); write keyring://",
		"keyring://?service=work%zz": "not a valid URL (a % in it must begin an escape such as %25, which stands for % itself); write keyring://",
	} {
		err := config.CheckStoreURL(url)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), `"the URL"`) {
			t.Errorf("%s: %v, want an error saying %q", url, err, want)
		}
	}
}

func TestClientSecretKeyring(t *testing.T) {
	base := "[env.a]\nprovider = \"freeagent\"\nclient_id = \"client-1\"\nclient_secret_keyring = true\n"
	_, err := config.Load(write(t, base+"client_secret_env = \"E\"\n"))
	if err == nil || !strings.Contains(err.Error(), "set only one of client_secret, client_secret_env, client_secret_cmd and client_secret_keyring") {
		t.Fatalf("two sources: %v", err)
	}
	keyringtest.Start(t)
	f := load(t, base)
	e := f.Envs["a"]
	if _, err := e.ClientSecretValue(context.Background()); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "--client-secret-keyring") {
		t.Fatalf("no secret in the keychain: %v; want a configuration error saying how to put it there", err)
	}
	if err := keyringstore.SetClientSecret(context.Background(), "client-1", "https://api.freeagent.com/v2/token_endpoint", " s3cr3t\n"); err != nil {
		t.Fatal(err)
	}
	if v, err := e.ClientSecretValue(context.Background()); err != nil || v != "s3cr3t" {
		t.Fatalf("ClientSecretValue = %q, %v", v, err)
	}
	// As an older freshtoken kept `pass show`'s output, notes and all: the
	// secret is its first line.
	if err := keyringstore.SetClientSecret(context.Background(), "client-1", "https://api.freeagent.com/v2/token_endpoint", "s3cr3t\r\nlogin: me@example.com\r\n"); err != nil {
		t.Fatal(err)
	}
	if v, err := e.ClientSecretValue(context.Background()); err != nil || v != "s3cr3t" {
		t.Fatalf("ClientSecretValue of a secret kept with notes after it = %q, %v; want its first line", v, err)
	}
	// Kept whole by an older freshtoken from an entry whose password line is
	// empty: its notes' first line was sent as the secret.
	if err := keyringstore.SetClientSecret(context.Background(), "client-1", "https://api.freeagent.com/v2/token_endpoint", "\nlogin: me@example.com\n"); err != nil {
		t.Fatal(err)
	}
	if v, err := e.ClientSecretValue(context.Background()); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "has an empty first line") || !strings.Contains(err.Error(), "init -e a --client-secret-keyring") || strings.Contains(err.Error(), "me@") {
		t.Fatalf("ClientSecretValue of a secret kept with an empty first line = %q, %v; want it refused, saying how to put it there again", v, err)
	}
	if w := e.ClientSecretWhere(); !strings.Contains(w, `account "client_secret:client-1 at https://api.freeagent.com/v2/token_endpoint"`) {
		t.Fatalf("ClientSecretWhere = %q", w)
	}
}
