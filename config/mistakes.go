package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/BurntSushi/toml"

	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/nearest"
	"github.com/freshtoken/freshtoken/store"
)

// A file's mistakes, told in a person's words: the TOML decoder's errors
// name Go's types, quote values back (a secret's start among them) and
// blame the wrong line, so each kind of mistake a person makes by hand
// (a misspelt or misplaced key, a value without quotes, a curly quote
// pasted from a chat, syntax brought from another format) is found here
// and said at its line with what to write instead, repeating no value.

// firstBadValue is the decoder's error for the first value, in the file's
// order, that the setting it is written for cannot take, or nil. The
// decoder stops at the first such value it meets, but goes through each
// table's keys in no set order, so that of several mistakes it reported
// one at random: the values are decoded here one at a time, in the order
// keys gives, the file's.
func firstBadValue(text string, keys []toml.Key) error {
	var top map[string]toml.Primitive
	md, err := toml.Decode(text, &top)
	if err != nil {
		return nil
	}
	type table struct {
		t      reflect.Type
		values map[string]toml.Primitive
	}
	tables := map[string]table{"": {reflect.TypeFor[rawFile](), top}}
	for _, k := range keys {
		parent := ""
		for i, part := range k {
			tab, ok := tables[parent]
			if !ok {
				break // under a setting that reads its own value, or unknown
			}
			here := k[:i+1].String()
			if _, done := tables[here]; done {
				parent = here
				continue
			}
			v, ok := tab.values[part]
			if !ok {
				break
			}
			var t reflect.Type
			switch {
			case tab.t.Kind() == reflect.Map:
				t = tab.t.Elem()
			case tab.t.Kind() == reflect.Struct:
				_, t = settingNamed(tab.t, part)
			}
			if t == nil || i < len(k)-1 && !isTable(t) {
				break // no setting takes it (unknownKeys tells of it), or under one that takes its value whole
			}
			if !isTable(t) {
				if err := md.PrimitiveDecode(v, reflect.New(t).Interface()); err != nil {
					return err
				}
				break
			}
			var values map[string]toml.Primitive
			if md.PrimitiveDecode(v, &values) != nil || values == nil {
				// Not a table (which the decoder leaves a map nil for): in
				// the decoder's words, if it has any for it.
				if err := md.PrimitiveDecode(v, reflect.New(t).Interface()); err != nil {
					return err
				}
				break
			}
			tables[here] = table{t, values}
			parent = here
		}
	}
	return nil
}

