package configfile

import (
	"bytes"
	"fmt"
	"iter"
	"strings"

	"github.com/BurntSushi/toml"
)

// KeyLine finds the line where key is set in data, or 0. The TOML decoder
// keeps positions to itself, so this follows table headers and dotted keys
// well enough to point a person at the right line.
func KeyLine(data []byte, key toml.Key) int {
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

// LineOf is KeyLine of key, looked for when called: for the line of a
// mistake, which a file of many environments must not pay for when there
// is none.
func LineOf(data []byte, key ...string) func() int {
	return func() int { return KeyLine(data, key) }
}

// EnvLines maps each of names that the file sets keys of (as KeyLine finds
// them) to the first line where it does, in one reading of the file. A name
// may hold a dot (quoted, as in [env."a.b"]), so each part of a key up to a
// dot is a name it may set.
func EnvLines(data []byte, names []string) map[string]int {
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
			table = NormalizeKey(strings.Trim(line[:end], "[]"))
			if !each(n, table) {
				return
			}
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		full := NormalizeKey(k)
		if table != "" {
			full = table + "." + full
		}
		if !each(n, full) {
			return
		}
	}
}

func NormalizeKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// TableSpan is where the table named header is in scan, a file's lines
// outside strings (OutsideStrings): the line of its header, -1 for none,
// and that of the next table not nested in it. Keys of header written
// anywhere else (an inline table, dotted keys) are refused at their line,
// naming path: an edit of the table would leave them behind, or write them
// twice.
func TableSpan(path string, scan []string, header string) (start, end int, err error) {
	start, end = -1, len(scan)
	for i, l := range scan {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "[") {
			continue
		}
		name := NormalizeKey(strings.Trim(t[:max(strings.Index(t, "]"), 1)], "[]"))
		if start < 0 && name == header {
			start = i
			continue
		}
		if start >= 0 && name != header && !strings.HasPrefix(name, header+".") {
			end = i
			break
		}
	}
	if n := writtenApart(scan, header, start, end); n > 0 {
		msg := fmt.Sprintf("is written here apart from its [%s] table, which is all freshtoken rewrites; move this into that table, or edit the file by hand (nothing was written)", header)
		if start < 0 {
			msg = fmt.Sprintf("is written here without a [%s] table (in an inline table or as dotted keys), which freshtoken cannot rewrite; write it as a [%s] table, or edit the file by hand (nothing was written)", header, header)
		}
		return 0, 0, &Error{Path: path, Line: n, Key: header, Msg: msg}
	}
	return start, end, nil
}

// writtenApart is the first line (from 1) outside lines[start:end] (all
// lines, when start < 0) that sets a key of header or begins a table in
// it, or 0.
func writtenApart(lines []string, header string, start, end int) int {
	for i, full := range KeysOf(lines) {
		if (start < 0 || i < start || i >= end) && (full == header || strings.HasPrefix(full, header+".")) {
			return i + 1
		}
	}
	return 0
}

// KeysOf is, for each line of lines (outside strings) that starts a table
// or sets a key, its index and the table's or key's full name.
func KeysOf(lines []string) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		var table string
		for i, l := range lines {
			t := strings.TrimSpace(l)
			if t == "" || t[0] == '#' {
				continue
			}
			full := ""
			if strings.HasPrefix(t, "[") {
				table = NormalizeKey(strings.Trim(t[:max(strings.Index(t, "]"), 1)], "[]"))
				full = table
			} else if k, _, ok := strings.Cut(t, "="); ok {
				full = NormalizeKey(k)
				if table != "" {
					full = table + "." + full
				}
			}
			if full != "" && !yield(i, full) {
				return
			}
		}
	}
}

// SplitLines is text's lines without their line ends (LF or CRLF), of any
// length.
func SplitLines(text string) []string {
	if text == "" {
		return nil
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// OutsideStrings is lines with each line that begins inside a multi-line
// string (in three double or three single quotes) replaced by a line of a
// quote, which is no table header, key, comment or blank line: a line of a
// string's text such as `[ -f ~/.secret ] && cat ~/.secret` in a
// client_secret_cmd was taken for a table's header, and the edit cut the
// string in two.
func OutsideStrings(lines []string) []string {
	out := make([]string, len(lines))
	open := "" // the multi-line string's quotes, while one is under way
	for i, l := range lines {
		out[i] = l
		if open != "" {
			out[i] = `"`
		}
		for j := 0; j < len(l); {
			switch {
			case open != "":
				switch {
				case open == `"""` && l[j] == '\\':
					j += 2
				case strings.HasPrefix(l[j:], open):
					j += 3
					for k := 0; k < 2 && j < len(l) && l[j] == open[0]; k++ { // quotes just before the closing ones are the string's
						j++
					}
					open = ""
				default:
					j++
				}
			case l[j] == '#':
				j = len(l)
			case strings.HasPrefix(l[j:], `"""`), strings.HasPrefix(l[j:], `'''`):
				open, j = l[j:j+3], j+3
			case l[j] == '"', l[j] == '\'':
				q := l[j]
				for j++; j < len(l) && l[j] != q; j++ {
					if q == '"' && l[j] == '\\' {
						j++
					}
				}
				j++
			default:
				j++
			}
		}
	}
	return out
}

// NamesDefault reports whether l, a line outside strings, sets default_env
// to the environment name.
func NamesDefault(l, name string) bool {
	var line struct {
		DefaultEnv string `toml:"default_env"`
	}
	_, err := toml.Decode(l, &line)
	return err == nil && strings.TrimSpace(line.DefaultEnv) == name
}
