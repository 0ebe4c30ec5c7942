package proxy

import (
	"fmt"
	"testing"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	kinds "github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/store"
)

// TestProblemCodesComeBackAsTheirErrors: a failure the proxy reports comes
// back, read from its problem code, as an error of the same kind, so a
// `freshtoken login` waiting on the proxy exits as it would have on its own.
func TestProblemCodesComeBackAsTheirErrors(t *testing.T) {
	p := &Proxy{base: "http://127.0.0.1:8787"}
	for _, err := range []error{
		&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrLoginRequired},
		&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable},
		&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrClientRejected},
		config.Invalidf("a mistake"),
		&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable, Err: fmt.Errorf("redis down: %w", store.ErrUnreachable)},
		fmt.Errorf("dev: %w", fmt.Errorf("wrong password: %w", store.ErrDenied)),
	} {
		status, pr := p.engineProblem("dev", err)
		want := kinds.Of(err)
		if got := kinds.Of(kinds.FromCode(pr.Code, pr.Message)); got != want || status != want.Row().Status {
			t.Errorf("%v was answered %d %q, which comes back as kind %d; want %d %d", err, status, pr.Code, got, want.Row().Status, want)
		}
	}
}
