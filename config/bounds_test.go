package config_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

const boundedEnv = "[env.a]\nprovider = \"freeagent\"\nclient_id = \"x\"\n"

// A file no configuration could be (larger than 1 MiB, or with tables or
// lists nested deeper than any setting) is refused at once, naming the file
// and, for the nesting, the line: the decoder took memory and time growing
// with the square of the nesting (inline tables 8000 deep, a 40 KB file, took
// 2.6 GB and 17 s before naming an unknown key), and a file of hundreds of
// MB several times its size. Brackets in strings and comments are not
// nesting.
func TestFilesNoConfigurationIs(t *testing.T) {
	refused := []struct {
		name, text, want string
	}{
		{"inline tables 2000 deep", boundedEnv + "a = " + strings.Repeat("{b = ", 2000) + "1" + strings.Repeat("}", 2000) + "\n",
			":4: tables or lists are nested more than 32 deep here"},
		{"lists 33 deep", boundedEnv + "\n\nscopes = " + strings.Repeat("[", 33) + strings.Repeat("]", 33) + "\n",
			":6: tables or lists are nested more than 32 deep here"},
		{"over 1 MiB", boundedEnv + "# " + strings.Repeat("x", 1<<20) + "\n",
			": is larger than any configuration file (1 MiB at most)"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, tt.text)
			_, err := config.Load(p)
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), p+tt.want) {
				t.Errorf("Load = %v; want a configuration error %q", err, p+tt.want)
			}
		})
	}
	deepText := strings.Repeat("[", 40) + "{{{{" + strings.Repeat("]", 40)
	accepted := []struct{ name, text string }{
		{"brackets in comments", "# " + deepText + "\n" + boundedEnv + "# " + deepText + "\n"},
		{"brackets in strings", boundedEnv + "auth_params = { a = \"" + deepText + "\", b = '" + deepText + "\\', c = \"\\\"" + deepText + "\" }\n"},
		{"brackets in multi-line strings", boundedEnv + "auth_params = { a = \"\"\"\n" + deepText + "\n\\\"\"\"" + deepText + "\"\"\"\"\"}\n" +
			"token_params = { b = '''\n" + deepText + "\n''''' }\n"},
		{"brackets in keys", "[env.\"" + deepText + "\"]\n" + strings.TrimPrefix(boundedEnv, "[env.a]\n") + "[env.a]\n"},
		{"nested as deep as may be", boundedEnv + "auth_params = { a = \"1\" }\n[x" + strings.Repeat(".y", 30) + "]\nz = " + strings.Repeat("[", 32) + strings.Repeat("]", 32) + "\n"},
		{"1 MiB", boundedEnv + "# " + strings.Repeat("x", 1<<20-len(boundedEnv)-3) + "\n"},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(write(t, tt.text))
			if err != nil && (strings.Contains(err.Error(), "nested more than") || strings.Contains(err.Error(), "larger than any")) {
				t.Errorf("Load = %v; want no complaint of nesting or size", err)
			}
		})
	}
}

// A file of many environments (an accountant's, one per client company) is
// read in work that grows with its size: each environment's first line was
// looked for by reading the whole file again at each comparison of a sort,
// and 2000 environments took 20 s to load (28931 allocations per
// environment of 1000, where 98 do); the line of each client_secret was
// looked for in the whole file too, to be named were the file readable by
// others, and 2000 environments with a client_secret took 15 s for `token` (7658 per
// environment of 1000, where 149 do). Counted in allocations, not time.
func TestManyEnvironmentsLoadInLinearWork(t *testing.T) {
	const n = 1000
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		env  func(i int) string
	}{
		{"client_secret_env", func(int) string { return "client_secret_env = \"S\"\n" }},
		{"client_secret and token_file", func(i int) string {
			return fmt.Sprintf("client_secret = \"s3cr3t-%d\"\ntoken_file = %q\n", i, filepath.Join(dir, fmt.Sprintf("token-%d", i)))
		}},
	} {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "[env.e%d]\nprovider = \"freeagent\"\nclient_id = \"client-%d\"\n", i, i)
			b.WriteString(tc.env(i) + "\n")
		}
		p := write(t, b.String())
		allocs := testing.AllocsPerRun(1, func() {
			if f, err := config.Load(p); err != nil || len(f.Envs) != n {
				t.Fatalf("%s: Load = %v; want %d environments", tc.name, err, n)
			}
		})
		if perEnv := allocs / n; perEnv > 1000 {
			t.Errorf("%s: Load of %d environments made %.0f allocations, %.0f per environment; want under 1000 each", tc.name, n, allocs, perEnv)
		}
	}
}
