package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestStuckLockHidesNoOtherProblem: the page marking an environment whose
// renewal lock a stopped process holds as needing attention took that for
// a problem already told, and no longer said that its refresh token had
// expired: the user resumed the holder, and the renewal still failed.
// Both are told.
func TestStuckLockHidesNoOtherProblem(t *testing.T) {
	if isLockHolder(t) {
		return
	}
	f := newFixture(t)
	f.login(t, "dev")
	st, rec := f.stored(t, "dev")
	rec.Expiry, rec.RefreshExpiry = f.clock.Now().Add(-time.Hour), f.clock.Now().Add(-time.Minute)
	if err := st.Save(context.Background(), "dev", rec); err != nil {
		t.Fatal(err)
	}
	holder := stoppedLockHolder(t, filepath.Join(filepath.Dir(f.configPath), "store", "dev.lock"), "")

	_, body := f.get(t, "/")
	page := string(body)
	for _, want := range []string{
		fmt.Sprintf(`<p class="problem" id="lock-dev"><strong>Renewals wait:</strong> the renewal lock of dev: process %d (`, holder),
		"The refresh token has expired, so freshtoken cannot renew the access token.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not say %q:\n%s", want, page)
		}
	}
}

// TestStoppedHolderNameIsShownInert: a stopped lock holder is named by its
// process name, which any local program sets as it likes (up to 15 bytes,
// markup and terminal controls included): the page shows it as text, with
// no control character in it.
func TestStoppedHolderNameIsShownInert(t *testing.T) {
	if isLockHolder(t) {
		return
	}
	f := newFixture(t)
	f.login(t, "dev")
	holder := stoppedLockHolder(t, filepath.Join(filepath.Dir(f.configPath), "store", "dev.lock"), "<b>\x1b[2J\a\n")
	_, body := f.get(t, "/")
	page := string(body)
	want := fmt.Sprintf(`<strong>Renewals wait:</strong> the renewal lock of dev: process %d (&lt;b&gt;?[2J??) holds it`, holder)
	if !strings.Contains(page, want) {
		t.Errorf("the page does not say %q:\n%s", want, page)
	}
}

// stoppedLockHolder runs this test again as a process that holds the
// flock on lock, named name unless it is "", and stops it (SIGSTOP) until
// the test ends: its pid.
func stoppedLockHolder(t *testing.T, lock, name string) int {
	t.Helper()
	holder := testenv.RunAgain(t, "FRESHTOKEN_HOLD_LOCK="+lock, "FRESHTOKEN_HOLD_LOCK_NAME="+name)
	if line, err := holder.Stdout.ReadString('\n'); line != "locked\n" {
		t.Fatalf("the lock holder did not take the lock: %q %v", line, err)
	}
	testenv.Pause(t, holder.Process) // its cleanup, run first, resumes it
	stat := fmt.Sprintf("/proc/%d/stat", holder.Process.Pid)
	testenv.WaitFor(t, "the lock holder to stop", func() bool {
		b, err := os.ReadFile(stat)
		return err == nil && strings.Contains(string(b), ") T ")
	})
	return holder.Process.Pid
}

// isLockHolder reports whether this process is the copy of the test that
// stoppedLockHolder runs; if it is, it takes the flock on the lock it was
// given, says so, and holds it until its standard input closes.
func isLockHolder(t *testing.T) bool {
	lock := os.Getenv("FRESHTOKEN_HOLD_LOCK")
	if lock == "" {
		return false
	}
	if name := os.Getenv("FRESHTOKEN_HOLD_LOCK_NAME"); name != "" {
		if err := os.WriteFile("/proc/self/comm", []byte(name), 0); err != nil {
			t.Fatal(err)
		}
	}
	l, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := syscall.Flock(int(l.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
	return true
}
