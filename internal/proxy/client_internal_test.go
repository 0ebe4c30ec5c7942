package proxy

import (
	"errors"
	"fmt"
	"testing"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/store"
)

// TestProblemCodesComeBackAsTheirErrors: a failure the proxy reports to a
// `freshtoken login` waiting on it comes back as an error of the same kind,
// so that process exits as it would have on its own.
func TestProblemCodesComeBackAsTheirErrors(t *testing.T) {
	p := &Proxy{base: "http://127.0.0.1:8787"}
	for _, tc := range []struct {
		err  error
		want error
	}{
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrLoginRequired}, freshtoken.ErrLoginRequired},
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable}, freshtoken.ErrUnreachable},
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrClientRejected}, freshtoken.ErrClientRejected},
		{config.Invalidf("a mistake"), config.ErrInvalid},
		{&freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable, Err: fmt.Errorf("redis down: %w", store.ErrUnreachable)}, store.ErrUnreachable},
		{fmt.Errorf("dev: %w", fmt.Errorf("wrong password: %w", store.ErrDenied)), config.ErrInvalid},
	} {
		_, pr := p.engineProblem("dev", tc.err)
		if got := sentinel(pr.Code); !errors.Is(got, tc.want) {
			t.Errorf("%v was answered %q, which comes back as %v; want %v", tc.err, pr.Code, got, tc.want)
		}
	}
}
