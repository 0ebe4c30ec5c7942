package tokenerr

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// MaxAnswer bounds a token endpoint's answer that is read whole: to be
// mended here, or kept by the engine to be read again.
const MaxAnswer = 1 << 20

// Lenient returns a client that carries c's requests and mends a token
// endpoint's JSON answer before golang.org/x/oauth2 reads it: a leading
// UTF-8 byte order mark, which some servers write, is dropped, a JSON
// answer or error labelled text/plain is labelled JSON, and an
// expires_in or refresh_token_expires_in that is not a whole number
// (3600.5, "abc", 1e308, a number too large) would make x/oauth2 refuse the
// whole answer, and with it a new refresh token the provider has already
// rotated in. A fraction is cut to whole seconds, and a value that cannot
// be read is dropped: the lifetime is then unknown, which the engine
// handles. Intuit's name for the refresh token's lifetime,
// x_refresh_token_expires_in, is read as refresh_token_expires_in where
// that is not given. An access_token or refresh_token written as a JSON
// number is read as the digits written, one of another type (true, an
// object) is dropped, as none, and a token_type that is not a string is
// dropped (the engine sends every token as Bearer): x/oauth2 would refuse
// the whole answer for any of them, as for text after the JSON object,
// which is dropped. An access_token or refresh_token of white space alone
// is dropped, as none (see Blank): x/oauth2 then refuses the answer for
// its missing access token, or keeps the refresh token it sent. A 2xx answer that carries an access token is a
// success (RFC 6749 5.1), whatever "error" member it also carries: x/oauth2
// would take it for a refusal, discarding the tokens the provider has
// issued (and a new refresh token it rotated in), so the error members are
// dropped from it. An answer labelled gzip that is not is read as it came
// (see unzipped). The client follows no redirect (see RedirectError).
func Lenient(c *http.Client) *http.Client {
	lc := *c
	lc.CheckRedirect = refuseRedirect
	lc.Transport = LenientTransport(c.Transport)
	return &lc
}

// LenientTransport is the transport of Lenient's client, over base (nil:
// http.DefaultTransport).
func LenientTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return lenientTransport{base}
}

type lenientTransport struct{ base http.RoundTripper }

func (t lenientTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// Asked for here, as net/http would ask, a gzip answer is unzipped
	// here (see unzipped).
	asked := req.Header.Get("Accept-Encoding") == ""
	if asked {
		req = req.Clone(req.Context())
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	answer := io.Reader(resp.Body)
	if asked {
		answer = unzipped(resp)
	}
	body, err := io.ReadAll(io.LimitReader(answer, MaxAnswer+1))
	resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299 // x/oauth2 reads any 2xx as an answer
	if c, kept := req.Context().Value(copyKey{}).(*Copy); kept {
		c.Answered = resp.StatusCode
	}
	if ok && (err == nil && len(body) > MaxAnswer || errors.Is(err, ErrAnswerTooLarge)) {
		// Refused whole, and said so: x/oauth2, reading as far as the
		// limit, would report the JSON cut there as malformed. The part
		// read goes to a copy all the same (see WithCopy).
		keep(req.Context(), resp, body[:min(len(body), MaxAnswer)], true)
		return nil, ErrAnswerTooLarge
	}
	if err != nil {
		// The part read goes on with the error: an answer whose connection
		// was lost may already hold the refresh token the provider rotated
		// in, which the engine then keeps.
		if ok {
			keep(req.Context(), resp, body, true)
		}
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		return resp, nil
	}
	body = bytes.TrimPrefix(body, byteOrderMark)
	if labelledAsForm(resp.Header) && json.Valid(body) && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		// x/oauth2 would read it as form-encoded, finding neither the
		// tokens nor the error code in it.
		resp.Header.Set("Content-Type", "application/json")
	}
	if ok {
		if labelledAsForm(resp.Header) {
			body = mendForm(body)
		} else {
			body = mend(body)
		}
		keep(req.Context(), resp, body, false)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = -1
	resp.Header.Del("Content-Length")
	return resp, nil
}

// unzipped is resp's body, unzipped when it is labelled gzip, as net/http
// unzips what it asked for; but a body so labelled that is not gzip (a
// gateway unzipped it and left the label) is read as it came, since it may
// hold a new refresh token the provider has rotated in, which net/http
// would have refused ("gzip: invalid header"). Zipped, it is read to
// twice MaxAnswer, more than any answer of MaxAnswer takes, and then fails
// with ErrAnswerTooLarge: empty gzip members or blocks unzip to nothing,
// and a hostile provider's endless stream of them was read until the
// request's time-out.
func unzipped(resp *http.Response) io.Reader {
	if !strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		return resp.Body
	}
	resp.Header.Del("Content-Encoding")
	resp.Header.Del("Content-Length")
	resp.ContentLength, resp.Uncompressed = -1, true
	br := bufio.NewReader(resp.Body)
	if magic, _ := br.Peek(2); !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return br
	}
	zipped := &io.LimitedReader{R: br, N: 2 * MaxAnswer}
	zr, err := gzip.NewReader(zipped)
	if err != nil {
		return errReader{err}
	}
	return unzipping{zr, zipped}
}

