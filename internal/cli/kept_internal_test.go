package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/notify"
)

// TestKeptReadingIsReusedWhileTheFileIsUnchanged: a long-running
// process's reading of the configuration is given again, however long
// after, while the file is unchanged, and once it changed moments before
// it was read (an edit of the same size may follow unseen within the tick
// of the file system's clock), or the reading failed (on something
// outside the file), it is read again configRecheck later. Read again
// every 2 s all the same, a file of 2000 environments made 37 MB of
// garbage at each reading, most of a proxy's memory. The clock is the
// test's, not slept on.
func TestKeptReadingIsReusedWhileTheFileIsUnchanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("[env.dev]\nprovider = \"freeagent\"\nclient_id = \"a\"\n")
	now := time.Now()
	k := &keptRead{now: func() time.Time { return now }}
	at := func(later time.Duration, want bool, why string) {
		t.Helper()
		now = now.Add(later)
		if _, read, _ := k.read(func() (string, error) { return path, nil }); read != want {
			t.Fatalf("%s: read again %v; want %v", why, read, want)
		}
	}
	at(0, true, "first")
	at(time.Second, false, "a second on, the file changed just before the reading")
	at(2*time.Second, true, "3 s on, the file changed just before the reading")
	at(time.Hour, false, "an hour on, the file unchanged since its reading, settled")
	at(24*time.Hour, false, "a day on, the file unchanged")
	write("[env.dev]\nprovider = \"freeagent\"\nclient_id = \"bb\"\n")
	at(0, true, "edited")
	write("[env.dev]\nprovider = \"freeagent\"\nclient_id = \"b\"\nnope = 1\n")
	at(time.Hour, true, "edited with a mistake")
	at(time.Hour, true, "an hour on, the reading failed")
}

