package cli

import (
	"testing"

	"github.com/freshtoken/freshtoken/store"
)

// TestRenewalReasonsReadAsEnglish: status's last renewal said the reason as
// the record keeps it, "(1 so far, for request)" after `token --force`, and
// "for keep-alive", "for rejection"; each reason now reads as words.
func TestRenewalReasonsReadAsEnglish(t *testing.T) {
	for _, c := range []struct {
		reason  string
		fetched bool
		want    string
	}{
		{store.RenewedForExpiry, false, ", as the access token was due to expire"},
		{store.RenewedForRejection, false, ", as the API refused the access token (401)"},
		{store.RenewedOnRequest, false, ", as asked (`token --force`, or Renew now on the proxy's page)"},
		{store.RenewedToKeepAlive, false, ", by a running `freshtoken proxy`'s keep-alive"},
		{store.RenewedForExpiry, true, ", when one was due"},
		{store.RenewedOnRequest, true, ", as asked (a log-in, `token --force`, or Renew now on the proxy's page)"},
		{"", false, ""},
	} {
		if got := renewedFor(c.reason, c.fetched); got != c.want {
			t.Errorf("renewedFor(%q, fetched %v) = %q; want %q", c.reason, c.fetched, got, c.want)
		}
	}
}
