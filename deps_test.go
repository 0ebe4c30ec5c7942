package freshtoken_test

import (
	"bytes"
	"go/doc"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
	mod, readme := readFile(t, "go.mod"), readFile(t, "README.md")
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

// TestReadmeNamesEveryPackage: each package of the module has its line in
// the README's "Working on freshtoken" layout, by its path or, as
// release/'s small programs are, by its name under its parent's line:
// internal/sockowner and internal/wake were merged without one, and a
// newcomer reading the layout could not tell where the proxy's check of
// other users or the engine's closing after a sleep live.
func TestReadmeNamesEveryPackage(t *testing.T) {
	_, layout, _ := strings.Cut(string(readFile(t, "README.md")), "## Working on freshtoken")
	layout, _, _ = strings.Cut(layout, "\n## ")
	out, err := exec.Command("go", "list", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		dir, ok := strings.CutPrefix(pkg, "github.com/freshtoken/freshtoken/")
		if !ok { // the engine, the root package
			continue
		}
		parent, base := filepath.Split(dir)
		if !strings.Contains(layout, dir+"/") && (parent == "" || !strings.Contains(layout, parent) || !strings.Contains(layout, " "+base+"/")) {
			t.Errorf("the README's layout (Working on freshtoken) does not name %s/", dir)
		}
	}
}

// TestExampleBuildsAsAProgramOfYourOwn: each of the package's Examples is
// shown (pkg.go.dev, go doc) as a whole program to copy, its helpers
// included. It builds and runs as one, in a module of its own that requires
// freshtoken, and prints what its Output says: Example imported the
// internal dev provider, which no program outside this module may, so a
// newcomer's copy failed with "use of internal package not allowed". The
// build sets its own GOFLAGS, and so says -buildvcs=false itself: it
// dropped the machine's, and failed ("error obtaining VCS status") wherever
// the temporary folder lies in a checkout git refuses.
//
// config's and the Redis store's Examples, the common paths of a program
// that reads the command line's configuration or shares tokens between
// machines, are held to the same.
func TestExampleBuildsAsAProgramOfYourOwn(t *testing.T) {
	for _, file := range []string{"example_test.go", "config/example_test.go", "store/redisstore/example_test.go"} {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		examples := doc.Examples(f)
		if file == "example_test.go" && (len(examples) == 0 || examples[0].Name != "") {
			t.Fatal("the package has no Example")
		}
		for _, ex := range examples {
			t.Run(f.Name.Name+".Example"+ex.Name, func(t *testing.T) {
				if ex.Play == nil {
					t.Fatal("the Example is not shown as a whole program")
				}
				buildExample(t, fset, ex)
			})
		}
	}
}

// buildExample builds ex, shown as a whole program, in a module of its
// own, and runs it when it has an Output, which it must print.
func buildExample(t *testing.T, fset *token.FileSet, ex *doc.Example) {
	t.Helper()
	var src bytes.Buffer
	if err := format.Node(&src, fset, ex.Play); err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	mod, sum := readFile(t, "go.mod"), readFile(t, "go.sum")
	// Inside a folder git cannot read as a repository, as a CI job's
	// checkout owned by another user is to git ("dubious ownership"), where
	// go build's VCS stamping fails and GOFLAGS=-buildvcs=false is what
	// lets anything build.
	dir := filepath.Join(t.TempDir(), "yours")
	if err := os.MkdirAll(filepath.Join(filepath.Dir(dir), ".git"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	gomod := strings.Replace(string(mod), "module github.com/freshtoken/freshtoken", "module example.com/yours", 1) +
		"\nrequire github.com/freshtoken/freshtoken v0.0.0\n\nreplace github.com/freshtoken/freshtoken => " + root + "\n"
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": src.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "yours")
	if runtime.GOOS == "windows" {
		bin += ".exe" // what exec looks for there
	}
	// No VCS stamp: the copy is no one's checkout, and the GOFLAGS set
	// below replace any -buildvcs=false of the machine's.
	build := exec.Command("go", "build", "-buildvcs=false", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the Example, copied into a program of its own, does not build: %v\n%s\n%s", err, out, src.Bytes())
	}
	if ex.Output == "" {
		return // it shows what to write, and prints nothing to compare
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || string(out) != ex.Output {
		t.Fatalf("the Example, copied into a program of its own, printed %q (%v); want %q, as its Output says", out, err, ex.Output)
	}
}

// readFile is the file at name, in the package's folder.
func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
