package configedit_test

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestEditPastTheSizeBoundSaysSo: an edit (init, import) that would make a
// configuration file just under 1 MiB larger than that is refused saying
// so, and what to do, with the file left as it was: it was refused in the
// words for a file that is no configuration ("is it the configuration
// file? Name that file"), which it is.
func TestEditPastTheSizeBoundSaysSo(t *testing.T) {
	const env = "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n"
	text := env + "# " + strings.Repeat("x", 1<<20-len(env)-3) + "\n"
	p := testenv.WriteFile(t, "config.toml", text, 0o600)
	_, err := configedit.WriteEnv(p, "b", config.EnvSettings{Provider: "freeagent", ClientID: "y"}, false)
	want := p + ": this change would make it larger than 1 MiB, the most a configuration file may hold; nothing was written. Take out environments you no longer use (freshtoken remove -e NAME)"
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "Name that file") {
		t.Fatalf("WriteEnv = %v; want a configuration error %q", err, want)
	}
	if b, _ := os.ReadFile(p); string(b) != text {
		t.Fatal("the file was changed")
	}
	if _, err := configedit.RemoveEnv(p, "a"); err != nil {
		t.Fatalf("RemoveEnv of a file of 1 MiB: %v", err)
	}
}

// TestManyEnvironmentsWriteInLinearWork: an import of many environments (an
// accountant's Postman export, one per client company) writes them into the
// file in work that grows with its size: each environment's table was
// added by reading the whole file, as written so far, again, and 2000 took
// 6 s to write (1000: 284 KB allocated for each, where 21 KB do). Counted
// in bytes allocated, not time.
func TestManyEnvironmentsWriteInLinearWork(t *testing.T) {
	const n = 1000
	p := testenv.WriteFile(t, "config.toml", "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n", 0o600)
	envs := make([]configedit.NamedEnv, n)
	for i := range envs {
		envs[i] = configedit.NamedEnv{Name: fmt.Sprintf("client-%d", i), Settings: config.EnvSettings{Provider: "freeagent", ClientID: fmt.Sprintf("client-id-%d", i), ClientSecretEnv: "S"}}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := configedit.WriteEnvs(p, envs, "")
	runtime.ReadMemStats(&after)
	if err != nil || len(f.Envs) != n+1 {
		t.Fatalf("WriteEnvs = %v; want %d environments", err, n+1)
	}
	if perEnv := (after.TotalAlloc - before.TotalAlloc) / n; perEnv > 60_000 {
		t.Errorf("WriteEnvs of %d environments allocated %d bytes for each; want under 60 KB (the file looked at once, not once for each)", n, perEnv)
	}
}
