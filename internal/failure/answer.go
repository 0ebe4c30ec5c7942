package failure

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// UnreadableAnswerError is an API's answer that came but that net/http
// cannot read: its headers are past net/http's limit
// (Transport.MaxResponseHeaderBytes, 10 MB by default; HTTP/2's header
// list size). The API was reached, and may have acted on the request.
type UnreadableAnswerError struct {
	Env string
	// API names the API: the request's URL, or its host.
	API string
	// Changes: the request may change something (a POST), which sending
	// it again does again.
	Changes bool
	Err     error // net/http's
}

func (e *UnreadableAnswerError) FailureKind() Kind { return UnreadableAnswer }

func (e *UnreadableAnswerError) Unwrap() error { return e.Err }

func (e *UnreadableAnswerError) Error() string {
	limit := "net/http's limit"
	if m := headerLimit.FindStringSubmatch(e.Err.Error()); m != nil {
		if n, err := strconv.ParseInt(m[1], 10, 64); err == nil {
			limit = fmt.Sprintf("%d bytes", n)
		}
	}
	msg := fmt.Sprintf("%s: the API at %s answered, but with headers larger than freshtoken reads (over %s), so its answer could not be read", e.Env, e.API, limit)
	if e.Changes {
		msg += "; the request was made, and sending it again makes it again"
	}
	return msg + "; the API is at fault: tell its owner"
}

// headerLimit finds the limit in net/http's words for headers past it.
var headerLimit = regexp.MustCompile(`server response headers exceeded (\d+) bytes`)

// HeadersTooLarge reports whether err, an HTTP request's, is net/http's for
// an answer whose headers are past its limit: the server answered, and
// its answer cannot be read. net/http has no sentinel for it, only words
// (HTTP/1's and HTTP/2's), which this reads.
func HeadersTooLarge(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "net/http: server response headers exceeded ") ||
		strings.Contains(msg, "http2: response header list larger than advertised limit")
}
