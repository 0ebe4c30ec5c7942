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
// tokens, which alone can end it once that is fixed. Not a refusal with
// an error of the provider's own (tokenerr.ErrOwnRefusal): its words, not
// the configuration, say what to do.
func RevocationToFix(err error) bool {
	if errors.Is(err, tokenerr.ErrOwnRefusal) {
		return false
	}
	return errors.Is(err, freshtoken.ErrClientRejected) || errors.Is(err, config.ErrInvalid) || KeychainUnusable(err)
}
