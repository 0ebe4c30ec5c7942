// Package configedit edits freshtoken's configuration file as a person
// would: init and import write environments into it, remove takes one
// out, store migrate sets [store] url. Each edit keeps the rest of the
// file (comments included) as it was, is checked by loading the result
// before it replaces the file, and is written atomically with mode 0600.
//
// It also answers what the command line asks of a configuration beyond
// loading it, which no Go program loading an environment needs: whether
// two store URLs name one store (StoreID, LockDomain), whether a log-in's
// tokens can be stored now (LogInRoom), and which of freshtoken's files a
// log file would destroy (Overwrites).
package configedit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"
	"github.com/gofrs/flock"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/configfile"
)

// WriteEnv writes the [env.NAME] table into the file at path, replacing that
// table if it exists and leaving the rest of the file (comments included) as
// it was. With makeDefault it also sets default_env when the file has none.
// The result is validated before it replaces the file, and is written
// atomically with mode 0600, since it may hold a client secret.
//
// A file that config.Load would refuse as written by someone else is not carried
// over into a trusted one. A symlinked config is written where the link
// points, so it stays linked.
func WriteEnv(path, name string, s config.EnvSettings, makeDefault bool) (*config.File, error) {
	def := ""
	if makeDefault {
		def = name
	}
	return WriteEnvs(path, []NamedEnv{{Name: name, Settings: s}}, def)
}

// NamedEnv is an environment for WriteEnvs.
type NamedEnv struct {
	Name     string
	Settings config.EnvSettings
}

// WriteEnvs writes each environment's table into the file at path in one
// edit, as WriteEnv writes one: all of them or, if the result does not
// load, none. defaultEnv, if not "", becomes default_env when the file has
// none.
func WriteEnvs(path string, envs []NamedEnv, defaultEnv string) (*config.File, error) {
	edit, err := envsEdit(path, envs, defaultEnv)
	if err != nil {
		return nil, err
	}
	return rewrite(path, nil, edit)
}

// envsEdit is the edit WriteEnvs makes of a file's text.
func envsEdit(path string, envs []NamedEnv, defaultEnv string) (func(text string) (string, error), error) {
	tables := make([]string, len(envs))
	for i, e := range envs {
		var body bytes.Buffer
		fmt.Fprintf(&body, "[env.%s]\n", e.Name)
		if err := toml.NewEncoder(&body).Encode(e.Settings); err != nil {
			return nil, err
		}
		tables[i] = body.String()
	}
	return func(text string) (string, error) {
		// A table the file writes nothing of is added at its end, after
		// the tables added before it, with no new look at the whole file:
		// looked at again for each, an import of 2000 environments took
		// 6 s to write. The first is added as replaceTable adds it, which
		// writes the file's lines anew.
		named := keysWritten(text)
		var added strings.Builder
		last := "" // the table just added at the end, if the last was
		for i, e := range envs {
			header := "env." + e.Name
			if named[header] || last == "" {
				text += added.String()
				added.Reset()
				var err error
				if text, err = replaceTable(path, text, header, tables[i]); err != nil {
					return "", err
				}
				last = ""
				if !named[header] {
					last = tables[i]
				}
				named[header] = true
				continue
			}
			// What replaceTable makes of a file of LF lines ending in a
			// table it added: a blank line, unless the table ends in one,
			// then the table.
			if l := configfile.SplitLines(last); strings.TrimSpace(l[len(l)-1]) != "" {
				added.WriteString("\n")
			}
			added.WriteString(tables[i])
			last = tables[i]
			named[header] = true
		}
		text += added.String()
		if defaultEnv != "" && !hasTopLevelKey(text, "default_env") {
			text = fmt.Sprintf("default_env = %q\n\n", defaultEnv) + text
		}
		return text, nil
	}, nil
}

// SetDefaultEnv makes name the default environment of the file at path,
// with envs written into it as WriteEnvs writes them, in one edit. Only
// the default_env line changes: set in place, its comment kept, or, when
// the file has none, written first. The edit is kept only if the file then
// means what it meant but for default_env, and the result must load (name
// an environment it configures), as WriteEnv's must.
func SetDefaultEnv(path, name string, envs ...NamedEnv) (*config.File, error) {
	writeEnvs, err := envsEdit(path, envs, "")
	if err != nil {
		return nil, err
	}
	return rewrite(path, nil, func(old string) (string, error) {
		text, err := writeEnvs(old)
		if err != nil {
			return "", err
		}
		return setDefaultLine(path, text, name)
	})
}

