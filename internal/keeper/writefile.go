package keeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/store"
)

// The keeper's writes and removals of each environment's token file.

// tokenFileLockWait is the longest the keeper waits for a token file's
// lock (see lockTokenFile), which its holders keep for moments: one held
// longer is held by a process stopped (Ctrl-Z) or hung, and the file is
// written without it.
var tokenFileLockWait = 10 * time.Second

// writeTokenFile puts rec's access token in env's token file, if it has
// one, the file does not hold it already (it may have been removed or
// changed under the keeper) and an HTTP header can carry it: a temp file,
// 0600, synced, renamed over the old one, so a reader sees the old token
// or the new one, never a part. It reads src's store again under the token
// file's lock first (see lockTokenFile): tokens a log-out or a remove
// deleted since rec was read leave nothing written, and tokens renewed
// since are the ones written; one written without the lock (held by a
// stopped or hung process) is read once more after, and a token a log-out
// forgot meanwhile is taken back. A file that holds the token another
// configuration's environment's keeper keeps there is left to it, and
// warned of once.
func (k *Keeper) writeTokenFile(ctx context.Context, env string, src *freshtoken.Source, rec *store.Record) {
	path := k.tokenFile(env)
	if rec == nil || rec.AccessToken == "" {
		return
	}
	// The grant is live: a removal failing at a later grant's end is told
	// again, whoever writes this one's token there (another keeper of the
	// same configuration may have, and this one then writes nothing).
	k.mu.Lock()
	delete(k.unremoved, path)
	k.mu.Unlock()
	if path == "" {
		k.noteWrite(env, nil)
		return
	}
	k.clearLitter(path)
	if holds(path, rec.AccessToken+"\n") {
		k.noteWrite(env, nil)
		k.keeps(env, path, rec.AccessToken+"\n")
		return
	}
	if k.Refuse != nil {
		if why := k.Refuse(path); why != "" {
			k.noteWrite(env, errors.New(why))
			k.Logger.Warn("keeper: the token file is not written", "env", env, "path", path, "error", why)
			return
		}
	}
	if err := foreignFile(path); err != nil {
		k.noteWrite(env, err)
		k.Logger.Warn("keeper: the token file names a file of something else, which it does not replace", "env", env, "path", path, "error", err.Error())
		return
	}
	if k.beforeLock != nil {
		k.beforeLock()
	}
	// A lock held past tokenFileLockWait is one a stopped or hung process
	// holds: waiting on, the environment would go unrenewed, unsaid.
	waitFor, stop := context.WithTimeout(ctx, tokenFileLockWait)
	unlock, err := lockTokenFile(waitFor, k.Ledger, path)
	held := waitFor.Err() != nil
	stop()
	k.mu.Lock()
	warned := k.lockHeld[path]
	if held && err != nil {
		put(&k.lockHeld, path, true)
	} else if err == nil {
		delete(k.lockHeld, path)
	}
	k.mu.Unlock()
	unlocked := err != nil
	switch {
	case err != nil && ctx.Err() != nil:
		return
	case err != nil && held:
		if !warned {
			k.Logger.Warn(fmt.Sprintf("keeper: the token file's lock has been held for %s, by a freshtoken (logout, remove or keeper) that is stopped or hung: resume or end it; the token file is written without the lock meanwhile", tokenFileLockWait), "env", env, "path", path)
		}
		unlock = func(bool) {}
	case err != nil:
		k.Logger.Debug("keeper: the token file's lock could not be taken; writing it without", "env", env, "path", path, "error", err.Error())
		unlock = func(bool) {}
	}
	defer unlock(false)
	stored, err := src.Record(ctx)
	if err != nil || !liveTokens(src, stored) {
		// Logged out or replaced since rec was read: the next look
		// removes the file, or writes the new log-in's token.
		k.Logger.Debug("keeper: the tokens changed as their token file was to be written; it is left to the next look", "env", env, "path", path)
		return
	}
	rec = stored
	content := rec.AccessToken + "\n"
	if holds(path, content) {
		k.noteWrite(env, nil)
		k.keeps(env, path, content)
		return
	}
	if !httpx.PrintableASCII(rec.AccessToken) {
		// A line break in it would reach a script's request as a header
		// of its own; the next renewal may bring a usable token.
		k.Logger.Warn("keeper: the provider issued an access token holding control or non-ASCII characters, which no HTTP header can carry; the token file is left as it was", "env", env, "path", path)
		return
	}
	by := k.owner(env)
	if other, kept := keptFor(k.Ledger, path, by, k.now()); kept {
		k.keptForAnother(env, path, by, other)
		return
	}
	if k.beforeWrite != nil {
		k.beforeWrite()
	}
	shared := k.writtenByAnother(path, content)
	if err := atomicfile.Write(path, []byte(content), atomicfile.Options{}); err != nil {
		err = unwritableBecause(path, err)
		// Warned when it starts or its reason changes, not at every look
		// (a line a minute in the journal for as long as a disk was full).
		k.mu.Lock()
		was := k.unwrittenErr(env)
		k.mu.Unlock()
		k.noteWrite(env, err)
		if was == nil || was.Error() != err.Error() {
			k.Logger.Warn("keeper: cannot write the token file", "env", env, "path", path, "error", err.Error())
		}
		return
	}
	if shared {
		k.mu.Lock()
		again := errors.Is(k.unwrittenErr(env), errSharedTokenFile)
		k.mu.Unlock()
		if !again {
			k.Logger.Warn("keeper: the token file held another token than the one this freshtoken wrote there: something else writes it too, such as a freshtoken with another configuration naming the same token_file, so its readers may get that one's token; it is written again, but give each a token_file of its own", "env", env, "path", path)
		}
		k.noteWrite(env, errSharedTokenFile)
	} else {
		k.noteWrite(env, nil)
	}
	if err := noteWritten(k.Ledger, path, content, by, rec.Expiry); err != nil {
		k.Logger.Debug("keeper: what the token file holds could not be noted; a log-out removes it only while it holds the stored token", "env", env, "path", path, "error", err.Error())
	}
	k.mu.Lock()
	k.state(env).heldNoted = time.Time{} // a note anew holds no hold
	k.mu.Unlock()
	if unlocked {
		// A log-out or a remove between the read above and the write,
		// not held off by the lock, removed the file before it was
		// written: read again, and take back a logged-out token.
		if again, err := src.Record(ctx); err == nil && !liveTokens(src, again) && holds(path, content) {
			os.Remove(path)
			forgetNote(k.Ledger, path)
			k.Logger.Debug("keeper: the tokens were forgotten as their token file was written without its lock; it is removed", "env", env, "path", path)
			return
		}
	}
	k.keeps(env, path, content)
	k.Logger.Debug("keeper: token file written", "env", env, "path", path)
}

