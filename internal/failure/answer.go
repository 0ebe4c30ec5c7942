package failure

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

// UnreadableAnswerError is an API's answer that came but that net/http
// cannot read: its headers are past net/http's limit
// (Transport.MaxResponseHeaderBytes, which freshtoken sets to
// httpx.MaxAnswerHeader; HTTP/2's header list size), it is not HTTP as
// net/http reads it (MalformedAnswer), or it broke HTTP/2.
// The API was reached, and may have acted on the request.
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
	if what := MalformedAnswer(e.Err); what != "" && !HeadersTooLarge(e.Err) {
		return e.malformed(what)
	}
	if code := brokenHTTP2(e.Err); code != "" {
		// The words do not tell headers past the limit from another
		// broken answer, which may come before the API acts on the request.
		msg := fmt.Sprintf("%s: the API at %s answered over HTTP/2 with what freshtoken cannot read (%s: more than %s of headers, more than freshtoken reads, or a broken answer), so its answer could not be read", e.Env, e.API, code, byteSize(httpx.MaxAnswerHeader))
		if e.Changes {
			msg += "; the request may have been made, and sending it again would make it again"
		}
		return msg + "; the API is at fault: tell its owner"
	}
	limit := int64(httpx.MaxAnswerHeader) // HTTP/2's words name none
	if m := headerLimit.FindStringSubmatch(e.Err.Error()); m != nil {
		if n, err := strconv.ParseInt(m[1], 10, 64); err == nil {
			limit = n
		}
	}
	msg := fmt.Sprintf("%s: the API at %s answered with more than %s of headers, more than freshtoken reads, so its answer could not be read", e.Env, e.API, byteSize(limit))
	if e.Changes {
		msg += "; the request was made, and sending it again makes it again"
	}
	return msg + "; the API is at fault: tell its owner"
}

// malformed says that the API answered with what is not HTTP, what being
// net/http's words for what is wrong with it. Only those words are told:
// what follows them quotes the answer, which may hold anything, control
// characters included.
func (e *UnreadableAnswerError) malformed(what string) string {
	msg := fmt.Sprintf("%s: the API at %s answered with what freshtoken cannot read as HTTP (%s), so its answer could not be read", e.Env, e.API, what)
	if what == notHTTP {
		// Not even a status line: the other end may be no HTTP server
		// (an https one spoken to in plain http), which made nothing.
		if e.Changes {
			msg += "; the request may have been made, and sending it again would make it again"
		}
		return msg + "; check that api_url names the API, with https:// if it is served so"
	}
	if e.Changes {
		msg += "; the request was made, and sending it again makes it again"
	}
	return msg + "; the API is at fault: tell its owner"
}

// byteSize is n bytes as a person reads a limit: 1 MiB, else 1000 bytes.
func byteSize(n int64) string {
	if n > 0 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// notHTTP is net/http's words for an answer whose first line is not an
// HTTP status line.
const notHTTP = "malformed HTTP response"

// malformedWords are net/http's words for an answer it cannot read as HTTP,
// each followed by the part of the answer at fault: its status line, its
// headers (textproto's), its framing.
var malformedWords = []string{
	notHTTP,
	"malformed HTTP status code",
	"malformed HTTP version",
	"malformed MIME header",
	"invalid empty Content-Length",
	"bad Content-Length",
	"too many transfer encodings",
	"unsupported transfer encoding",
	"invalid Trailer key",
}

// MalformedAnswer is what net/http found wrong with an answer that is not
// HTTP as it reads it ("malformed MIME header line", for a header holding
// a control character), or "" when err, an HTTP request's, is no such
// failure. The server answered, and its answer cannot be read. net/http
// has no sentinel for these, only words, which this reads.
func MalformedAnswer(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	for _, w := range malformedWords {
		if i := strings.Index(msg, w); i >= 0 {
			what, _, _ := strings.Cut(msg[i:], ":")
			what, _, _ = strings.Cut(what, ` "`)
			return what
		}
	}
	return ""
}

// Unreadable reports whether err, an HTTP request's, is net/http's for an
// answer that came and cannot be read: headers past its limit, or what is
// not HTTP. It is then an UnreadableAnswerError's Err.
func Unreadable(err error) bool {
	return HeadersTooLarge(err) || MalformedAnswer(err) != "" || brokenHTTP2(err) != ""
}

// http2Broken finds net/http's words, and the error code, for an HTTP/2
// connection it ended because the API's answer broke the protocol. An
// answer's header list well past the limit (Transport.MaxResponseHeaderBytes)
// ends it so (PROTOCOL_ERROR; COMPRESSION_ERROR for one header past it),
// rather than with HeadersTooLarge's words.
var http2Broken = regexp.MustCompile(`connection error: (PROTOCOL_ERROR|COMPRESSION_ERROR)`)

// brokenHTTP2 is the error code of err, an HTTP request's, when net/http
// ended its HTTP/2 connection because the API broke the protocol (see
// http2Broken); "" otherwise.
func brokenHTTP2(err error) string {
	if err == nil {
		return ""
	}
	if m := http2Broken.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
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
