package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/await"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/lockwait"
	"github.com/freshtoken/freshtoken/internal/paste"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/filestore"
	"github.com/freshtoken/freshtoken/store/keyringstore"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

func newStoreCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Manage where tokens are stored",
		Long: `Manage the token store that [store] url names: a folder (the default), a
Redis database shared by many machines, or the system keychain (keyring://).`,
		Example: `  freshtoken store migrate --to keyring://`,
		Args:    subcommandArgs,
		RunE:    showHelp,
	}
	cmd.AddCommand(newStoreMigrateCmd(f))
	return cmd
}

type storeMigrateOptions struct {
	f  *Factory
	To string
}

func newStoreMigrateCmd(f *Factory) *cobra.Command {
	opts := &storeMigrateOptions{f: f}
	cmd := &cobra.Command{
		Use:   "migrate --to URL",
		Short: "Move every environment's tokens to another store",
		Long: `Move every configured environment's tokens from the store [store] url names
to the store --to names (a folder, a Redis database or the system keychain),
then set [store] url to it. With --to -, the URL is read from stdin: a
password in it then never shows in the process list, where any user of the
machine can read command lines.

Each environment is moved under its renewal lock, so no renewal runs while it
moves: its record is written to the new store, read back and compared, and
only then deleted from the old one. Interrupted at any point, even by a
crash, nothing is lost: run the same command again and it carries on, since
the old store keeps each record until its copy is verified, and the
configuration still names the old store until every record has moved.
A move that finds [store] url changed while it waited for the locks
(another move, run at once, finished first) moves nothing.

Every environment is looked at before any moves: a record the old store
cannot read, or a record already in the new store that is another client's,
of another log-in of the same client (another configuration's, for another
account), or that this freshtoken cannot read (a newer freshtoken's), is left
where it is and reported, nothing moves, and the configuration is not
changed. Newer tokens of the same log-in already in the new store (another
machine moved there first and has renewed since) are kept, and the older copy
is left where it was. A copy an earlier move left in the new store (given
up on, its new store failing too, or killed), not renewed there since, is
replaced: a move notes its copies beside the configuration file, in a file
ending .left-copies, until it has taken them back or is done. Any other
log-in there is kept, even an earlier one of this configuration. Tokens
logged out of (deleted from the store [store] url names) after a move was
interrupted are not brought back: a copy of them that move left in either
store is deleted; but a Redis restarted without its data holds none either,
with no log-out, so a copy left beside a Redis holding none is deleted only
when that Redis has run without a break since the move (its run_id, noted
with the copy, is the same), and kept otherwise (a log-out since is to be
run again, as the move says). A
record in the old store of another client or grant than the environment's
(another configuration sharing the store) is left there. A configuration
file freshtoken does not edit (read-only, or one of several hard links) is
refused before anything moves. A running proxy or service follows the
move with no restart: once the configuration names the new store, its next
request reads the tokens there.`,
		Example: `  freshtoken store migrate --to keyring://
  pass show freshtoken-redis | freshtoken store migrate --to -   # redis://freshtoken:PASSWORD@redis.internal:6379/0, kept out of the process list
  freshtoken store migrate --to file:///home/me/.local/state/freshtoken`,
		Args: exactArgs(0, "no arguments; name the new store with --to URL"),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.To == "" {
				return usageErrorf("name the store to move the tokens to with --to URL, such as --to keyring://")
			}
			if opts.To == "-" {
				b, err := await.Result(cmd.Context(), func() ([]byte, error) { return io.ReadAll(io.LimitReader(f.IO.In, 64<<10)) })
				if err != nil {
					return err
				}
				var notesOnly bool
				if opts.To, notesOnly = paste.SecretLine(string(b)); notesOnly {
					return usageErrorf("--to -: the first line on stdin is empty; the URL must be the first line, as `pass show` prints the password first and the entry's notes after it; pipe it in with the URL first")
				}
				if opts.To == "" {
					return usageErrorf("--to -: no URL on stdin; pipe it in, as in `pass show freshtoken-redis | freshtoken store migrate --to -`")
				}
			}
			if err := config.CheckStoreURL(opts.To); err != nil {
				return usageErrorf("--to: %v", err)
			}
			return nil
		},
		RunE: runner(opts, nil, runStoreMigrate),
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "the store to move the tokens to: file:///FOLDER, redis://HOST:PORT/DB or keyring://; - reads it from stdin")
	cmd.RegisterFlagCompletionFunc("to", cobra.FixedCompletions([]string{"file:///", "redis://", "rediss://", "keyring://"}, cobra.ShellCompDirectiveNoFileComp|cobra.ShellCompDirectiveNoSpace))
	return cmd
}

// migratePause names a step at which `store migrate` stops and waits to be
// killed, for the tests that kill it there (e2e). It is no user setting.
var migratePause = os.Getenv("FRESHTOKEN_INTERNAL_MIGRATE_PAUSE")

// migrateStep marks that env has reached step, pausing there if the tests
// asked for it.
func migrateStep(ctx context.Context, f *Factory, step, env string) {
	if migratePause != step {
		return
	}
	fmt.Fprintf(f.IO.ErrOut, "paused at %s %s\n", step, env)
	<-ctx.Done()
}