// keeps notes content, env's stored access token as its token file at path
// holds it, as what the keeper keeps there: written by it, or found there
// already, written by another keeper of the same configuration (the
// service and a proxy started by hand), as it would have written it. One
// found so and not noted was, at this keeper's next write, another
// writer's token: two keepers of one grant were told that something else
// writes their token file (see writtenByAnother).
func (k *Keeper) keeps(env, path, content string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	put(&k.wrote, path, content)
	k.state(env).path = path
}

// liveTokens reports whether stored, src's record, holds an access token
// of its grant to write to a token file: none once the tokens were logged
// out or replaced, or the grant ended.
func liveTokens(src *freshtoken.Source, stored *store.Record) bool {
	return stored != nil && src.CheckGrant(stored) == nil && !grantEnded(stored) && stored.AccessToken != ""
}

// owner is the Owner of env's token file: env of the keeper's
// configuration.
func (k *Keeper) owner(env string) Owner { return NewOwner(k.Config, env) }

// keptForAnother notes that env's token file, at path, is not written as
// it holds the token the keeper of other (another configuration's
// environment) keeps there, and warns of it once while it lasts: two
// keepers writing one file each put their own token back at every look,
// and its readers got either environment's.
func (k *Keeper) keptForAnother(env, path string, by, other Owner) {
	err := &keptElsewhereError{other: other}
	k.mu.Lock()
	var was *keptElsewhereError
	again := errors.As(k.unwrittenErr(env), &was) && was.other == other
	k.mu.Unlock()
	k.noteWrite(env, err)
	if !again {
		k.Logger.Warn("keeper: the token file holds the token that "+other.String()+" keeps there, so this environment's is not written there; give each environment a token_file of its own (or delete the file, if that configuration is no longer used)",
			"env", env, "config", by.Config, "path", path)
	}
}

// keptElsewhereError is noted as a token file's failure while it holds
// the token another configuration's environment keeps there.
type keptElsewhereError struct{ other Owner }

func (e *keptElsewhereError) Error() string {
	return "it holds the token that " + e.other.String() + " keeps there; give each environment a token_file of its own"
}