// isTable reports whether the decoder fills t, a setting's type, key by
// key from a table: a struct or a map that does not read its own value.
func isTable(t reflect.Type) bool {
	return (t.Kind() == reflect.Struct || t.Kind() == reflect.Map) &&
		!reflect.PointerTo(t).Implements(reflect.TypeFor[toml.Unmarshaler]()) &&
		!reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// unknownKeyError is the error for the first of undecoded, the keys no
// setting took, or else for a key of keys that the decoder took for a
// setting spelt in another case; nil if there is neither.
func unknownKeyError(path string, data []byte, undecoded, keys []toml.Key) *Error {
	if len(undecoded) > 0 {
		k := undecoded[0]
		msg := "unknown key; `freshtoken help config` lists the keys this freshtoken knows (one named only in newer docs needs an upgrade)"
		if hint := unknownKeyHint(k, keys); hint != "" {
			msg = hint
		}
		return &Error{Path: path, Line: configfile.KeyLine(data, k), Key: k.String(), Msg: msg}
	}
	if k, want := miscased(keys); k != nil {
		return &Error{Path: path, Line: configfile.KeyLine(data, k), Key: k.String(), Msg: "unknown key; keys are written in lower case: " + want}
	}
	return nil
}

// tables are the settings of each table, by where they are written: ""
// above every table, and the tables' names.
var tables = sync.OnceValue(func() map[string]reflect.Type {
	return map[string]reflect.Type{"": reflect.TypeFor[rawFile](), "env": reflect.TypeFor[EnvSettings](),
		"store": reflect.TypeFor[configfile.RawStore](), "notify": reflect.TypeFor[Notify]()}
})

// unknownKeyHint says, of k, a key no setting took, where it belongs when
// it is another table's key (client_id above the environments,
// default_env below one, [store]'s url in an environment), or else the
// setting it is nearest to as a misspelling (client-id, clientId,
// [envs.a]); "" when it is neither.
func unknownKeyHint(k toml.Key, keys []toml.Key) string {
	// The table the unknown part is in: its settings, and which it is.
	t, in := reflect.TypeFor[rawFile](), ""
	i := 0
	for ; i < len(k); i++ {
		if t.Kind() == reflect.Map {
			t = t.Elem()
			continue
		}
		if t.Kind() != reflect.Struct {
			return ""
		}
		name, ft := settingNamed(t, k[i])
		if name == "" {
			break
		}
		if in == "" {
			in = name
		}
		t = ft
	}
	if i == len(k) {
		return ""
	}
	part := k[i]
	others := []string{"env", "", "store", "notify"}
	for _, other := range others {
		if name, _ := settingNamed(tables()[other], part); other != in && name == part {
			key, where := belongsIn(other, part, keys)
			msg := "unknown key here: " + key + " " + where
			if in == "env" && part == "url" {
				msg += " (an environment's API address is api_url)"
			}
			return msg
		}
	}
	if near := nearestSetting(t, part); near != "" {
		return "unknown key; did you mean " + near + "?"
	}
	// A misspelling of another table's key (clinet_id above the
	// environments) is named too, and where it goes, as one in its own
	// table is.
	for _, other := range others {
		if near := nearestSetting(tables()[other], part); other != in && near != "" {
			key, where := belongsIn(other, near, keys)
			return "unknown key here; did you mean " + key + "? It " + where
		}
	}
	return ""
}

// belongsIn says where name, a key of the table other ("env", "" for the
// file's top, "store", "notify"), is written: the key as written there
// ([store] for a table of the whole file), and the rest of a sentence
// about it.
func belongsIn(other, name string, keys []toml.Key) (key, where string) {
	switch other {
	case "env":
		line := "[env.NAME]"
		if envs := envNames(keys); len(envs) == 1 {
			line = "[env." + envs[0] + "]"
		}
		return name, "is an environment's key: move it below its environment's line, " + line
	case "":
		if _, ft := settingNamed(tables()[""], name); isTable(ft) {
			return "[" + name + "]", "is a table of the whole file, not an environment's: write its line as [" + name + "]"
		}
		return name, "goes at the top of the file, above the first [table] line (a key below a table's line is that table's)"
	}
	return name, fmt.Sprintf("is [%s]'s key: move it below a line [%s]", other, other)
}

// nearestSetting is the setting of t that key is a misspelling of: the
// same but for case, '-' or '_' (client-id, clientId, ClientID), or a few
// letters off (clinet_id), as nearest.Setting finds one, or env for
// environment; "" when none is.
func nearestSetting(t reflect.Type, key string) string {
	if t == reflect.TypeFor[rawFile]() && slices.Contains([]string{"environment", "environments", "envs"}, strings.ToLower(strings.TrimSpace(key))) {
		return "env"
	}
	var names []string
	for _, f := range reflect.VisibleFields(t) {
		if name, _, _ := strings.Cut(f.Tag.Get("toml"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return nearest.Setting(key, names)
}

// envNames are the environments the file sets keys of, in its order.
func envNames(keys []toml.Key) []string {
	var names []string
	for _, k := range keys {
		if len(k) >= 2 && k[0] == "env" && !slices.Contains(names, k[1]) {
			names = append(names, k[1])
		}
	}
	return names
}

// unknownKeys are the keys, of those the file sets (in the file's order),
// that no setting takes: what the decoder's Undecoded gives once the whole
// file is decoded, for a file whose decoding stopped at a value it could
// not take. It walks the settings as the decoder does: a map takes any
// name, a setting that reads its own value (toml.Unmarshaler) or is no
// table takes whatever is under it, and a table's keys match its settings'
// names regardless of case.
func unknownKeys(keys []toml.Key) []toml.Key {
	var unknown []toml.Key
	for _, k := range keys {
		t := reflect.TypeFor[rawFile]()
		for _, part := range k {
			for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
				t = t.Elem() // an array of tables: its keys are its tables'
			}
			if t.Kind() == reflect.Map {
				t = t.Elem()
				continue
			}
			if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(reflect.TypeFor[toml.Unmarshaler]()) ||
				reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
				break
			}
			name, ft := settingNamed(t, part)
			if name == "" {
				unknown = append(unknown, k) // as its table, if that is what no setting takes
				break
			}
			t = ft
		}
	}
	return unknown
}

// miscased finds a key that the decoder took for a setting spelt in
// another case (it matches names regardless of case), and that setting's
// name: Client_ID beside client_id replaced it silently, and a table
// [Env.a] after [env.a] replaced that whole environment.
func miscased(keys []toml.Key) (toml.Key, string) {
	for _, k := range keys {
		if !slices.ContainsFunc(k, hasUpper) {
			continue // the common case, and start-up's: no setting to look up
		}
		t := reflect.TypeFor[rawFile]()
		for i, part := range k {
			if t.Kind() == reflect.Map {
				t = t.Elem() // a name of the file's own: an environment's, a parameter's
				continue
			}
			if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(reflect.TypeFor[toml.Unmarshaler]()) {
				break
			}
			name, ft := settingNamed(t, part)
			if name == "" {
				break
			}
			if name != part {
				return k[:i+1], name
			}
			t = ft
		}
	}
	return nil, ""
}

func hasUpper(s string) bool { return strings.ToLower(s) != s }

// settingNamed is the TOML name and type of t's field that the decoder
// fills from key, or "".
func settingNamed(t reflect.Type, key string) (string, reflect.Type) {
	var folded reflect.StructField
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if name == key {
			return name, f.Type
		}
		if strings.EqualFold(name, key) {
			folded = f
		}
	}
	if folded.Type == nil {
		return "", nil
	}
	name, _, _ := strings.Cut(folded.Tag.Get("toml"), ",")
	return name, folded.Type
}

// typeMismatch matches the decoder's message for a value of the wrong type,
// which it reports without a position of its own, and of a dotted key under
// a setting (default_env.x = …) without a line.
var typeMismatch = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]+)"\): (.*)$`)
})

