package cli_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestImportPostmanStoresTokensPrivately imports a seed export whose tokens
// came from the provider without freshtoken, and checks what was stored: the
// tokens with their expiry counted from the export's issue time, and a
// configuration file, which now holds the client secret, that only its owner
// can read, with no staging file left beside it.
func TestImportPostmanStoresTokensPrivately(t *testing.T) {
	e := newDevEnv(t)
	if err := os.Chmod(e.config, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, issued, err := loginOutside(t.Context(), e.api, "dev-client-secret")
	if err != nil {
		t.Fatal(err)
	}
	export := e.tokensExport(t, tok, issued, fmt.Sprint(tok.ExpiresIn))

	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", export); code != 0 {
		t.Fatalf("import exited %d: %s", code, stderr)
	}

	fi, err := os.Stat(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the configuration holds the client secret and has mode %04o, want 0600", fi.Mode().Perm())
	}
	if names := testenv.Names(t, e.dir); !slices.Equal(names, []string{"config.toml", "state"}) {
		t.Errorf("the configuration folder holds %v, want only config.toml and state", names)
	}

	src, err := config.Open(t.Context(), config.OpenOptions{Path: e.config, Env: "sand"})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := src.Record(t.Context())
	if err != nil || rec == nil {
		t.Fatalf("no record stored: %v", err)
	}
	wantIssued := time.UnixMilli(issued.UnixMilli())
	if rec.RefreshToken != tok.RefreshToken || rec.AccessToken != tok.AccessToken || rec.TokenType != "Bearer" ||
		!rec.IssuedAt.Equal(wantIssued) || !rec.Expiry.Equal(wantIssued.Add(time.Duration(tok.ExpiresIn)*time.Second)) {
		t.Errorf("stored %+v; want the export's tokens, issued %s, expiring %ds later", rec, wantIssued, tok.ExpiresIn)
	}
}

// seedExport writes a seed-layout export with a refresh token for each
// key, got from the provider outside freshtoken, and returns its path.
func (e *devEnv) seedExport(t *testing.T, keys ...string) string {
	t.Helper()
	values := []string{`{"key": "ClientId", "value": "dev-client-id"}`, `{"key": "ClientSecret", "value": "dev-client-secret"}`}
	for _, k := range keys {
		tok, _, err := loginOutside(t.Context(), e.api, "dev-client-secret")
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, fmt.Sprintf(`{"key": "Resource_%s", "value": %q}`, k, e.api), fmt.Sprintf(`{"key": "RefreshToken_%s", "value": %q}`, k, tok.RefreshToken))
	}
	return writeExport(t, values...)
}

// tokensExport writes an export holding sand's tokens as Postman keeps
// them after a log-in outside freshtoken: tok, issued at issued, its access
// token living exp (AccessTokenExp's text, in seconds or milliseconds).
// It returns its path.
func (e *devEnv) tokensExport(t *testing.T, tok *oauth2.Token, issued time.Time, exp string) string {
	t.Helper()
	return writeExport(t,
		`{"key": "ClientId", "value": "dev-client-id"}`,
		`{"key": "ClientSecret", "value": "dev-client-secret", "type": "secret"}`,
		fmt.Sprintf(`{"key": "Resource_sand", "value": %q}`, e.api),
		fmt.Sprintf(`{"key": "RefreshToken_sand", "value": %q}`, tok.RefreshToken),
		fmt.Sprintf(`{"key": "AccessToken_sand", "value": %q}`, tok.AccessToken),
		fmt.Sprintf(`{"key": "AccessTokenIss_sand", "value": "%d"}`, issued.UnixMilli()),
		fmt.Sprintf(`{"key": "AccessTokenExp_sand", "value": %q}`, exp))
}

