package devprovider

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxEchoBody is the largest body /v2/dev/echo returns; a larger one gets 413.
const maxEchoBody = 1 << 20

// echoResponse is the request /v2/dev/echo received.
type echoResponse struct {
	Method  string            `json:"method"`
	Host    string            `json:"host"`
	Path    string            `json:"path"`
	Query   string            `json:"query"`   // raw, as received
	Headers map[string]string `json:"headers"` // canonical names; repeated values joined with ", "
	Body    string            `json:"body"`
}

// handleEcho is /v2/dev/echo, any method: the request as received, Authorization
// header included (it carries this provider's own token).
func handleEcho(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEchoBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeAPIError(w, http.StatusRequestEntityTooLarge, "The body is over 1 MiB; use /v2/dev/upload for large bodies.")
			return
		}
		writeAPIError(w, http.StatusBadRequest, "The body could not be read: "+err.Error())
		return
	}
	headers := make(map[string]string, len(r.Header))
	for name, values := range r.Header {
		headers[name] = strings.Join(values, ", ")
	}
	writeJSON(w, http.StatusOK, echoResponse{
		Method:  r.Method,
		Host:    r.Host,
		Path:    r.URL.Path,
		Query:   r.URL.RawQuery,
		Headers: headers,
		Body:    string(body),
	})
}

// handleDownload is GET /v2/dev/download?bytes=N: N bytes of application/octet-stream
// in which byte k is k mod 256, generated as they are sent. They are sent with
// a Content-Length, or chunked with &chunked=true.
func handleDownload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := strconv.ParseInt(q.Get("bytes"), 10, 64)
	if err != nil || n < 0 {
		writeAPIError(w, http.StatusBadRequest, "bytes must be a whole number of bytes, 0 or more.")
		return
	}
	chunked := false
	if v := q.Get("chunked"); v != "" {
		if chunked, err = strconv.ParseBool(v); err != nil {
			writeAPIError(w, http.StatusBadRequest, "chunked must be true or false.")
			return
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if chunked {
		w.(http.Flusher).Flush() // the header goes now, so the body cannot have a length
	} else {
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	}
	_, _ = io.CopyN(w, new(Pattern), n) // a write error means the client has gone
}

// Pattern is the endless stream that /v2/dev/download serves, in which
// byte k is k mod 256; tests send it, and check what arrives, with it.
type Pattern struct{ next byte }

func (c *Pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = c.next
		c.next++
	}
	return len(b), nil
}

// handleUpload is POST /v2/dev/upload: the body's length and SHA-256, read as it
// streams in.
func handleUpload(w http.ResponseWriter, r *http.Request) {
	sum := sha256.New()
	n, err := io.Copy(sum, r.Body)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "The body could not be read: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"bytes": n, "sha256": hex.EncodeToString(sum.Sum(nil))})
}

// handleRedirect is GET /v2/dev/redirect?to=URL: a 302 to URL, wherever it points.
func handleRedirect(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	if to == "" {
		writeAPIError(w, http.StatusBadRequest, "to is missing: /v2/dev/redirect?to=URL")
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}