// setDefaultLine is text with its top-level default_env set to name, as a
// person would edit it: the line replaced, with its indentation, comment
// and line end; every other line is kept byte for byte, its line end too
// (a file of LF lines with a pasted CRLF one, a multi-line string of CRLF
// lines, stays as it was).
func setDefaultLine(path, text, name string) (string, error) {
	line := fmt.Sprintf("default_env = %q", name)
	lines := configfile.SplitLines(text)
	ended := strings.SplitAfter(text, "\n") // lines with their ends
	scan := configfile.OutsideStrings(lines)
	for i, l := range scan {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			break
		}
		if k, _, ok := strings.Cut(t, "="); !ok || t[0] == '#' || configfile.NormalizeKey(k) != "default_env" {
			continue
		}
		n := valueSpan(scan, i)
		now := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))] + line
		if c := commentAt(scan[i+n-1]); c >= 0 {
			now += "  " + strings.TrimSpace(lines[i+n-1][c:])
		}
		last := ended[i+n-1]
		now += last[len(strings.TrimRight(last, "\r\n")):]
		edited := strings.Join(slices.Concat(ended[:i], []string{now}, ended[i+n:]), "")
		was, wasKeys, errA := meaning(text)
		is, isKeys, errB := meaning(edited)
		was.DefaultEnv = name
		if errA != nil || errB != nil || !reflect.DeepEqual(was, is) || !slices.Equal(wasKeys, isKeys) {
			return "", &config.Error{Path: path, Line: i + 1, Key: "default_env", Msg: fmt.Sprintf("is written in a way freshtoken cannot change line by line; write %s there by hand (nothing was written)", line)}
		}
		return edited, nil
	}
	if len(lines) > 0 && strings.TrimSpace(lines[0]) == "" { // a blank line is there to part it from the rest
		return line + "\n" + text, nil
	}
	return line + "\n\n" + text, nil
}

// errPreviewed ends the edit PreviewEnvs makes before it replaces the file.
var errPreviewed = errors.New("previewed")

// PreviewEnvs is the configuration at path as it would be with envs
// written into it as WriteEnvs writes them, with the file left as it is:
// the edit is written beside it and checked as WriteEnvs checks it (so a
// folder that cannot take it, a full disk, is found), then dropped. An
// import opens the environments' stores from it (config.File.Open) before the
// file gets them.
func PreviewEnvs(path string, envs []NamedEnv, defaultEnv string) (*config.File, error) {
	edit, err := envsEdit(path, envs, defaultEnv)
	if err != nil {
		return nil, err
	}
	return preview(path, edit)
}

// preview is the configuration at path as edit would make it, checked as
// rewrite checks an edit, with the file left as it is.
func preview(path string, edit func(old string) (string, error)) (*config.File, error) {
	var edited *config.File
	if _, err := rewrite(path, func(f *config.File) error { edited = f; return errPreviewed }, edit); !errors.Is(err, errPreviewed) {
		return nil, err
	}
	edited.Path = path
	return edited, nil
}

// stagingPrefix begins the names of the copies of the configuration at
// path that an older freshtoken's import wrote beside it, to open the
// stores from, keeping each while it ran.
func stagingPrefix(path string) string { return "." + filepath.Base(path) + ".import-" }

// RemoveEnv takes the [env.NAME] table out of the file at path, and
// default_env with it when it names that environment, leaving the rest (comments
// included) as it was, with the same care as WriteEnv.
func RemoveEnv(path, name string) (*config.File, error) { return RemoveEnvAfter(path, name, nil) }

// RemoveEnvAfter is RemoveEnv, calling first, if not nil, once the edited
// file is written and checked, just before it replaces the file: what
// first does (deleting the environment's tokens) is done only when the
// edit can be made, and if first fails the file is left as it was.
func RemoveEnvAfter(path, name string, first func() error) (*config.File, error) {
	var before func(*config.File) error
	if first != nil {
		before = func(*config.File) error { return first() }
	}
	return rewrite(path, before, func(old string) (string, error) {
		text, err := replaceTable(path, old, "env."+name, "")
		if err != nil {
			return "", err
		}
		var kept []string
		lines := configfile.SplitLines(text)
		for i, l := range configfile.OutsideStrings(lines) {
			if !configfile.NamesDefault(l, name) {
				kept = append(kept, lines[i])
			}
		}
		return strings.TrimLeft(strings.Join(kept, "\n"), "\n") + "\n", nil
	})
}