func runStoreMigrate(ctx context.Context, opts *storeMigrateOptions) error {
	f := opts.f
	ctx = f.storeWarnings(ctx)
	conf, err := f.configured("there is nothing to move")
	if err != nil {
		return err
	}
	if err := finishMove(ctx, f, conf); err != nil {
		return err
	}
	toID, _ := configedit.StoreID(opts.To)
	if configedit.SameStore(conf.StoreURL, opts.To) {
		fmt.Fprintf(f.IO.ErrOut, "The tokens are in %s already; nothing was moved.\n", shownStore(opts.To))
		return nil
	}
	notSet := func(err error) error {
		return fmt.Errorf("[store] url could not be set to %s (%w); nothing was moved, and it still names %s", shownStore(opts.To), err, shownStore(conf.StoreURL))
	}
	// A configuration that cannot take the new [store] url (read-only, a
	// hard link, a [store] written inline) is found now, before any record
	// is copied: the copies would only be taken back. (A failure no one can
	// foresee, the disk filling meanwhile, still takes them back below.)
	if err := configedit.CheckSetStoreURL(conf.Path, opts.To); err != nil {
		return fmt.Errorf("[store] url cannot be set to %s (%w); nothing was moved, and it still names %s", shownStore(opts.To), err, shownStore(conf.StoreURL))
	}
	fromDomain, _ := configedit.LockDomain(conf.StoreURL)
	toDomain, _ := configedit.LockDomain(opts.To)
	from, err := config.OpenStore(conf.StoreURL)
	if err != nil {
		return err
	}
	to, err := config.OpenStore(opts.To)
	if err != nil {
		return usageErrorf("--to: %v", err)
	}
	if err := checkKeychainTarget(ctx, opts.To); err != nil {
		return err
	}
	// Every environment is looked at, under its locks, before any moves:
	// one that cannot move (another client's tokens in the new store, a
	// record either store cannot read) moves nothing, as the moved ones
	// would be out of reach of every command until it is resolved, the
	// configuration naming the old store.
	var (
		moves  []move
		failed []envFailure
	)
	// A move that fails leaves the new store as it was: the folder made for
	// it is removed once the locks in it are let go (after every release
	// below), if nothing else is in it.
	defer removeMadeFolder(opts.To)()
	// Once every record has left the old folder, and the locks in it are
	// let go (after every release below), its reserve, with no record
	// left to serve, goes too; the folder stays, as another configuration
	// may be about to use it.
	emptied := false
	defer func() {
		if dir, err := config.StoreDir(conf.StoreURL); err == nil && emptied {
			filestore.RemoveUnusedReserve(dir)
		}
	}()
	// forgetUntouched has the new store forget the environments it held no
	// record of, under their locks, so that a file store removes the lock
	// files this move made there as the locks are let go.
	var lockedTo []string
	copiesLeft := readLeftCopies(conf.Path)
	here := newTarget(ctx, toID, to)
	forgetUntouched := func() {
		for _, env := range lockedTo {
			if _, err := to.Load(context.WithoutCancel(ctx), env); errors.Is(err, store.ErrNotFound) {
				store.DeleteIf(context.WithoutCancel(ctx), to, env, nil) // none: a record stored since is kept
			}
		}
	}
	for _, env := range conf.Names() {
		src, err := f.sourceIn(ctx, conf, env) // only the configuration, read once: whose tokens are env's
		if err != nil {
			forgetUntouched()
			return err
		}
		m, heldTo, release, err := planMove(ctx, f, env, src.CheckGrant, copiesLeft.in(ctx, here), from, to, fromDomain, toDomain)
		// Held until [store] url names the new store: a command waiting
		// for the lock then finds the tokens gone from the old store and
		// the configuration saying where they are.
		defer release()
		if errors.Is(err, errSameDatabase) {
			fmt.Fprintf(f.IO.ErrOut, "The tokens are in %s already (the Redis database [store] url names, %s, by another name); nothing was moved.\n", shownStore(opts.To), shownStore(conf.StoreURL))
			return nil
		}
		if heldTo {
			lockedTo = append(lockedTo, env)
		}
		if err != nil {
			if ours := errors.As(err, new(*newStoreError)); ours {
				err = fullDestination(err, to.Location(env), true)
			} else {
				err = fullOrigin(keepKeychainFix(err), conf.StoreURL)
			}
			failed = append(failed, envFailure{env, err})
			continue
		}
		moves = append(moves, m)
	}
	// Another move (a second terminal) may have moved the tokens and set
	// [store] url while this one waited for the locks: the old store then
	// holds none, and setting --to would name a store without them. Every
	// move holds these locks until it has set [store] url, so the file
	// read now tells.
	if now, err := config.Load(conf.Path); err == nil {
		if changed := storeURLChanged(conf.Path, now.StoreURL, conf.StoreURL); changed != "" {
			forgetUntouched()
			if configedit.SameStore(now.StoreURL, opts.To) {
				fmt.Fprintf(f.IO.ErrOut, "The tokens are in %s already (moved there by another `freshtoken store migrate` while this one waited); nothing was moved.\n", shownStore(opts.To))
				return nil
			}
			return usageErrorf("%s while this move waited for the renewal locks; nothing was moved, and the tokens are where it names now: run the same command again to move them from there", changed)
		}
	}
	if len(failed) > 0 {
		forgetUntouched()
		nothingMoved(f.IO.ErrOut, conf.StoreURL, failed)
		return &silentError{code: ExitCode(failed[0].err)}
	}
	// Every record is copied and checked before any is deleted from the
	// old store, and deleted only once the configuration names the new
	// one: a copy that fails midway (a full disk, a Redis gone) takes the
	// copies made back, and every environment stays where [store] url
	// names. (Each moved in turn, those before one that failed were out of
	// reach of every command, which said to log in, until the run again.)
	var copied []move
	// Each copy is noted before it is made, and forgotten once it is taken
	// back: a move killed before it took its copies back (SIGKILL, a power
	// loss) leaves them noted too, for a move there again to replace.
	// Unnoted, such a copy would be refused as another log-in's, with
	// advice that deletes the tokens in use: no copy is made.
	if err := noteCopies(conf.Path, here, moves, heldOn(from)); err != nil {
		forgetUntouched()
		var errno syscall.Errno
		if errors.As(err, &errno) {
			err = errno // the temp file's name says nothing the note's does not
		}
		return usageErrorf("%s, where a move notes the copies it makes, could not be written (%v); nothing was moved, and [store] url still names %s: make it a file freshtoken can write, beside the configuration, then run the same command again", leftCopiesPath(conf.Path), err, shownStore(conf.StoreURL))
	}
	takeBack := func() { // the copies made; an older copy the new store held is put back
		stuck := map[string]bool{} // the environments whose copy is left there
		defer func() { forgetCopies(conf.Path, toID, moves, stuck) }()
		for _, m := range copied {
			other, err := takeBackCopy(context.WithoutCancel(ctx), to, m)
			switch {
			case other != nil && store.LaterCopy(other, m.rec):
				fmt.Fprintf(f.IO.ErrOut, "%s: %s holds newer tokens than the copy made, renewed by another freshtoken while this move was paused past its renewal lock there; they were kept, as the live ones (the tokens in %s are spent): run the same command again to move to them\n", m.env, to.Location(m.env), from.Location(m.env))
			case other != nil:
				fmt.Fprintf(f.IO.ErrOut, "%s: %s holds other tokens than the copy made, written there by another freshtoken while this move was paused past its renewal lock there; they were kept, and the tokens in %s are still the ones in use here\n", m.env, to.Location(m.env), from.Location(m.env))
			case err != nil:
				// It holds the tokens in use here, which two stores now
				// hand out: the first renewal spends the other's. It stays
				// noted: a move there again replaces it.
				stuck[m.env] = true
				fmt.Fprintf(f.IO.ErrOut, "%s: its copy in %s could not be taken back (%v): a freshtoken reading that store (another machine) would renew it and spend the tokens in use here, in %s; run the same command again to finish the move once that store takes writes, or delete the copy there\n", m.env, to.Location(m.env), err, from.Location(m.env))
			}
		}
		forgetUntouched()
	}
	for _, m := range moves {
		if m.rec == nil {
			continue
		}
		if ctx.Err() != nil { // Ctrl-C: the file stores, which take no context, went on to the end
			break
		}
		// A copy cut short by a signal is taken back with the others, below.
		if err := copyRecord(ctx, f, m.env, m.rec, from, to); err != nil && ctx.Err() == nil {
			err = fullDestination(err, to.Location(m.env), true)
			copied = append(copied, m) // a full disk may have taken it, from its reserve
			// The reason first, then what became of the copies made.
			nothingMoved(f.IO.ErrOut, conf.StoreURL, []envFailure{{m.env, err}})
			takeBack()
			return &silentError{code: ExitCode(err)}
		}
		copied = append(copied, m)
	}
	if err := ctx.Err(); err != nil { // before the configuration names the new store, a signal stops the move
		takeBack()
		fmt.Fprintf(f.IO.ErrOut, "Nothing was moved; [store] url still names %s\n", shownStore(conf.StoreURL))
		return err
	}
	migrateStep(ctx, f, "moved", "")
	// Until every old copy is deleted, a file beside the configuration
	// names the store they are in, so that a move killed between the
	// configuration's edit and the deletions is finished by the next.
	moved, toRun := map[string]string{}, map[string]string{}
	for _, m := range moves {
		if m.rec != nil {
			moved[m.env] = tokensFingerprint(m.rec)
			if run := heldOn(to)(m.env); run != "" {
				toRun[m.env] = run
			}
		}
	}
	journal, _ := json.Marshal(moveJournal{From: conf.StoreURL, To: opts.To, Moved: moved, ToRun: toRun})
	if err := atomicfile.Write(movingFromPath(conf.Path), journal, atomicfile.Options{}); err != nil {
		takeBack()
		return fmt.Errorf("%s could not be written (%w); nothing was moved, and [store] url still names %s", movingFromPath(conf.Path), err, shownStore(conf.StoreURL))
	}
	if _, err := configedit.SetStoreURL(conf.Path, opts.To); err != nil {
		takeBack()
		os.Remove(movingFromPath(conf.Path))
		return notSet(err)
	}
	var left error // an old copy that could not be deleted
	for _, m := range moves {
		if m.rec == nil {
			fmt.Fprintf(f.IO.Out, "%s: %s\n", m.env, m.said)
			continue
		}
		if m.said != "" {
			fmt.Fprintf(f.IO.Out, "%s: moved to %s, %s\n", m.env, to.Location(m.env), m.said)
		} else {
			fmt.Fprintf(f.IO.Out, "%s: moved to %s\n", m.env, to.Location(m.env))
		}
		err := store.DeleteIf(context.WithoutCancel(ctx), from, m.env, m.rec)
		switch {
		case errors.Is(err, store.ErrChanged):
			// Renewed there since it was read, by a freshtoken that took
			// the renewal lock while this one was paused past it: its
			// refresh token is the live one, and the copy's is spent. The
			// journal stays, and the run again moves it (finishMove).
			fmt.Fprintf(f.IO.ErrOut, "%s: the old copy in %s was renewed by another freshtoken after it was copied, and was kept, as its tokens are the live ones; run the same command again to move them, and stop any freshtoken that still reads %s\n", m.env, from.Location(m.env), shownStore(conf.StoreURL))
			left = err
		case err != nil:
			fmt.Fprintf(f.IO.ErrOut, "%s: the old copy could not be deleted from %s (%v); delete it, and stop any freshtoken that read the configuration before the move (a proxy): a renewal of that copy would spend the refresh token the moved one holds\n", m.env, from.Location(m.env), err)
			left = err
		}
		migrateStep(ctx, f, "deleted", m.env)
	}
	fmt.Fprintf(f.IO.ErrOut, "[store] url in %s now names %s\n", conf.Path, shownStore(opts.To))
	forgetLeftCopies(ctx, conf.Path, here) // replaced, or renewed there since: in use
	emptied = left == nil
	if emptied {
		os.Remove(movingFromPath(conf.Path))
	}
	if ctx.Err() != nil {
		// A signal after the last check, which the move went on past to
		// its end: said as "interrupted" alone, it read as a move stopped.
		finished := "which finished"
		if left != nil {
			finished += " but for the old copies said above"
		}
		return fmt.Errorf("too late to stop the move, %s: [store] url in %s names %s", finished, conf.Path, shownStore(opts.To))
	}
	if left != nil {
		return &silentError{code: ExitCode(left)}
	}
	return nil
}