// bareValue matches the parser's message for a value written without the
// quotes text takes, such as provider = freeagent.
var bareValue = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^expected value but found ".*" instead$`)
})

// decodeError is the error for err, the decoder's, in a person's words;
// parsed: the file's syntax was read whole, so that err is of a value a
// setting cannot take (its own UnmarshalTOML's, which says what to write).
func decodeError(path string, data []byte, err error, parsed bool) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		if strings.Contains(pe.Message, "UTF-8") {
			// Saved in another encoding (Notepad's UTF-16, Latin-1): no
			// edit of the text mends it, nor is the key before it at fault.
			return &Error{Path: path, Line: pe.Position.Line, Msg: pe.Message + "; save the file again in the UTF-8 encoding (your editor's Save As offers it)"}
		}
		if m := definedTwice().FindStringSubmatch(pe.Message); m != nil {
			return &Error{Path: path, Line: pe.Position.Line, Key: m[1], Msg: "is written twice; keep one of the two and delete the other"}
		}
		if m := valueThenTable().FindStringSubmatch(pe.Message); m != nil {
			return valueMadeATable(path, data, m[1], pe.Position.Line)
		}
		if e := pastedCharacter(path, data, pe); e != nil {
			return e
		}
		if e := syntaxFromElsewhere(path, data, pe); e != nil {
			return e
		}
		if pe.LastKey != "" && parsed {
			return &Error{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
		}
		if pe.LastKey != "" && (strings.HasPrefix(pe.Message, "invalid escape in string") || strings.Contains(pe.Message, "hexadecimal digits after '\\")) {
			// A Windows path, or a secret holding a backslash; the
			// parser's words quoted the text back.
			return &Error{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: fmt.Sprintf(`holds a backslash, which in double quotes starts an escape (\n, \t); write the text in single quotes, %s = '…', or each backslash twice`, pe.LastKey[strings.LastIndex(pe.LastKey, ".")+1:])}
		}
		if e := bareValueError(path, data, pe); e != nil {
			return e
		}
		if pe.LastKey != "" && bareValue().MatchString(pe.Message) {
			// The parser's words quote the value's start back, which of a
			// secret is the secret, or most of it.
			return &Error{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: unquoted(pe.LastKey, "")}
		}
		if strings.HasPrefix(pe.Message, "expected a top-level item to end with a newline, comment, or EOF, but got ") {
			// A value that starts as a number and goes on as text
			// (client_secret = 9f8a…): the parser read the number, then
			// stopped at the text, naming its first character.
			line := strings.TrimSpace(lineText(data, pe.Position.Line))
			if k, v, ok := strings.Cut(line, "="); ok && bareKey().MatchString(strings.TrimSpace(k)) {
				key := strings.TrimSpace(k)
				if pe.LastKey != "" {
					key = pe.LastKey + "." + key
				}
				if v = strings.TrimSpace(v); v != "" && strings.ContainsAny(v[:1], "\"'[{") {
					// A second key after the value (two lines run together).
					return &Error{Path: path, Line: pe.Position.Line, Key: key, Msg: "is followed by more on its line; put each key = value on a line of its own"}
				}
				return &Error{Path: path, Line: pe.Position.Line, Key: key, Msg: unquoted(key, v)}
			}
		}
		if pe.LastKey != "" {
			return &Error{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message + "; fix the TOML syntax there"}
		}
		return &Error{Path: path, Line: pe.Position.Line, Msg: pe.Message + "; fix the TOML syntax there"}
	}
	if m := typeMismatch().FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		if line == 0 {
			line = configfile.KeyLine(data, strings.Split(m[2], "."))
		}
		return &Error{Path: path, Line: line, Key: m[2], Msg: wrongType(m[2], m[3])}
	}
	return &Error{Path: path, Msg: err.Error()}
}

// bareValueError is the error for a parse error at a line that sets
// pe.LastKey to a value written without quotes that the parser could not
// read (a secret such as 0123456789, 1.5.3 or hunter2, a list of words),
// or nil. The parser's words quoted the value back, whole for one that
// looks like a number or a date; this says what to write, repeating
// nothing of it.
func bareValueError(path string, data []byte, pe toml.ParseError) *Error {
	if pe.LastKey == "" {
		return nil
	}
	line := strings.TrimSpace(lineText(data, pe.Position.Line))
	name := pe.LastKey[strings.LastIndex(pe.LastKey, ".")+1:]
	k, v, ok := strings.Cut(line, "=")
	if !ok {
		return nil
	}
	if key := configfile.NormalizeKey(k); key[strings.LastIndex(key, ".")+1:] != name {
		// A key of an inline table on the line (token_params = {
		// api_key = 0123456789 }), whose value the parser quoted back
		// as well: its value, up to the next item or the table's end.
		m := inlineValue(name).FindAllStringSubmatch(line, -1)
		if m == nil {
			return nil
		}
		v = m[len(m)-1][1]
	}
	switch v = strings.TrimSpace(v); {
	case v == "" || strings.ContainsAny(v[:1], "\"'{"):
		return nil
	case v[0] == '[':
		if strings.ContainsAny(v, "\"'") {
			return nil
		}
		return &Error{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: fmt.Sprintf(`holds text without quotes; write each item in double quotes: %s = ["…", "…"]`, name)}
	}
	return &Error{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: unquoted(pe.LastKey, v)}
}

// unquoted is the message for key's value, text written without quotes
// (value, or "" when it is not known): what the key takes, so that one edit
// mends it. A switch (desktop = yes) was told to write "yes" in quotes,
// and then, quoted, to write true or false without them. Only a
// duration's value is shown again: any other text may be a secret.
func unquoted(key, value string) string {
	name := key[strings.LastIndex(key, ".")+1:]
	switch keyType(key) {
	case reflect.TypeFor[bool]():
		return fmt.Sprintf("is text without quotes; write true or false, without quotes: %s = true", name)
	case reflect.TypeFor[Duration]():
		value = strings.TrimSpace(strings.SplitN(value, "#", 2)[0])
		if d, err := parseDuration(value); err == nil && d >= 0 && value != "" {
			return fmt.Sprintf("is text without quotes; write it in double quotes: %s = %q", name, value)
		}
		return fmt.Sprintf(`is text without quotes; write a duration in double quotes, such as %s = "60s" (or "2m", "60d")`, name)
	}
	return fmt.Sprintf(`is text without quotes; write it in double quotes: %s = "…"`, name)
}

// keyType is the Go type a dotted key of the file (env.NAME.timeout,
// notify.desktop) is read into, or nil for a key the file does not have.
func keyType(key string) reflect.Type {
	t := reflect.TypeFor[rawFile]()
	parts := strings.Split(key, ".")
	for i := 0; i < len(parts); i++ {
		switch t.Kind() {
		case reflect.Map:
			t = t.Elem() // parts[i] names an entry: an environment
			continue
		case reflect.Struct:
		default:
			return nil
		}
		var found reflect.Type
		for f := range t.Fields() {
			if name, _, _ := strings.Cut(f.Tag.Get("toml"), ","); name == parts[i] {
				found = f.Type
				break
			}
		}
		if found == nil {
			return nil
		}
		t = found
	}
	return t
}

// inlineValue matches name = value as an item of an inline table, the
// value (up to the next item or the table's end) its submatch.
func inlineValue(name string) *regexp.Regexp {
	return regexp.MustCompile(`[{,]\s*["']?` + regexp.QuoteMeta(name) + `["']?\s*=([^,}]*)`)
}

// valueThenTable matches the parser's message for a key given a value,
// then made a table ([env.a] below env = "a"), which names the key.
var valueThenTable = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^Key '([^']+)' was already created as a hash\.$`)
})

