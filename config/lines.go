package config

import (
	"bytes"
	"strings"

	"github.com/BurntSushi/toml"
)

// keyLine finds the line where key is set in data, or 0. The TOML decoder
// keeps positions to itself, so this follows table headers and dotted keys
// well enough to point a person at the right line.
func keyLine(data []byte, key toml.Key) int {
	if len(key) == 0 {
		return 0
	}
	want := strings.Join(key, ".")
	found := 0
	keyLines(data, func(n int, full string) bool {
		if full == want || strings.HasPrefix(full, want+".") {
			found = n
		}
		return found == 0
	})
	return found
}

// lineOf is keyLine of key, looked for when called: for the line of a
// mistake, which a file of many environments must not pay for when there
// is none.
func lineOf(data []byte, key ...string) func() int {
	return func() int { return keyLine(data, key) }
}

// envLines maps each of names that the file sets keys of (as keyLine finds
// them) to the first line where it does, in one reading of the file. A name
// may hold a dot (quoted, as in [env."a.b"]), so each part of a key up to a
// dot is a name it may set.
func envLines(data []byte, names []string) map[string]int {
	known := make(map[string]bool, len(names))
	for _, name := range names {
		known[name] = true
	}
	first := map[string]int{}
	keyLines(data, func(n int, full string) bool {
		rest, ok := strings.CutPrefix(full, "env.")
		for i := 0; ok && i <= len(rest); i++ {
			if name := rest[:i]; (i == len(rest) || rest[i] == '.') && known[name] && first[name] == 0 {
				first[name] = n
			}
		}
		return true
	})
	return first
}

// keyLines calls each with the number of each line of data that is a
// table's header or sets a key, and the whole key (the table's, or the
// table's and the key's), until each returns false.
func keyLines(data []byte, each func(n int, full string) bool) {
	var table string
	n := 0
	for text := range bytes.Lines(data) {
		n++
		line := strings.TrimSpace(string(text))
		if line == "" || line[0] == '#' {
			continue
		}
		if strings.HasPrefix(line, "[") {
			end := strings.Index(line, "]")
			if end < 0 {
				continue
			}
			table = normalizeKey(strings.Trim(line[:end], "[]"))
			if !each(n, table) {
				return
			}
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		full := normalizeKey(k)
		if table != "" {
			full = table + "." + full
		}
		if !each(n, full) {
			return
		}
	}
}

func normalizeKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}
