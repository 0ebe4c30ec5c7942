package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/store"
)

// TestLockWithoutExpiryRunsDown: a renewal lock that lost its expiry
// (copied to another server with DUMP and RESTORE, which a migration
// script runs with a TTL of 0, while a machine held it; PERSIST run by
// hand) holds up the others no longer than a lock's life: every renewal
// of the fleet waited for it for ever, told only that another machine was
// renewing. A live holder keeps a lock so given an expiry, as it extends
// its own.
func TestLockWithoutExpiryRunsDown(t *testing.T) {
	srv := redistest.Start(t)
	rc := raw(t, srv)
	ctx := context.Background()
	for _, user := range []string{"default", "the fleet's user"} {
		t.Run(user, func(t *testing.T) {
			url := srv.URL
			if user != "default" {
				srv.SetFleetUser(t, "fleet", "pw")
				url = "redis://fleet:pw@" + srv.Addr + "/0"
			}
			rc.Set(ctx, "freshtoken:sandbox:lock", "a holder restored without its expiry", 0)
			s := opened(t, url)
			s.LockTTL = 400 * time.Millisecond
			waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			unlock, err := s.Lock(waitCtx, "sandbox")
			if err != nil {
				t.Fatalf("Lock with a lock without expiry left by a holder gone: %v", err)
			}
			unlock()
		})
	}

	// The lock and the in-flight mark of a holder that died mid-renewal,
	// both copied without their expiry.
	rc.Set(ctx, "freshtoken:sandbox:lock", "a holder restored without its expiry", 0)
	rc.Set(ctx, "freshtoken:sandbox:renewing", "a holder restored without its expiry", 0)
	s := opened(t, srv.URL)
	s.LockTTL = 400 * time.Millisecond
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	unlockBoth, err := s.Lock(waitCtx, "sandbox")
	if err != nil {
		t.Fatalf("Lock with a lock and an in-flight mark without expiry left by a holder gone: %v", err)
	}
	unlockBoth()

	// A live holder whose lock lost its expiry keeps it.
	a, b := opened(t, srv.URL), opened(t, srv.URL)
	a.LockTTL, b.LockTTL = shortLockTTL, shortLockTTL
	rc.Del(ctx, "freshtoken:sandbox:lock") // a subtest's, without the fix
	unlock := lock(t, a)
	defer unlock()
	if err := rc.Persist(ctx, "freshtoken:sandbox:lock").Err(); err != nil {
		t.Fatal(err)
	}
	lockStaysHeld(t, b, "while a live holder has it, its expiry lost")
}

// TestLockKeyOfAnotherTypeSaysSo: a value of another type than freshtoken
// writes under an environment's renewal lock or in-flight mark (set by
// hand, or by another program using freshtoken's names) is said in one
// line naming the key and how to clear it, as a setting of Redis to fix
// (store.ErrDenied, exit 2), and is left as it is: it was Redis's own
// words, "WRONGTYPE Operation against a key holding the wrong kind of
// value script: 4ef4…, on @user_script:14.", as an unexpected failure
// (exit 1), naming neither the key nor what to do.
func TestLockKeyOfAnotherTypeSaysSo(t *testing.T) {
	for _, k := range []string{"freshtoken:sandbox:lock", "freshtoken:sandbox:renewing"} {
		t.Run(k, func(t *testing.T) {
			s, rc := started(t)
			ctx := context.Background()
			rc.HSet(ctx, k, "a", "b")
			waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_, err := s.Lock(waitCtx, "sandbox")
			if !errors.Is(err, store.ErrDenied) || !strings.Contains(err.Error(), "under "+k+",") || !strings.Contains(err.Error(), "DEL "+k) || strings.Contains(err.Error(), "WRONGTYPE") {
				t.Fatalf("Lock with a hash at %s: %v; want store.ErrDenied naming the key and its DEL", k, err)
			}
			if kind, _ := rc.Type(ctx, k).Result(); kind != "hash" {
				t.Fatalf("the hash at %s became a %s", k, kind)
			}
		})
	}

	// The DEL to run connects as the store does: the URL shown, without
	// user or password, was refused by a Redis that asks for them (NOAUTH).
	srv := redistest.Start(t)
	srv.SetFleetUser(t, "fleet", "fleet-password-9f3e")
	rc := raw(t, srv)
	ctx := context.Background()
	rc.HSet(ctx, "freshtoken:sandbox:lock", "a", "b")
	s := opened(t, "redis://fleet:fleet-password-9f3e@"+srv.Addr+"/0")
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := s.Lock(waitCtx, "sandbox")
	if want := "redis-cli -u redis://fleet:PASSWORD@" + srv.Addr + "/0 DEL freshtoken:sandbox:lock)"; err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "fleet-password-9f3e") {
		t.Fatalf("Lock as a user with a password, with a hash at the lock: %v; want %q, and the password never", err, want)
	}
}
