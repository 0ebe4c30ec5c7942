package freshtoken_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestEngineLinksNoConfigRedisOrCLI: a Go program that uses the engine does
// not link the TOML library, the Redis client or the command line.
func TestEngineLinksNoConfigRedisOrCLI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/freshtoken/freshtoken").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/BurntSushi/toml", "github.com/redis/go-redis", "github.com/spf13/cobra", "github.com/freshtoken/freshtoken/config", "github.com/freshtoken/freshtoken/internal/cli"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("the engine depends on %s", dep)
			}
		}
	}
}

// TestReadmeNamesEveryDependency: each module go.mod requires directly has
// its row in the README's "Dependencies and what each is for".
func TestReadmeNamesEveryDependency(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, deps, _ := strings.Cut(string(readme), "## Dependencies and what each is for")
	deps, _, _ = strings.Cut(deps, "\n## ")
	_, req, _ := strings.Cut(string(mod), "require (")
	req, _, _ = strings.Cut(req, ")")
	for _, line := range strings.Split(req, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.Contains(line, "// indirect") {
			continue
		}
		if !strings.Contains(deps, "| "+f[0]) {
			t.Errorf("README.md's dependency table has no row for %s", f[0])
		}
	}
}
