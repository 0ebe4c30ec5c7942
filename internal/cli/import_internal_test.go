package cli

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"golang.org/x/oauth2"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/postman"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/store"
)

// TestImportPostmanStdinAtAClosedTerminal: `import postman -` reading a
// terminal that closes mid-read ends as its hang-up (exit 129), as `-d @-`
// does, the configuration not written: it was told as a malformed export,
// exit 2, "standard input: the terminal closed (input/output error)".
func TestImportPostmanStdinAtAClosedTerminal(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.toml")
	var out, errOut bytes.Buffer
	ios := &IOStreams{In: iotest.ErrReader(hungUp(syscall.EIO)), Out: &out, ErrOut: &errOut}
	code := Main([]string{"--config", cfg, "import", "postman", "-"}, ios)
	if code != 128+int(syscall.SIGHUP) || !strings.HasPrefix(errOut.String(), "freshtoken: the terminal closed (SIGHUP)") || out.Len() != 0 {
		t.Errorf("import postman - at a closed terminal: exit %d, stderr %q, stdout %q; want exit %d, the terminal closed", code, errOut.String(), out.String(), 128+int(syscall.SIGHUP))
	}
}

// TestFailedImportLeavesTokensItKeptAlone: an import that kept an
// environment's stored tokens (renewed since the export) and then failed
// for another environment leaves that environment's record alone. It put
// back the record it had read, over any a renewal stored meanwhile (a
// running proxy), whose refresh token had spent the one put back: the
// next renewal sent a spent refresh token, and a provider that rotates
// them ends the grant.
func TestFailedImportLeavesTokensItKeptAlone(t *testing.T) {
	state := (&url.URL{Scheme: "file", Path: filepath.Join(t.TempDir(), "state")}).String()
	now := time.Now()
	src, prev := sandLoggedIn(t, state, "rt-read", now)
	export := postman.Env{Name: "sand", ClientID: "client", RefreshToken: "rt-export", IssuedAt: now.Add(-time.Hour)}
	if !keepsStored(src, prev, export) {
		t.Fatal("the import would not keep the stored tokens; the test needs it to")
	}
	// A renewal elsewhere stores newer tokens after the import read them.
	renewed := &oauth2.Token{AccessToken: "at-renewed", TokenType: "Bearer", RefreshToken: "rt-renewed", Expiry: now.Add(2 * time.Hour)}
	if err := src.SaveLogin(t.Context(), renewed, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	st, err := config.OpenStore(state)
	if err != nil {
		t.Fatal(err)
	}
	target := importTarget{env: export, src: src, st: st, prev: prev, untouched: true}
	err = importFailed(t.Context(), &Factory{}, "the tokens of prod could not be stored", nil, []importTarget{target}, nil)
	if !strings.Contains(err.Error(), "nothing was imported") {
		t.Errorf("importFailed: %v; want it to say nothing was imported", err)
	}
	if rec, err := src.Record(t.Context()); err != nil || rec.RefreshToken != "rt-renewed" {
		t.Errorf("after the failed import the store holds %+v, %v; want the renewal's tokens left alone", rec, err)
	}
}

// TestFailedImportPutsBackOnAFullDisk: a failed import puts back the
// tokens an environment held before it on a disk that is full, the store's
// reserve already spent, so that the store writes them over the export's
// in place and says the disk is full. They were put back, but taken for
// not: the import said the export's tokens were stored and the earlier
// ones could not be put back, to import again or log in.
func TestFailedImportPutsBackOnAFullDisk(t *testing.T) {
	disk := testdisk.Small(t, "256k") // room for the reserve and as much again, as a reserve is made with
	state := (&url.URL{Scheme: "file", Path: disk}).String()
	now := time.Now()
	src, prev := sandLoggedIn(t, state, "rt-before", now)
	// The import stores the export's tokens, then the disk fills up and
	// its reserve is spent.
	st := exportStored(t, src, state, now)
	testdisk.Fill(t, disk)
	if err := os.Remove(filepath.Join(disk, ".reserve")); err != nil {
		t.Fatal(err)
	}
	testdisk.Fill(t, disk)
	if msg := exportPutBack(t, src, st, prev, now); !strings.Contains(msg, "the tokens of sand were put back as they were: nothing was imported") || strings.Contains(msg, "could not be put back") {
		t.Errorf("importFailed: %q; want it to say sand's tokens were put back, and nothing imported", msg)
	}
	if rec, err := src.Record(t.Context()); err != nil || rec.RefreshToken != "rt-before" {
		t.Errorf("after the failed import the store holds %+v, %v; want the tokens it held before", rec, err)
	}
}

// TestFailedImportLeavesTokensRenewedSinceItStoredThem: a failed import
// puts back what an environment held before it only while the store still
// holds the tokens the import wrote. A running proxy that renewed them
// meanwhile spent the export's refresh token, and a put-back over its
// renewal (the earlier record, or none) threw away the grant's only live
// refresh token: the next call needed a browser log-in.
func TestFailedImportLeavesTokensRenewedSinceItStoredThem(t *testing.T) {
	for _, had := range []bool{false, true} {
		t.Run(fmt.Sprintf("tokens before the import: %v", had), func(t *testing.T) {
			state := (&url.URL{Scheme: "file", Path: filepath.Join(t.TempDir(), "state")}).String()
			now := time.Now()
			src, prev := sandLoggedIn(t, state, "rt-before", now.Add(-2*time.Hour))
			if !had {
				if err := src.Logout(t.Context()); err != nil {
					t.Fatal(err)
				}
				prev = nil
			}
			st := exportStored(t, src, state, now)
			// A proxy renews them before the import fails elsewhere.
			renewed, err := src.Record(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			renewed.AccessToken, renewed.RefreshToken, renewed.Renewals = "at-renewed", "rt-renewed", 1
			if err := st.Save(t.Context(), "sand", renewed); err != nil {
				t.Fatal(err)
			}
			if msg := exportPutBack(t, src, st, prev, now); !strings.Contains(msg, "the tokens of sand changed after the import stored them") || strings.Contains(msg, "put back as they were") {
				t.Errorf("importFailed: %q; want it to say sand's tokens changed since and were left", msg)
			}
			if rec, err := src.Record(t.Context()); err != nil || rec == nil || rec.RefreshToken != "rt-renewed" {
				t.Errorf("after the failed import the store holds %+v, %v; want the renewal's tokens left alone", rec, err)
			}
		})
	}
}

// exportStored stores sand's export tokens (at-export, rt-export) as the
// import does, a log-in at now, and returns the store at state.
func exportStored(t *testing.T, src *freshtoken.Source, state string, now time.Time) store.Store {
	t.Helper()
	export := &oauth2.Token{AccessToken: "at-export", TokenType: "Bearer", RefreshToken: "rt-export", Expiry: now.Add(time.Hour)}
	if err := src.SaveLogin(t.Context(), export, now); err != nil {
		t.Fatal(err)
	}
	st, err := config.OpenStore(state)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// exportPutBack fails an import that stored sand's export tokens
// (at-export, rt-export) as a log-in at now, where sand held prev before,
// and returns what the failure says.
func exportPutBack(t *testing.T, src *freshtoken.Source, st store.Store, prev *store.Record, now time.Time) string {
	t.Helper()
	target := importTarget{env: postman.Env{Name: "sand", ClientID: "client", RefreshToken: "rt-export"}, src: src, st: st, prev: prev,
		wrote: &store.Record{AccessToken: "at-export", RefreshToken: "rt-export", LoggedInAt: now}}
	return importFailed(t.Context(), &Factory{}, "the tokens of prod could not be stored", nil, []importTarget{target}, nil).Error()
}

// sandLoggedIn configures environment sand (FreeAgent's sandbox) with its
// tokens in the store at state, and stores a log-in at now whose refresh
// token is rt; it returns sand's Source and the record stored.
func sandLoggedIn(t *testing.T, state, rt string, now time.Time) (*freshtoken.Source, *store.Record) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.toml")
	s := config.EnvSettings{Provider: "freeagent", APIURL: "https://api.sandbox.freeagent.com/", ClientID: "client", ClientSecret: "secret"}
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "[store]\nurl = %q\n", state), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := configedit.WriteEnv(cfg, "sand", s, true); err != nil {
		t.Fatal(err)
	}
	src, err := config.Open(t.Context(), config.OpenOptions{Path: cfg, Env: "sand"})
	if err != nil {
		t.Fatal(err)
	}
	tok := &oauth2.Token{AccessToken: "at-" + strings.TrimPrefix(rt, "rt-"), TokenType: "Bearer", RefreshToken: rt, Expiry: now.Add(time.Hour)}
	if err := src.SaveLogin(t.Context(), tok, now); err != nil {
		t.Fatal(err)
	}
	prev, err := src.Record(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return src, prev
}

// TestFailedImportsPutBackRewritesTheTokenFile: a running proxy's keeper
// wrote the access token a failed import had stored to the environment's
// token_file; the put-back stored the earlier tokens again, and the file
// kept handing out the import's access token until the keeper's next look
// (for good with no keeper running). The token file now follows the
// put-back: it holds the access token put back.
func TestFailedImportsPutBackRewritesTheTokenFile(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the token files' ledger
	state := (&url.URL{Scheme: "file", Path: filepath.Join(t.TempDir(), "state")}).String()
	now := time.Now()
	src, prev := sandLoggedIn(t, state, "rt-before", now.Add(-time.Hour))
	st := exportStored(t, src, state, now)
	file := filepath.Join(t.TempDir(), "sand-token")
	if err := os.WriteFile(file, []byte("at-export\n"), 0o600); err != nil { // as the keeper writes it
		t.Fatal(err)
	}
	target := importTarget{env: postman.Env{Name: "sand", ClientID: "client", RefreshToken: "rt-export"}, src: src, st: st, prev: prev, tokenFile: file,
		wrote: &store.Record{AccessToken: "at-export", RefreshToken: "rt-export", LoggedInAt: now}}
	if msg := importFailed(t.Context(), &Factory{}, "the tokens of prod could not be stored", nil, []importTarget{target}, nil).Error(); !strings.Contains(msg, "the tokens of sand were put back as they were") {
		t.Fatalf("importFailed: %s; want sand's tokens put back", msg)
	}
	if got, err := os.ReadFile(file); err != nil || string(got) != prev.AccessToken+"\n" {
		t.Fatalf("the token file holds %q, %v after the put-back; want the access token put back, %q", got, err, prev.AccessToken)
	}
}

// TestImportAbandonedSaysWhatItLeaves: what a second Ctrl-C while an
// import stores an environment's tokens says the import leaves as it is,
// not put back: the export's tokens stored for the environments before,
// the tokens it removed where the export has none, the export's client
// secret kept in the keychain; nothing for an environment whose stored
// tokens it kept, or that had none to remove.
func TestImportAbandonedSaysWhatItLeaves(t *testing.T) {
	target := func(name string, untouched bool, wrote, prev *store.Record) importTarget {
		return importTarget{env: postman.Env{Name: name}, untouched: untouched, wrote: wrote, prev: prev}
	}
	rec := &store.Record{RefreshToken: "rt"}
	written := []importTarget{
		target("kept", true, nil, rec),
		target("aaa", false, rec, nil),
		target("bbb", false, rec, rec),
		target("gone", false, nil, rec),
		target("none", false, nil, nil),
	}
	secrets := []keychainSecret{{env: &config.Env{Name: "aaa"}}, {env: &config.Env{Name: "bbb"}, had: true}}
	for _, c := range []struct {
		written []importTarget
		secrets []keychainSecret
		want    string
	}{
		{nil, nil, ""},
		{written[:1], nil, ""},
		{written, nil, "the tokens of aaa, bbb are the export's, and those of gone are removed, not put back as they were"},
		{written[:1], secrets, "the keychain holds the export's client secret for aaa, bbb, not put back as they were"},
		{written[1:2], secrets, "the tokens of aaa are the export's, and the keychain holds the export's client secret for aaa, bbb, not put back as they were"},
		{written[3:], nil, "the tokens of gone are removed, not put back as they were"},
		{written[3:], secrets, "the tokens of gone are removed, and the keychain holds the export's client secret for aaa, bbb, not put back as they were"},
	} {
		if got := importLeft(c.written, c.secrets); got != c.want {
			t.Errorf("importLeft(%d written, %d secrets) = %q; want %q", len(c.written), len(c.secrets), got, c.want)
		}
	}
}
