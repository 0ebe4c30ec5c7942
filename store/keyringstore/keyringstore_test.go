package keyringstore_test

import (
	"bufio"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/freshtoken/freshtoken/internal/keyringtest"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

var ctx = context.Background()

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() store.Store {
		keyringtest.Start(t)
		locks := filepath.Join(t.TempDir(), "state")
		return func() store.Store { return keyringstore.New(keyringstore.DefaultService, locks) }
	})
}

// TestLargeRecordIsSplitAndCleared: a record beyond one item's size is kept
// in parts, a smaller one replacing it leaves no parts of the larger
// behind, and Delete leaves nothing at all.
func TestLargeRecordIsSplitAndCleared(t *testing.T) {
	kr := keyringtest.Start(t)
	s := keyringstore.New("freshtoken-test", filepath.Join(t.TempDir(), "state"))
	big := storetest.Sample()
	big.AccessToken = strings.Repeat("j", 4096) // a large JWT
	if err := s.Save(ctx, "sandbox", big); err != nil {
		t.Fatal(err)
	}
	items := kr.Items(t, "freshtoken-test")
	if len(items) < 4 {
		t.Fatalf("a 4 KB token is kept in %v; want a head and at least three parts", items)
	}
	for _, v := range items {
		secret, err := keyring.Get("freshtoken-test", v)
		if err != nil {
			t.Fatal(err)
		}
		if len(secret) > 2560 {
			t.Fatalf("item %s holds %d bytes, more than Windows takes", v, len(secret))
		}
	}
	if err := s.Save(ctx, "sandbox", storetest.Sample()); err != nil {
		t.Fatal(err)
	}
	if items := kr.Items(t, "freshtoken-test"); len(items) != 2 {
		t.Fatalf("after a small record replaced the large one the keychain holds %v; want its head and one part", items)
	}
	if err := s.Delete(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	if items := kr.Items(t, "freshtoken-test"); len(items) != 0 {
		t.Fatalf("Delete left %v in the keychain", items)
	}
}

// TestDeleteLeavesNoPartBehind: a part missing (removed by hand, or by a
// Delete killed half-way) does not stop Delete short of the parts after
// it, in either slot, and another environment's items are left alone: a
// log-out leaves no token in the keychain. Nor does a Save leave parts of
// the record it replaces.
func TestDeleteLeavesNoPartBehind(t *testing.T) {
	kr := keyringtest.Start(t)
	s := keyringstore.New("freshtoken-test", filepath.Join(t.TempDir(), "state"))
	big := storetest.Sample()
	big.AccessToken = strings.Repeat("j", 8192)
	for _, env := range []string{"sandbox", "sandbox-2"} {
		if err := s.Save(ctx, env, big); err != nil {
			t.Fatal(err)
		}
	}
	// A leftover in the other slot, beyond a gap, as a Save killed while
	// clearing it leaves.
	if err := keyring.Set("freshtoken-test", "sandbox.b.3", "stale token part"); err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"sandbox.a.1", "sandbox.a.3"} {
		if err := keyring.Delete("freshtoken-test", part); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	for _, item := range kr.Items(t, "freshtoken-test") {
		if !strings.HasPrefix(item, "sandbox-2") {
			t.Errorf("Delete left %s in the keychain", item)
		}
	}
	if _, err := s.Load(ctx, "sandbox-2"); err != nil {
		t.Fatalf("another environment's record after Delete: %v", err)
	}

	// A Save leaves no part of an older record behind a gap either, in the
	// slot it writes or the other.
	if err := keyring.Set("freshtoken-test", "sandbox-2.b.4", "stale token part"); err != nil {
		t.Fatal(err)
	}
	if err := keyring.Delete("freshtoken-test", "sandbox-2.a.2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "sandbox-2", storetest.Sample()); err != nil {
		t.Fatal(err)
	}
	if items := kr.Items(t, "freshtoken-test"); len(items) != 2 {
		t.Fatalf("after a small record replaced a large one the keychain holds %v; want its head and one part", items)
	}
}

// TestPartsThatDoNotMatchAreReportedAndKept: a part changed behind
// freshtoken's back is reported as corrupt, naming how to replace it, and
// left as it is.
func TestPartsThatDoNotMatchAreReportedAndKept(t *testing.T) {
	keyringtest.Start(t)
	s := keyringstore.New("freshtoken-test", filepath.Join(t.TempDir(), "state"))
	if err := s.Save(ctx, "sandbox", storetest.Sample()); err != nil {
		t.Fatal(err)
	}
	if err := keyring.Set("freshtoken-test", "sandbox.a.1", `{"version":1,"access_token":"tampered"}`); err != nil {
		t.Fatal(err)
	}
	_, err := s.Load(ctx, "sandbox")
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "a log-in replaces them") || strings.Contains(err.Error(), "`freshtoken") {
		t.Fatalf("Load of a tampered part: %v; want ErrCorrupt saying how to replace it", err)
	}
	if v, _ := keyring.Get("freshtoken-test", "sandbox.a.1"); !strings.Contains(v, "tampered") {
		t.Fatal("the corrupt part was changed")
	}
}

