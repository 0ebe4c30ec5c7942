package cli_test

import (
	"os"
	"strings"
	"testing"
)

// TestUneditableConfigIsRefusedBeforeAnyQuestion: `remove` and interactive
// `init`, given a configuration file freshtoken does not edit (read-only,
// or one of several hard links), asked their questions first (remove's
// "delete its stored tokens?", init's provider, name, client ID…, `init
// --default`'s which environment) and
// refused it only once the person had answered them all. They now refuse
// it first, in one line, asking nothing, and change nothing.
func TestUneditableConfigIsRefusedBeforeAnyQuestion(t *testing.T) {
	for _, tc := range []struct {
		name, why string
		make      func(t *testing.T, config string)
	}{
		{"read-only", "is read-only", func(t *testing.T, config string) {
			if err := os.Chmod(config, 0o400); err != nil {
				t.Fatal(err)
			}
		}},
		{"a hard link", "is one of 2 names of one file", func(t *testing.T, config string) {
			if err := os.Link(config, config+".bak"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		for _, cmd := range [][]string{{"-e", "dev", "remove"}, {"init"}, {"init", "--default"}} {
			t.Run(tc.name+" "+strings.Join(cmd, " "), func(t *testing.T) {
				e := newDevEnv(t)
				e.login(t)
				tc.make(t, e.config)
				kept := e.configKept(t)
				ios, stdout, stderr := testStreams(true, true)
				ios.In, ios.InTTY = strings.NewReader(strings.Repeat("y\n", 20)), true
				code := e.run(ios, cmd...)
				said := stderr.String()
				if code != 2 || !strings.Contains(said, tc.why) || strings.Count(said, "\n") != 1 || strings.Contains(said, "?") {
					t.Fatalf("%s: exit %d, said:\n%s%s\nwant exit 2, one line saying the file %s, and no question before it", cmd, code, stdout, said, tc.why)
				}
				kept("the file is not to be edited")
				ios, stdout, stderr = testStreams(false, false)
				if code := e.run(ios, "-e", "dev", "token"); code != 0 {
					t.Errorf("token after the refusal: exit %d; want the tokens kept\n%s%s", code, stdout, stderr)
				}
			})
		}
	}
}
