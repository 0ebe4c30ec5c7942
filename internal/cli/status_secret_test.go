package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestStatusTellsOfAnUnsetSecretVariable: an environment whose client
// secret comes from client_secret_env naming a variable that is not set
// (or is empty) here is told of in its client secret's line, with the
// variable to set, and in --json (client_secret_problem); status exits 2,
// a configuration error, as the renewal it foretells does. It showed all
// well and exited 0, and the next renewal failed. The secret never shows.
func TestStatusTellsOfAnUnsetSecretVariable(t *testing.T) {
	const secretVar = "FRESHTOKEN_TEST_STATUS_SECRET"
	e := newDevEnv(t)
	e.configureWith(t, config.EnvSettings{ClientSecretEnv: secretVar})
	t.Setenv(secretVar, "dev-client-secret")
	e.loginOutside(t)

	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "status"); code != 0 || !strings.Contains(stdout.String(), "client secret:  $"+secretVar+"\n") {
		t.Fatalf("status with $%s set: exit %d, stdout %q, stderr %q; want 0 naming the variable", secretVar, code, stdout, stderr)
	}

	for _, tc := range []struct {
		name  string
		set   func()
		state string
	}{
		{"unset", func() { os.Unsetenv(secretVar) }, "is not set"},
		{"empty", func() { os.Setenv(secretVar, " ") }, "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.set()
			ios, stdout, stderr := testStreams(false, false)
			code := e.run(ios, "status")
			want := "client secret:  $" + secretVar + " " + tc.state + " here, so a renewal or log-in fails for want of the client secret; set it (export " + secretVar + "=…) where freshtoken runs\n"
			if code != 2 || !strings.Contains(stdout.String(), want) || !strings.Contains(stdout.String(), "logged in:      yes") {
				t.Errorf("status: exit %d, stdout %q, stderr %q; want 2 and the line %q", code, stdout, stderr, want)
			}
			ios, stdout, stderr = testStreams(false, false)
			code = e.run(ios, "status", "--json")
			var all []struct {
				Env                 string `json:"env"`
				ClientSecretIn      string `json:"client_secret_in"`
				ClientSecretProblem string `json:"client_secret_problem"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &all); err != nil || code != 2 || len(all) != 1 ||
				all[0].ClientSecretIn != "$"+secretVar || !strings.Contains(all[0].ClientSecretProblem, tc.state) || !strings.Contains(all[0].ClientSecretProblem, "export "+secretVar+"=") {
				t.Errorf("status --json: exit %d (%v), stdout %s, stderr %q; want 2 and client_secret_problem", code, err, stdout, stderr)
			}
			// It is so: the renewal it foretells fails, a configuration error.
			ios, _, stderr = testStreams(false, false)
			if code := e.run(ios, "token", "--force"); code != 2 || !strings.Contains(stderr.String(), secretVar) {
				t.Errorf("token --force: exit %d, stderr %q; want 2 naming $%s", code, stderr, secretVar)
			}
		})
	}

	os.Setenv(secretVar, "dev-client-secret")
	ios, stdout, stderr = testStreams(false, false)
	if code := e.run(ios, "status", "--json"); code != 0 || strings.Contains(stdout.String(), "client_secret_problem") || strings.Contains(stdout.String()+stderr.String(), "dev-client-secret") {
		t.Fatalf("status --json with $%s set again: exit %d, stdout %s; want 0, no problem and no secret", secretVar, code, stdout)
	}
}

// TestStatusExitsTwoForAStoreItWillNotUse: a token store that every
// command refuses to use (a folder where the record belongs, a token folder
// others may read) is a problem with what the environment needs here, as a
// store that refused access is: status tells of it and exits 2, as the
// token command does. It told of it and exited 0, which a script took for
// all well.
func TestStatusExitsTwoForAStoreItWillNotUse(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	rec := filepath.Join(e.dir, "state", "dev.json")
	if err := os.Remove(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(rec, 0o700); err != nil {
		t.Fatal(err)
	}
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "status"); code != 2 || !strings.Contains(stdout.String(), rec+" is not a regular file") {
		t.Errorf("status with a folder at the record's place: exit %d, stdout %q, stderr %q; want 2 telling of it", code, stdout, stderr)
	}
	ios, _, stderr = testStreams(false, false)
	if code := e.run(ios, "token"); code != 2 {
		t.Errorf("token with a folder at the record's place: exit %d, stderr %q; want 2", code, stderr)
	}
}

// TestStatusExitsTwoForARecordOfANewerFreshtoken: a record written by a
// newer freshtoken (an upgrade rolled back) is one no command of this one
// uses: `token` exits 2, saying to upgrade, and so does `status` (also
// --json), which exited 0, saying every environment had what it needed.
func TestStatusExitsTwoForARecordOfANewerFreshtoken(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	rec := filepath.Join(e.dir, "state", "dev.json")
	b, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	newer := strings.Replace(string(b), `"version": 1,`, `"version": 99,`, 1)
	if newer == string(b) {
		t.Fatalf("no version in the record: %s", b)
	}
	if err := os.WriteFile(rec, []byte(newer), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, stderr := testStreams(false, false)
	tokenCode := e.run(ios, "token")
	if tokenCode != 2 || !strings.Contains(stderr.String(), "upgrade freshtoken") {
		t.Fatalf("token: exit %d, stderr %q; want 2, saying to upgrade", tokenCode, stderr)
	}
	for _, args := range [][]string{{"status"}, {"status", "--json"}} {
		ios, stdout, stderr := testStreams(false, false)
		if code := e.run(ios, args...); code != tokenCode || !strings.Contains(stdout.String(), "written by a newer freshtoken (format 99); upgrade freshtoken") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d telling of it", strings.Join(args, " "), code, stdout, stderr, tokenCode)
		}
	}
	if got, _ := os.ReadFile(rec); string(got) != newer {
		t.Errorf("the record changed: %s", got)
	}
}
