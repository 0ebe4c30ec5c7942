package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/filemode"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// A ledger is a folder of the user's (see configfile.TokenFileLedger) that
// notes, for each token file freshtoken writes, a fingerprint of what it
// wrote there last (its SHA-256, never the token), for which environment
// of which configuration file (see Owner), and until when that token
// lasts: one small file per token file, named by the SHA-256 of its path.
// A log-out or a remove, in another process than the keeper that wrote the
// file, then knows the file for its own though it holds an older access
// token than the one stored (the keeper had yet to write the newer, or was
// stopped), and never takes a file of the user's own, nor one another
// configuration's keeper keeps, for one, whatever it holds; and a keeper
// never writes over the token another configuration's keeper keeps there.
// Its notes decide which files a log-out removes, so they are kept as the
// token store keeps tokens: in a folder of the user's alone, never through
// a link, each note a file only the user may use, and what a writer killed
// mid-write left is removed by the next. Beside each note is the lock
// (lockTokenFile) that a keeper holds while it reads the store and writes
// the token file, and a log-out or a remove while it removes the file.

// Owner names whose token a token file holds: an environment of a
// configuration file, by its absolute path. The zero Owner is one not
// known (a note written before owners were, a keeper given no
// configuration): it is taken for anyone's, as before.
type Owner struct {
	Config, Env string
	// started tells the process of a Config named /proc/PID/fd/N from
	// another given its number after it ended (see processStarted).
	started string
}

// NewOwner is the Owner of env in the configuration file at config, named
// by its absolute path with no link in it, so that two spellings of one
// file are one configuration; the zero Owner when config is "".
func NewOwner(config, env string) Owner {
	if config == "" {
		return Owner{}
	}
	config = absPath(config)
	if real, err := filepath.EvalSymlinks(config); err == nil {
		config = real
	} else {
		// A file that is gone (deleted under a keeper that reads it
		// through /proc/self/fd/3, which still opens it) is named by where
		// its folder leads, /proc/PID/fd/3: /proc/self/fd/3 would name
		// another file in each process that reads the ledger.
		config = inLinkedFolder(config)
	}
	return Owner{Config: config, Env: env, started: processStarted(descriptorPID(config))}
}

// descriptorPID is the process number of config when it names a
// process's descriptor, /proc/PID/fd/N; "" otherwise.
func descriptorPID(config string) string {
	rest, ok := strings.CutPrefix(config, "/proc/")
	pid, _, named := strings.Cut(rest, "/fd/")
	if !ok || !named || pid == "" || strings.Trim(pid, "0123456789") != "" {
		return ""
	}
	return pid
}

// processStarted is when process pid started, with the boot it started
// in, which tell it from another given its number after it ended; "" for
// none, or a process that is not running.
func processStarted(pid string) string {
	if pid == "" {
		return ""
	}
	stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	name := strings.LastIndexByte(string(stat), ')') // the command's name may hold anything
	fields := strings.Fields(string(stat[name+1:]))
	if err != nil || name < 0 || len(fields) < 20 {
		return ""
	}
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id") // hidden in some containers
	return strings.TrimSpace(string(boot)) + "/" + fields[19] // starttime, field 22 of proc(5)
}

// String names o as a person reads it.
func (o Owner) String() string { return fmt.Sprintf("environment %s of %s", o.Env, o.Config) }

// another reports whether o and p are both known, and not the same.
func (o Owner) another(p Owner) bool {
	return o.Config != "" && o.Env != "" && p.Config != "" && p.Env != "" && o != p
}

// claims reports whether n, a ledger's note, says that the token file
// holds the token another environment than by's keeps there: one of
// another configuration file that is still there. A configuration moved,
// renamed or deleted keeps nothing: its token, still valid, would
// otherwise stay in the file up to its lifetime (for ever when it is not
// known), a log-out of the configuration's new name leaving it behind.
// One file by two names (a hard link, another spelling on a disk that
// ignores case, which links resolved do not change) is one configuration.
// One read through a descriptor (/proc/PID/fd/N) is kept while the
// process that noted it runs, not by another given its number since.
func (n note) claims(by Owner) bool {
	if !n.owner().another(by) {
		return false
	}
	if pid := descriptorPID(n.Config); pid != "" && (n.Started == "" || processStarted(pid) != n.Started) {
		// The keeper that read its configuration through a descriptor has
		// ended, and its process number is another's, whose descriptor of
		// that number opens another file.
		return false
	}
	theirs, err := os.Stat(n.Config)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err == nil && n.Env == by.Env {
		if ours, err := os.Stat(by.Config); err == nil && os.SameFile(theirs, ours) {
			return false
		}
	}
	return true
}

