package keeper

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestDocsSayWhenARefusalIsTriedAgain: the notices client_rejected and
// renewal_refused in docs/configuration.md say how soon the running process
// tries again after the provider refused it, as rejectedRetry has it:
// renewal_refused's row still said once an hour after the wait became 5
// minutes for both.
func TestDocsSayWhenARefusalIsTriedAgain(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d minutes after each refusal", int(rejectedRetry.Minutes()))
	for _, kind := range []string{"client_rejected", "renewal_refused"} {
		row := ""
		for line := range strings.Lines(string(doc)) {
			if strings.HasPrefix(line, "| `"+kind+"` |") {
				row = line
			}
		}
		if !strings.Contains(row, want) {
			t.Errorf("docs/configuration.md: the row of %s does not say %q", kind, want)
		}
	}
}