// envFailure is why an environment's tokens could not move.
type envFailure struct {
	env string
	err error
}

// nothingMoved says why the move failed, and that nothing was moved, the
// configuration still naming storeURL: one failure in one line, as every
// failure is said; several each in a line of its own, then one that says
// so.
func nothingMoved(w io.Writer, storeURL string, failed []envFailure) {
	still := "[store] url still names " + shownStore(storeURL)
	if len(failed) == 1 {
		fmt.Fprintf(w, "%s: %v; nothing was moved, and %s: run the same command again once that is fixed\n", failed[0].env, failed[0].err, still)
		return
	}
	for _, e := range failed {
		fmt.Fprintf(w, "%s: %v\n", e.env, e.err)
	}
	fmt.Fprintf(w, "Nothing was moved; %s; fix the above and run the same command again\n", still)
}

// fullDestination is err, a failure to write env's record at location in
// the new store, said as the disk being full, or read-only, when it is: the
// person's to fix (exit 2), as the new store is one they chose, and nothing
// is lost; other failures are returned as they are. ours says the failure
// is the new store's: a lock the old store could not take on its own
// read-only disk is not. (The file store's own advice for a read-only
// disk, to set [store] url to another folder, is wrong here: that would
// leave the tokens behind, and every command would say to log in; so is
// its advice for a folder that cannot be made, --to naming a file, and
// for a folder others may use, to chmod it; not so the keychain's for its
// lock folder, which --to does not name.)
func fullDestination(err error, location string, ours bool) error {
	var fe *filestore.FolderError
	switch {
	case ours && errors.As(err, &fe) && !fe.Locks() && errors.Is(err, store.ErrDenied):
		return &newStoreError{fe.WithFix("name a folder you can write in with --to")}
	case ours && errors.As(err, &fe) && !fe.Locks() && errors.Is(err, store.ErrInsecure):
		// The folder --to names, others' to use (/tmp, /, a shared
		// folder, another user's) or a link: its advice, to chmod or
		// remove it, would harm whoever else uses it.
		return &newStoreError{fe.WithFix(ownFolderFix(filepath.Dir(location)))}
	case ours && errors.Is(err, syscall.EROFS):
		return &destinationError{err: err, msg: fmt.Sprintf("the new store (--to) cannot be written: %s is on a read-only disk; name a folder you can write in with --to", filepath.Dir(location))}
	case !atomicfile.DiskFull(err) && !errors.Is(err, store.ErrReserveUsed):
		return err
	}
	return &destinationError{err: err, msg: fmt.Sprintf("the disk of the new store %s, so %s could not be written; %s, or name a folder on another disk with --to", atomicfile.FullWords(err), location, atomicfile.FreeSome(err, filepath.Dir(location), " there"))}
}

// ownFolderFix says which folder to name with --to instead of dir, one the
// file store refuses (a link, or a folder others may use), naming one it
// takes: where the link leads; else a folder to make in dir, unless dir is
// a temporary folder others share (/tmp: the system empties it, at a
// reboot or of what lies unused for days, taking the tokens, and another
// user may make the folder first); else one in the home folder. (A folder
// in another user's folder cannot be made, or, by root, would lock that
// user out.)
func ownFolderFix(dir string) string {
	if real, err := filepath.EvalSymlinks(dir); err == nil && real != dir {
		if filestore.Usable(real) {
			return fmt.Sprintf("name the folder it leads to with --to (%s), or another of the tokens' own", config.FileURL(real))
		}
		dir = real
	}
	var candidates []string
	if fi, err := os.Stat(dir); err == nil && fi.Mode()&fs.ModeSticky == 0 {
		candidates = append(candidates, filepath.Join(dir, "freshtoken"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, "freshtoken-tokens"))
	}
	for _, c := range candidates {
		if filestore.Usable(c) {
			return fmt.Sprintf("name a folder of the tokens' own with --to, such as %s, which freshtoken makes for you alone", config.FileURL(c))
		}
	}
	return "name a folder of the tokens' own with --to, one you may write in and no other user may use"
}

