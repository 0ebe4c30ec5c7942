package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/freshtoken/freshtoken/internal/redistest"
	"github.com/freshtoken/freshtoken/internal/storetest"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/redisstore"
)

// beforeScript runs land once, armed, just before the Store sends a
// script on freshtoken:sandbox: what another machine does in the gap
// between the Store's read of the record and its write.
type beforeScript struct {
	armed atomic.Bool
	land  func()
}

func (h *beforeScript) before(cmds ...redis.Cmder) {
	isScript := func(cmd redis.Cmder) bool {
		name := strings.ToLower(cmd.Name())
		return (name == "eval" || name == "evalsha") && slices.Contains(cmd.Args(), any("freshtoken:sandbox"))
	}
	if slices.ContainsFunc(cmds, isScript) && h.armed.CompareAndSwap(true, false) {
		h.land()
	}
}

func (h *beforeScript) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *beforeScript) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.before(cmd)
		return next(ctx, cmd)
	}
}

func (h *beforeScript) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.before(cmds...)
		return next(ctx, cmds)
	}
}

// TestDeleteIfKeepsARenewalThatLandsInTheGap: a deletion of a record read
// before (store migrate taking back its copy, or deleting the old one; a
// log-out) whose caller was paused past its renewal lock deletes nothing
// when another machine took the lock and stored a renewal in between, even
// at the last instant before the deletion reaches Redis: the renewal holds
// the only live refresh token. Compared, then deleted, it was lost.
func TestDeleteIfKeepsARenewalThatLandsInTheGap(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s, fleet := opened(t, srv.URL), opened(t, srv.URL)
	h := &beforeScript{}
	redisstore.AddHook(s, h)
	if err := s.Save(ctx, "sandbox", storetest.Sample()); err != nil {
		t.Fatal(err)
	}
	read, err := s.Load(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	renewed := *read
	renewed.RefreshToken, renewed.Renewals = "refresh-renewed-by-the-fleet", read.Renewals+1
	h.land = func() {
		if err := fleet.Save(ctx, "sandbox", &renewed); err != nil {
			t.Errorf("the fleet's renewal: %v", err)
		}
	}
	h.armed.Store(true)
	err = s.DeleteIf(ctx, "sandbox", read)
	if h.armed.Load() {
		t.Fatal("DeleteIf sent no script on the record: the renewal never landed in the gap")
	}
	if !errors.Is(err, store.ErrChanged) {
		t.Fatalf("DeleteIf with a renewal stored since the read: %v; want store.ErrChanged", err)
	}
	if got, err := s.Load(ctx, "sandbox"); err != nil || got.RefreshToken != renewed.RefreshToken {
		t.Fatalf("after DeleteIf, stored %v, %v; want the fleet's renewal kept", got, err)
	}

	// Unchanged since read, it goes.
	read, err = s.Load(ctx, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIf(ctx, "sandbox", read); err != nil {
		t.Fatalf("DeleteIf of the record read, unchanged: %v", err)
	}
	if _, err := s.Load(ctx, "sandbox"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after DeleteIf of the record read: %v; want it deleted", err)
	}
	if err := s.DeleteIf(ctx, "sandbox", read); err != nil {
		t.Fatalf("DeleteIf of no record: %v; want nil, nothing to delete", err)
	}
}

// TestDeleteIfUnreadable: DeleteIf with no record read (the caller found
// one it could not read) deletes one that still cannot be read, a key of
// another type too, and keeps tokens stored in between, a newer
// freshtoken's too (it deleted them as unreadable).
func TestDeleteIfUnreadable(t *testing.T) {
	s, rc := started(t)
	ctx := context.Background()
	rc.Set(ctx, "freshtoken:sandbox", "not json", 0)
	if err := s.DeleteIf(ctx, "sandbox", nil); err != nil {
		t.Fatalf("DeleteIf of an unreadable record: %v", err)
	}
	rc.HSet(ctx, "freshtoken:sandbox", "a", "b")
	if err := s.DeleteIf(ctx, "sandbox", nil); err != nil {
		t.Fatalf("DeleteIf of a hash: %v", err)
	}
	if n, _ := rc.Exists(ctx, "freshtoken:sandbox").Result(); n != 0 {
		t.Fatal("DeleteIf left the unreadable key")
	}
	// A newer freshtoken's record is read by that freshtoken: kept.
	data, err := store.Marshal("sandbox", storetest.Sample())
	if err != nil {
		t.Fatal(err)
	}
	newer := strings.Replace(string(data), `"version": 1,`, `"version": 99,`, 1)
	rc.Set(ctx, "freshtoken:sandbox", newer, 0)
	if err := s.DeleteIf(ctx, "sandbox", nil); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("DeleteIf, none read, of a newer freshtoken's record: %v; want store.ErrChanged", err)
	}
	if got, _ := rc.Get(ctx, "freshtoken:sandbox").Result(); got != newer {
		t.Fatalf("after DeleteIf, Redis holds %q; want the newer freshtoken's record kept", got)
	}
	rc.Del(ctx, "freshtoken:sandbox")
	if err := s.Save(ctx, "sandbox", storetest.Sample()); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIf(ctx, "sandbox", nil); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("DeleteIf of readable tokens, none read: %v; want store.ErrChanged", err)
	}
	if _, err := s.Load(ctx, "sandbox"); err != nil {
		t.Fatalf("after DeleteIf refused: %v; want the tokens kept", err)
	}
}