// rewrite replaces the file at path with edit of its text, validated first
// and written atomically with mode 0600, calling first (if not nil) with
// the edited file, loaded, just before the replacement, which an error of
// first's calls off. A file that config.Load would refuse as written by
// someone else is not carried over into a trusted one. A symlinked config
// is written where the link points, so it stays linked.
func rewrite(path string, first func(edited *config.File) error, edit func(old string) (string, error)) (*config.File, error) {
	path, err := editTarget(path)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, writeFailure(path, "cannot create its folder", err)
	}
	unlock, locked := lockFolder(filepath.Dir(path))
	defer unlock()
	if locked {
		removeLitter(path)
	}
	old, info, err := configfile.Read(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fileError(err)
	}
	if err := uneditable(path, info, true); err != nil {
		return nil, err
	}
	// A byte-order mark (as Windows editors save) would hide the first
	// line's table or key from the edit; config.Load reads the file without it.
	text, err := edit(strings.TrimPrefix(string(old), "\ufeff"))
	if err != nil {
		return nil, err
	}
	// The edit writes LF; a file of CRLF lines stays one. A file of LF
	// lines with a few CRLF (pasted) stays LF: written all CRLF, the lines
	// of a multi-line string got a carriage return each, in its value.
	if crlf := bytes.Count(old, []byte("\r\n")); crlf > 0 && 2*crlf >= bytes.Count(old, []byte("\n")) {
		text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")
	}
	if bytes.HasPrefix(old, []byte("\ufeff")) { // and one that began with the mark still does
		text = "\ufeff" + text
	}
	// config.Load would refuse the result as no configuration file; said so, the
	// person was asked whether they had named the right file.
	if len(text) > configfile.MaxSize {
		return nil, &config.Error{Path: path, Msg: fmt.Sprintf("this change would make it larger than %d MiB, the most a configuration file may hold; nothing was written. Take out environments you no longer use (freshtoken remove -e NAME), or keep the new ones in another configuration file (--config PATH)", configfile.MaxSize>>20)}
	}
	var (
		f       *config.File
		refused error // the edit refused by Load, or first's error
	)
	err = atomicfile.Write(path, []byte(text), atomicfile.Options{Check: func(tmp string) error {
		var lerr error
		f, lerr = config.Load(tmp)
		var ce *config.Error
		switch {
		case errors.As(lerr, &ce):
			ce.Path = path
			ce.Msg += " (nothing was written)"
			refused = ce
		case lerr != nil:
			refused = fmt.Errorf("%w (nothing was written to %s)", lerr, path)
		case changedSince(path, old):
			refused = changedError(path)
		case first != nil:
			if refused = first(f); refused == nil && changedSince(path, old) {
				refused = changedError(path)
			}
		}
		return refused
	}})
	switch {
	case err != nil && err == refused:
		return nil, err
	case err != nil: // a full disk, a folder it may not write in: the file's, not its temp file's
		return nil, writeFailure(path, "cannot write it", err)
	}
	f.Path = path
	return f, nil
}

// writeFailure is the error of an edit of the configuration file at path
// that failed as what says, for err. A full disk (of data or of files), a
// read-only one and a file size limit (ulimit -f) say what to do about it:
// Go's "no space left on device", "read-only file system" or "file too
// large" alone left the person to guess.
func writeFailure(path, what string, err error) error {
	switch {
	case atomicfile.DiskFull(err):
		return &config.Error{Path: path, Msg: fmt.Sprintf("%s, as the disk holding it %s (%v); %s, or keep the configuration on another disk (--config PATH), and run the command again (nothing was written)", what, atomicfile.FullWords(err), configfile.Cause(err), atomicfile.FreeSome(err, filepath.Dir(path), " there"))}
	case errors.Is(err, syscall.EROFS):
		return &config.Error{Path: path, Msg: fmt.Sprintf("%s, as the disk holding it is read-only (%v); keep the configuration on a disk you can write to (--config PATH), and run the command again (nothing was written)", what, configfile.Cause(err))}
	case atomicfile.TooLarge(err):
		than, raise := atomicfile.TooLargeWords()
		return &config.Error{Path: path, Msg: fmt.Sprintf("%s, as it would be larger than %s; %s, and run the command again (nothing was written)", what, than, raise)}
	}
	return &config.Error{Path: path, Msg: fmt.Sprintf("%s (%v); nothing was written", what, configfile.Cause(err))}
}