// fullOrigin is err, a failure to take a renewal lock in the file store
// at storeURL (the old store) as its disk is full, said as that disk being
// full, naming its folder: its own advice, to set [store] url to a folder
// on another disk, would leave the tokens behind. Other failures are
// returned as they are.
func fullOrigin(err error, storeURL string) error {
	dir, derr := config.StoreDir(storeURL)
	if derr != nil || !errors.Is(err, store.ErrDiskFull) {
		return err
	}
	return &destinationError{err: err, msg: fmt.Sprintf("the disk of the old store ([store] url) %s, so no renewal lock could be made in %s; %s", atomicfile.FullWords(err), dir, atomicfile.FreeSome(err, dir, " there"))}
}

// destinationError is a store on a disk that is full or read-only, said
// as msg: a configuration error, which the person fixes.
type destinationError struct {
	msg string
	err error
}

func (e *destinationError) Error() string { return e.msg }

func (e *destinationError) Unwrap() error { return e.err }

func (e *destinationError) FailureKind() failure.Kind { return failure.Config }

// newStoreError is a failure of the new store, the one --to names.
type newStoreError struct{ err error }

// newStoreFailed is err, a failure of the new store, as a newStoreError,
// with a keychain's advice made --to's (see keychainTarget).
func newStoreFailed(err error) error { return &newStoreError{keychainTarget(err)} }

// keychainTarget is err, when the keychain --to names could not be used,
// saying what to do about --to: the keychain's own advice, to take
// keyring:// out of [store], is about a [store] that does not name it.
func keychainTarget(err error) error {
	return keyringstore.WithFix(err, "or move the tokens to a folder (--to file:///…) or to Redis instead")
}

func (e *newStoreError) Error() string { return "the new store (--to): " + e.err.Error() }

func (e *newStoreError) Unwrap() error { return e.err }

// removeMadeFolder returns what removes the folder the file store at
// storeURL names, once done with, if it is not there yet and is left
// empty: a move that fails leaves no folder of its own behind.
func removeMadeFolder(storeURL string) func() {
	dir, err := config.StoreDir(storeURL)
	if err != nil || storeURL == "" { // file: in any case; not the default folder
		return func() {}
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		return func() {}
	}
	// Only if empty, but for the reserve the file store made beside the
	// copies it was given: the move kept nothing there.
	return func() { filestore.RemoveEmpty(dir) }
}

// shownStore is a store URL as people may see it.
func shownStore(u string) string {
	if u == "" {
		return "the default folder"
	}
	if config.IsKeyringURL(u) {
		return u // a service name at most, which CheckStoreURL checked
	}
	return store.RedactURL(u)
}

// move is what store migrate does with one environment: move rec, or,
// when rec is nil, nothing, for the reason said gives.
type move struct {
	env  string
	rec  *store.Record
	said string
	// prior is the record of env the new store held already (an older
	// copy of the same grant), nil for none: a move given up on puts it
	// back.
	prior *store.Record
}

// planMove takes env's renewal lock (both stores' locks, when their lock
// domains differ) and finds out what moving it means, or why it cannot
// move; release lets go of the locks, which it returns held. Both locks
// are taken in the order of their domains, whichever way the move goes,
// so that two opposite migrations (on two machines sharing a Redis store)
// wait for each other instead of each holding one lock for ever.
// heldTo says whether env's lock in the new store is held (with one lock
// domain, the one lock is both stores'), even when err says it cannot move.
func planMove(ctx context.Context, f *Factory, env string, checkGrant func(*store.Record) error, left leftHere, from, to store.Store, fromDomain, toDomain string) (m move, heldTo bool, release func(), err error) {
	var unlocks []func()
	release = func() {
		for _, unlock := range slices.Backward(unlocks) {
			unlock()
		}
	}
	err = lockBoth(ctx, f, env, from, to, fromDomain, toDomain, &unlocks)
	heldTo = len(unlocks) == 2 || len(unlocks) == 1 && (fromDomain == toDomain || toDomain < fromDomain)
	if err != nil {
		return move{}, heldTo, release, err
	}
	m, err = findMove(ctx, f, env, checkGrant, left, from, to)
	return m, heldTo, release, err
}

// lockBoth takes env's locks in both stores; each lock it takes is added to
// unlocks.
func lockBoth(ctx context.Context, f *Factory, env string, from, to store.Store, fromDomain, toDomain string, unlocks *[]func()) error {
	locks := []store.Store{from}
	switch {
	case toDomain < fromDomain:
		locks = []store.Store{to, from}
	case toDomain > fromDomain:
		locks = append(locks, to)
	}
	for _, st := range locks {
		if len(*unlocks) == 1 && sameRedisDatabase(ctx, env, locks[0], st) {
			// Its lock is the one just taken: it would be waited for ever.
			return errSameDatabase
		}
		// A wait is told once the store says it waits (store.Waiting: for
		// another holder, a keychain's prompt) and has lasted a second,
		// in a renewal's words (see lockwait.Notice); a store that cannot
		// be reached is told by its error alone.
		var stuck func() string
		if holder, tells := st.(store.StuckHolderTeller); tells {
			stuck = func() string { return holder.StuckHolders()(env) }
		}
		n := lockwait.New(time.Second, stuck, func(holder string) {
			if holder != "" {
				fmt.Fprintf(f.IO.ErrOut, "%s: waiting for %s\n", env, holder)
				return
			}
			fmt.Fprintf(f.IO.ErrOut, "%s: waiting for the renewal lock of %s: another process or machine is renewing it, or the store is slow to answer\n", env, env)
		})
		waiting := store.WithWaiting(ctx, func() {
			store.Waiting(ctx)
			n.Start()
		})
		unlock, err := st.Lock(waiting, env)
		n.Stop() // a line being written is whole before the next
		if err != nil && st == to {
			return newStoreFailed(err)
		}
		if err != nil {
			return err
		}
		*unlocks = append(*unlocks, unlock)
	}
	return nil
}

// errSameDatabase is lockBoth's when both stores are one Redis database,
// reached by two names that configedit.StoreID cannot tell apart (localhost
// and 127.0.0.1, a host's name and its address).
var errSameDatabase = errors.New("both stores are one Redis database")

// sameRedisDatabase reports whether held, which holds env's renewal lock,
// and other are one Redis database: other's lock is held's.
func sameRedisDatabase(ctx context.Context, env string, held, other store.Store) bool {
	h, ok := held.(interface {
		HoldsLockAt(ctx context.Context, env string, other store.Store) bool
	})
	return ok && h.HoldsLockAt(ctx, env, other)
}