// valueMadeATable is the error for key, given a value and then, at
// tableLine, made a table: at the value's line, which the parser did not
// name, and for env, which holds the environments, with what was meant.
func valueMadeATable(path string, data []byte, key string, tableLine int) *Error {
	line := configfile.KeyLine(data, toml.Key(strings.Split(key, ".")))
	if line == 0 || line >= tableLine {
		line = tableLine
	}
	kind, text := writtenValue(lineText(data, line))
	if key == "env" {
		if msg := envValueMsg(kind, text); msg != "" {
			return &Error{Path: path, Line: line, Key: key, Msg: msg}
		}
		return &Error{Path: path, Line: line, Key: key, Msg: fmt.Sprintf("is %s, and a table from line %d on; take this line out: each environment is a table [env.NAME]", kind, tableLine)}
	}
	return &Error{Path: path, Line: line, Key: key, Msg: fmt.Sprintf("is %s, and a table from line %d on; keep one of the two and delete the other", kind, tableLine)}
}

// envNotTables is the mistake of env given a value, or written as a list
// of tables ([[env]]), rather than holding a table [env.NAME] for each
// environment; nil if there is none. The decoder passes over any value
// for a map as if none were written, and env = "sandbox" (default_env
// meant) left the file said to configure no environment.
func envNotTables(path string, data []byte, md toml.MetaData) *Error {
	typ := md.Type("env")
	if typ == "" || typ == "Hash" {
		return nil
	}
	line := configfile.KeyLine(data, toml.Key{"env"})
	const write = "write each environment as a table: a line [env.NAME] with the environment's keys below it"
	if typ == "ArrayHash" {
		return &Error{Path: path, Line: line, Key: "env", Msg: "is a list of tables ([[env]]); " + write}
	}
	kind, text := writtenValue(lineText(data, line))
	if msg := envValueMsg(kind, text); msg != "" {
		return &Error{Path: path, Line: line, Key: "env", Msg: msg}
	}
	return &Error{Path: path, Line: line, Key: "env", Msg: "is " + kind + "; " + write}
}