// TestLockedKeychain: a locked keychain is said to be locked, with what to
// do, wrapping store.ErrUnreachable; no lock file or record is written to
// the state folder, and nothing is written to the keychain.
func TestLockedKeychain(t *testing.T) {
	kr := keyringtest.Start(t)
	state := filepath.Join(t.TempDir(), "state")
	s := keyringstore.New("freshtoken-test", state)
	kr.Lock(t)
	_, loadErr := s.Load(ctx, "sandbox")
	saveErr := s.Save(ctx, "sandbox", storetest.Sample())
	_, lockErr := s.Lock(ctx, "sandbox")
	for what, err := range map[string]error{"Load": loadErr, "Save": saveErr, "Lock": lockErr} {
		if !errors.Is(err, keyringstore.ErrLocked) || !errors.Is(err, store.ErrUnreachable) ||
			!strings.Contains(err.Error(), "unlock it") || !strings.Contains(err.Error(), "[store]") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s with the keychain locked: %v; want one line saying it is locked and what to do", what, err)
		}
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the state folder was made (%v) though the keychain could not be used", err)
	}
}

// TestKeychainDaemonGone: the Secret Service that answered is gone from
// the bus (gnome-keyring-daemon killed): a keychain to wait for
// (store.ErrUnreachable), saying to start it again, in one line, not a
// system without one (ErrNoKeychain, "install and start gnome-keyring", a
// configuration error, which a renewal's answer is not kept for); once it
// is back the record it kept on disk is read and saved again.
func TestKeychainDaemonGone(t *testing.T) {
	kr := keyringtest.Start(t)
	s := keyringstore.New("freshtoken-test", filepath.Join(t.TempDir(), "state"))
	rec := storetest.Sample()
	if err := s.Save(ctx, "sandbox", rec); err != nil {
		t.Fatal(err)
	}
	kr.Kill(t)
	_, loadErr := s.Load(ctx, "sandbox")
	saveErr := s.Save(ctx, "sandbox", rec)
	for what, err := range map[string]error{"Load": loadErr, "Save": saveErr} {
		if !errors.Is(err, store.ErrUnreachable) || errors.Is(err, keyringstore.ErrNoKeychain) ||
			!strings.Contains(err.Error(), "start it again") || strings.Contains(err.Error(), "install") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s with the keychain's daemon gone: %v; want one line saying to start it again, store.ErrUnreachable", what, err)
		}
	}
	kr.Restart(t)
	got, err := s.Load(ctx, "sandbox")
	if err != nil || got.RefreshToken != rec.RefreshToken {
		t.Fatalf("after the daemon came back: %v, %v; want the record saved before", got, err)
	}
	if err := s.Save(ctx, "sandbox", rec); err != nil {
		t.Fatalf("a save after the daemon came back: %v", err)
	}
}