// findMove reads env's record in both stores, under their locks, and says
// what moving it means: a record the new store holds that cannot be read
// (a newer freshtoken's, or damaged) is kept, never written over, and so is
// another client's. A record in the old store that checkGrant (the
// environment's Source.CheckGrant) finds another client's stays there: it
// is another configuration's that shares the store and still reads it there.
// A copy a move of this configuration's left in the new store (left says
// which) is replaced, or deleted when the old store holds no record: its
// tokens were forgotten since (a log-out), and would come back with it.
func findMove(ctx context.Context, f *Factory, env string, checkGrant func(*store.Record) error, left leftHere, from, to store.Store) (move, error) {
	rec, err := from.Load(ctx, env)
	if errors.Is(err, store.ErrNotFound) {
		there, err := to.Load(ctx, env)
		var (
			noted           *leftCopy
			same, restarted bool // Redis's run since the copy was made
		)
		if err == nil {
			noted = left(env, there)
		}
		if noted != nil && canEmpty(from) {
			same, restarted = runSince(ctx, from, noted.FromRun)
		}
		switch {
		case noted != nil && canEmpty(from) && !same:
			// A Redis restarted without its data holds nothing either,
			// no log-out between: the copy may be the only one left of
			// a live grant, kept rather than lost to a browser log-in.
			// One that ran on without a break since the move, by its
			// run_id, lost nothing: its record was deleted (a log-out).
			why := "Redis may have lost them with no log-out (Redis restarted without its data)"
			if restarted {
				why = "Redis has restarted since the move (its run_id is another), and may have lost them with no log-out (Redis restarted without its data)"
			}
			fmt.Fprintf(f.IO.ErrOut, "%s: %s holds no tokens, though an interrupted move left a copy of them in %s: that copy is kept and used, as %s; if you logged out since, run `%s` again\n", env, from.Location(env), to.Location(env), why, f.commandLine("logout -e "+env))
			return move{env: env, said: "already in " + to.Location(env)}, nil
		case noted != nil:
			// A copy a killed move left of tokens forgotten since in the
			// store the configuration names (a log-out, --local too): it
			// goes as they went. Taken for tokens already moved, it came
			// back, the live tokens of a log-out.
			if err := store.DeleteIf(context.WithoutCancel(ctx), to, env, there); err != nil {
				return move{}, newStoreFailed(err)
			}
			// Told now: it is done whether or not the move goes on.
			fmt.Fprintf(f.IO.ErrOut, "%s: deleted the copy of its tokens that an interrupted move left in %s, as they were deleted from %s since (a log-out)\n", env, to.Location(env), from.Location(env))
			return move{env: env, said: "no tokens to move (not logged in)"}, nil
		case err == nil:
			return move{env: env, said: "already in " + to.Location(env)}, nil
		}
		return move{env: env, said: "no tokens to move (not logged in)"}, nil
	}
	if err != nil {
		return move{}, fmt.Errorf("%w; it was not moved", err)
	}
	if checkGrant(rec) != nil {
		return move{env: env, said: fmt.Sprintf("not moved: the tokens in %s are those of %s, not this environment's; another configuration sharing the store may use them there, so they were left there (a log-in gives this environment its own)",
			from.Location(env), rec.Grant)}, nil
	}
	there, err := to.Load(ctx, env)
	switch {
	case errors.Is(err, store.ErrCorrupt): // ErrNewerFormat too
		what := failure.Corruption(err)
		return move{}, usageErrorf("in the new store, %s; neither was moved or changed: move it away, or upgrade freshtoken if a newer one wrote it", what)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return move{}, newStoreFailed(err)
	case err == nil && checkGrant(there) != nil:
		// Another configuration's, sharing the new store under this
		// name: compared with the environment's grant, not rec's, which
		// an older freshtoken wrote without one.
		return move{}, usageErrorf("%s already holds tokens of %s, not this environment's: another configuration sharing that store keeps its %s there; neither was moved or changed: name with --to a store of this configuration's own (another folder, or another Redis database, such as redis://host:6379/1)", to.Location(env), there.Grant, env)
	case err == nil && store.OtherLogIn(there, rec) && left(env, there) != nil:
		// A copy a move that could not take it back left there, of an
		// earlier log-in, which rec's log-in replaced as any log-in
		// replaces this configuration's own: the move replaces it too,
		// and a move given up on puts it back. (A copy of rec's own
		// log-in is replaced as any older copy of it is, below.) An
		// earlier log-in there that no move left (the store this
		// configuration named before, which a fleet may renew from) is
		// no copy, whatever its times say.
		return move{env: env, rec: rec, prior: there, said: fmt.Sprintf("in place of a copy of this configuration's earlier log-in (logged in %s) left there", there.LoggedInAt.UTC().Format(time.RFC3339))}, nil
	case err == nil && store.OtherLogIn(there, rec):
		// Two log-ins of one client may be two accounts (a work and a
		// personal company, one app): neither is a copy of the other to
		// keep or replace.
		theirs, ours := twoLogIns(there.LoggedInAt, rec.LoggedInAt)
		return move{}, usageErrorf("%s already holds tokens of another log-in to %s (logged in %s, this environment's %s), perhaps another configuration's that shares that store and the name %s, for another account; neither was moved or changed: name with --to a store of this configuration's own (another folder, or another Redis database, such as redis://host:6379/1), or, if they are this environment's own account's (another machine's log-in), run `%s` and the same move again to use them",
			to.Location(env), there.Grant, theirs, ours, env, f.commandLine("logout --local -e "+env))
	case err == nil && store.RenewedLater(there, rec):
		// Another machine moved there first and has renewed since: its
		// refresh token is the live one, and this older copy's may be spent.
		return move{env: env, said: fmt.Sprintf("%s already holds newer tokens of this grant (issued %s), which were kept; the older copy was left in %s",
			to.Location(env), there.IssuedAt.Format(time.RFC3339), from.Location(env))}, nil
	}
	m := move{env: env, rec: rec}
	if err == nil {
		m.prior = there
	}
	return m, nil
}

// takeBackCopy takes back m's copy from to, the new store: it puts back
// the older copy of the grant to held before (left holding the tokens in
// use here, to was for another freshtoken reading it, a fleet's, to renew,
// and this one to spend again), or deletes the copy. Only the copy itself
// is taken back, compared and saved in one step where to can
// (store.Swapper): other tokens there (newer says so) were renewed from it
// by another freshtoken that took the renewal lock while this one was
// paused past it (a Redis lock expires), and hold the only live refresh
// token when they are the copy's renewed (store.LaterCopy), the copy's and
// the old store's being spent: they are kept even when they land between
// the look and the write (store.CheckedDeleter). It returns those other
// tokens, kept.
func takeBackCopy(ctx context.Context, to store.Store, m move) (other *store.Record, err error) {
	cur, err := to.Load(ctx, m.env)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil // never written, or logged out since
	case err != nil:
		return nil, err
	case !store.Unchanged(cur, m.rec):
		if m.prior != nil && store.Unchanged(cur, m.prior) {
			return nil, nil // the copy never written over the older one
		}
		return cur, nil
	case m.prior == nil:
		err = store.DeleteIf(ctx, to, m.env, cur)
	default:
		if sw, ok := to.(store.Swapper); ok {
			err = sw.SaveIf(ctx, m.env, m.prior, cur)
		} else {
			err = to.Save(ctx, m.env, m.prior)
		}
	}
	if errors.Is(err, store.ErrChanged) {
		return to.Load(ctx, m.env)
	}
	return nil, err
}