// envValueMsg says what to write for env = "NAME", which means
// default_env; "" for another value.
func envValueMsg(kind, text string) string {
	if kind != "text" || store.ValidateEnvName(text) != nil {
		return ""
	}
	return fmt.Sprintf("holds the environments, each a table [env.NAME], not text; to choose the default environment, write default_env = %q", text)
}

// lineText is line n of data, or "".
func lineText(data []byte, n int) string {
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return strings.TrimSuffix(lines[n-1], "\r")
}

// writtenValue says what kind of value the line key = value sets, in a
// person's words ("text", "a number"), and a text's words.
func writtenValue(line string) (kind, text string) {
	_, v, ok := strings.Cut(line, "=")
	if !ok {
		return "a value", ""
	}
	v = strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(v, `"`), strings.HasPrefix(v, "'"):
		q := v[:1]
		text, _, _ = strings.Cut(v[1:], q)
		return "text", text
	case strings.HasPrefix(v, "true"), strings.HasPrefix(v, "false"):
		return "true or false", ""
	case strings.HasPrefix(v, "["):
		return "a list", ""
	case strings.HasPrefix(v, "{"):
		return "a table", ""
	case v != "" && strings.ContainsRune("0123456789+-.in", rune(v[0])):
		return "a number", ""
	}
	return "a value", ""
}

