package login

import (
	"context"
	"errors"
	"fmt"

	"github.com/freshtoken/freshtoken/store"
)

// Stored reads the record a log-in stores its tokens over: the
// environment's freshtoken.Source.
type Stored interface {
	Record(ctx context.Context) (*store.Record, error)
}

// HoldsNewer reports whether st holds tokens a newer freshtoken wrote,
// which a log-in replaces only as the person confirmed.
func HoldsNewer(ctx context.Context, st Stored) bool {
	_, err := st.Record(ctx)
	return errors.Is(err, store.ErrNewerFormat)
}

// NewerSince is a *NewerMeanwhileError if a newer freshtoken stored tokens
// for env in st after a log-in began (overNewer: it began over such tokens,
// which the person confirmed replacing): the person was asked about
// replacing them (`freshtoken login`'s question, the proxy page's Replace
// and log in) only if they were there when it began, and they are not
// replaced unasked. replace is the command that replaces them without
// asking, "" where logging in again asks (the proxy's page).
func NewerSince(ctx context.Context, st Stored, env string, overNewer bool, replace string) error {
	if overNewer || !HoldsNewer(ctx, st) {
		return nil
	}
	return &NewerMeanwhileError{Env: env, Replace: replace}
}

// NewerMeanwhileError is a log-in that stored nothing, its code never sent,
// because a newer freshtoken stored tokens for its environment after it
// began (see NewerSince): a configuration error (exit 2).
type NewerMeanwhileError struct {
	Env     string
	Replace string // the command that replaces them without asking, if any
}

func (e *NewerMeanwhileError) Error() string {
	next := "log in again to be asked about replacing them"
	if e.Replace != "" {
		next = "run " + e.Replace + " to replace them"
	}
	return fmt.Sprintf("%s: a newer freshtoken stored tokens for %[1]s while this log-in was under way, which that one can use and this one cannot read, so this log-in stored nothing and they are kept; upgrade freshtoken to use them, or %s", e.Env, next)
}