// copyRecord writes rec, env's record, to the new store, and reads it back
// to check that the new store holds the same; the caller holds env's
// locks.
func copyRecord(ctx context.Context, f *Factory, env string, rec *store.Record, from, to store.Store) error {
	if err := to.Save(ctx, env, rec); err != nil {
		return fmt.Errorf("%w; it was kept in %s", keychainTarget(err), from.Location(env))
	}
	migrateStep(ctx, f, "copied", env)
	back, err := to.Load(ctx, env)
	if err != nil {
		return fmt.Errorf("the copy in %s cannot be read back (%w); the tokens were kept in %s", to.Location(env), keychainTarget(err), from.Location(env))
	}
	if !sameRecord(env, back, rec) {
		return fmt.Errorf("the copy in %s differs from the original; the tokens were kept in %s", to.Location(env), from.Location(env))
	}
	migrateStep(ctx, f, "verified", env)
	return nil
}

// sameRecord reports whether two records are stored alike.
func sameRecord(env string, a, b *store.Record) bool {
	x, errA := store.Marshal(env, a)
	y, errB := store.Marshal(env, b)
	return errA == nil && errB == nil && string(x) == string(y)
}

// checkKeychainTarget finds out, before anything moves, whether a keychain
// that --to names can be used, and says what to do about --to if not: the
// keychain's own advice is about a keyring:// in [store], which is not there.
func checkKeychainTarget(ctx context.Context, to string) error {
	if !config.IsKeyringURL(to) {
		return nil
	}
	if err := keyringstore.Check(ctx); err != nil {
		err = keychainTarget(err)
		return fmt.Errorf("--to %s: %w; nothing was moved", to, err) // a keychain URL holds no password
	}
	return nil
}

// moveJournal is what movingFromPath holds: the store a move is leaving
// (From), the one the configuration then names (To), the tokens each
// environment's record held as it moved (Moved, their tokensFingerprint),
// and, for a Redis moved to, the run_id of the server that held each copy
// (ToRun, see heldOn).
type moveJournal struct {
	From  string            `json:"from"`
	To    string            `json:"to"`
	Moved map[string]string `json:"moved,omitempty"`
	ToRun map[string]string `json:"to_run,omitempty"`
}

// tokensFingerprint names the tokens a record holds without holding them:
// a SHA-256 of the access and refresh tokens, which no one can turn back
// into either.
func tokensFingerprint(r *store.Record) string {
	sum := sha256.Sum256([]byte("freshtoken move\x00" + r.AccessToken + "\x00" + r.RefreshToken))
	return hex.EncodeToString(sum[:])
}

// leftCopies are the copies moves of one configuration could not take back
// from the store they were given up on (that store failing too), noted in
// a file beside the configuration (leftCopiesPath): a later move to that
// store replaces such a copy, and no other record there. Each is named by
// the store (its configedit.StoreID), the environment and the copy's tokens
// (tokensFingerprint): renewed there since, by a freshtoken reading that
// store, it is in use, and no longer the copy. An earlier log-in of the
// same configuration there that no move left (the store it named before,
// which a fleet may renew from) is in use however its times read (a fleet
// idle since, a machine's clock behind): it was replaced when not renewed
// since the log-in moved. The note is outside the record, which older
// freshtokens read as it is.
type leftCopies []leftCopy

type leftCopy struct {
	Store  string `json:"store"`
	Env    string `json:"env"`
	Tokens string `json:"tokens"`
	// FromRun is the run_id of the Redis server the tokens were moved
	// from, as it held them (see heldOn): the same server run, found
	// holding no record later, had it deleted. "" for another store, or a
	// Redis that did not tell.
	FromRun string `json:"from_run,omitempty"`
	// Run is the run_id of the Redis server the copy is made in, as the
	// move noted it: the same server run, reached by another name, holds
	// the copy (see target.holds). "" for another store, or a Redis that
	// did not tell.
	Run string `json:"run,omitempty"`
}

// target is the store a move goes to, as notes of copies left name it.
type target struct {
	id  string // its configedit.StoreID
	run string // for a Redis, the run_id of the server that answered as the move began; "" when not known
	// addrs are, for a Redis whose run_id is known, the addresses of the
	// host its URL names, looked up once, when a note naming it otherwise
	// is first compared (see holds).
	addrs func() []netip.Addr
}

// newTarget is the store st, whose configedit.StoreID is id, as a move to it
// begins.
func newTarget(ctx context.Context, id string, st store.Store) target {
	t := target{id: id}
	if r, ok := st.(*redisstore.Store); ok {
		t.run, _ = r.RunID(ctx)
	}
	if t.run != "" {
		t.addrs = sync.OnceValue(func() []netip.Addr { return hostAddrs(ctx, id) })
	}
	return t
}

// hostAddrs is the addresses of the host storeURL names, unmapped; none
// when it names none, or they cannot be looked up.
func hostAddrs(ctx context.Context, storeURL string) []netip.Addr {
	u, err := url.Parse(storeURL)
	if err != nil {
		return nil
	}
	ips, _ := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	for i, ip := range ips {
		ips[i] = ip.Unmap()
	}
	return ips
}

// holds reports whether c notes a copy in t: by its name, or by another
// name of the same Redis database, never another server's: the copy was
// made in the server run answering t now (its run_id), at the same port
// and database number of a host name with an address in common (localhost
// and 127.0.0.1). A run_id alone might be a proxy's backend's, which
// another proxy reaches too.
func (t target) holds(ctx context.Context, c leftCopy) bool {
	if c.Store == t.id {
		return true
	}
	if t.run == "" || c.Run != t.run {
		return false
	}
	a, errA := url.Parse(c.Store)
	b, errB := url.Parse(t.id)
	if errA != nil || errB != nil || a.Scheme != "redis" || b.Scheme != "redis" || a.Port() != b.Port() || a.Path != b.Path {
		return false
	}
	return slices.ContainsFunc(hostAddrs(ctx, c.Store), func(ip netip.Addr) bool { return slices.Contains(t.addrs(), ip) })
}

// canEmpty reports whether st can lose every record with no one deleting
// them (store.Restorer: a Redis restarted without persistence), so that a
// record missing there is not known to be a log-out's.
func canEmpty(st store.Store) bool {
	_, ok := st.(store.Restorer)
	return ok
}

// heldOn is, for a Redis store (redisstore.Store.HeldOn), the run_id of
// the server that held an environment's record as st last read it; for
// other stores, "".
func heldOn(st store.Store) func(env string) string {
	if r, ok := st.(*redisstore.Store); ok {
		return r.HeldOn
	}
	return func(string) string { return "" }
}

// runSince says whether st, a Redis, runs now as the server run whose
// run_id was run, without a break (same), or was restarted since
// (restarted); neither when either run_id is not known. Asked after a read
// that found no record there, same says the record was deleted in that
// run, not lost to a restart.
func runSince(ctx context.Context, st store.Store, run string) (same, restarted bool) {
	r, ok := st.(*redisstore.Store)
	if !ok || run == "" {
		return false, false
	}
	now, err := r.RunID(ctx)
	if err != nil || now == "" {
		return false, false
	}
	return now == run, now != run
}

// leftHere is the note of r, env's record in the store a move goes to,
// when it is a copy a move there left; nil when it is not.
type leftHere func(env string, r *store.Record) *leftCopy