// unwritableBecause is err, a write of the token file at path that failed,
// as a person can act on it: a folder that does not exist, or on a disk
// mounted read-only, or a full disk, a file size limit (ulimit -f) too
// small for it, a folder at path or a file in place
// of its folder, named with what to do; any other reason names the folder
// and the system's words, never the temp file. Go's words named the
// temp file the write failed at (open /run/x/.token.tmp-651581525: no
// such file or directory), a name the person never gave.
func unwritableBecause(path string, err error) error {
	dir := filepath.Dir(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("its folder %s does not exist; make it, or name a token_file in a folder that does", dir)
		}
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("its folder %s is on a disk mounted read-only; name a token_file on one that can be written", dir)
	case atomicfile.DiskFull(err):
		return fmt.Errorf("the disk of its folder %s %s; %s", dir, atomicfile.FullWords(err), atomicfile.FreeSome(err, dir, ""))
	case atomicfile.TooLarge(err):
		than, raise := atomicfile.TooLargeWords()
		return fmt.Errorf("it would be larger than %s; %s", than, raise)
	}
	if fi, serr := os.Lstat(path); serr == nil && fi.IsDir() {
		// Made since the configuration was read (it is refused there):
		// Go's words named a new temp file at each look, "rename
		// …/.token.tmp-412637872 …: file exists".
		return fmt.Errorf("%s is a folder now; remove it, or name a token_file in it, such as %s", path, filepath.Join(path, "token"))
	}
	if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
		return fmt.Errorf("its folder %s is a file now; remove it and make the folder, or name a token_file in a folder", dir)
	}
	// The system's reason alone: Go's words name the temp file, a new
	// one at each look, so the warning given once per reason came at
	// every look.
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("it cannot be written in its folder %s (%v)", dir, errno)
	}
	return err
}

// errSharedTokenFile is noted as a token file's failure while something
// else keeps writing other tokens to it (see writtenByAnother).
var errSharedTokenFile = errors.New("something else writes other tokens to it too")

