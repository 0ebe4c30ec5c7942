package freshtoken_test

import (
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
