package freshtoken_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
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

// TestPublicDocsNameNoUnexportedIdentifier: what `go doc` shows a Go
// programmer of the public packages names no identifier they cannot see:
// RestLeft bounded rests by "maxRest", "failingRest" and "putBackRest",
// DeviceLogin.Expiry by "maxDeviceCodeLife", and the Redis store's Lock sent
// the reader to "markWatch", none of which go doc shows or says the value
// of. Only names written as Go writes identifiers (camelCase, or Type.method)
// are looked for, so that an unexported name that is also an English word
// is not taken for one.
func TestPublicDocsNameNoUnexportedIdentifier(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{if ne .Name "main"}}{{.ImportPath}} {{.Dir}} {{join .GoFiles " "}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 3 || strings.Contains(fields[0]+"/", "/internal/") {
			continue
		}
		pkg, dir := fields[0], fields[1]
		hidden := unexportedNames(t, dir, fields[2:])
		if len(hidden) == 0 {
			continue
		}
		named := regexp.MustCompile(`\b(` + strings.Join(hidden, "|") + `)\b`)
		text, err := exec.Command("go", "doc", "-all", pkg).Output()
		if err != nil {
			t.Fatalf("go doc -all %s: %v", pkg, err)
		}
		for _, line := range strings.Split(string(text), "\n") {
			if m := named.FindString(line); m != "" {
				t.Errorf("%s's documentation names %s, which go doc does not show: %s", pkg, m, strings.TrimSpace(line))
			}
		}
	}
}

// unexportedNames are the package-level identifiers, and methods (as
// Type.method), of the package's files that are not exported and are
// written as identifiers: with a capital letter after the first, or a dot.
// A name that is also a parameter of an exported function, which go doc
// shows in its signature, is left out.
func unexportedNames(t *testing.T, dir string, files []string) []string {
	t.Helper()
	var names []string
	params := map[string]bool{} // an exported function's, which go doc shows
	add := func(name string) {
		if !ast.IsExported(name) && strings.ToLower(name) != name {
			names = append(names, name)
		}
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					add(d.Name.Name)
					if d.Name.IsExported() {
						for _, p := range d.Type.Params.List {
							for _, n := range p.Names {
								params[n.Name] = true
							}
						}
					}
					continue
				}
				recv := d.Recv.List[0].Type
				if star, ok := recv.(*ast.StarExpr); ok {
					recv = star.X
				}
				if id, ok := recv.(*ast.Ident); ok && !ast.IsExported(d.Name.Name) {
					names = append(names, id.Name+"."+d.Name.Name)
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						add(s.Name.Name)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							add(n.Name)
						}
					}
				}
			}
		}
	}
	var hidden []string
	for _, n := range names {
		if !params[n] {
			hidden = append(hidden, regexp.QuoteMeta(n))
		}
	}
	return hidden
}
