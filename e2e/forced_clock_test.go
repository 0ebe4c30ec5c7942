//go:build unix

package e2e_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/store/filestore"
)

// TestForceAfterARefusalNeverPrintsTheRefusedToken: the stored token was
// renewed by a machine whose clock runs 3 s ahead, and the API refuses it;
// `token --force`, run for that, waits for the lock past the stamp the
// clock ahead wrote (another renewal, a dead machine's lock). It printed
// the refused token, no request sent, as one issued after it began. It
// prints a new one, which the API accepts.
func TestForceAfterARefusalNeverPrintsTheRefusedToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t, devprovider.Options{AccessTTL: time.Hour}, "")
	w.login()
	refused := strings.TrimSpace(w.mustRun("token").stdout)
	fs := filestore.New(w.store)
	rec, err := fs.Load(t.Context(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	ahead := time.Now().Add(3 * time.Second) // as the machine ahead stamped its renewal
	rec.Expiry = ahead.Add(rec.Expiry.Sub(rec.IssuedAt))
	rec.IssuedAt, rec.RenewedAt, rec.Renewals = ahead, ahead, rec.Renewals+1
	if err := fs.Save(t.Context(), "dev", rec); err != nil {
		t.Fatal(err)
	}
	w.provider.RevokeAccessTokens()
	before := w.provider.Stats().Refreshes

	unlock, err := fs.Lock(t.Context(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	p := w.watch("--debug", "token", "--force")
	p.waitSaid(t, "waiting for the renewal lock")
	if time.Now().After(ahead) {
		t.Logf("the forced renewal began after the stamp ahead (a slow machine): this run does not test the clock ahead")
	}
	for !time.Now().After(ahead) { // the lock held until this machine's clock passes the stamp
		time.Sleep(50 * time.Millisecond)
	}
	unlock()
	p.waitExit(t, 0)
	printed := strings.TrimSpace(p.output(t))
	if printed == refused || w.provider.Stats().Refreshes-before != 1 {
		t.Fatalf("token --force printed the refused token: %v, after %d refreshes; want a new token", printed == refused, w.provider.Stats().Refreshes-before)
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, w.api+"v2/company", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+printed)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the API answered the printed token with %d; want 200", resp.StatusCode)
	}
}
