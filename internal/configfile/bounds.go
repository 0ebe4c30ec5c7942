package configfile

import "bytes"

// MaxSize bounds a configuration file: one of thousands of
// environments is a few hundred KiB, and the decoder takes several times a
// file's size in memory.
const MaxSize = 1 << 20

// maxNesting bounds how deep tables and lists nest in a configuration file,
// table headers counted: no setting is deeper than three (a list in an
// inline table under [env.NAME]), and the decoder takes memory and time
// that grow with the square of the depth (a 40 KB file of inline tables
// 8000 deep took 2.6 GB and 17 s).
const maxNesting = 32

// tooDeep returns the line where data's tables and lists, counted by their
// brackets and braces outside strings and comments, first nest deeper than
// maxNesting, or 0.
func tooDeep(data []byte) int {
	line, depth := 1, 0
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '\n':
			line++
		case '#':
			end := bytes.IndexByte(data[i:], '\n')
			if end < 0 {
				return 0
			}
			i += end - 1
		case '"', '\'':
			var lines int
			i, lines = stringEnd(data, i)
			line += lines
		case '[', '{':
			if depth++; depth > maxNesting {
				return line
			}
		case ']', '}':
			depth = max(depth-1, 0)
		}
	}
	return 0
}

// stringEnd returns the index of the last byte of the TOML string that
// opens at data[i] (a quote), and the line breaks in it: a basic string
// ("…") or a literal one ('…') ends at its line's end if not before, a
// multi-line one (opened by three quotes of either kind) at three or more
// of its quotes, up to two of them the string's own. Only basic strings
// have escapes.
func stringEnd(data []byte, i int) (end, lines int) {
	q := data[i]
	multi := bytes.HasPrefix(data[i:], []byte{q, q, q})
	if multi {
		i += 2
	}
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '\\' && q == '"' && i+1 < len(data):
			i++
			if data[i] == '\n' {
				lines++
			}
		case c == '\n':
			if !multi {
				return i - 1, 0
			}
			lines++
		case c == q && !multi:
			return i, lines
		case c == q && bytes.HasPrefix(data[i:], []byte{q, q, q}):
			run := 3
			for run < 5 && i+run < len(data) && data[i+run] == q {
				run++
			}
			return i + run - 1, lines
		}
	}
	return len(data) - 1, lines
}