// TestTokenFileFolderMadeWritableByOthersIsRefused: a token_file's
// folder made writable by others while the proxy runs, the configuration
// unchanged, is refused at the keeper's write of the file: the reading of
// the file, no longer repeated every 2 s, was checked as the folder then
// was.
func TestTokenFileFolderMadeWritableByOthersIsRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("folder modes are not checked on Windows")
	}
	dir := t.TempDir()
	folder := filepath.Join(dir, "run")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(folder, "token")
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte("[env.dev]\nprovider = \"freeagent\"\nclient_id = \"a\"\ntoken_file = \""+token+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &strings.Builder{}, ErrOut: &strings.Builder{}}, ConfigFlag: path}
	s, err := loadProxyStart(f)
	if err != nil {
		t.Fatal(err)
	}
	k := newKeeper(f, s, &atomic.Pointer[notify.Notifier]{})
	now := time.Now().Add(time.Hour) // the file written an hour before
	f.kept.now = func() time.Time { return now }
	if _, err := f.keptConfig(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if _, err := f.keptConfig(); err != nil { // read again once, unchanged: settled
		t.Fatal(err)
	}
	if why := k.Refuse(token); why != "" {
		t.Fatalf("a token file in a folder of the user's own is refused: %s", why)
	}
	if err := os.Chmod(folder, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := f.keptConfig(); err != nil {
		t.Fatalf("the configuration, unchanged, is not served as read: %v", err)
	}
	if why := k.Refuse(token); !strings.Contains(why, "its folder "+folder+" may be written by group or others (mode 0777)") {
		t.Fatalf("a token file in a folder made writable by others: refused for %q", why)
	}
}

// TestKeptReadingOfAFileAheadOfTheClockSettles: a configuration file
// whose change time is ahead of the process's clock (on a network share
// whose server's clock is ahead, or the clock set back since the edit)
// is read again once, configRecheck on, and that reading, the file's
// stamp the same, is settled: it was never, and the file was read again
// every 2 s, and by the proxy at every request (each through one lock
// for every environment), for as long as the clock stayed behind.
func TestKeptReadingOfAFileAheadOfTheClockSettles(t *testing.T) {
	at := keptOffTheClock(t, time.Hour, 0)
	at(0, true, false, "first, the file's time ahead of the clock")
	at(configRecheck, true, true, "2 s on, the file unchanged")
	at(2*configRecheck, false, true, "4 s on, the file unchanged since a reading 2 s after another")
	at(2*configRecheck+10*time.Minute, false, true, "10 minutes on, the file unchanged")
}

// TestKeptReadingSettlesCountingFromTheEndOfItsLook: the 2 s a file's
// stamp must stay the same for a reading to be settled are counted from
// the end of the earlier reading's look at the file, not its start. On a
// network share that look (a stat sent to the server) may take a while,
// and an edit made during it shares the stamp it answers with, as may
// another of the same size in the same tick of the server's clock: a
// tick that began after the look began may end after a reading 2 s on
// from that start, and an edit of the same size then was never read,
// the reading settled. The test's clock moves on half a second at each
// look at it, as over a slow share.
func TestKeptReadingSettlesCountingFromTheEndOfItsLook(t *testing.T) {
	at := keptOffTheClock(t, time.Hour, time.Second/2)
	at(0, true, false, "first, the file's time ahead of the clock, its look taking 0.5 s")
	at(configRecheck, false, false, "2 s after the first look began, 1.5 s after it ended")
	at(configRecheck+time.Second/2, true, true, "2 s after the first look ended, the file unchanged")
}

// TestKeptReadingOfAFileBehindTheClockSettlesOnlyOnceUnchanged: a
// configuration file written moments before it is read, on a network
// share whose server's clock is behind the process's, has times that
// look long past. Its reading was settled at once, and an edit of the
// same size within the same tick of the server's clock, after the
// reading, was never read: the times of a file, by another clock than
// this process's, cannot tell how long ago it changed. A reading is
// settled only once the file's stamp stayed the same over configRecheck
// by this process's clock.
func TestKeptReadingOfAFileBehindTheClockSettlesOnlyOnceUnchanged(t *testing.T) {
	at := keptOffTheClock(t, -time.Hour, 0)
	at(0, true, false, "first, the file written just now, its time an hour behind the clock")
	at(time.Second, false, false, "a second on")
	at(configRecheck, true, true, "2 s on, the file unchanged")
	at(configRecheck+10*time.Minute, false, true, "10 minutes on, the file unchanged")
}

// keptOffTheClock writes a configuration file changed ahead (behind, if
// negative) of a keptRead's clock, which moves on by look at each look
// at it, and returns a check of a reading since after the clock's start:
// whether the file was read again, and the reading settled.
func keptOffTheClock(t *testing.T, ahead, look time.Duration) func(since time.Duration, want, settled bool, why string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("[env.dev]\nprovider = \"freeagent\"\nclient_id = \"a\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-ahead)
	now := start
	k := &keptRead{now: func() time.Time { at := now; now = now.Add(look); return at }}
	return func(since time.Duration, want, settled bool, why string) {
		t.Helper()
		now = start.Add(since)
		c, read, err := k.read(func() (string, error) { return path, nil })
		if err != nil || read != want || c.Settled != settled {
			t.Fatalf("%s: read again %v (%v), settled %v; want %v, %v", why, read, err, c.Settled, want, settled)
		}
	}
}

// TestKeptReadingOfAFileTouchedIsNotParsedAgain: a sync tool (Dropbox,
// OneDrive, Syncthing) that touches the configuration file every second,
// its times and not its bytes, changes its stamp at each touch, so that a
// long-running process read it again at each touch, and its reading never
// settled. Each reading parsed the whole file: a proxy of 2000
// environments (400 KB) spent 0.2 s of processor time and made 28 MB of
// garbage every second, while every request waited for it. The bytes and
// mode as before, the reading is given again, parsed once (300: 149
// allocations for each environment at each touch; now a few for each, a
// copy of the reading its own, see config.Reload). Counted in allocations, not time; the clock is the test's.
func TestKeptReadingOfAFileTouchedIsNotParsedAgain(t *testing.T) {
	const n = 300
	dir := t.TempDir()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[env.e%d]\nprovider = \"freeagent\"\nclient_id = \"client-%d\"\nclient_secret = \"s3cr3t-of-client-%d\"\ntoken_file = %q\n\n", i, i, i, filepath.Join(dir, fmt.Sprintf("token-%d", i)))
	}
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	k := &keptRead{now: func() time.Time { return now }}
	first, _, err := k.read(func() (string, error) { return path, nil })
	if err != nil {
		t.Fatal(err)
	}
	touched := time.Now()
	for touch := range 3 {
		now = now.Add(time.Second)
		touched = touched.Add(time.Second)
		if err := os.Chtimes(path, touched, touched); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c, read, err := k.read(func() (string, error) { return path, nil })
		runtime.ReadMemStats(&after)
		if err != nil || !read || c.Settled {
			t.Fatalf("touch %d: read again %v (%v), settled %v; want the file read again, not settled", touch, read, err, c.Settled)
		}
		if !reflect.DeepEqual(c.Envs["e7"], first.Envs["e7"]) {
			t.Errorf("touch %d: e7 %+v; want the reading given again, %+v", touch, *c.Envs["e7"], *first.Envs["e7"])
		}
		if each := (after.Mallocs - before.Mallocs) / n; each > 5 {
			t.Errorf("touch %d: reading the file again made %d allocations for each of %d environments; want under 5 (not parsed again)", touch, each, n)
		}
	}
	now = now.Add(configRecheck)
	if c, read, err := k.read(func() (string, error) { return path, nil }); err != nil || !read || !c.Settled {
		t.Fatalf("2 s after the last touch: read again %v (%v), settled %v; want read again and settled", read, err, c.Settled)
	}
}