// in is the copies left in the store t.
func (l leftCopies) in(ctx context.Context, t target) leftHere {
	return func(env string, r *store.Record) *leftCopy {
		tokens := tokensFingerprint(r)
		if i := slices.IndexFunc(l, func(c leftCopy) bool { return c.Env == env && c.Tokens == tokens && t.holds(ctx, c) }); i >= 0 {
			return &l[i]
		}
		return nil
	}
}

// leftCopiesPath is the file beside the configuration at path that notes
// leftCopies (see besideConfig).
func leftCopiesPath(path string) string { return besideConfig(path, ".left-copies") }

// readLeftCopies reads the copies noted beside the configuration at path:
// none when there is no note, or it cannot be read (no copy is replaced).
func readLeftCopies(path string) leftCopies {
	var l leftCopies
	if b, err := os.ReadFile(leftCopiesPath(path)); err == nil && json.Unmarshal(b, &l) != nil {
		return nil
	}
	return l
}

// writeLeftCopies writes l beside the configuration at path, or removes
// the note when l is empty.
func writeLeftCopies(path string, l leftCopies) error {
	if len(l) == 0 {
		if err := os.Remove(leftCopiesPath(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return atomicfile.Write(leftCopiesPath(path), b, atomicfile.Options{})
}

// noteCopies notes the copies the moves ms are about to make in the store
// t, beside the configuration at path, each with the run_id of the Redis
// server it is moved from, as fromRun says it (see heldOn).
func noteCopies(path string, t target, ms []move, fromRun func(env string) string) error {
	l := readLeftCopies(path)
	changed := false
	for _, m := range ms {
		if m.rec == nil {
			continue // nothing to copy
		}
		c := leftCopy{t.id, m.env, tokensFingerprint(m.rec), fromRun(m.env), t.run}
		switch i := slices.IndexFunc(l, func(n leftCopy) bool { return n.Store == c.Store && n.Env == c.Env && n.Tokens == c.Tokens }); {
		case i < 0:
			l, changed = append(l, c), true
		case l[i] != c: // noted by an earlier move, the server held them since
			l[i], changed = c, true
		}
	}
	if !changed {
		return nil
	}
	return writeLeftCopies(path, l)
}

// forgetCopies forgets the copies noted for the moves ms in the store
// storeID names, as a move given up on took them back, but for those of
// the environments stuck, left there. A copy of the same tokens as the
// older copy it was put back over (a copy an earlier move left) stays
// noted: that older copy is there again.
func forgetCopies(path, storeID string, ms []move, stuck map[string]bool) {
	l := readLeftCopies(path)
	kept := slices.DeleteFunc(slices.Clone(l), func(c leftCopy) bool {
		return c.Store == storeID && slices.ContainsFunc(ms, func(m move) bool {
			return m.env == c.Env && !stuck[m.env] && m.rec != nil && tokensFingerprint(m.rec) == c.Tokens &&
				(m.prior == nil || tokensFingerprint(m.prior) != c.Tokens)
		})
	})
	if len(kept) != len(l) {
		writeLeftCopies(path, kept)
	}
}

// forgetLeftCopies forgets the copies noted in the store t, by any of its
// names, once a move there is done: each was replaced, or renewed there
// since.
func forgetLeftCopies(ctx context.Context, path string, t target) {
	l := readLeftCopies(path)
	if kept := slices.DeleteFunc(slices.Clone(l), func(c leftCopy) bool { return t.holds(ctx, c) }); len(kept) != len(l) {
		writeLeftCopies(path, kept)
	}
}

// movingFromPath is the file beside the configuration at path that names
// the store a move is leaving, from just before the configuration names the
// new store until every old copy is deleted.
func movingFromPath(path string) string { return besideConfig(path, ".moving-from") }

// besideConfig is the file named as the configuration at path, with suffix,
// beside the file a symbolic link leads to, where the configuration's edit
// is written, so that the next move finds it by whichever name it reaches
// the file.
func besideConfig(path, suffix string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	return path + suffix
}

// finishMove deletes the old copies a move killed after the configuration
// named the new store (SIGKILL, a power loss) left in the old one, as the
// move would have: each under the locks of both stores, when the store the
// configuration names holds the same tokens of the environment's grant, or
// newer. A copy that is newer (renewed by a freshtoken still reading the old
// store) is moved over the older one first. A copy that cannot be compared
// is kept and said; the journal then stays, for the next run to look again.
func finishMove(ctx context.Context, f *Factory, conf *config.File) error {
	path := movingFromPath(conf.Path)
	data, err := os.ReadFile(path)
	if beside := conf.Path + ".moving-from"; errors.Is(err, fs.ErrNotExist) && beside != path {
		path = beside // an older freshtoken's, beside the link it was given
		data, err = os.ReadFile(path)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s, which names the store an interrupted move left old copies of the tokens in, cannot be read (%w); delete it once you have deleted them", path, err)
	}
	var j moveJournal
	errJSON := json.Unmarshal(data, &j)
	curID, _ := configedit.StoreID(conf.StoreURL)
	_, errFrom := configedit.StoreID(j.From)
	if errJSON != nil || errFrom != nil || !configedit.SameStore(j.To, conf.StoreURL) || configedit.SameStore(j.From, conf.StoreURL) {
		// Killed before the configuration named the new store, or the
		// configuration was changed since, or the store left is the one
		// named by another path (a bind mount): no copy is old.
		os.Remove(path)
		return nil
	}
	from, err := config.OpenStore(j.From)
	if err != nil {
		return fmt.Errorf("the store an interrupted move left old copies of the tokens in, %s, cannot be opened (%w); delete them there, then %s", shownStore(j.From), err, path)
	}
	to, err := config.OpenStore(conf.StoreURL)
	if err != nil {
		return err
	}
	fromDomain, _ := configedit.LockDomain(j.From)
	toDomain, _ := configedit.LockDomain(conf.StoreURL)
	var kept error // the first old copy kept
	for _, env := range conf.Names() {
		src, err := f.Source(ctx, env)
		if err != nil {
			return err
		}
		var unlocks []func()
		err = lockBoth(ctx, f, env, from, to, fromDomain, toDomain, &unlocks)
		if err == nil {
			err = deleteOldCopy(ctx, f, env, src.CheckGrant, from, to, j.From, j.Moved[env], j.ToRun[env])
		}
		for _, unlock := range slices.Backward(unlocks) {
			unlock()
		}
		if errors.Is(err, errSameDatabase) {
			// The store the move left is the one the configuration
			// names, by another name: its copy is no old one, but the
			// tokens in use, and there is nothing left to finish.
			fmt.Fprintf(f.IO.ErrOut, "The store an interrupted move left, %s, is the Redis database [store] url names (%s) by another name: its tokens are the ones in use, and were kept.\n", shownStore(j.From), shownStore(conf.StoreURL))
			break
		}
		if err != nil {
			// No --to is at fault here, and a keychain's usual advice, to
			// take keyring:// out of [store], would leave the tokens in it
			// out of reach: unlocked, the run again finishes the move.
			var ns *newStoreError
			if errors.As(err, &ns) {
				err = ns.err
			}
			err = keyringstore.WithFix(err, "then run the same command again")
			fmt.Fprintf(f.IO.ErrOut, "%s: a copy of its tokens that an interrupted move left in %s was kept: %v\n", env, from.Location(env), err)
			if kept == nil {
				kept = err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if kept != nil {
		// Not a success, and no other move either: its journal would
		// take the place of this one, and the copies kept would be
		// forgotten, left for good.
		fmt.Fprintf(f.IO.ErrOut, "The interrupted move out of %s is not finished, so nothing else was moved; %s names that store until it is: fix the above and run the same command again (or, to leave those copies there for good, delete %s)\n", shownStore(j.From), path, path)
		return &silentError{code: ExitCode(kept)}
	}
	forgetLeftCopies(ctx, conf.Path, newTarget(ctx, curID, to)) // the move there is done, as at its end: by any name of it
	os.Remove(path)
	if dir, err := config.StoreDir(j.From); err == nil {
		filestore.RemoveUnusedReserve(dir)
	}
	return nil
}

// deleteOldCopy deletes env's record from from, the store a move left,
// when to, the store the configuration names, holds the same tokens of
// env's grant or newer, or none when it holds the very tokens that moved
// (forgotten since: a log-out), and moves it to to first when it is the newer;
// a record of another log-in than to's, not the one that moved, is left in
// from. fromURL is from's URL, and moved the tokensFingerprint of the
// record as it moved ("" when the move noted none); toRun, for a Redis
// moved to, the run_id of the server that held the copy ("" when not
// known): a Redis that holds none, run since without a break, had it
// deleted, and one restarted since may have lost it. The caller holds both
// locks.
func deleteOldCopy(ctx context.Context, f *Factory, env string, checkGrant func(*store.Record) error, from, to store.Store, fromURL, moved, toRun string) error {
	old, err := from.Load(ctx, env)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if checkGrant(old) != nil {
		return nil // another configuration's, which was never moved
	}
	now, err := to.Load(ctx, env)
	same, restarted := false, false // Redis's run since the copy was made
	if errors.Is(err, store.ErrNotFound) && canEmpty(to) {
		same, restarted = runSince(ctx, to, toRun)
	}
	switch {
	case errors.Is(err, store.ErrNotFound) && moved != "" && tokensFingerprint(old) == moved && (!canEmpty(to) || same):
		// The very tokens that moved, forgotten since where the
		// configuration names them (a log-out, --local too): their old
		// copy goes as they went.
		if err := deleteOld(ctx, from, env, old); err != nil {
			return err
		}
		fmt.Fprintf(f.IO.ErrOut, "%s: deleted the old copy that an interrupted move to %s left in %s, as its tokens were deleted from %s since (a log-out)\n", env, to.Location(env), from.Location(env), to.Location(env))
		return nil
	case errors.Is(err, store.ErrNotFound):
		// Other tokens than the ones that moved (renewed since by a
		// freshtoken still reading the old store), a move that noted
		// none, or a store that empties with no log-out: whether the old
		// copy is wanted is the person's to say.
		why := "a log-out since the move?"
		switch {
		case restarted:
			why = "Redis has restarted since the move (its run_id is another): a log-out since the move, or Redis restarted without its data?"
		case canEmpty(to):
			why = "a log-out since the move, or Redis restarted without its data?"
		}
		return usageErrorf("%s, where the configuration says the tokens are, holds none (%s), so it is the only copy: delete it if the log-out was meant; to keep it, set [store] url back to %s and run the move again", to.Location(env), why, shownStore(fromURL))
	case err != nil:
		return fmt.Errorf("%s, where the configuration says the tokens are, cannot be compared with it (%w)", to.Location(env), err)
	case checkGrant(now) != nil:
		return usageErrorf("%s, where the configuration says the tokens are, holds tokens of %s, not this environment's; delete the one you do not use", to.Location(env), now.Grant)
	case tokensFingerprint(old) != moved && store.OtherLogIn(old, now):
		// Not the copy that moved, nor one renewed from it: a log-in since,
		// perhaps another configuration's that reads the old store under
		// this name, for another account. Neither is a copy of the other
		// to keep or replace (findMove).
		left, moved := twoLogIns(old.LoggedInAt, now.LoggedInAt)
		fmt.Fprintf(f.IO.ErrOut, "%s: %s holds tokens of another log-in (logged in %s) than the ones moved to %s (logged in %s), perhaps another configuration's that uses that store; they were left there, and this configuration goes on with its own\n",
			env, from.Location(env), left, to.Location(env), moved)
		return nil
	case oldRenewed(old, now, moved):
		// A freshtoken that read the configuration before the move (a
		// proxy) renewed the old copy: its refresh token is the live one,
		// and the new store's may be spent. It moves over the older copy,
		// as a move does when the new store holds an older copy of the
		// grant (findMove).
		if err := copyRecord(ctx, f, env, old, from, to); err != nil {
			return err
		}
		if err := deleteOld(ctx, from, env, old); err != nil {
			return err
		}
		fmt.Fprintf(f.IO.ErrOut, "%s: moved to %s the newer tokens that a freshtoken still reading %s renewed after an interrupted move\n", env, to.Location(env), from.Location(env))
		return nil
	}
	if err := deleteOld(ctx, from, env, old); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "%s: deleted the old copy that an interrupted move to %s left in %s\n", env, to.Location(env), from.Location(env))
	return nil
}

// deleteOld deletes old, env's copy in from that a move left, if it is
// still the copy read: one renewed since, by a freshtoken still reading
// from, is kept for the run again to look at.
func deleteOld(ctx context.Context, from store.Store, env string, old *store.Record) error {
	err := store.DeleteIf(context.WithoutCancel(ctx), from, env, old)
	if errors.Is(err, store.ErrChanged) {
		return fmt.Errorf("it was renewed by a freshtoken still reading that store as it was looked at; stop any that does, then run the same command again (%w)", err)
	}
	return err
}

// oldRenewed reports whether old, the copy a move left, was renewed after
// the move rather than now, the copy in the store the configuration names:
// by which of the two still holds the tokens that moved (moved, their
// fingerprint), as clocks may disagree (another machine's renewed it, set
// behind); when neither or both do, or the move noted none, as
// store.RenewedLater tells.
func oldRenewed(old, now *store.Record, moved string) bool {
	if moved != "" {
		switch oldSame, nowSame := tokensFingerprint(old) == moved, tokensFingerprint(now) == moved; {
		case oldSame && !nowSame:
			return false
		case nowSame && !oldSame:
			return true
		}
	}
	return store.RenewedLater(old, now)
}

// keepKeychainFix is err, from the store the tokens are to move out of,
// ending, when that is a keychain that cannot be used now, with what to do
// for the move: its usual advice, to take keyring:// out of [store] to keep
// the tokens in files, would leave every token in it, out of reach.
func keepKeychainFix(err error) error {
	return keyringstore.WithFix(err, "then run the same command again; keep keyring:// in [store] until then, as the tokens are in the keychain")
}

// twoLogIns are the times of two log-ins (store.OtherLogIn) as a message
// shows them: to the second, or as finely as tells them apart. Shown to
// the second, two log-ins within one second read as one time twice, and
// the message as one log-in called two.
func twoLogIns(a, b time.Time) (string, string) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05.000Z07:00"} {
		if x, y := a.UTC().Format(layout), b.UTC().Format(layout); x != y {
			return x, y
		}
	}
	return a.UTC().Format(time.RFC3339Nano), b.UTC().Format(time.RFC3339Nano)
}