// unzipping is a gzip answer's body unzipped, failing with
// ErrAnswerTooLarge once as much of it as zipped allows has been read.
type unzipping struct {
	*gzip.Reader
	zipped *io.LimitedReader
}

func (u unzipping) Read(p []byte) (int, error) {
	n, err := u.Reader.Read(p)
	if err != nil && u.zipped.N <= 0 {
		err = ErrAnswerTooLarge
	}
	return n, err
}

// ErrAnswerTooLarge is a 2xx answer longer than MaxAnswer, which no OAuth
// endpoint needs (the token endpoint, or any other the client carries
// requests to): the URL is not the endpoint's, or the endpoint is broken
// or hostile.
var ErrAnswerTooLarge = errors.New("the answer was larger than 1 MiB, more than freshtoken reads from a provider")

// Copy is what Lenient kept of the last 2xx answer to a request whose
// context carries it (WithCopy), to be read again when x/oauth2 refuses
// it: the body as handed on, or, Cut, the part read of one whose
// connection was lost or that was longer than MaxAnswer.
type Copy struct {
	Body        []byte
	ContentType string
	Status      int
	Cut         bool
	// Answered is the status of the last answer whose header came, 2xx or
	// not (whose body is not copied): the endpoint answered, if not whole.
	Answered int
}

// WebPageError is a 2xx answer that is a web page rather than an OAuth
// answer: a single-page app answering every path of its host (a mistyped
// token URL), a network's sign-in page. x/oauth2 tells it as JSON it
// cannot parse ("invalid character '<'"), which a person cannot act on.
type WebPageError struct {
	Status int
	Err    error // x/oauth2's
}

func (e *WebPageError) Error() string {
	return fmt.Sprintf("HTTP %d, a web page rather than an OAuth answer: is the endpoint's URL right?", e.Status)
}

func (e *WebPageError) Unwrap() error { return e.Err }

// Explain returns err, the failure of the request whose answer c holds,
// as a *WebPageError when that answer is a 2xx web page, and a
// *TimeoutError as one whose answer had begun (Begun) when it had; err as
// it is otherwise. c may be nil.
func (c *Copy) Explain(err error) error {
	if err == nil || c == nil || c.Answered == 0 {
		return err
	}
	var late *TimeoutError
	if errors.As(err, &late) {
		late.Begun = true
		return err
	}
	if c.Status == 0 || !isHTML(c.ContentType, strings.TrimSpace(string(c.Body))) {
		return err
	}
	return &WebPageError{Status: c.Status, Err: err}
}

type copyKey struct{}

// WithCopy returns ctx with c, which Lenient fills with the 2xx answers to
// the requests made with it.
func WithCopy(ctx context.Context, c *Copy) context.Context {
	return context.WithValue(ctx, copyKey{}, c)
}

// keep copies an answer to the Copy that ctx carries, if any.
func keep(ctx context.Context, resp *http.Response, body []byte, cut bool) {
	if c, ok := ctx.Value(copyKey{}).(*Copy); ok {
		*c = Copy{Body: body, ContentType: resp.Header.Get("Content-Type"), Status: resp.StatusCode, Cut: cut, Answered: resp.StatusCode}
	}
}

// errReader fails every read with its error.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// labelledAsForm reports whether h gives a type x/oauth2 reads as
// form-encoded: text/plain, which some servers give their JSON answers, or
// form-encoding itself.
func labelledAsForm(h http.Header) bool {
	t, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return t == "text/plain" || t == "application/x-www-form-urlencoded"
}

// intuitRefreshLifetime is how Intuit (QuickBooks) names
// refresh_token_expires_in.
const intuitRefreshLifetime = "x_refresh_token_expires_in"