// TestKeychainThatDoesNotAnswerIsToldOfAsItWaits: a call the keychain
// leaves unanswered for store.StallNotice tells the caller (store.WithStalled)
// that it waits for the keychain, once, before it gives up: a command at
// a terminal waited its 30 s in silence, and a person took it for a hang.
// Calls answered tell nothing.
func TestKeychainThatDoesNotAnswerIsToldOfAsItWaits(t *testing.T) {
	kr := keyringtest.Start(t)
	keyringstore.SetAnswerTimeout(t, 3*time.Second)
	s := keyringstore.New("freshtoken-test", filepath.Join(t.TempDir(), "state"))
	told := make(chan string, 10)
	ctx := store.WithStalled(ctx, func(what string, stalled bool, _ time.Time) {
		if stalled {
			told <- what
		}
	})
	if err := s.Save(ctx, "sandbox", storetest.Sample()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "sandbox"); err != nil {
		t.Fatal(err)
	}
	if len(told) != 0 {
		t.Fatalf("calls the keychain answered told of a wait for %q", <-told)
	}
	kr.Pause(t)
	if _, err := s.Load(ctx, "sandbox"); !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("Load from a keychain that does not answer: %v; want store.ErrUnreachable", err)
	}
	if len(told) != 1 {
		t.Fatalf("told of %d waits; want 1", len(told))
	}
	if what := <-told; what != "the system keychain (Secret Service)" || what != keyringstore.StallName() {
		t.Errorf("told of a wait for %q; want the system keychain (Secret Service)", what)
	}
}

// TestKeychainThatDoesNotAnswer: a keychain that never answers (one
// waiting on a prompt nobody sees over ssh or from cron, or a daemon
// stopped) holds no call past the time limit: each says in one line what
// happened and what to do, wrapping store.ErrUnreachable, and writes no
// record anywhere. (Lock asks the keychain only whether it is unlocked: the
// silent one answers that.)
func TestKeychainThatDoesNotAnswer(t *testing.T) {
	for name, tc := range map[string]struct {
		start        func(t *testing.T)
		answersCheck bool
	}{
		"silent after saying it is unlocked": {func(t *testing.T) { keyringtest.StartSilent(t) }, true},
		"daemon stopped":                     {func(t *testing.T) { keyringtest.Start(t).Pause(t) }, false},
	} {
		t.Run(name, func(t *testing.T) {
			tc.start(t)
			keyringstore.SetAnswerTimeout(t, 300*time.Millisecond)
			state := filepath.Join(t.TempDir(), "state")
			s := keyringstore.New("freshtoken-test", state)
			errs := make(chan map[string]error, 1)
			go func() {
				got := map[string]error{}
				_, got["Load"] = s.Load(ctx, "sandbox")
				got["Save"] = s.Save(ctx, "sandbox", storetest.Sample())
				got["Delete"] = s.Delete(ctx, "sandbox")
				if !tc.answersCheck {
					_, got["Lock"] = s.Lock(ctx, "sandbox")
				}
				_, got["ClientSecret"] = keyringstore.ClientSecret(ctx, "client-1", "https://login.example.com")
				got["SetClientSecret"] = keyringstore.SetClientSecret(ctx, "client-1", "https://login.example.com", "s3cr3t")
				errs <- got
			}()
			var got map[string]error
			select {
			case got = <-errs:
			case <-time.After(20 * time.Second):
				t.Fatal("a call to a keychain that does not answer was still waiting after 20 s, with a limit of 300 ms")
			}
			for what, err := range got {
				if !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "within 300ms") ||
					!strings.Contains(err.Error(), "unlock it in your desktop session") || strings.Contains(err.Error(), "\n") {
					t.Errorf("%s: %v; want one line saying the keychain did not answer and what to do", what, err)
				}
			}
			if err := got["ClientSecret"]; err != nil && !strings.Contains(err.Error(), "keep the client secret in an environment variable instead") {
				t.Errorf("ClientSecret: %v; want the advice about the secret", err)
			}
			if entries, _ := os.ReadDir(state); len(entries) > 0 {
				t.Errorf("the state folder holds %v though the keychain did not answer", entries)
			}
		})
	}
}