// note is a ledger's note of a token file: the fingerprint of what was
// written there last (Sum), for whom, until when that token lasts (zero:
// not known), and, after a renewal that gained nothing, when its keeper
// renews it next at the soonest (Held; see heldUntil).
type note struct {
	Sum     string    `json:"sum"`
	Config  string    `json:"config,omitempty"`
	Env     string    `json:"env,omitempty"`
	Started string    `json:"started,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
	Held    time.Time `json:"held,omitzero"`
}

func (n note) owner() Owner { return Owner{Config: n.Config, Env: n.Env, started: n.Started} }

// maxNote is the most a note may hold: more is something else.
const maxNote = 16 << 10

// ledgerEntry is where ledger notes what was written at path, named by
// the path with the links on its folder's way followed, so that every name
// of the file through a linked folder (a dotfile manager's, macOS's /tmp
// for /private/tmp) has one note and one lock: named as written, a keeper
// of another configuration naming the file through a link found no claim
// and wrote its own token over the one kept there, in turn with that
// configuration's keeper.
func ledgerEntry(ledger, path string) string {
	return entryOf(ledger, inLinkedFolder(absPath(path)))
}

// inLinkedFolder is path named by where the links on its folder's way
// lead, its base name as it is; path when they lead nowhere.
func inLinkedFolder(path string) string {
	if dir, err := filepath.EvalSymlinks(filepath.Dir(path)); err == nil {
		return filepath.Join(dir, filepath.Base(path))
	}
	return path
}

// writtenEntry is where a freshtoken before ledgerEntry followed links
// noted what was written at path: by the path as written, made absolute.
func writtenEntry(ledger, path string) string { return entryOf(ledger, absPath(path)) }

func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func entryOf(ledger, path string) string {
	sum := sha256.Sum256([]byte(path))
	return filepath.Join(ledger, hex.EncodeToString(sum[:16]))
}

// fingerprint is what a ledger notes of content, a token file's.
func fingerprint(content string) string {
	sum := sha256.Sum256([]byte("freshtoken token file\x00" + content))
	return hex.EncodeToString(sum[:])
}

// checkLedger says why ledger, or the folder it is in (the default token
// folder), may not be used: a link, which is never followed, or not a
// folder, or one others may use (where modes say so: not on Windows).
// Folders not made yet are fine.
func checkLedger(ledger string) error {
	for _, dir := range []string{filepath.Dir(ledger), ledger} {
		fi, err := os.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		case !fi.IsDir():
			return fmt.Errorf("%s is not a folder (a link is never followed)", dir)
		case runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0:
			return fmt.Errorf("%s has mode %04o, which lets others use it", dir, filemode.Octal(fi.Mode()))
		}
	}
	return nil
}

// noteWritten notes in ledger ("": none) that content is what freshtoken
// wrote at path, for by, and that its token lasts until expires.
func noteWritten(ledger, path, content string, by Owner, expires time.Time) error {
	return writeNote(ledger, path, note{Sum: fingerprint(content), Config: by.Config, Env: by.Env, Started: by.started, Expires: expires})
}

// noteHeld notes in ledger ("": none) that the keeper of by renews the
// token file at path, holding content, no sooner than held (zero: no
// hold), if its note says it wrote content there for by. It reads and
// writes the note under the token file's lock, as every writer of the file
// or its note does (see lockTokenFile): unlocked, a note read before another
// keeper sharing the file wrote it anew (or a log-out removed it) was
// written back after, the file's note then naming a token it no longer
// held. A lock held by another (who writes the file anew, whose note holds
// no hold, or removes it) is not waited for: nothing is noted then.
func noteHeld(ledger, path, content string, by Owner, held time.Time) error {
	unlock, err := lockTokenFileNow(ledger, path)
	if err != nil {
		return err
	}
	defer unlock(false)
	n, ok := lastWritten(ledger, path)
	if !ok || n.Sum != fingerprint(content) || n.owner().another(by) || n.Held.Equal(held) {
		return nil
	}
	n.Held = held
	return writeNote(ledger, path, n)
}

// heldUntil is when a keeper renews the grant whose access token, token,
// the token file at path holds, at the soonest, as ledger notes it: after
// a renewal that gained nothing (a provider handing back its cached
// token, or one expiring as it arrives), the next waits a minute, or
// until that token expires if sooner (see Keeper.noteHold). Zero when the
// file holds another token, or no hold is in force at now: a keeper
// stopped since holds nothing past that minute, and a hold further ahead
// was noted before the clock was set back.
func heldUntil(ledger, path, token string, now time.Time) time.Time {
	if path == "" || token == "" {
		return time.Time{}
	}
	n, ok := lastWritten(ledger, path)
	if !ok || n.Sum != fingerprint(token+"\n") || !now.Before(n.Held) || n.Held.Sub(now) > noGainWait {
		return time.Time{}
	}
	return n.Held
}

// writeNote writes n as ledger's note of the token file at path.
func writeNote(ledger, path string, n note) error {
	if ledger == "" {
		return nil
	}
	if err := checkLedger(ledger); err != nil {
		return err
	}
	if err := os.MkdirAll(ledger, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	entry := ledgerEntry(ledger, path)
	removeLitter(entry)
	if err := atomicfile.Write(entry, append(b, '\n'), atomicfile.Options{}); err != nil {
		return err
	}
	if older := writtenEntry(ledger, path); older != entry {
		os.Remove(older)
	}
	return nil
}

// forgetNote removes ledger's note of the token file at path, which is
// gone, and the file's lock file (see lockTokenFile) unless it is held
// (its holder is writing the file again, or removes it itself), and so
// the note and lock file an older freshtoken made by the path as written
// (see writtenEntry): a ledger keeps notes and locks only of token files
// there are, so it does not grow with every token_file named over the
// years.
func forgetNote(ledger, path string) {
	if ledger == "" || checkLedger(ledger) != nil {
		return
	}
	for _, entry := range slices.Compact([]string{ledgerEntry(ledger, path), writtenEntry(ledger, path)}) {
		os.Remove(entry)
		if _, err := os.Lstat(entry + ".lock"); err != nil {
			continue
		}
		if unlock, err := lockEntry(noWait(), ledger, entry); err == nil {
			unlock(true)
		}
	}
}

// readNote is ledger's note of the token file at path, if it has one it
// may be trusted with: a regular file only the user may use (where modes
// say so: not on Windows). A note of a fingerprint alone was written
// before owners were noted, and names none.
func readNote(ledger, path string) (note, bool) {
	if ledger == "" || checkLedger(ledger) != nil {
		return note{}, false
	}
	entry := ledgerEntry(ledger, path)
	fi, err := os.Lstat(entry)
	if older := writtenEntry(ledger, path); errors.Is(err, fs.ErrNotExist) && older != entry {
		entry = older // an older freshtoken's note
		fi, err = os.Lstat(entry)
	}
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxNote || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		return note{}, false
	}
	b, err := os.ReadFile(entry)
	if err != nil {
		return note{}, false
	}
	var n note
	if json.Unmarshal(b, &n) != nil {
		n = note{Sum: strings.TrimSpace(string(b))}
	}
	return n, n.Sum != ""
}

// lastWritten is ledger's note of the token file at path, if the file
// holds, as freshtoken writes a token file, what the note says freshtoken
// wrote there last.
func lastWritten(ledger, path string) (note, bool) {
	n, ok := readNote(ledger, path)
	if !ok {
		return note{}, false
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxTokenFile {
		return note{}, false
	}
	b, err := os.ReadFile(path)
	if err != nil || !holds(path, string(b)) || fingerprint(string(b)) != n.Sum {
		return note{}, false
	}
	return n, true
}

// keptFor is the other environment (of another configuration than by's)
// whose keeper keeps the token file at path, as ledger notes it: the file
// holds what the note says was written there for it, that configuration
// file is still there (see note.claims), and that token lasts past now (a
// keeper that was stopped keeps nothing once its token has expired).
func keptFor(ledger, path string, by Owner, now time.Time) (Owner, bool) {
	n, ok := lastWritten(ledger, path)
	if !ok || !n.claims(by) || !n.Expires.IsZero() && !now.Before(n.Expires) {
		return Owner{}, false
	}
	return n.owner(), true
}

// TokenFileProblem is what status and the proxy's page say of the token
// file at path when it holds the token another configuration's
// environment keeps there (see keptFor), so by's is not written there,
// with what to do; "" when there is none, or it does not.
func TokenFileProblem(ledger, path string, by Owner, now time.Time) string {
	if path == "" {
		return ""
	}
	other, kept := keptFor(ledger, path, by, now)
	if !kept {
		return ""
	}
	return fmt.Sprintf("%s holds the token that %s keeps there, so this environment's is not written there; give each environment a token_file of its own", path, other)
}

// lockTokenFile takes the lock on the token file at path, a lock file
// beside ledger's note of it, waiting for it until ctx ends, and returns
// what lets it go; gone says that the token file and its note went, and
// the lock file goes with them. A keeper holds it while it reads the
// store and writes the file, a log-out or a remove while it removes the
// file, after deleting the tokens: so a keeper that read the tokens before
// they were deleted never writes their token after the file was removed.
// With no ledger, it takes none.
func lockTokenFile(ctx context.Context, ledger, path string) (unlock func(gone bool), err error) {
	if ledger == "" {
		return func(bool) {}, nil
	}
	if err := checkLedger(ledger); err != nil {
		return nil, err
	}
	return lockEntry(ctx, ledger, ledgerEntry(ledger, path))
}

// lockEntry is lockTokenFile of the token file whose note is ledger's
// entry.
func lockEntry(ctx context.Context, ledger, entry string) (unlock func(gone bool), err error) {
	locks := filestore.NewLocks(ledger)
	name := filepath.Base(entry)
	release, err := locks.Lock(ctx, name)
	if err != nil {
		return nil, err
	}
	return func(gone bool) {
		if gone {
			locks.ForgetLock(name) // the lock file goes as the lock is let go
		}
		release()
	}, nil
}

// lockTokenFileNow is lockTokenFile taken if free, never waited for.
func lockTokenFileNow(ledger, path string) (unlock func(gone bool), err error) {
	return lockTokenFile(noWait(), ledger, path)
}

// noWait is a context ended already: a lock taken with it is taken if
// free, never waited for.
func noWait() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// ForgetTokenFile removes the token file at path once the environment's
// tokens are forgotten (a log-out, a remove, by's), if freshtoken wrote
// what it holds for by: the access token token, as the keeper writes it,
// or what ledger notes a keeper wrote there last for by (an older access
// token: the keeper had yet to write the stored one, or was stopped). It
// takes the token file's lock (see lockTokenFile) first: the caller has
// deleted the tokens, so a keeper that read them before writes nothing
// after. It reports whether it removed the file, and, when it left it as
// the token another configuration's environment keeps there, whose; a
// file holding anything else is the user's, and is left alone, as is
// none.
func ForgetTokenFile(ctx context.Context, path, token, ledger string, by Owner) (removed bool, keptBy Owner, err error) {
	return forgetTokenFile(ctx, path, token, ledger, by, false)
}

// ForgetTokenFileOf is ForgetTokenFile once the tokens of one log-in are
// forgotten while a later log-in's are kept (a log-out that found them
// stored meanwhile): it removes the file only if it holds token, that
// log-in's access token. What a keeper wrote there for by may be the
// later log-in's token, which scripts go on using.
func ForgetTokenFileOf(ctx context.Context, path, token, ledger string, by Owner) (removed bool, keptBy Owner, err error) {
	return forgetTokenFile(ctx, path, token, ledger, by, true)
}

// forgetTokenFile is ForgetTokenFile, or with onlyToken ForgetTokenFileOf.
func forgetTokenFile(ctx context.Context, path, token, ledger string, by Owner, onlyToken bool) (removed bool, keptBy Owner, err error) {
	if path == "" {
		return false, Owner{}, nil
	}
	unlock, lerr := lockTokenFile(ctx, ledger, path)
	if lerr != nil {
		// Removed all the same: a log-out leaves no token behind for a
		// lock it could not take (a ledger not fit to use holds no notes).
		unlock = func(bool) {}
	}
	gone := false
	defer func() { unlock(gone) }()
	removeLitter(path)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		// None to remove (a keeper did, or never wrote it): a note of it
		// is of nothing, and the lock file goes with it, so that each
		// log-out leaves none behind.
		forgetNote(ledger, path)
		gone = true
		return false, Owner{}, nil
	}
	n, wrote := lastWritten(ledger, path)
	switch {
	case token != "" && holds(path, token+"\n"):
	case wrote && n.claims(by):
		return false, n.owner(), nil
	case !wrote || onlyToken:
		return false, Owner{}, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, Owner{}, err
	}
	forgetNote(ledger, path)
	gone = true
	return true, Owner{}, nil
}

// FollowTokenFile has the token file at path hold token, the access token
// now stored in place of was (tokens put back), if it holds was as the
// keeper writes it: written there while was was stored, it would hand out
// was until the keeper's next look, or for good with none running. With
// token "" (none stored now) the file is removed. A file holding anything
// else is left alone. The file is by's, and token lasts until expires
// (zero: not known), as the ledger notes.
func FollowTokenFile(ctx context.Context, path, was, token, ledger string, by Owner, expires time.Time) error {
	if path == "" || was == "" {
		return nil
	}
	if token == "" {
		if !holds(path, was+"\n") {
			return nil
		}
		_, _, err := ForgetTokenFile(ctx, path, was, ledger, by)
		return err
	}
	// Under the lock, as a keeper that read was before it was put back
	// writes it: after this, it would hold was again until its next look.
	unlock, err := lockTokenFile(ctx, ledger, path)
	if err != nil {
		unlock = func(bool) {} // followed all the same, as ForgetTokenFile removes
	}
	defer unlock(false)
	if !holds(path, was+"\n") {
		return nil
	}
	if err := atomicfile.Write(path, []byte(token+"\n"), atomicfile.Options{}); err != nil {
		return unwritableBecause(path, err)
	}
	return noteWritten(ledger, path, token+"\n", by, expires)
}
