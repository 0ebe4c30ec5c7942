package redistest

import (
	"os"
	"strings"
	"testing"
)

// TestFleetRulesAreTheDocs: the user the tests set up (FleetRules) is the
// one docs/fleets.md tells people to, so that a permission freshtoken
// comes to need (as +pttl did) cannot be added to one and not the other.
func TestFleetRulesAreTheDocs(t *testing.T) {
	page, err := os.ReadFile("../../docs/fleets.md")
	if err != nil {
		t.Fatal(err)
	}
	want := "ACL SETUSER freshtoken on >a-long-random-password-0f3a9c " + strings.Join(FleetRules, " ")
	for line := range strings.Lines(string(page)) {
		if strings.TrimSpace(line) == want {
			return
		}
	}
	t.Fatalf("docs/fleets.md has no line %q: the tests' Redis user and the docs' differ", want)
}
