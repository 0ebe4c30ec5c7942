//go:build linux

package cli

import (
	"context"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/keyringtest"
)

// TestPutSecretsBackUndoesInReverse: two environments of one import whose
// client secrets share a keychain item (one client id at one API, with a
// secret each in the export), the first put where the keychain held none,
// the second over the first's: a failed import leaves the keychain holding
// none, as before. They were put back in the order written, the item
// removed, then the first's put back where none had been.
func TestPutSecretsBackUndoesInReverse(t *testing.T) {
	b := keyringtest.Start(t)
	env, err := config.NewEnv("sand", config.EnvSettings{Provider: "freeagent", APIURL: "https://api.sandbox.freeagent.com/", ClientID: "client-1", ClientSecretKeyring: true})
	if err != nil {
		t.Fatal(err)
	}
	other, err := config.NewEnv("sand2", config.EnvSettings{Provider: "freeagent", APIURL: "https://api.sandbox.freeagent.com/", ClientID: "client-1", ClientSecretKeyring: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// What the import did: the first's secret where none was, then the
	// second's over it.
	if err := env.KeepClientSecret(ctx, "first-secret"); err != nil {
		t.Fatal(err)
	}
	if err := other.KeepClientSecret(ctx, "second-secret"); err != nil {
		t.Fatal(err)
	}
	if lost, causes := putSecretsBack(ctx, []keychainSecret{{env, "", false}, {other, "first-secret", true}}); len(lost) > 0 {
		t.Fatalf("putSecretsBack: %v %v", lost, causes)
	}
	if items := b.Items(t, "freshtoken"); len(items) != 0 {
		t.Fatalf("after a failed import the keychain holds %v; it held none before", items)
	}
}
