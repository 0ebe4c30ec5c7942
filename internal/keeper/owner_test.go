package keeper

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/fakeclock"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/store"
)

// TestATokenFileKeptForAnotherConfigurationIsLeftToIt: two keepers of
// two configurations whose environments name one token_file each wrote
// their own token over the other's at every look, and a script reading it
// got either. The ledger notes which configuration's environment wrote
// the file: the second keeper leaves it to the first, warns once (not at
// every look), naming the other configuration's environment, and after 15
// minutes tells token_file_failing saying to give each its own
// token_file; the first is told nothing. Once the first's token has
// expired (its keeper stopped, its configuration gone), the file is the
// second's.
func TestATokenFileKeptForAnotherConfigurationIsLeftToIt(t *testing.T) {
	clock := fakeclock.New()
	file := filepath.Join(t.TempDir(), "token")
	ledger := filepath.Join(t.TempDir(), "freshtoken", "token-files")
	var expires time.Time
	a, na := keepingTold(stored(t, true, func(r *store.Record) { expires = r.Expiry }), file, clock)
	b, nb := keepingTold(stored(t, true, func(r *store.Record) { r.AccessToken = "other-access-token-0987654321" }), file, clock)
	var logB strings.Builder
	b.Logger = slog.New(slog.NewTextHandler(&logB, nil))
	a.Ledger, b.Ledger = ledger, ledger
	a.Config, b.Config = "/home/me/a.toml", "/home/me/b.toml"
	for range 17 {
		a.round(context.Background(), time.Minute)
		b.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	if got, err := os.ReadFile(file); err != nil || string(got) != "access-token-1234567890\n" {
		t.Fatalf("token file %q, %v; want a's token, which a's keeper wrote first, left to it", got, err)
	}
	const other = "environment dev of /home/me/a.toml"
	if c := strings.Count(logB.String(), "level=WARN"); c != 1 || !strings.Contains(logB.String(), other) || !strings.Contains(logB.String(), "token_file of its own") {
		t.Errorf("b's keeper warned %d times; want once, naming %s:\n%s", c, other, logB.String())
	}
	if got := nb.Current(); len(got) != 1 || got[0].Event != notify.TokenFileFailing || !strings.Contains(got[0].Message, "as it holds the token that "+other+" keeps there; give each environment a token_file of its own") {
		t.Fatalf("b's notices after 17 minutes %+v; want token_file_failing naming %s", got, other)
	}
	if got := na.Current(); len(got) != 0 {
		t.Fatalf("a's notices %+v; want none", got)
	}
	clock.Advance(expires.Sub(clock.Now()) + time.Second)
	tells(t, b, nb, "")
	if got, err := os.ReadFile(file); err != nil || string(got) != "other-access-token-0987654321\n" {
		t.Fatalf("token file %q, %v; want b's token once a's has expired", got, err)
	}
}