// writeExport writes a Postman export of the FreeAgent environment whose
// values are the JSON objects given, and returns its path.
func writeExport(t *testing.T, values ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "export.json")
	if err := os.WriteFile(p, []byte(`{"name": "FreeAgent", "values": [`+strings.Join(values, ", ")+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// record is what the store holds for env, read through the engine.
func (e *devEnv) record(t *testing.T, env string) *store.Record {
	t.Helper()
	src, err := config.Open(t.Context(), config.OpenOptions{Path: e.config, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := src.Record(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// save writes rec as env's record in the store the configuration names
// (the default folder), as another process would.
func (e *devEnv) save(t *testing.T, env string, rec *store.Record) {
	t.Helper()
	if err := filestore.New(filepath.Join(e.dir, "state")).Save(t.Context(), env, rec); err != nil {
		t.Fatal(err)
	}
}

// configOnAFullDisk moves e's configuration to a small disk of its own and
// fills the disk; it returns the configuration's text and the function that
// frees the disk.
func (e *devEnv) configOnAFullDisk(t *testing.T) (text []byte, free func()) {
	t.Helper()
	text, _ = os.ReadFile(e.config)
	e.config = testdisk.SmallFile(t, "64k", "config.toml", text)
	return text, testdisk.Fill(t, filepath.Dir(e.config))
}

// TestImportPostmanChangesNothingWhenAStoreIsUnusable: a store problem for
// the second environment (sand, after prod) is found before any token is
// written, so prod keeps the tokens it had and the configuration is as it
// was.
func TestImportPostmanChangesNothingWhenAStoreIsUnusable(t *testing.T) {
	e := newDevEnv(t)
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.seedExport(t, "prod", "sand")); code != 0 {
		t.Fatalf("first import exited %d: %s", code, stderr)
	}
	before := e.record(t, "prod")
	configKept := e.configKept(t)
	if err := os.Chmod(filepath.Join(e.dir, "state", "sand.json"), 0o644); err != nil {
		t.Fatal(err)
	}

	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.seedExport(t, "prod", "sand"), "--force"); code == 0 {
		t.Fatalf("import into an unusable store succeeded: %s", stdout)
	}
	for _, want := range []string{"sand: the tokens cannot be stored", "has mode 0644", "chmod 600", "nothing was imported"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr = %q, want it to say %q", stderr, want)
		}
	}
	if after := e.record(t, "prod"); !reflect.DeepEqual(after, before) {
		t.Errorf("prod's tokens changed although the import failed:\nbefore %+v\nafter  %+v", before, after)
	}
	configKept("the import failed")
}

// TestImportPostmanKeepsAnotherConfigurationsTokens: two configurations
// share the default token folder, and the other one's sand is logged in
// with another client. Importing an export with a sand into this
// configuration, which has none, replaced those tokens with a warning, and
// the other configuration needed a browser log-in. It is refused, naming
// --force and a store of its own; with --force the export's are stored.
func TestImportPostmanKeepsAnotherConfigurationsTokens(t *testing.T) {
	e := newDevEnv(t)
	src := e.anotherConfigurationsSand(t)
	src.logIn()
	export := e.seedExport(t, "sand")

	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", export); code != 2 {
		t.Fatalf("import over another client's tokens exited %d, want 2: %s", code, stderr)
	}
	for _, want := range []string{"sand", "other-client", "--force", "[store] url", "nothing was imported"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr = %q, want it to say %q", stderr, want)
		}
	}
	if rec, err := src.Record(t.Context()); err != nil || rec == nil || rec.RefreshToken != "other-rt" {
		t.Fatalf("the other configuration's tokens are now %+v, %v; want them kept", rec, err)
	}
	if text, _ := os.ReadFile(e.config); strings.Contains(string(text), "[env.sand]") {
		t.Errorf("the refused import wrote the environment into the configuration:\n%s", text)
	}

	ios, _, stderr = testStreams(false, false)
	if code := e.run(ios, "import", "postman", export, "--force"); code != 0 {
		t.Fatalf("import --force exited %d: %s", code, stderr)
	}
	if rec := e.record(t, "sand"); rec == nil || rec.RefreshToken == "other-rt" {
		t.Errorf("after import --force the store holds %+v; want the export's tokens", rec)
	}
}

// TestImportPostmanPutsTokensBackWhenAWriteFails: a store write that fails
// although the checks passed (sand has no record, and a folder is where its
// lock file goes, which the checks, reading the records, do not take) puts back prod's earlier
// tokens and leaves the configuration alone, and says so, in an import's
// words rather than a renewal's.
func TestImportPostmanPutsTokensBackWhenAWriteFails(t *testing.T) {
	e := newDevEnv(t)
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.seedExport(t, "prod", "sand")); code != 0 {
		t.Fatalf("first import exited %d: %s", code, stderr)
	}
	// prod has renewed once since: its record holds more than a log-in's.
	ios, _, stderr = testStreams(false, false)
	if code := e.run(ios, "-e", "prod", "token"); code != 0 {
		t.Fatalf("token exited %d: %s", code, stderr)
	}
	before := e.record(t, "prod")
	configKept := e.configKept(t)
	if err := os.Remove(filepath.Join(e.dir, "state", "sand.json")); err != nil {
		t.Fatal(err)
	}
	sand := filepath.Join(e.dir, "state", "sand.lock")
	os.Remove(sand)
	if err := os.Mkdir(sand, 0o700); err != nil {
		t.Fatal(err)
	}

	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.seedExport(t, "prod", "sand"), "--force"); code == 0 {
		t.Fatalf("import succeeded: %s", stdout)
	}
	msg := stderr.String()
	for _, want := range []string{"the tokens of sand could not be stored", "the configuration was not changed", "the tokens of prod were put back as they were", "nothing was imported"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr = %q, want it to say %q", msg, want)
		}
	}
	if strings.Contains(msg, "the provider issued new tokens") {
		t.Errorf("stderr = %q speaks of a renewal; this was an import", msg)
	}
	after := e.record(t, "prod")
	if after.AccessToken != before.AccessToken || after.RefreshToken != before.RefreshToken ||
		!after.Expiry.Equal(before.Expiry) || !after.IssuedAt.Equal(before.IssuedAt) || !after.RefreshExpiry.Equal(before.RefreshExpiry) {
		t.Errorf("prod's tokens were not put back:\nbefore %+v\nafter  %+v", before, after)
	}
	configKept("the import failed")
	// prod works on with its old tokens.
	ios, stdout, stderr = testStreams(false, false)
	if code := e.run(ios, "-e", "prod", "get", "/v2/company"); code != 0 || !strings.Contains(stdout.String(), "Dev Ltd") {
		t.Errorf("get with prod's restored tokens: exit %d, %s", code, stderr)
	}
}