// TestUnansweredCallsDoNotPileUp: calls given up on a keychain that does
// not answer do not pile up, each a goroutine and a D-Bus call waiting for
// ever (a proxy kept adding them at each renewal and each view of its
// page): while one is still unanswered, the next waits for it, and gives
// up saying the same.
func TestUnansweredCallsDoNotPileUp(t *testing.T) {
	keyringtest.StartSilent(t)
	keyringstore.SetAnswerTimeout(t, 50*time.Millisecond)
	s := keyringstore.New("freshtoken-test", filepath.Join(t.TempDir(), "state"))
	if _, err := s.Load(ctx, "sandbox"); !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("Load from a silent keychain: %v; want it unreachable", err)
	}
	before := runtime.NumGoroutine()
	for range 20 {
		if _, err := s.Load(ctx, "sandbox"); !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "within 50ms") {
			t.Fatalf("Load from a silent keychain: %v; want it unreachable, saying it did not answer", err)
		}
	}
	if grew := runtime.NumGoroutine() - before; grew > 2 {
		t.Fatalf("20 calls given up on left %d more goroutines waiting on the keychain", grew)
	}
}

// TestKeychainKnownNotToAnswerIsNotWaitedForInFull: once a call has gone
// unanswered, each later one waits only briefly until the keychain answers
// again: `status` waited the whole limit (30 s) for each environment, a
// minute and a half for three, for a keychain already known not to answer
// (and `store migrate`, and the proxy's page, as long). Once the keychain
// answers again, it is used as before.
func TestKeychainKnownNotToAnswerIsNotWaitedForInFull(t *testing.T) {
	kr := keyringtest.Start(t)
	keyringstore.SetAnswerTimeout(t, 2*time.Second, 100*time.Millisecond)
	s := keyringstore.New("freshtoken-test", filepath.Join(t.TempDir(), "state"))
	kr.Pause(t)
	errs := make(chan []error, 1)
	go func() {
		var got []error
		for range 10 {
			_, err := s.Load(ctx, "sandbox")
			got = append(got, err)
		}
		errs <- got
	}()
	var got []error
	select {
	case got = <-errs:
	case <-time.After(15 * time.Second):
		t.Fatal("10 reads from a keychain that does not answer were still waiting after 15 s: each waited the whole limit of 2 s")
	}
	for i, err := range got {
		want := "did not answer within 2s"
		if i > 0 {
			want = "still does not answer (it did not within 2s, nor now within 100ms)"
		}
		if !errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), want) {
			t.Errorf("read %d: %v; want it unreachable, saying it %s", i+1, err, want)
		}
	}
	kr.Resume(t)
	testenv.WaitFor(t, "the keychain to be read again once it answers", func() bool {
		_, err := s.Load(ctx, "sandbox")
		return errors.Is(err, store.ErrNotFound)
	})
	if err := s.Save(ctx, "sandbox", storetest.Sample()); err != nil {
		t.Fatalf("Save once the keychain answers again: %v", err)
	}
}