// writtenByAnother reports whether the token file at path, which the
// keeper is about to write content to, holds something else than what
// the keeper last wrote there and than content: another writer changed it
// since. Two freshtoken processes with other configurations (a service
// and a proxy started by hand) naming one token_file each put their own
// environment's token back at every look, and its readers get either.
func (k *Keeper) writtenByAnother(path, content string) bool {
	k.mu.Lock()
	last, ok := k.wrote[path]
	k.mu.Unlock()
	if !ok {
		return false
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() > maxTokenFile {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && string(b) != last && string(b) != content
}

// leaveTokenFile removes the token file the keeper last wrote for env
// when env's token file is now another, at path, or none (""): token_file
// was moved or taken out, or env taken out of the configuration. It goes
// only if it still holds what the keeper wrote there, and no other
// environment's token file is there: an access token nothing keeps
// current any more is not left behind, usable until it expires.
func (k *Keeper) leaveTokenFile(env, path string) {
	old, content, ok := k.leaving(env, path)
	if !ok || !holds(old, content) {
		return
	}
	if err := os.Remove(old); err != nil {
		k.Logger.Warn("keeper: cannot remove the token file the configuration no longer names; remove it yourself", "env", env, "path", old, "error", err.Error())
		return
	}
	forgetNote(k.Ledger, old)
	k.Logger.Info("keeper: token file removed, as the configuration no longer names it", "env", env, "path", old)
}

// leaving is the token file the keeper last wrote for env, and what it
// wrote there, forgotten now, when leaveTokenFile is to remove it (ok):
// env's token file is now another, at path, or none, and no other
// environment's is there. The file itself is read and removed after,
// without k.mu: a disk that stalls holds up that environment's watch
// alone, not every one's.
func (k *Keeper) leaving(env, path string) (old, content string, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.state(env)
	old = e.path
	if old == "" || old == path {
		return "", "", false
	}
	e.path = ""
	for _, other := range k.envs {
		if other.path == old {
			return "", "", false
		}
	}
	content, ok = k.wrote[old]
	delete(k.wrote, old)
	return old, content, ok
}

// maxTokenFile is the most a file the keeper replaces may hold: more is
// something else than a token.
const maxTokenFile = 64 << 10

// foreignFile says why the file at path is something else than a token
// file the keeper may replace, or nil: a token_file mistyped or misread as
// a file to update (~/.netrc, a script's settings) names a file of
// several lines, which replacing it whole with a token would destroy.
func foreignFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	if fi.Size() > maxTokenFile {
		return fmt.Errorf("it holds %d bytes, not a token; move it away, or name another token_file", fi.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("it cannot be read (%v), so it may not be a token file; move it away, or name another token_file", errors.Unwrap(err))
	}
	if i := bytes.IndexByte(bytes.TrimRight(b, "\n"), '\n'); i >= 0 {
		return errors.New("it holds several lines, not a token; move it away, or name another token_file")
	}
	return nil
}

// removal is why a token file is removed: its tokens are gone from the
// store, or are another client's, or of a grant the provider ended.
type removal int

const (
	tokensGone removal = iota
	anotherClients
	grantEndedHere
)

// removeTokenFile removes env's token file once its tokens are not to be
// used, for the reason why: gone (a log-out, the store's folder removed,
// a Redis emptied: told, as its readers fail from now on), another
// client's (an edit of the configuration), or, rec's, of a grant the
// provider ended (no command serves its access token, which a strict
// provider revoked with the grant, and a tool reading the file would send
// it; the next log-in's is written there). It goes if it holds what the
// keeper wrote there, or the ended grant's access token as the keeper
// writes it (written before the keeper last started): never a file of
// someone else's. A removal that fails is warned of once, not at every
// look, until it works or fails otherwise.
func (k *Keeper) removeTokenFile(env string, why removal, rec *store.Record) {
	k.noteWrite(env, nil)
	path := k.tokenFile(env)
	if path == "" {
		return
	}
	k.clearLitter(path)
	// The file is read and removed without k.mu, as leaveTokenFile does.
	k.mu.Lock()
	content, ours := k.wrote[path]
	k.mu.Unlock()
	if !(ours && holds(path, content)) && !(why == grantEndedHere && rec.AccessToken != "" && holds(path, rec.AccessToken+"\n")) {
		return
	}
	if err := os.Remove(path); err != nil {
		k.mu.Lock()
		told := k.unremoved[path] == err.Error()
		put(&k.unremoved, path, err.Error())
		k.mu.Unlock()
		if !told {
			msg := "keeper: cannot remove the token file of an environment that has no tokens of its own; remove it yourself"
			if why == grantEndedHere {
				msg = "keeper: cannot remove the token file, which holds the access token of a grant the provider ended; remove it yourself, as tools reading it would send a revoked token"
			}
			k.Logger.Warn(msg, "env", env, "path", path, "error", err.Error())
		}
		return
	}
	forgetNote(k.Ledger, path)
	k.mu.Lock()
	delete(k.unremoved, path)
	if k.wrote[path] == content { // not written again meanwhile, by another environment naming it too
		delete(k.wrote, path)
	}
	if e := k.state(env); e.path == path {
		e.path = ""
	}
	k.mu.Unlock()
	switch why {
	case anotherClients:
		k.Logger.Debug("keeper: token file removed, as the environment has no tokens of its own", "env", env, "path", path)
	case grantEndedHere:
		k.Logger.Info("keeper: token file removed, as the provider ended the grant; the next log-in's token is written there", "env", env, "path", path)
	default:
		msg := fmt.Sprintf("keeper: token file removed, as the store holds the environment's tokens no more; it is written again after `freshtoken login -e %s`", env)
		if k.Suggesting != nil {
			msg = k.Suggesting(msg) // the log-in of this configuration, not the default one's
		}
		k.Logger.Info(msg, "env", env, "path", path)
	}
}

// grantEnded reports whether rec notes that the provider ended its grant:
// its access token is served to no one (see freshtoken.Source.Token).
func grantEnded(rec *store.Record) bool {
	return rec != nil && rec.Problem != nil && rec.Problem.Kind == store.ProblemGrantEnded
}

// holds reports whether path is a regular file (not a link, nor a pipe
// that reading would wait on) that only the user can read (where modes
// say so: not on Windows), holding exactly content.
func holds(path, content string) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != int64(len(content)) ||
		runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && string(b) == content
}

// staleTemp is how long a temp file of a token file's goes untouched
// before it is taken for one a crashed writer left: a live writer renames
// its own within moments of making it.
const staleTemp = 10 * time.Minute

// clearLitter removes the litter beside the token file at path
// (removeLitter) at one look in each staleTemp at most, as none is
// removed sooner after it was made: at every look, a keeper of 2000
// environments awaiting a log-in, their token files in one folder, read
// the folder's 2000 names for each of them every 5 s.
func (k *Keeper) clearLitter(path string) {
	now := k.now()
	k.mu.Lock()
	last, looked := k.litterLooked[path]
	due := !looked || now.Sub(last) >= staleTemp || last.After(now) // after: the clock was set back
	if due {
		put(&k.litterLooked, path, now)
	}
	k.mu.Unlock()
	if due {
		removeLitter(path)
	}
}

// removeLitter removes the temp files that a writer of the token file at
// path killed mid-write (SIGKILL, power loss) left beside it, named as
// atomicfile names them: each holds an access token, in a folder of the
// user's, where nothing else would remove it. Another keeper may be
// writing the token file now (a service and a proxy started by hand), and
// no lock is held, so only files untouched for staleTemp go.
func removeLitter(path string) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+".tmp-"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
