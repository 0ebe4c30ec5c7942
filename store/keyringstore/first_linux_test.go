package keyringstore_test

import (
	"bytes"
	"os"
	"slices"
	"sync"
	"testing"

	dbus "github.com/godbus/dbus/v5"

	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// firstCallCopy marks the copy of TestEachConnectionBeginsWithARead that
// keeps a client secret as its first keychain call.
const firstCallCopy = "FRESHTOKEN_TEST_FIRST_CALL"

// TestEachConnectionBeginsWithARead: each connection a process makes to the
// Secret Service, its own and the keychain library's, begins with a read of
// the service's Collections, which gnome-keyring-daemon answers before it
// has its record of the connection. A process whose first keychain call
// kept a client secret (`init --client-secret-keyring`) began the
// library's connection with OpenSession, which needs that record: sent
// before the daemon made it, it could be answered "not implemented", and
// abort the daemon.
func TestEachConnectionBeginsWithARead(t *testing.T) {
	const clientID, provider, secret = "first-call-client", "https://id.example", "first-call-secret"
	if os.Getenv(firstCallCopy) != "" {
		if err := keyringstore.SetClientSecret(ctx, clientID, provider, secret); err != nil {
			t.Fatal(err)
		}
		return
	}
	kr := keyringtest.Start(t)
	var (
		mu    sync.Mutex
		first []string // each connection's first call to the Secret Service
	)
	kr.Relay(t, func(sent []byte) {
		if call := firstSecretsCall(sent); call != "" {
			mu.Lock()
			defer mu.Unlock()
			if !slices.Contains(first, call) {
				first = append(first, call)
			}
		}
	})
	testenv.RunAgain(t, firstCallCopy+"=1").End()
	got, err := keyringstore.ClientSecret(ctx, clientID, provider)
	if err != nil || got != secret {
		t.Fatalf("the client secret kept by a process of its own reads back as %d characters, want %d (%v)", len(got), len(secret), err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"org.freedesktop.DBus.Properties.Get org.freedesktop.Secret.Service.Collections"}; !slices.Equal(first, want) {
		t.Errorf("connections to the Secret Service began with %q; want each to begin with %q", first, want)
	}
}

// firstSecretsCall is the first call to the Secret Service among the
// messages sent, a connection's from its start: its interface and
// member, and for a property's read the property; "" while there is none.
func firstSecretsCall(sent []byte) string {
	_, msgs, ok := bytes.Cut(sent, []byte("BEGIN\r\n"))
	if !ok {
		return ""
	}
	r := bytes.NewReader(msgs)
	for {
		m, err := dbus.DecodeMessage(r)
		if err != nil {
			return ""
		}
		if dest, _ := m.Headers[dbus.FieldDestination].Value().(string); dest != "org.freedesktop.secrets" {
			continue
		}
		iface, _ := m.Headers[dbus.FieldInterface].Value().(string)
		member, _ := m.Headers[dbus.FieldMember].Value().(string)
		call := iface + "." + member
		if iface == "org.freedesktop.DBus.Properties" && len(m.Body) == 2 {
			call += " " + m.Body[0].(string) + "." + m.Body[1].(string)
		}
		return call
	}
}