// CheckEditable is the error an edit of the configuration file at path
// would meet as the file stands, nil if none, found with no lasting write
// (a disk too full for the edit is found by a file of its size, made and
// removed): a command with work to do before its edit (store migrate
// copies every record before it sets [store] url) refuses before doing
// any, and one with questions to ask, before asking them. Its
// advice leaves out editing the file by hand, which cannot do that work.
// The edit checks again, as the file may change meanwhile.
func CheckEditable(path string) error {
	path, err := editTarget(path)
	if err != nil {
		return err
	}
	_, info, err := configfile.Read(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fileError(err)
	}
	if err := uneditable(path, info, false); err != nil {
		return err
	}
	// The edit's new file is made in the file's folder, made first if
	// missing: in the nearest folder above that exists, with room for the
	// folders it makes too.
	var size int64
	if info != nil {
		size = info.Size()
	}
	sizes := []int64{size + editRoom}
	dir := filepath.Dir(path)
	for _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) && dir != filepath.Dir(dir); _, err = os.Stat(dir) {
		sizes = append(sizes, atomicfile.FolderRoom)
		dir = filepath.Dir(dir)
	}
	if err := atomicfile.CanWriteIn(dir); err != nil {
		return &config.Error{Path: path, Msg: fmt.Sprintf("cannot be written, as freshtoken cannot write in %s (%v), where an edit makes its new file; make that folder writable, or keep the configuration where you can write (--config PATH), and run the command again (nothing was written)", dir, configfile.Cause(err))}
	}
	if err := atomicfile.CheckRoom(filepath.Join(dir, filepath.Base(path)), sizes...); err != nil {
		return writeFailure(path, "cannot write it", err)
	}
	return nil
}

// editRoom is the room an edit may need beyond the file's size now: an
// environment's settings, and more.
const editRoom = 1 << 10

// uneditable is an error if the configuration file at path, as info
// describes it (nil: there is none yet), is not to be edited; byHand says
// whether its advice offers editing it by hand.
func uneditable(path string, info os.FileInfo, byHand bool) error {
	hand := ""
	if byHand {
		hand = ", or edit it by hand"
	}
	if info == nil {
		return nil
	}
	if info.Mode().Perm()&0o200 == 0 {
		// Made read-only by its owner, it is not to be edited: replaced,
		// it was made writable again (0600) without a word.
		return &config.Error{Path: path, Msg: fmt.Sprintf("is read-only (mode %04o), so freshtoken does not edit it; %s and run the command again%s (nothing was written)", info.Mode().Perm(), configfile.MakeWritable(path), hand)}
	}
	// An edit writes a new file in the place of the old one (crash-safe):
	// another name of it (a hard link, as some dotfile managers make) kept
	// the old settings, without a word. Symbolic links are followed
	// (linkTarget).
	if names := configfile.NamesOf(path, info); names > 1 {
		return &config.Error{Path: path, Msg: fmt.Sprintf("is one of %d names of one file (hard links), and freshtoken edits a configuration file by writing a new one in its place, which would leave the other names with the old settings; nothing was written. Give the file one name (remove the others, or make them symbolic links to it: %s)%s", names, configfile.LinkInstead(path), hand)}
	}
	return nil
}

// changedSince reports whether the file at path no longer holds old (nil:
// the file did not exist): another program (an editor saving it) wrote it
// while an edit was made of old, and replacing it would lose what that
// program wrote.
func changedSince(path string, old []byte) bool {
	now, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return old != nil
	}
	return err != nil || !bytes.Equal(now, old)
}

func changedError(path string) error {
	return &config.Error{Path: path, Msg: "was changed by another program (an editor saving it) while freshtoken edited it; nothing was written, so that nothing of that change is lost; run the command again"}
}