// TestNoKeychain: without a session bus, or with one but no Secret Service
// on it, every use says there is no keychain and what to do, and writes
// nothing anywhere.
func TestNoKeychain(t *testing.T) {
	for name, setup := range map[string]func(t *testing.T){
		"no bus":            keyringtest.NoBus,
		"no secret service": func(t *testing.T) { keyringtest.StartBus(t) },
	} {
		t.Run(name, func(t *testing.T) {
			setup(t)
			state := filepath.Join(t.TempDir(), "state")
			s := keyringstore.New(keyringstore.DefaultService, state)
			_, loadErr := s.Load(ctx, "sandbox")
			saveErr := s.Save(ctx, "sandbox", storetest.Sample())
			_, lockErr := s.Lock(ctx, "sandbox")
			_, secretErr := keyringstore.ClientSecret(ctx, "client-1", "https://login.example.com")
			for what, err := range map[string]error{"Load": loadErr, "Save": saveErr, "Lock": lockErr} {
				if !errors.Is(err, keyringstore.ErrNoKeychain) || !strings.Contains(err.Error(), "[store]") || strings.Contains(err.Error(), "\n") {
					t.Errorf("%s: %v; want one line saying there is no keychain and what to do", what, err)
				}
			}
			// The client secret's advice is about the secret, not about
			// where tokens are stored.
			if err := secretErr; !errors.Is(err, keyringstore.ErrNoKeychain) || strings.Contains(err.Error(), "[store]") ||
				!strings.Contains(err.Error(), "keep the client secret in an environment variable instead") || strings.Contains(err.Error(), "\n") {
				t.Errorf("ClientSecret: %v; want one line saying there is no keychain and to keep the secret in a variable", err)
			}
			if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the state folder was made (%v) though there is no keychain", err)
			}
		})
	}
}

// TestClientSecret: a client secret is kept for one client id at one
// provider; the same client id at another provider has none.
func TestClientSecret(t *testing.T) {
	kr := keyringtest.Start(t)
	const at, elsewhere = "https://login.example.com", "https://login.example.org"
	if _, err := keyringstore.ClientSecret(ctx, "client-1", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before any is kept: %v, want ErrNotFound", err)
	}
	if err := keyringstore.SetClientSecret(ctx, "client-1", at, "s3cr3t"); err != nil {
		t.Fatal(err)
	}
	if got, err := keyringstore.ClientSecret(ctx, "client-1", at); err != nil || got != "s3cr3t" {
		t.Fatalf("ClientSecret = %q, %v", got, err)
	}
	if got, err := keyringstore.ClientSecret(ctx, "client-1", elsewhere); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ClientSecret at another provider = %q, %v; want ErrNotFound", got, err)
	}
	if items := kr.Items(t, keyringstore.DefaultService); !slices.Equal(items, []string{"client_secret:client-1 at " + at}) {
		t.Fatalf("the keychain holds %v", items)
	}
	// DeleteClientSecret removes it, and one that is not there is no error.
	if err := keyringstore.DeleteClientSecret(ctx, "client-1", elsewhere); err != nil {
		t.Fatalf("DeleteClientSecret of none: %v", err)
	}
	if err := keyringstore.DeleteClientSecret(ctx, "client-1", at); err != nil {
		t.Fatalf("DeleteClientSecret: %v", err)
	}
	if got, err := keyringstore.ClientSecret(ctx, "client-1", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ClientSecret after DeleteClientSecret = %q, %v; want ErrNotFound", got, err)
	}
	if items := kr.Items(t, keyringstore.DefaultService); len(items) != 0 {
		t.Fatalf("the keychain holds %v after DeleteClientSecret", items)
	}
}

