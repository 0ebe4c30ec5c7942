package freshtoken_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestPublicDocsNameNoInternalPackage: what `go doc` and pkg.go.dev show a
// Go programmer of the public packages (the engine, config, the stores)
// names nothing of an internal package, which no program outside this
// module may import: config's Env.Transport told its caller to wrap the
// transport in httpx.ExplainTLS, an instruction no program could follow,
// and other comments pointed to internal functions for their meaning
// (httpx.URLFault, redact.HasASecretWord, redact.URL) that a programmer
// cannot look up.
func TestPublicDocsNameNoInternalPackage(t *testing.T) {
	entries, err := os.ReadDir("internal")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, regexp.QuoteMeta(e.Name()))
		}
	}
	internal := regexp.MustCompile(`\b(` + strings.Join(names, "|") + `)\.[A-Z]\w*`)
	out, err := exec.Command("go", "list", "-f", "{{if ne .Name \"main\"}}{{.ImportPath}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg+"/", "/internal/") {
			continue
		}
		text, err := exec.Command("go", "doc", "-all", pkg).Output()
		if err != nil {
			continue // a package of tests alone has no documentation
		}
		for _, line := range strings.Split(string(text), "\n") {
			if m := internal.FindString(line); m != "" {
				t.Errorf("%s's documentation names %s, of an internal package no program can import: %s", pkg, m, strings.TrimSpace(line))
			}
		}
	}
}