// editTarget is the file an edit of the configuration file at path
// writes (where a link leads, see linkTarget), or the error refusing the
// edit: root's of a new file in another user's folder, said first, as
// what to do is to run freshtoken as that user (sudo keeping HOME, whose
// ~/.config a dotfile manager made that user's link); or a link on the
// way that another user owns (configfile.ForeignLink).
func editTarget(path string) (string, error) {
	target := linkTarget(path)
	if msg := configfile.RootWritingForAnother(target); msg != "" {
		return "", &config.Error{Path: target, Msg: msg}
	}
	if msg := configfile.ForeignLink(path); msg != "" {
		return "", &config.Error{Path: path, Msg: msg}
	}
	return target, nil
}

// linkTarget is the file an edit of the configuration at path writes:
// where a symbolic link points (a dotfile manager's), even to a file not
// made yet, so that the link stays a link; else path itself.
func linkTarget(path string) string {
	at := path
	for range 40 { // as many links as Linux follows; a loop ends in path, which no edit can read
		if t, err := filepath.EvalSymlinks(at); err == nil {
			return t
		}
		l, err := os.Readlink(at)
		if err != nil {
			return at
		}
		if !filepath.IsAbs(l) {
			l = filepath.Join(filepath.Dir(at), l)
		}
		at = l
	}
	return path
}

// fileError is err, from package configfile, with its refusal of the file
// made a config.Error, which matches config.ErrInvalid.
func fileError(err error) error {
	if fe, ok := err.(*configfile.Error); ok {
		return (*config.Error)(fe)
	}
	return err
}

// lockFolder makes the edits of configuration files in dir take turns, so
// that init, remove and store migrate run at once (two scripts, two
// terminals) never undo each other's. It locks the folder itself, leaving
// no lock file beside the configuration; where a folder cannot be locked
// (Windows), edits do not wait for each other, and locked is false.
func lockFolder(dir string) (unlock func(), locked bool) {
	l := flock.New(dir, flock.SetFlag(os.O_RDONLY))
	if err := l.Lock(); err != nil {
		return func() {}, false
	}
	return func() { l.Unlock() }, true
}

// removeLitter removes the temp files of edits of the configuration at path
// that were killed before their rename, and the copies of imports killed
// before they removed them (stagingPrefix); either may hold a client
// secret. A copy still locked by an older freshtoken's import is left
// alone. Call it holding the folder's lock, when no edit is under way.
func removeLitter(path string) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+".tmp-" // atomicfile's temp names
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := filepath.Join(dir, e.Name())
		switch {
		case !e.Type().IsRegular():
		case strings.HasPrefix(e.Name(), prefix):
			os.Remove(name)
		case strings.HasPrefix(e.Name(), stagingPrefix(path)):
			l := flock.New(name)
			if ok, err := l.TryLock(); ok && err == nil {
				os.Remove(name)
				l.Unlock()
			}
		}
	}
}

// replaceTable swaps the table named header (and everything up to the next
// table that is not nested in it, but for the comments after its last key:
// those above the next table are that one's, those at the end of the file
// the file's) for body, or appends body. An empty body takes the table out,
// with the comments written directly above its header. Keys of header
// written anywhere else (an inline table, dotted keys, a sub-table further
// down) are refused at their line, naming path: the edit would leave them
// behind, or write them twice.
func replaceTable(path, text, header, body string) (string, error) {
	lines := configfile.SplitLines(text)
	scan := configfile.OutsideStrings(lines)
	start, end, err := configfile.TableSpan(path, scan, header)
	if err != nil {
		return "", fileError(err)
	}
	if start < 0 {
		if len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) != "" {
			lines = append(lines, "")
		}
		return strings.Join(append(lines, body), "\n"), nil
	}
	blank := func(l string) bool { return strings.TrimSpace(l) == "" }
	comment := func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "#") }
	// The comments after the table's last key are the next table's, or at
	// the end of the file the file's: they stay.
	k := end
	for k > start+1 && (blank(scan[k-1]) || comment(scan[k-1])) {
		k--
	}
	for k < end && blank(scan[k]) {
		k++
	}
	end = k
	if body == "" { // a table taken out takes the comments written directly above it
		for start > 0 && comment(scan[start-1]) {
			start--
		}
		for start > 0 && blank(scan[start-1]) {
			start--
		}
	}
	with := func(table []string) string {
		out := slices.Concat(lines[:start], table, []string{""}, lines[end:])
		return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
	}
	if body == "" {
		return with(nil), nil
	}
	whole := with([]string{strings.TrimRight(body, "\n")})
	if nestedTable(scan[start+1 : end]) {
		return whole, nil
	}
	// The merge reads TOML line by line, which a value written in an
	// unforeseen way can mislead: it is kept only if the file then means
	// exactly what it means with the table written anew.
	if merged := with(mergeTable(lines[start:end], scan[start:end], body)); sameMeaning(merged, whole) {
		return merged, nil
	}
	return whole, nil
}