// byteOrderMark is UTF-8's, which encoding/json refuses before a value.
var byteOrderMark = []byte("\ufeff")

// errorMembers are the members of an OAuth error answer (RFC 6749 5.2).
var errorMembers = []string{"error", "error_description", "error_uri"}

// mend returns body, a 2xx answer, with an access_token or refresh_token of
// white space alone or of another type than text dropped (no token, as a
// missing one) and one written as a number made text, a token_type that is
// not text dropped, text after the object dropped, its lifetimes made
// readable and, when it carries an access token, its error members dropped;
// or body unchanged when it does not begin with a JSON object.
func mend(body []byte) []byte {
	var fields map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&fields); err != nil {
		return body
	}
	// Text after the object (a server's comment, a warning printed after
	// it) is dropped: x/oauth2 would refuse the whole answer for it.
	changed := len(bytes.TrimSpace(body[d.InputOffset():])) > 0
	for _, key := range []string{"access_token", "refresh_token"} {
		v, ok := fields[key]
		if !ok {
			continue
		}
		switch token, ok := TokenText(v); {
		case !ok || token != "" && Blank(token):
			delete(fields, key)
			changed = true
		case token != "" && v[0] != '"': // written as a number: made text
			fields[key], _ = json.Marshal(token)
			changed = true
		}
	}
	if v, ok := fields["token_type"]; ok {
		var kind string
		if json.Unmarshal(v, &kind) != nil {
			delete(fields, "token_type") // every token goes as Bearer
			changed = true
		}
	}
	var access string
	if json.Unmarshal(fields["access_token"], &access) == nil && access != "" {
		for _, key := range errorMembers {
			if _, ok := fields[key]; ok {
				delete(fields, key)
				changed = true
			}
		}
	}
	if v, ok := fields[intuitRefreshLifetime]; ok {
		if _, std := fields["refresh_token_expires_in"]; !std {
			fields["refresh_token_expires_in"], changed = v, true
		}
	}
	for _, key := range []string{"expires_in", "refresh_token_expires_in"} {
		v, ok := fields[key]
		if !ok {
			continue
		}
		if secs, ok := WholeSeconds(v); ok {
			if string(v) != strconv.FormatInt(secs, 10) {
				fields[key], changed = json.RawMessage(strconv.FormatInt(secs, 10)), true
			}
			continue
		}
		delete(fields, key)
		changed = true
	}
	if !changed {
		return body
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return body
	}
	return out
}

// mendForm returns body, a form-encoded 2xx answer, with a blank token
// dropped, and its error members dropped when it carries an access token;
// body unchanged otherwise.
func mendForm(body []byte) []byte {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return body
	}
	changed := false
	for _, key := range []string{"access_token", "refresh_token"} {
		if vals.Get(key) != "" && Blank(vals.Get(key)) {
			vals.Del(key)
			changed = true
		}
	}
	if vals.Get("access_token") != "" && slices.ContainsFunc(errorMembers, vals.Has) {
		for _, key := range errorMembers {
			vals.Del(key)
		}
		changed = true
	}
	if !changed {
		return body
	}
	return []byte(vals.Encode())
}

// TokenText reads v, the access_token or refresh_token member of a JSON
// answer, as Lenient hands it on: a string as it is, a number as the
// digits written (x/oauth2 refuses the whole answer for it), null as no
// token; ok is false for another type (true, an object), which is no
// token either.
func TokenText(v json.RawMessage) (token string, ok bool) {
	if len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
		return string(v), true
	}
	return token, json.Unmarshal(v, &token) == nil
}

// Blank reports whether token, an access or refresh token in a token
// endpoint's answer, is white space alone: no token. A blank refresh
// token stored in place of the one before would lose the grant, and a
// blank access token authorises nothing.
func Blank(token string) bool {
	return strings.TrimSpace(token) == ""
}

// WholeSeconds reads v, a JSON number or a string holding one, as whole
// seconds that fit an int32 (as x/oauth2 keeps them); ok is false when v
// holds no number.
func WholeSeconds(v json.RawMessage) (int64, bool) {
	s := strings.TrimSpace(string(v))
	if unquoted, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(unquoted)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	f = math.Trunc(f)
	if f > math.MaxInt32 {
		f = math.MaxInt32
	}
	if f < math.MinInt32 {
		f = math.MinInt32
	}
	return int64(f), true
}