// TestImportPostmanExpiryTimes: a lifetime under a second still gives the
// access token an expiry (not "never"), and an implausible one leaves the
// access token out, to be renewed on first use, and says why.
func TestImportPostmanExpiryTimes(t *testing.T) {
	e := newDevEnv(t)
	tok, issued, err := loginOutside(t.Context(), e.api, "dev-client-secret")
	if err != nil {
		t.Fatal(err)
	}

	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.tokensExport(t, tok, issued, "0.5")); code != 0 {
		t.Fatalf("import exited %d: %s", code, stderr)
	}
	rec := e.record(t, "sand")
	if want := time.UnixMilli(issued.UnixMilli()).Add(500 * time.Millisecond); rec.AccessToken != tok.AccessToken || !rec.Expiry.Equal(want) {
		t.Errorf("stored access token %t, expiry %s; want it, expiring at %s", rec.AccessToken == tok.AccessToken, rec.Expiry, want)
	}

	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.tokensExport(t, tok, issued, "360000000"), "--force"); code != 0 {
		t.Fatalf("import exited %d: %s", code, stderr)
	}
	if want := "access token left out: AccessTokenExp_sand is 360000000, over a day in seconds or in milliseconds; it is renewed on first use"; !strings.Contains(stdout.String(), want) {
		t.Errorf("summary = %q, want it to say %q", stdout, want)
	}
	if rec := e.record(t, "sand"); rec.AccessToken != "" || rec.RefreshToken != tok.RefreshToken {
		t.Errorf("stored access token %q, refresh token kept %t; want no access token and the refresh token", rec.AccessToken, rec.RefreshToken == tok.RefreshToken)
	}
}

