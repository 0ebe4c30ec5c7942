//go:build unix

package freshtoken_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// savesCounted is a store whose Saves are counted.
type savesCounted struct {
	store.Store
	saves atomic.Int32
}

func (s *savesCounted) Save(ctx context.Context, env string, r *store.Record) error {
	s.saves.Add(1)
	return s.Store.Save(ctx, env, r)
}

// TestTokensPastTheFileSizeLimitAreTriedAgainLessOften: a renewal's answer
// larger than the process's file size limit (ulimit -f, 64 KiB or more,
// which the check before a renewal lets through; set in a copy of the
// test) is kept in memory, and the error says what alone saves it: this
// running program's limit raised (prlimit), as one raised where it starts
// would take a restart, which loses them. It is tried again a second on,
// then twice as long after each refusal, up to once a minute, and renewals
// meanwhile (each of a proxy's requests) are told the refusal without a
// try: it was tried every 5 s, and at every call, for as long as the
// process ran, none of which could succeed.
func TestTokensPastTheFileSizeLimitAreTriedAgainLessOften(t *testing.T) {
	if os.Getenv("FRESHTOKEN_TEST_FSIZE") == "" {
		testenv.RunAgain(t, "FRESHTOKEN_TEST_FSIZE=1").End()
		return
	}
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour})
	r.login(r.source())
	var renewals atomic.Int32
	large := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"%s","refresh_token":"refresh-token-rotated-%d-1234567890","token_type":"bearer","expires_in":3600}`,
			strings.Repeat("a", 100<<10), renewals.Add(1))
	}))
	t.Cleanup(large.Close)
	r.moveTokenEndpoint(large.URL)
	st := &savesCounted{Store: r.store}
	src, err := freshtoken.New(r.settings, freshtoken.Options{Store: st, Clock: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	pauses, resume := make(chan time.Duration), make(chan struct{})
	freshtoken.SetPause(src, func(ctx context.Context, d time.Duration) error {
		select {
		case pauses <- d:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-resume
		return nil
	})
	r.clock.Advance(2 * time.Hour)
	testenv.LimitFileSize(t, 64<<10)

	_, err = src.Token()
	if !errors.Is(err, store.ErrDenied) || !strings.Contains(err.Error(), fmt.Sprintf("`prlimit --pid %d --fsize=unlimited`", os.Getpid())) {
		t.Fatalf("a renewal whose answer is past the file size limit: %v; want store.ErrDenied, saying that only this program's own limit raised saves the tokens kept", err)
	}
	var waits []time.Duration
	for {
		d := <-pauses
		waits = append(waits, d)
		if d >= time.Minute || len(waits) > 10 {
			break
		}
		r.clock.Advance(d)
		resume <- struct{}{}
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute}; !slices.Equal(waits, want) {
		t.Fatalf("the kept answer is tried again after %v; want %v", waits, want)
	}
	r.clock.Advance(31 * time.Second) // past the rest after a renewal that failed
	saves := st.saves.Load()
	for range 5 {
		if _, err := src.Token(); !errors.Is(err, store.ErrDenied) {
			t.Fatalf("a renewal while the answer is kept: %v; want the store's refusal", err)
		}
	}
	if n := st.saves.Load() - saves; n != 0 || renewals.Load() != 1 {
		t.Fatalf("5 calls before the next try made %d saves and %d token requests in all; want none and the one", n, renewals.Load())
	}
	r.clock.Advance(30 * time.Second)
	resume <- struct{}{}
	if d := <-pauses; d != time.Minute || st.saves.Load() == saves {
		t.Fatalf("after a try a minute on (%d saves), the next in %s; want one, then a minute", st.saves.Load()-saves, d)
	}
}
