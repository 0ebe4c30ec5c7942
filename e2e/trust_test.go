package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testdisk"
)

// TestFullDiskKeepsTheGrant: the disk fills up between the log-in and a
// renewal. The rotated refresh token is still stored (from the store's
// reserve), the user is told the disk is full, and the grant goes on.
func TestFullDiskKeepsTheGrant(t *testing.T) {
	dir := testdisk.Small(t, "256k")
	w := newWorldWithStore(t, devprovider.Options{AccessTTL: time.Hour}, "file://"+dir, "")
	w.store = dir
	w.login()
	before := refreshToken(t, w)
	free := testdisk.Fill(t, dir)
	r := w.run("token", "--force")
	if r.code != 0 || !strings.Contains(r.stderr, "disk is full") || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want the token, and a warning that the disk is full", r.code, r.stdout, r.stderr)
	}
	if refreshToken(t, w) == before {
		t.Fatal("the rotated refresh token was not stored")
	}
	free()
	w.mustRun("token", "--force")
	if s := w.provider.Stats(); s.ReuseDetected != 0 || s.GrantsRevoked != 0 || s.Refreshes != 2 {
		t.Fatalf("provider stats %+v; want two refreshes and no reuse", s)
	}
}

// TestTwoConfigsOneEnvironmentName: a second configuration names its
// environment "dev" too, for another client or another provider, and shares
// the token folder. It never sends or prints the first's tokens, and says
// log-in needed (exit 3) naming both grants; the first keeps working.
func TestTwoConfigsOneEnvironmentName(t *testing.T) {
	tests := []struct {
		name string
		env  func(firstAPI, otherAPI string) string
	}{
		{"another client", func(firstAPI, _ string) string {
			return fmt.Sprintf("provider = \"freeagent\"\napi_url = %q\nclient_id = \"another-client\"\nclient_secret_env = \"DEV_SECRET\"\n", firstAPI)
		}},
		{"another provider", func(_, otherAPI string) string {
			return fmt.Sprintf("provider = \"freeagent\"\napi_url = %q\nclient_id = \"dev-client-id\"\nclient_secret_env = \"DEV_SECRET\"\n", otherAPI)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
			w.login()
			stored := string(w.storeBytes())
			var otherHits atomic.Int32
			other := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				otherHits.Add(1)
				http.Error(rw, "unexpected", http.StatusTeapot)
			}))
			defer other.Close()
			second := filepath.Join(w.dir, "second.toml")
			conf := fmt.Sprintf("[store]\nurl = %q\n\n[env.dev]\n%s", "file://"+w.store, tt.env(w.api, other.URL+"/"))
			if err := os.WriteFile(second, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			requests := w.provider.Stats().TokenRequests
			for _, args := range [][]string{{"token"}, {"token", "--force"}, {"get", "/v2/company"}, {"logout"}} {
				r := w.run(append([]string{"--config", second}, args...)...)
				if r.code != 3 || !strings.Contains(r.stderr, "belong to client") || !strings.Contains(r.stderr, "freshtoken login -e dev") {
					t.Fatalf("%v: exit %d, stderr %q; want 3 naming the other grant and the log-in", args, r.code, r.stderr)
				}
				if r.stdout != "" {
					t.Fatalf("%v printed %q", args, r.stdout)
				}
			}
			st := w.run("--config", second, "status")
			if !strings.Contains(st.stdout, "logged in:      no: the stored tokens belong to client") {
				t.Fatalf("status:\n%s", st.stdout)
			}
			if otherHits.Load() != 0 || w.provider.Stats().TokenRequests != requests {
				t.Fatal("the first configuration's tokens were sent somewhere")
			}
			if string(w.storeBytes()) != stored {
				t.Fatal("the first configuration's record was changed")
			}
			w.mustRun("token", "--force")
			w.mustRun("get", "/v2/company")
		})
	}
}

// TestJSONLogsSpellDurationsAndTimes: in --log-format json every duration is
// a string such as "1m0s" and every time RFC 3339, for machines and people.
func TestJSONLogsSpellDurationsAndTimes(t *testing.T) {
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	r := w.mustRun("--debug", "--log-format", "json", "token", "--force")
	durations, times := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		for k, v := range m {
			switch k {
			case "refresh_before", "skew", "remaining", "waited", "duration", "after":
				if _, ok := v.(string); !ok {
					t.Errorf("%s = %v (%T) in %q; want a duration string", k, v, v, line)
				} else if _, err := time.ParseDuration(v.(string)); err != nil {
					t.Errorf("%s = %v (%T) in %q; want a duration string", k, v, v, line)
				}
				durations++
			case "time", "issued", "expires", "now", "renewed":
				if _, err := time.Parse(time.RFC3339, fmt.Sprint(v)); err != nil {
					t.Errorf("%s = %v in %q; want RFC 3339", k, v, line)
				}
				times++
			}
		}
	}
	if durations == 0 || times == 0 {
		t.Fatalf("saw %d durations and %d times; the test proves nothing:\n%s", durations, times, r.stderr)
	}
}