// TestImportPostmanThroughASymlinkedConfig: a configuration that is a
// symbolic link (to a dotfiles checkout) is written where the link points,
// as init writes it, and stays a link.
func TestImportPostmanThroughASymlinkedConfig(t *testing.T) {
	e := newDevEnv(t)
	target := filepath.Join(t.TempDir(), "dotfiles", "freshtoken.toml")
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(e.config, target); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, e.config); err != nil {
		t.Fatal(err)
	}
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", e.seedExport(t, "sand")); code != 0 {
		t.Fatalf("import exited %d: %s", code, stderr)
	}
	if fi, err := os.Lstat(e.config); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the configuration is no longer a link: %v %v", fi.Mode(), err)
	}
	f, err := config.Load(target)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Envs["sand"]; !ok {
		t.Fatalf("the link's target has %v, want sand imported into it", f.Names())
	}
	entries, _ := os.ReadDir(filepath.Dir(target))
	if len(entries) != 1 {
		t.Errorf("the target's folder holds %d files, want only the configuration", len(entries))
	}
}

// TestImportPostmanKeepsEditsMadeMeanwhile: init (or remove, or store
// migrate) editing the configuration while an import runs loses nothing,
// nor does the import.
func TestImportPostmanKeepsEditsMadeMeanwhile(t *testing.T) {
	e := newDevEnv(t)
	export := e.seedExport(t, "prod", "sand")
	done := make(chan int)
	go func() {
		ios, _, _ := testStreams(false, false)
		done <- e.run(ios, "import", "postman", export)
	}()
	var written []string
	for n := 0; ; n++ {
		name := fmt.Sprintf("meanwhile%d", n)
		if _, err := configedit.WriteEnv(e.config, name, config.EnvSettings{Provider: "freeagent", ClientID: "x", ClientSecretEnv: "S"}, false); err != nil {
			t.Fatal(err)
		}
		written = append(written, name)
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("import exited %d", code)
			}
			f, err := config.Load(e.config)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range append(written, "prod", "sand") {
				if _, ok := f.Envs[want]; !ok {
					t.Errorf("%s is missing after the import (%d edits made meanwhile): %v", want, len(written), f.Names())
				}
			}
			return
		default:
		}
	}
}

// TestImportPostmanIntoAConfigurationThatCannotBeWritten: a configuration
// whose folder cannot take the import (a full disk) is a configuration
// error (exit 2) naming it, not the import's temp file, and nothing is
// imported.
func TestImportPostmanIntoAConfigurationThatCannotBeWritten(t *testing.T) {
	e := newDevEnv(t)
	export := e.seedExport(t, "prod")
	_, free := e.configOnAFullDisk(t)
	defer free()
	configKept := e.configKept(t)
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", export); code != 2 {
		t.Errorf("import into a full disk exited %d, want 2: %s", code, stderr)
	}
	if want := e.config + ": cannot write it, as the disk holding it is full (no space left on device); free some space there, or keep the configuration on another disk (--config PATH), and run the command again (nothing was written); nothing was imported"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr = %q, want it to say %q", stderr, want)
	}
	configKept("the import failed")
}

// TestRemoveFromAConfigurationThatCannotBeWritten: remove deletes an
// environment's tokens only once its configuration can take the edit; on a
// full disk both are left as they were, where the tokens were deleted and
// the environment kept, needing a log-in.
func TestRemoveFromAConfigurationThatCannotBeWritten(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	_, free := e.configOnAFullDisk(t)
	defer free()
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "-e", "dev", "remove", "--yes"); code != 2 {
		t.Errorf("remove on a full disk exited %d, want 2: %s", code, stderr)
	}
	if want := "cannot write it, as the disk holding it is full (no space left on device); free some space there, or keep the configuration on another disk (--config PATH), and run the command again (nothing was written); nothing was removed"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr = %q, want it to say %q", stderr, want)
	}
	if rec := e.record(t, "dev"); rec == nil || rec.RefreshToken == "" {
		t.Errorf("dev's tokens are gone although it is still configured: %+v", rec)
	}
}

