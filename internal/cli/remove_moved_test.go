package cli_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestRemoveWhileTheTokensMove: `remove -e dev --yes` while `store
// migrate` in another terminal holds dev's renewal lock, moving its
// tokens. Remove took the configuration's lock, then waited for the
// renewal lock under it; the move, holding the renewal lock, waited for
// the configuration's lock to set [store] url: both waited for ever,
// saying nothing more. Remove now takes the renewal lock first, as the
// move does, so the move sets [store] url; remove then sees it changed,
// removes nothing (exit 2, saying so and to run it again), and the moved
// tokens are where [store] url names.
func TestRemoveWhileTheTokensMove(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	old, unlock, errOut, exited := runWaitingForDevLock(t, e, "remove", "-e", "dev", "--yes")

	// The move, under the renewal lock it holds: the record copied,
	// [store] url set, the old copy deleted.
	moved := filepath.Join(e.dir, "moved")
	rec := e.record(t, "dev")
	if err := filestore.New(moved).Save(t.Context(), "dev", rec); err != nil {
		t.Fatal(err)
	}
	set := make(chan error, 1)
	go func() {
		_, err := configedit.SetStoreURL(e.config, fileURL(moved))
		set <- err
	}()
	select {
	case err := <-set:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		unlock() // lets both go on
		<-set
		<-exited
		t.Fatal("[store] url could not be set in 20 s: the configuration's lock was held by remove, waiting for the renewal lock the move held")
	}
	if err := old.Delete(t.Context(), "dev"); err != nil {
		t.Fatal(err)
	}
	unlock()

	code := <-exited
	if msg := errOut.String(); code != cli.ExitUsage || !strings.Contains(msg, "was changed") || !strings.Contains(msg, "nothing was removed: run the same command again") {
		t.Fatalf("remove: exit %d, stderr %q; want %d saying [store] url changed while it waited, and to run it again", code, msg, cli.ExitUsage)
	}
	f, err := config.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if f.Envs["dev"] == nil || f.StoreURL != fileURL(moved) {
		t.Fatalf("configuration after remove: dev kept %v, [store] url %q; want dev kept, naming %s", f.Envs["dev"] != nil, f.StoreURL, fileURL(moved))
	}
	if got := e.record(t, "dev"); got.RefreshToken != rec.RefreshToken {
		t.Fatal("the moved tokens are not where [store] url names")
	}
}

// runWaitingForDevLock holds dev's renewal lock in e's store, as a move of
// its tokens in another terminal does, and runs the command args until it
// waits for that lock. It returns the store, the lock's release, the
// command's stderr, and where its exit code comes.
func runWaitingForDevLock(t *testing.T, e *devEnv, args ...string) (old *filestore.Store, unlock func(), errOut *testenv.Output, exited <-chan int) {
	t.Helper()
	old = filestore.New(filepath.Join(e.dir, "state"))
	unlock, err := old.Lock(t.Context(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	errOut = testenv.NewOutput()
	ios := &cli.IOStreams{In: strings.NewReader(""), Out: testenv.NewOutput(), ErrOut: errOut}
	code := make(chan int, 1)
	go func() { code <- e.run(ios, args...) }()
	errOut.WaitFor(t, strings.Join(args, " ")+" waiting for the lock", regexp.MustCompile(`waiting for the renewal lock`))
	return old, unlock, errOut, code
}