// sameMeaning reports whether the configuration texts a and b both decode,
// and to the same settings, with the same keys left that no setting takes.
func sameMeaning(a, b string) bool {
	x, xKeys, errA := meaning(a)
	y, yKeys, errB := meaning(b)
	return errA == nil && errB == nil && reflect.DeepEqual(x, y) && slices.Equal(xKeys, yKeys)
}

// meaning is what the configuration text sets, and the keys it writes that
// no setting takes.
func meaning(text string) (configfile.Raw[config.EnvSettings, config.Notify], []string, error) {
	var raw configfile.Raw[config.EnvSettings, config.Notify]
	md, err := toml.Decode(text, &raw)
	var left []string
	for _, k := range md.Undecoded() {
		left = append(left, k.String())
	}
	return raw, left, err
}

// nestedTable reports whether lines, a table's after its header, hold the
// header of a table nested in it ([env.a.token_params]).
func nestedTable(scan []string) bool {
	for _, l := range scan {
		if strings.HasPrefix(strings.TrimSpace(l), "[") {
			return true
		}
	}
	return false
}

// mergeTable is the table in lines (its header first; scan is lines as
// configfile.OutsideStrings gives them) with the keys of body, a table as the TOML
// encoder writes it, written into it as a person would edit it: a key set
// to what it holds already stays as it was written ("60d", not
// "1440h0m0s"), a key set to another value gets it on its own line, with
// that line's comment kept, a key body lacks goes, one the table lacks is
// added after its last key, and every comment and blank line stays where
// it was. The whole table was written anew, and the comments in it were
// lost, as was how each value was written, at any edit (init changing
// only the redirect URI).
func mergeTable(lines, scan []string, body string) []string {
	bodyLines := configfile.SplitLines(body)[1:] // the header is the file's
	want := map[string]string{}
	var order []string
	for i, bscan := 0, configfile.OutsideStrings(bodyLines); i < len(bodyLines); {
		n := valueSpan(bscan, i)
		k, _, _ := strings.Cut(bscan[i], "=")
		want[configfile.NormalizeKey(k)] = strings.Join(bodyLines[i:i+n], "\n")
		order = append(order, configfile.NormalizeKey(k))
		i += n
	}
	out := []string{lines[0]}
	last := 0 // the line in out after the table's last key
	for i := 1; i < len(lines); {
		t := strings.TrimSpace(scan[i])
		k, _, isKey := strings.Cut(t, "=")
		if t == "" || t[0] == '#' || !isKey {
			out = append(out, lines[i])
			i++
			continue
		}
		n, key := valueSpan(scan, i), configfile.NormalizeKey(k)
		was := strings.Join(lines[i:i+n], "\n")
		switch now, kept := want[key]; {
		case !kept:
		case sameSetting(was, now):
			out = append(out, lines[i:i+n]...)
		default:
			if c := commentAt(scan[i+n-1]); c >= 0 {
				now += "  " + strings.TrimSpace(lines[i+n-1][c:])
			}
			out = append(out, now)
		}
		delete(want, key)
		last = len(out)
		i += n
	}
	var added []string
	for _, key := range order {
		if line, ok := want[key]; ok {
			added = append(added, line)
		}
	}
	if last == 0 {
		last = 1
	}
	out = slices.Concat(out[:last], added, out[last:])
	for len(out) > 1 && strings.TrimSpace(out[len(out)-1]) == "" { // the blank line after it is replaceTable's
		out = out[:len(out)-1]
	}
	return out
}