// TestImportPostmanIntoAStoreWithNoFileLeft: the token store's disk has
// space left but no file to give (every inode taken). The import fails,
// exit 5, in one line saying to remove some files, and nothing else to
// free: it ended "free some space on that disk, then import again", which
// `df -h`, showing space free, belied.
func TestImportPostmanIntoAStoreWithNoFileLeft(t *testing.T) {
	e := newDevEnv(t)
	dir := testdisk.NoFilesLeft(t)
	e.useStore(t, fileURL(dir))
	export := e.seedExport(t, "prod", "sand")
	configKept := e.configKept(t)
	ios, stdout, stderr := testStreams(false, false)
	code := e.run(ios, "import", "postman", export)
	msg := stderr.String()
	if code != 5 || !strings.Contains(msg, "remove some files (every inode on that disk is taken: see `df -i`)") || strings.Contains(msg, "free some space") || strings.Count(strings.TrimSpace(msg), "\n") > 0 {
		t.Errorf("import into a store with no file left: exit %d, said:\n%s%s\nwant exit 5, one line saying to remove some files, not to free space", code, stdout, msg)
	}
	configKept("nothing could be imported")
}

// TestImportPostmanIntoAFullStore: the token store's disk is full and its
// reserve spent. The import fails, exit 5 (the store could not be
// written), saying to free some space, with nothing stored and the
// configuration as it was; it was exit 1, a bug's, with no next step.
func TestImportPostmanIntoAFullStore(t *testing.T) {
	e := newDevEnv(t)
	dir := testdisk.Small(t, "256k") // room for the reserve and as much again, as a reserve is made with
	text, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.config, []byte(strings.Replace(string(text), filepath.Join(e.dir, "state"), dir, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	e.configure(t)
	e.loginOutside(t) // a first save: the store makes its reserve
	export := e.seedExport(t, "prod", "sand")
	configKept := e.configKept(t)
	testdisk.Fill(t, dir)
	if err := os.Remove(filepath.Join(dir, ".reserve")); err != nil {
		t.Fatal(err)
	}
	testdisk.Fill(t, dir)
	ios, stdout, stderr := testStreams(false, false)
	code := e.run(ios, "import", "postman", export)
	msg := stderr.String()
	if code != 5 {
		t.Errorf("import into a full store exited %d, want 5: %s%s", code, stdout, msg)
	}
	for _, want := range []string{"could not be stored", "no space left on device", "nothing was imported; once there is room, import again"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr = %q; want it to say %q", msg, want)
		}
	}
	if strings.Count(strings.TrimSpace(msg), "\n") > 0 || strings.Contains(msg, "dev-client-secret") {
		t.Errorf("stderr = %q; want one line, with no secret", msg)
	}
	for _, env := range []string{"prod", "sand"} {
		if _, err := os.Stat(filepath.Join(dir, env+".json")); !os.IsNotExist(err) {
			t.Errorf("the failed import left tokens for %s in the store (%v)", env, err)
		}
	}
	configKept("the import failed")
}

// TestImportPostmanKeepsAnotherConfigurationsTokensStoredAsItStores:
// another configuration sharing the store logs its sand in after the
// import found none stored, as the import stores the export's: they are
// kept, and the import refused as it is over such tokens found when it
// begins (exit 2, naming --force). It checked only when it began, and
// replaced them.
func TestImportPostmanKeepsAnotherConfigurationsTokensStoredAsItStores(t *testing.T) {
	e := newDevEnv(t)
	src := e.anotherConfigurationsSand(t)
	export := e.seedExport(t, "sand")
	stderr := testenv.NewOutput()
	err := e.importAsItStores(t, stderr, src.logIn, export)
	if err == nil || cli.ExitCode(err) != 2 || !strings.Contains(err.Error(), "other-client") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("import as another configuration's tokens are stored: %v (exit %d)\n%s\nwant exit 2 naming them and --force", err, cli.ExitCode(err), stderr)
	}
	if rec, err := src.Record(t.Context()); err != nil || rec == nil || rec.RefreshToken != "other-rt" {
		t.Fatalf("the other configuration's tokens are now %+v, %v; want them kept", rec, err)
	}
}

