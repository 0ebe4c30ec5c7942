package interop

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
)

// libraryClient starts a fosite server whose client authenticates the way
// clientAuth says, logs in with the command, and opens the environment with
// the library, as a Go program would, optionally with a clock of its own;
// it returns the fixture and the Source's HTTP client.
func libraryClient(t *testing.T, clientAuth string, clock func() time.Time) (*fixture, *http.Client) {
	t.Helper()
	f := newFixture(t, clientAuth)
	f.login(t)
	src, err := config.Open(context.Background(), config.OpenOptions{Path: f.config, Env: envName, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return f, src.Client()
}

// get calls api through client and returns the status.
func get(client *http.Client, api string) (int, error) {
	resp, err := client.Get(api)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestLibraryClockedExpiries moves the library's clock past expiry three
// times; each time 50 goroutines call the API at once, and fosite sees
// exactly one refresh per expiry.
func TestLibraryClockedExpiries(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	f, client := libraryClient(t, "basic", func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
	for i := 1; i <= 3; i++ {
		skew.Add(int64(time.Hour))
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if st, err := get(client, f.srv.APIURL()); st != http.StatusOK {
					t.Errorf("expiry %d: the API answered %d (%v)", i, st, err)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		if n := f.srv.RefreshGrants(); n != i {
			t.Fatalf("expiry %d: fosite saw %d refreshes, want %d; token endpoint traffic:%s", i, n, i, f.srv.Summary())
		}
		if rec := f.record(t); rec.RefreshToken != f.srv.LastIssued(t).RefreshToken {
			t.Fatalf("expiry %d: the store does not hold the rotated refresh token", i)
		}
	}
	f.checkClean(t)
}

// TestLibraryRealExpiries keeps 8 goroutines calling the API through one
// Source for 3 seconds of real time, across several expiries. fosite
// revokes the previous access token whenever it rotates, so a request still
// in flight with it gets a 401, which the client must answer by picking up
// the renewed token rather than refreshing again: every call succeeds, and
// every refresh fosite saw is one renewal freshtoken stored.
func TestLibraryRealExpiries(t *testing.T) {
	t.Parallel()
	f, client := libraryClient(t, "body", nil)
	deadline := time.Now().Add(3 * time.Second)
	var calls atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if st, err := get(client, f.srv.APIURL()); st != http.StatusOK {
					t.Errorf("the API answered %d (%v)", st, err)
					return
				}
				calls.Add(1)
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	rec := f.record(t)
	refreshes := f.srv.RefreshGrants()
	unauthorized := 0
	for _, st := range f.srv.APIStatuses() {
		if st == http.StatusUnauthorized {
			unauthorized++
		}
	}
	t.Logf("%d calls, %d renewals, %d answered 401 by fosite and retried", calls.Load(), rec.Renewals, unauthorized)
	if rec.Renewals < 2 || refreshes != rec.Renewals {
		t.Errorf("fosite saw %d refreshes and freshtoken stored %d renewals; want equal, and at least 2 in 3s; token endpoint traffic:%s", refreshes, rec.Renewals, f.srv.Summary())
	}
	if rec.RefreshToken != f.srv.LastIssued(t).RefreshToken {
		t.Error("the store does not hold the last rotated refresh token")
	}
	f.checkClean(t)
}

// TestLibraryAfterRenewalElsewhere has another process renew the token that
// a Go program holds in memory. fosite revokes the old access token when it
// rotates, so the program's next call gets a 401; the client then takes the
// token the other process stored, without a refresh of its own.
func TestLibraryAfterRenewalElsewhere(t *testing.T) {
	t.Parallel()
	f, client := libraryClient(t, "basic", nil)
	if st, err := get(client, f.srv.APIURL()); st != http.StatusOK {
		t.Fatalf("the API answered %d (%v)", st, err)
	}
	f.mustRun(t, "token", "--force")
	if st, err := get(client, f.srv.APIURL()); st != http.StatusOK {
		t.Fatalf("after a renewal elsewhere, the API answered %d (%v)", st, err)
	}
	want := []int{http.StatusOK, http.StatusUnauthorized, http.StatusOK}
	if got := f.srv.APIStatuses(); !slices.Equal(got, want) {
		t.Errorf("API statuses %v, want %v", got, want)
	}
	if n := f.srv.RefreshGrants(); n != 1 {
		t.Errorf("%d refreshes, want only the other process's; token endpoint traffic:%s", n, f.srv.Summary())
	}
	f.checkClean(t)
}
