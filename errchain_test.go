package freshtoken_test

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestErrorChainsShowNoKeyInAURL: an endpoint (revocation, device
// authorization, token) that could not be reached or did not answer in
// time, whose URL's query holds a key (an API gateway's
// ?subscription-key=…), fails with an error no link of whose chain shows
// the key, raw, URL-encoded or base64, to a program printing each (%v,
// %+v, %#v) or logging what errors.As finds: the time-out kept net/http's
// *url.Error, naming the URL whole. errors.As still finds the net.Error
// underneath, its Timeout as it was; and a device authorization endpoint
// silent past the timeout is told as such (it read "Client.Timeout
// exceeded while awaiting headers").
func TestErrorChainsShowNoKeyInAURL(t *testing.T) {
	silent := testenv.SilentServer(t).URL
	keys := map[string]string{"raw": "Gw7kQpZx2Lm", "url-encoded": "gw+key/0123456789", "base64": "R3c3a1FwWngyTG0="}
	for name, key := range keys {
		query := "?region=eu&subscription-key=" + url.QueryEscape(key)
		for _, c := range []struct {
			name, at string
			edit     func(*rig, string)
			call     func(*freshtoken.Source) error
			timeout  bool
		}{
			{"revocation endpoint not reached", "http://127.0.0.1:1/revoke", revokeAt, revoke, false},
			{"revocation endpoint silent", silent + "/revoke", revokeAt, revoke, true},
			{"device endpoint not reached", "http://127.0.0.1:1/device", deviceAt, startDevice, false},
			{"device endpoint silent", silent + "/device", deviceAt, startDevice, true},
			{"token endpoint not reached", "http://127.0.0.1:1/token", tokenAt, renew, false},
			{"token endpoint silent", silent + "/token", tokenAt, renew, true},
		} {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				r, _ := loggedIn(t)
				r.settings.Timeout, r.settings.RetryBackoff = 300*time.Millisecond, []time.Duration{}
				c.edit(r, c.at+query)
				err := c.call(r.source())
				if !errors.Is(err, freshtoken.ErrUnreachable) {
					t.Fatalf("%v; want ErrUnreachable", err)
				}
				if c.timeout && !strings.Contains(err.Error(), "did not answer within 300ms (timeout)") {
					t.Errorf("%v; want it to say the endpoint did not answer within 300ms (timeout)", err)
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() != c.timeout {
					t.Errorf("the net.Error under %v says Timeout %v; want %v", err, ne.Timeout(), c.timeout)
				}
				for _, link := range chain(err) {
					for _, shown := range []string{link.Error(), fmt.Sprintf("%+v", link), fmt.Sprintf("%#v", link)} {
						for _, leak := range []string{key, url.QueryEscape(key), "Gw7kQp", "key/0123", "key%2F0123", "R3c3a1Fw"} {
							if strings.Contains(shown, leak) {
								t.Errorf("a link of the chain (%T) shows the key (%s): %s", link, leak, shown)
							}
						}
					}
				}
			})
		}
	}
}

// chain is err and every error under it, as errors.Is and errors.As walk
// them.
func chain(err error) []error {
	if err == nil {
		return nil
	}
	links := []error{err}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		links = append(links, chain(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			links = append(links, chain(e)...)
		}
	}
	return links
}
