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

// NewerCheck is a freshtoken.LoginCheck that refuses, with a
// *NewerMeanwhileError, tokens a newer freshtoken stored for env after a
// log-in began (overNewer: it began over such tokens, which the person
// confirmed replacing): the person was asked about replacing them
// (`freshtoken login`'s question, the proxy page's Replace and log in)
// only if they were there when it began, and they are not replaced
// unasked. replace is the command that replaces them without asking, ""
// where logging in again asks (the proxy's page). Tokens in where, env's
// store, that cannot be read are refused as UnreadableMeanwhile says.
func NewerCheck(env, where string, overNewer bool, replace string) func(*store.Record, error) error {
	return func(_ *store.Record, err error) error {
		if !overNewer && errors.Is(err, store.ErrNewerFormat) {
			return &NewerMeanwhileError{Env: env, Replace: replace}
		}
		return UnreadableMeanwhile(env, where, err)
	}
}

// UnreadableMeanwhile is the refusal of a log-in's tokens over those
// stored for env in where after it began that this freshtoken may not read
// (err: a record file others may read, or not the user's), which may be a
// newer freshtoken's or another configuration's: a log-in refuses them
// when it begins, and never replaces them unseen. It wraps err. It is nil
// for none, for a corrupt record (a log-in replaces it), a newer
// freshtoken's (see NewerCheck), and a store that did not answer, which
// is not the tokens' doing: the save waits for it. A read cut short as the
// log-in's context ended (it was stopped, or its time ran out) blames no
// tokens: the log-in stored nothing, and says so, wrapping err.
func UnreadableMeanwhile(env, where string, err error) error {
	if err == nil || errors.Is(err, store.ErrCorrupt) || errors.Is(err, store.ErrNewerFormat) || errors.Is(err, store.ErrUnreachable) {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &againError{before: fmt.Sprintf("%s: this log-in was stopped, or ran out of time, while it read the tokens stored for %[1]s in %s (%v), so it stored nothing and they are as they were; ", env, where, err), err: err}
	}
	return &againError{before: fmt.Sprintf("%s: tokens stored for %[1]s in %s while this log-in was under way cannot be read (%v), so this log-in stored nothing over them, as they may be a newer freshtoken's or another configuration's; ", env, where, err), after: " once they can be read", err: err}
}

// againError is a log-in that failed, told in a message whose step is
// logging in again, then after it, when: before and after are the message
// around that step, which LogInAgain gives a caller that names the log-in
// to run (the command line names its command). It wraps err.
type againError struct {
	before, after string
	err           error
}

func (e *againError) Error() string { return e.before + "log in again" + e.after }
func (e *againError) Unwrap() error { return e.err }

// LogInAgain is the message before its step, logging in again, and after.
func (e *againError) LogInAgain() (before, after string) { return e.before, e.after }

// Again is err, a log-in that failed, told as before, logging in again,
// then after: its step, which LogInAgain gives a caller that names the
// log-in to run (the command line, a log-in through its proxy).
func Again(before, after string, err error) error {
	return &againError{before: before, after: after, err: err}
}

// NewerMeanwhileError is a log-in that stored nothing because a newer
// freshtoken (or, with Other, another configuration) stored tokens for its
// environment after it began, which the person was not asked about (see
// NewerCheck): a configuration error (exit 2).
type NewerMeanwhileError struct {
	Env     string
	Replace string // the command that replaces them without asking, if any
	// Other, if not "", is the grant of another configuration (as
	// store.Grant.String says it) whose tokens were stored, and Where the
	// store they are in.
	Other, Where string
}

func (e *NewerMeanwhileError) Error() string {
	next := "log in again to be asked about replacing them"
	if e.Replace != "" {
		next = "run " + e.Replace + " to replace them"
	}
	if e.Other != "" {
		return fmt.Sprintf("%[1]s: tokens of %[2]s (another configuration's) were stored for %[1]s in %[3]s while this log-in was under way, so this log-in stored nothing and they are kept; give this configuration a store of its own ([store] url), or %[4]s", e.Env, e.Other, e.Where, next)
	}
	return fmt.Sprintf("%s: a newer freshtoken stored tokens for %[1]s while this log-in was under way, which that one can use and this one cannot read, so this log-in stored nothing and they are kept; upgrade freshtoken to use them, or %s", e.Env, next)
}

// Whose names whose tokens r holds, as a configuration that logs in as
// ours tells them: their grant, and the configuration file that logged in
// when it is another on this machine (store.ConfigFile.OtherThan), "client
// … logged in with /home/me/work.toml".
func Whose(r *store.Record, ours store.ConfigFile) string {
	if other := r.LoggedInWith.OtherThan(ours); other != "" {
		return r.Grant.String() + " logged in with " + other
	}
	return r.Grant.String()
}
