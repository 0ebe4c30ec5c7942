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
	a.Config, b.Config = configFile(t, "a.toml"), configFile(t, "b.toml")
	for range 17 {
		a.round(context.Background(), time.Minute)
		b.round(context.Background(), time.Minute)
		clock.Advance(time.Minute)
	}
	if got, err := os.ReadFile(file); err != nil || string(got) != "access-token-1234567890\n" {
		t.Fatalf("token file %q, %v; want a's token, which a's keeper wrote first, left to it", got, err)
	}
	other := "environment dev of " + a.Config
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

// configFile is a configuration file named name, in a folder of its own.
func configFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestATokenFileKeptForAConfigurationNoLongerThereIsTakenOver: a
// configuration file renamed, moved or deleted kept its claim on the
// token file until the token its keeper last wrote there expired (for
// ever when its lifetime was not known): the keeper of the configuration
// under its new name left the file, warning that the old one kept it, and
// its log-out left the file holding an access token still valid, saying
// the old configuration kept it. A claim now holds only while the
// configuration file is there.
func TestATokenFileKeptForAConfigurationNoLongerThereIsTakenOver(t *testing.T) {
	for _, unknownLifetime := range []bool{false, true} {
		t.Run(map[bool]string{false: "lifetime known", true: "lifetime not known"}[unknownLifetime], func(t *testing.T) {
			clock := fakeclock.New()
			file := filepath.Join(t.TempDir(), "token")
			ledger := filepath.Join(t.TempDir(), "freshtoken", "token-files")
			a := keeping(stored(t, true, func(r *store.Record) {
				if unknownLifetime {
					r.Expiry = time.Time{}
				}
			}), file)
			b := keeping(stored(t, true, func(r *store.Record) { r.AccessToken = "other-access-token-0987654321" }), file)
			var logB strings.Builder
			b.Logger = slog.New(slog.NewTextHandler(&logB, nil))
			a.Now, b.Now = clock.Now, clock.Now
			a.Ledger, b.Ledger = ledger, ledger
			a.Config, b.Config = configFile(t, "a.toml"), configFile(t, "b.toml")
			a.round(context.Background(), time.Minute)
			if err := os.Rename(a.Config, filepath.Join(filepath.Dir(a.Config), "renamed.toml")); err != nil {
				t.Fatal(err)
			}
			removed, keptBy, err := ForgetTokenFile(context.Background(), file, "", ledger, NewOwner(b.Config, "dev"))
			if !removed || err != nil || keptBy != (Owner{}) {
				t.Fatalf("a log-out of b: ForgetTokenFile = %v, %v, %v; want a's file removed, its configuration gone", removed, keptBy, err)
			}
			a.round(context.Background(), time.Minute) // a's keeper, still running, writes it again
			b.round(context.Background(), time.Minute)
			if got, err := os.ReadFile(file); err != nil || string(got) != "other-access-token-0987654321\n" {
				t.Fatalf("token file %q, %v; want b's token, a's configuration gone", got, err)
			}
			if strings.Contains(logB.String(), "level=WARN") {
				t.Errorf("b's keeper warned:\n%s\nwant nothing said of a configuration gone", logB.String())
			}
		})
	}
}

// TestOneConfigurationByTwoNamesIsOneOwner: a configuration file reached
// by two names that links resolved do not make one (a hard link; another
// spelling of its path on a disk that ignores case, as macOS's and
// Windows' do) was two configurations: a log-out by one name left the
// token file the keeper had written by the other, holding an access
// token still valid, and said that the other configuration kept it.
func TestOneConfigurationByTwoNamesIsOneOwner(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "freshtoken", "token-files")
	file := filepath.Join(t.TempDir(), "token")
	config := configFile(t, "config.toml")
	other := filepath.Join(t.TempDir(), "Config.toml")
	if err := os.Link(config, other); err != nil {
		t.Skipf("no hard link here: %v", err)
	}
	if err := os.WriteFile(file, []byte("access-token-1234567890\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := noteWritten(ledger, file, "access-token-1234567890\n", NewOwner(other, "dev"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	removed, keptBy, err := ForgetTokenFile(context.Background(), file, "", ledger, NewOwner(config, "dev"))
	if !removed || err != nil || keptBy != (Owner{}) {
		t.Fatalf("ForgetTokenFile = %v, %v, %v; want the file removed, written for this configuration by its other name", removed, keptBy, err)
	}
}