// TestKilledWriterLeavesOldOrNew: a process saving large records over and
// over is killed with SIGKILL at random points, mid-save included; what
// the keychain holds is always one whole record, never a mix or nothing.
func TestKilledWriterLeavesOldOrNew(t *testing.T) {
	if os.Getenv("KEYRINGSTORE_TEST_WRITER") != "" {
		writeForever()
		return
	}
	keyringtest.Start(t)
	state := filepath.Join(t.TempDir(), "state")
	s := keyringstore.New("freshtoken-test", state)
	if err := s.Save(ctx, "sandbox", bigRecord(0)); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriterLeavesOldOrNew$")
		cmd.Env = append(os.Environ(), "KEYRINGSTORE_TEST_WRITER=1", "KEYRINGSTORE_TEST_STATE="+state)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for its first save to begin, then kill it somewhere in the
		// next few saves.
		bufio.NewReader(out).ReadString('\n')
		time.Sleep(rand.N(50 * time.Millisecond))
		cmd.Process.Kill()
		cmd.Wait()
		got, err := s.Load(ctx, "sandbox")
		if err != nil {
			t.Fatalf("after kill %d: %v", i, err)
		}
		if got.AccessToken != bigRecord(got.Renewals).AccessToken {
			t.Fatalf("after kill %d the record is a mix of two saves", i)
		}
	}
}

// bigRecord is a record of four parts whose every part depends on n.
func bigRecord(n int) *store.Record {
	r := storetest.Sample()
	r.Renewals = n
	r.AccessToken = strings.Repeat(strconv.Itoa(n%10), 7000)
	return r
}

// writeForever is the writer TestKilledWriterLeavesOldOrNew kills.
func writeForever() {
	s := keyringstore.New("freshtoken-test", os.Getenv("KEYRINGSTORE_TEST_STATE"))
	os.Stdout.WriteString("writing\n")
	for n := 1; ; n++ {
		unlock, err := s.Lock(ctx, "sandbox")
		if err != nil {
			panic(err)
		}
		if err := s.Save(ctx, "sandbox", bigRecord(n)); err != nil {
			panic(err)
		}
		unlock()
	}
}

// TestLockFolderThatCannotBeMadeSaysWhatToDo: the renewal locks' folder
// that cannot be made (a read-only HOME, as in a container reaching a
// keychain) is said as the locks' folder, to make writable: it was told as
// the file store's token folder, saying to set [store] url (which would
// move the tokens out of the keychain, out of reach) or $XDG_STATE_HOME
// (which does not move the keychain's locks).
func TestLockFolderThatCannotBeMadeSaysWhatToDo(t *testing.T) {
	keyringtest.Start(t)
	home := testdisk.SmallFolder(t, "256k")
	testdisk.ReadOnly(t, home)
	locks := filepath.Join(home, ".local", "state", "freshtoken")
	s := keyringstore.New("freshtoken-test", locks)
	if err := s.Save(ctx, "sandbox", storetest.Sample()); err != nil {
		t.Fatal(err) // the keychain, not the folder
	}
	_, err := s.Lock(ctx, "sandbox")
	if err == nil || strings.Contains(err.Error(), "[store] url") || strings.Contains(err.Error(), "XDG_STATE_HOME) to") ||
		!strings.Contains(err.Error(), locks) || !strings.Contains(err.Error(), "renewal locks") {
		t.Fatalf("lock with its folder on a read-only disk: %v; want it named as the renewal locks' folder, to make writable", err)
	}
}

// TestKeychainHoldsTheStoredLayout: a record saved is kept, its parts
// joined, byte for byte in the stored layout of every earlier version
// (storetest.FullStored).
func TestKeychainHoldsTheStoredLayout(t *testing.T) {
	kr := keyringtest.Start(t)
	s := keyringstore.New("freshtoken-test", filepath.Join(t.TempDir(), "state"))
	if err := s.Save(ctx, "sandbox", storetest.Full()); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, account := range kr.Items(t, "freshtoken-test") {
		if account != "sandbox" { // the head, which names the parts
			parts = append(parts, account)
		}
	}
	slices.Sort(parts)
	var kept strings.Builder
	for _, account := range parts {
		part, err := keyring.Get("freshtoken-test", account)
		if err != nil {
			t.Fatal(err)
		}
		kept.WriteString(part)
	}
	if kept.String() != storetest.FullStored {
		t.Fatalf("kept as\n%s\nwant\n%s", kept.String(), storetest.FullStored)
	}
}
