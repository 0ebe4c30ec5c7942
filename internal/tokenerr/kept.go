package tokenerr

import (
	"errors"
	"fmt"

	"github.com/freshtoken/freshtoken/store"
)

// Kept says what renewals that failed left stored in r, in the one
// sentence every failure of them ends with (an error, the rest `status`
// and the proxy page show, the keeper's notice). A refresh token that the
// last renewal's answer brought with no usable access token (see
// RefreshedOnly) is told as new: a copy of the one before it, kept
// elsewhere (Postman's), is spent.
func Kept(r *store.Record) string {
	switch {
	case RefreshedOnly(r):
		return NewRefreshTokenKept
	case r == nil || r.AccessToken == "" && r.RefreshToken == "":
		return "nothing is stored yet"
	}
	return "your stored tokens are unchanged"
}

// NewRefreshTokenKept is what Kept says of a refresh token that an answer
// brought with no usable access token, and the answer's own error too.
const NewRefreshTokenKept = "the new refresh token the provider sent is stored, and the next renewal uses it"

// RefreshedOnly reports whether r's last renewal stored a new refresh
// token from an answer without a usable access token: r then holds no
// access token, or the one it held before, whose issue time is not the
// renewal's (a renewal that brings an access token issues it then; one
// that keeps the token before, which the engine does only for a token
// issued in an earlier tick of the clock, does not; and a log-in is no
// renewal).
func RefreshedOnly(r *store.Record) bool {
	return r != nil && r.RefreshToken != "" && !r.RenewedAt.IsZero() && (r.AccessToken == "" || !r.RenewedAt.Equal(r.IssuedAt))
}

// KeptThen is Kept for renewals that gave up, followed by then, the next
// step ("try again later"). When a try of theirs reached the token
// endpoint and got no whole answer (lost, as Lost says it; "" if none),
// the provider may have renewed then and spent the stored refresh token,
// and a provider that rotates refresh tokens refuses it at the next try:
// the stored tokens are unchanged, and may no longer work, which Kept alone
// would hide. told is the failure the message has told already, which
// lost is not repeated after.
func KeptThen(r *store.Record, lost, told, then string) string {
	if lost == "" {
		return Kept(r) + ", " + then
	}
	how := ""
	if lost != told {
		how = " (" + lost + ")"
	}
	return fmt.Sprintf("%s, but a try reached the token endpoint and got no whole answer%s: the provider may have renewed then, spending the stored refresh token; %s, and if the provider refuses it, log in again", Kept(r), how, then)
}

// AnswerLostError marks a renewal that gave up after a try of it reached
// the token endpoint and got no whole answer (Why, as Lost says it): the
// Err of the engine's error, for whoever tells of it later (the keeper's
// notice) to say what KeptThen says.
type AnswerLostError struct{ Why string }

func (e *AnswerLostError) Error() string {
	return "a try reached the token endpoint and got no whole answer (" + e.Why + ")"
}

// LostIn is how a try of the renewal that failed with err lost its
// answer (see AnswerLostError); "" when none did.
func LostIn(err error) string {
	var lost *AnswerLostError
	if errors.As(err, &lost) {
		return lost.Why
	}
	return ""
}
