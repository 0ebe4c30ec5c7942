package proxy

import (
	"fmt"
	"testing"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	kinds "github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/store"
)

// TestProblemsFollowTheTable: the proxy answers each failure with the status
// and code of its kind, the kind the command line's exit code follows.
func TestProblemsFollowTheTable(t *testing.T) {
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
		if row := kinds.Of(err).Row(); status != row.Status || pr.Code != row.Code || row.Code == "" {
			t.Errorf("%v was answered %d %q; want %d %q", err, status, pr.Code, row.Status, row.Code)
		}
	}
}