// sameSetting reports whether a and b, key = value lines of an
// environment's table, set it alike (90s and 1m30s are one duration).
func sameSetting(a, b string) bool {
	var x, y config.EnvSettings
	_, errA := toml.Decode(a, &x)
	_, errB := toml.Decode(b, &y)
	return errA == nil && errB == nil && reflect.DeepEqual(x, y)
}

// valueSpan is how many lines the key = value at scan[i] (lines as
// configfile.OutsideStrings gives them) takes: an array or inline table open at the
// end of a line goes on on the next, as does a multi-line string.
func valueSpan(scan []string, i int) int {
	depth, _ := brackets(scan[i])
	n := 1
	for ; i+n < len(scan) && (depth > 0 || scan[i+n] == `"`); n++ {
		d, _ := brackets(scan[i+n])
		depth += d
	}
	return n
}

// commentAt is where the comment of the line l begins, or -1.
func commentAt(l string) int {
	_, c := brackets(l)
	return c
}

// brackets is how many more arrays and inline tables the line l opens than
// it closes, and where its comment begins (-1: none), strings skipped.
func brackets(l string) (depth, comment int) {
	for j := 0; j < len(l); j++ {
		switch c := l[j]; c {
		case '#':
			return depth, j
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case '"', '\'':
			if strings.HasPrefix(l[j:], strings.Repeat(string(c), 3)) {
				end := strings.Index(l[j+3:], strings.Repeat(string(c), 3))
				if end < 0 {
					return depth, -1 // a multi-line string: configfile.OutsideStrings hides its lines
				}
				j += 3 + end + 2                                        // its last closing quote
				for k := 0; k < 2 && j+1 < len(l) && l[j+1] == c; k++ { // quotes just before the closing ones are the string's
					j++
				}
				continue
			}
			for j++; j < len(l) && l[j] != c; j++ {
				if c == '"' && l[j] == '\\' {
					j++
				}
			}
		}
	}
	return depth, -1
}

// keysWritten is the set of each table and key the configuration text
// writes (outside strings), and of each part of its name up to a dot:
// more than it writes where a quoted name holds a dot, never less.
func keysWritten(text string) map[string]bool {
	named := map[string]bool{}
	for _, full := range configfile.KeysOf(configfile.OutsideStrings(configfile.SplitLines(text))) {
		for i, c := range full {
			if c == '.' {
				named[full[:i]] = true
			}
		}
		named[full] = true
	}
	return named
}

func hasTopLevelKey(text, key string) bool {
	for _, l := range configfile.OutsideStrings(configfile.SplitLines(text)) {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			return false
		}
		if k, _, ok := strings.Cut(t, "="); ok && configfile.NormalizeKey(k) == key {
			return true
		}
	}
	return false
}

// SetStoreURL sets [store] url in the file at path to storeURL, leaving
// the rest of the file (comments included) as it was, with the same care as
// WriteEnv.
func SetStoreURL(path, storeURL string) (*config.File, error) {
	return rewrite(path, nil, storeURLEdit(path, storeURL))
}

// CheckSetStoreURL is the error SetStoreURL(path, storeURL) would meet as the
// file stands, nil if none, with the file left as it is: the checks of
// CheckEditable, then the edit itself, made and checked beside the file
// and dropped (a [store] written inline or as dotted keys, a folder that
// cannot take the new file). store migrate asks before it copies a record.
func CheckSetStoreURL(path, storeURL string) error {
	if err := CheckEditable(path); err != nil {
		return err
	}
	_, err := preview(path, storeURLEdit(path, storeURL))
	return err
}

// storeURLEdit is the edit SetStoreURL makes of a file's text.
func storeURLEdit(path, storeURL string) func(old string) (string, error) {
	line := fmt.Sprintf("url = %q", storeURL)
	return func(old string) (string, error) {
		lines := configfile.SplitLines(old)
		in := false
		for i, l := range configfile.OutsideStrings(lines) {
			t := strings.TrimSpace(l)
			if strings.HasPrefix(t, "[") {
				in = configfile.NormalizeKey(strings.Trim(t[:max(strings.Index(t, "]"), 1)], "[]")) == "store"
				continue
			}
			if k, _, ok := strings.Cut(t, "="); in && ok && configfile.NormalizeKey(k) == "url" {
				lines[i] = line
				return strings.Join(lines, "\n") + "\n", nil
			}
		}
		return replaceTable(path, old, "store", "[store]\n"+line+"\n")
	}
}