// curlyQuotes are the quotes a word processor, a web page or a chat puts
// for straight ones, which TOML does not take.
const curlyQuotes = "\u201c\u201d\u201e\u2018\u2019\u201a"

// pastedCharacter is the error for a parse error that a character pasted
// from a web page or a chat caused: a curly quote for a straight one, or a
// space that TOML does not take for one (a non-breaking space); nil for
// another.
func pastedCharacter(path string, data []byte, pe toml.ParseError) *Error {
	line := lineText(data, pe.Position.Line)
	if strings.ContainsAny(line, curlyQuotes) && (strings.HasPrefix(pe.Message, "expected value but found '") || strings.Contains(pe.Message, "strings cannot contain newlines")) {
		pair := "\u201c \u201d"
		if strings.ContainsAny(line, "\u2018\u2019\u201a") && !strings.ContainsAny(line, "\u201c\u201d\u201e") {
			pair = "\u2018 \u2019"
		}
		key := pe.LastKey
		return &Error{Path: path, Line: pe.Position.Line, Key: key,
			Msg: fmt.Sprintf(`is written in curly quotes (%s), which TOML does not take; write straight double quotes: %s = "…"`, pair, key[strings.LastIndex(key, ".")+1:])}
	}
	m := oddCharacter().FindStringSubmatch(pe.Message)
	if m == nil {
		return nil
	}
	n, _ := strconv.ParseUint(m[1], 16, 32)
	r := rune(n)
	what, ok := pastedSpaces[r]
	if !ok {
		if !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r) {
			return nil
		}
		what = "an invisible character"
	}
	next := "delete it"
	if unicode.IsSpace(r) {
		next = "delete it and type an ordinary space"
	}
	key := pe.LastKey
	// A key followed by the character: the key, not its table, is named.
	if before, _, ok := strings.Cut(line, string(r)); ok && pe.Position.Line > 0 {
		if k := strings.TrimSpace(before); k != "" && bareKey().MatchString(k) && !strings.HasSuffix(key, "."+k) {
			if key != "" {
				key += "."
			}
			key += k
		}
	}
	return &Error{Path: path, Line: pe.Position.Line, Key: key,
		Msg: fmt.Sprintf("holds %s (U+%04X), which TOML does not take for a space; %s", what, r, next)}
}

// syntaxFromElsewhere is the error for a parse error that syntax a
// person brings from other files causes, saying what TOML takes instead: a
// comment begun with // or ;, a colon for =, a key with no value, a
// table's line without its ], a space in an environment's name; nil for
// another.
func syntaxFromElsewhere(path string, data []byte, pe toml.ParseError) *Error {
	n := pe.Position.Line
	line := strings.TrimSpace(lineText(data, n))
	switch {
	case strings.HasPrefix(line, "//"), strings.HasPrefix(line, ";"):
		mark := line[:1]
		if mark == "/" {
			mark = "//"
		}
		return &Error{Path: path, Line: n, Msg: "a comment starts with # in TOML; write # in place of " + mark}
	case pe.Message == "expected '.' or '=', but got ':' instead":
		k, _, _ := strings.Cut(line, ":")
		k = strings.TrimSpace(k[strings.LastIndexAny(k, "{,")+1:]) // in an inline table, its key
		if !bareKey().MatchString(k) {
			return nil
		}
		key := k
		if pe.LastKey != "" && !strings.HasSuffix("."+pe.LastKey, "."+k) {
			key = pe.LastKey + "." + k
		}
		// The value is not repeated: it may be a secret.
		return &Error{Path: path, Line: n, Key: key, Msg: fmt.Sprintf("write = between the key and its value, not a colon: %s = …", k)}
	case pe.LastKey != "" && strings.HasPrefix(pe.Message, "expected a comma (',') or array terminator (']'), but got "):
		name := pe.LastKey[strings.LastIndex(pe.LastKey, ".")+1:]
		if strings.HasSuffix(pe.Message, "end of file") {
			return &Error{Path: path, Line: n, Key: pe.LastKey, Msg: "the list lacks its closing ]; end it with ]"}
		}
		return &Error{Path: path, Line: n, Key: pe.LastKey, Msg: fmt.Sprintf(`write a comma between the list's items: %s = ["…", "…"]`, name)}
	case pe.LastKey != "" && (pe.Message == `expected value but found '\n' instead` || pe.Message == `expected value but found '\r' instead` ||
		pe.Message == "unexpected EOF; expected value"):
		return &Error{Path: path, Line: n, Key: pe.LastKey, Msg: "has no value after the =; write one, or take the line out"}
	case strings.HasPrefix(pe.Message, "expected '.' or ']' to end table name, but got "):
		got := strings.TrimPrefix(pe.Message, "expected '.' or ']' to end table name, but got ")
		if got == `'\n' instead` || got == `'\r' instead` || got == "EOF instead" || strings.HasPrefix(got, "'#'") {
			if got == `'\n' instead` && n > 1 {
				n-- // the parser is on the next line
			}
			header := strings.TrimSpace(strings.SplitN(lineText(data, n), "#", 2)[0])
			name := strings.TrimLeft(header, "[")
			return &Error{Path: path, Line: n, Key: configfile.NormalizeKey(name), Msg: fmt.Sprintf("the table's line lacks its closing ]; write %s]", header)}
		}
		if rest, ok := strings.CutPrefix(line, "[env."); ok {
			name, _, _ := strings.Cut(rest, "]")
			fixed := strings.Join(strings.Fields(name), "-")
			return &Error{Path: path, Line: n, Msg: fmt.Sprintf("an environment's name uses only letters, digits, '-' and '_'; write [env.%s]", fixed)}
		}
	}
	return nil
}

