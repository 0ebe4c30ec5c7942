package tokenerr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"

	"golang.org/x/oauth2"
)

// SentWhole returns ctx traced so that wrote tells, once the request made
// with it has failed, whether it went out whole.
func SentWhole(ctx context.Context) (traced context.Context, wrote *atomic.Bool) {
	wrote = new(atomic.Bool)
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(w httptrace.WroteRequestInfo) {
		if w.Err == nil {
			wrote.Store(true)
		}
	}}), wrote
}

// Lost says, in one line without secrets, how a token request that went
// out whole (wrote) and failed with err lost an answer the provider may
// have acted on (rotating the refresh token sent, spending the code), ""
// when it lost none: no answer came, a 2xx answer came cut short (c, the
// request's Copy), or a gateway in front of the endpoint answered 502 or
// 504, having lost the provider's answer or given up waiting for it. Any
// other error status, whole or cut short, is the endpoint's own refusal,
// as is a 502 or 504 naming an OAuth error (invalid_grant): the endpoint's
// own words, which no gateway writes.
func Lost(err error, wrote bool, c *Copy) string {
	if !wrote {
		return ""
	}
	re := (*oauth2.RetrieveError)(nil)
	refused := errors.As(err, &re)
	if (c.Answered == http.StatusBadGateway || c.Answered == http.StatusGatewayTimeout) && !(refused && re.ErrorCode != "") {
		return fmt.Sprintf("HTTP %d from a gateway in front of it, which lost the provider's answer or gave up waiting for it", c.Answered)
	}
	if refused || c.Answered != 0 && !(c.Status != 0 && c.Cut) {
		return ""
	}
	_, _, desc := Classify(err)
	return desc
}
