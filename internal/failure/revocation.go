package failure

import (
	"errors"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// KeychainUnusable reports whether err is a system keychain that could not
// be read (none, locked, gone): a client secret kept there could not be
// read, and nothing was sent with it.
func KeychainUnusable(err error) bool {
	var ue *keyringstore.UnusableError
	return errors.As(err, &ue)
}

// RevocationToFix reports whether a revocation (freshtoken.Source.Revoke)
// failed for a reason the configuration, or the keychain it names, has to
// fix, so that it would fail the same way until then: no revocation
// endpoint at revocation_url (a 404, a web page, a redirect), a client the
// provider refused, a client secret that could not be read. Nothing was
// revoked and the grant is alive at the provider: a log-out keeps the
// tokens, which alone can end it once that is fixed. A refusal with an
// error code of the provider's own (LogoutRefused) is none: its words say
// what to do, and nothing in the configuration is known to be at fault.
func RevocationToFix(err error) bool {
	return errors.Is(err, freshtoken.ErrClientRejected) && !errors.Is(err, tokenerr.ErrOwnRefusal) || errors.Is(err, config.ErrInvalid) || KeychainUnusable(err)
}