// pastedSpaces names the characters that look like a space, or nothing,
// and that copying from a web page or a chat brings.
var pastedSpaces = map[rune]string{
	'\u00a0': "a non-breaking space",
	'\u202f': "a narrow non-breaking space",
	'\u2007': "a figure space",
	'\u2009': "a thin space",
	'\u200b': "a zero-width space",
	'\u2060': "a word joiner",
	'\ufeff': "a byte-order mark",
	'\u3000': "an ideographic space",
}

// oddCharacter matches the parser's quoting of a character it did not
// expect, written as a Go escape.
var oddCharacter = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`'\\u([0-9a-f]{4})'`)
})

// bareKey matches a key as written without quotes, dotted or not.
var bareKey = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9_-]+(\s*\.\s*[A-Za-z0-9_-]+)*$`)
})

// definedTwice matches the decoder's message for a key or table written
// twice, which names the key (its LastKey is a table's parent).
var definedTwice = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^Key '([^']+)' has already been defined\.$`)
})

// wrongTypes matches the decoder's words for a value of the wrong type,
// which name Go's types: what was written, and what the setting is.
var wrongTypes = sync.OnceValue(func() []*regexp.Regexp {
	return []*regexp.Regexp{
		regexp.MustCompile(`^incompatible types: TOML value has type (\S+); destination has type (\S+)$`),
		regexp.MustCompile(`^type mismatch for \S+: expected (table) but found (\S+)$`),
	}
})

// wrongType says in a person's words what key holds and what to write
// instead, from the decoder's msg.
func wrongType(key, msg string) string {
	var got, want string
	if m := wrongTypes()[0].FindStringSubmatch(msg); m != nil {
		got, want = m[1], m[2]
	} else if m := wrongTypes()[1].FindStringSubmatch(msg); m != nil {
		got, want = m[2], m[1]
	} else {
		return msg
	}
	switch {
	case strings.HasPrefix(got, "int"), strings.HasPrefix(got, "float"):
		got = "a number"
	case got == "string":
		got = "text"
	case got == "bool":
		got = "true or false"
	case strings.Contains(got, "[]"):
		got = "a list"
	case strings.HasPrefix(got, "map"):
		got = "a table"
	case got == "time.Time", strings.HasPrefix(got, "toml.Local"):
		// A value the parser read as a date (client_id = 1979-05-27).
		got = "a date or time"
	}
	switch want {
	case "string":
		want = `text in quotes, such as "x"`
	case "slice":
		want = `a list, such as ["read", "write"]`
	case "boolean", "bool":
		want = "true or false, without quotes"
	case "table":
		want = "a table: a line [" + key + "] with its keys below it"
		if strings.HasPrefix(key, "env.") && strings.Count(key, ".") == 1 {
			want = "a table: a line [" + key + "] with the environment's keys below it"
		}
	default:
		want = "a " + want
	}
	return fmt.Sprintf("is %s; write %s", got, want)
}