// TestImportPostmanKeepsTokensRenewedAsItStores: the export holds the
// refresh token stored, and a running freshtoken renews it (the provider
// rotating it) as the import stores the export's: the renewed tokens are
// kept, as they are when found at the start, and renew on. The export's
// spent refresh token replaced them, and the next renewal ended the grant.
func TestImportPostmanKeepsTokensRenewedAsItStores(t *testing.T) {
	e := newDevEnv(t)
	export := e.seedExport(t, "sand")
	ios, _, stderr := testStreams(false, false)
	if code := e.run(ios, "import", "postman", export); code != 0 {
		t.Fatalf("import exited %d: %s", code, stderr)
	}
	src, err := config.Open(t.Context(), config.OpenOptions{Path: e.config, Env: "sand"})
	if err != nil {
		t.Fatal(err)
	}
	errOut := testenv.NewOutput()
	renew := func() {
		if _, err := src.Renew(t.Context()); err != nil {
			t.Error(err)
		}
	}
	if err := e.importAsItStores(t, errOut, renew, export, "--force"); err != nil {
		t.Fatalf("import --force as the stored tokens are renewed: %v (exit %d)\n%s", err, cli.ExitCode(err), errOut)
	}
	ios, _, stderr = testStreams(false, false)
	if code := e.run(ios, "token", "--force", "-e", "sand"); code != 0 {
		t.Errorf("token --force after the import exited %d: %s; want the renewed tokens kept, and renewing", code, stderr)
	}
}

// otherSand is the Source of another configuration's sand, of another
// client, sharing e's store.
type otherSand struct {
	*freshtoken.Source
	t *testing.T
}

// anotherConfigurationsSand writes another configuration file, sharing
// e's store, with a sand of another client, and returns its Source.
func (e *devEnv) anotherConfigurationsSand(t *testing.T) otherSand {
	t.Helper()
	other := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(other, []byte("[store]\nurl = \"file://"+filepath.Join(e.dir, "state")+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := configedit.WriteEnv(other, "sand", config.EnvSettings{Provider: "freeagent", APIURL: e.api, ClientID: "other-client", ClientSecret: "other-secret"}, true); err != nil {
		t.Fatal(err)
	}
	src, err := config.Open(t.Context(), config.OpenOptions{Path: other, Env: "sand"})
	if err != nil {
		t.Fatal(err)
	}
	return otherSand{src, t}
}

// logIn stores tokens for the other configuration's sand.
func (o otherSand) logIn() {
	if err := o.SaveLogin(o.t.Context(), &oauth2.Token{AccessToken: "other-at", RefreshToken: "other-rt", Expiry: time.Now().Add(time.Hour)}, time.Now()); err != nil {
		o.t.Error(err)
	}
}

// importAsItStores runs import postman export with args, its stderr to
// stderr, calling meanwhile once as it is about to store an environment's
// tokens (Factory.Sending is told so), and returns its error.
func (e *devEnv) importAsItStores(t *testing.T, stderr io.Writer, meanwhile func(), export string, args ...string) error {
	t.Helper()
	var once sync.Once
	root := cli.NewRootCmd(&cli.Factory{
		IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: stderr},
		Sending: func(r freshtoken.Renewal) func() {
			if r.LogIn && r.Storing {
				once.Do(meanwhile)
			}
			return func() {}
		},
	})
	root.SetArgs(append([]string{"--config", e.config, "import", "postman", export}, args...))
	return root.ExecuteContext(t.Context())
}
