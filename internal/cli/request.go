package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/apiclient"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/await"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/nearest"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// Version is freshtoken's version, set at build time with -ldflags.
var Version = "dev"

func userAgent() string {
	return "freshtoken/" + Version + " (+https://github.com/freshtoken/freshtoken)"
}

// freeAgentPerMinute is FreeAgent's documented limit of API requests a
// minute per user, under which long reads pace themselves.
const freeAgentPerMinute = 120

// freeAgentMaxPerPage is the largest per_page FreeAgent accepts.
const freeAgentMaxPerPage = "100"

type requestOptions struct {
	f      *Factory
	Method string
	Path   string
	Data   string
	// DataGiven counts the -d flags: a request has one body.
	DataGiven int
	Headers   []string
	Include   bool
	All       bool
}

// newRequestCmds builds `request METHOD PATH` and its shorthands.
func newRequestCmds(f *Factory, runF func(*requestOptions) error) []*cobra.Command {
	cmds := []*cobra.Command{newRequestCmd(f, "", runF)}
	for _, m := range []string{"get", "post", "put", "patch", "delete"} {
		cmds = append(cmds, newRequestCmd(f, strings.ToUpper(m), runF))
	}
	return cmds
}

const requestLong = `Call the environment's API with a fresh access token. PATH is joined to the
environment's api_url (a full URL on the same host works too). Every request
carries a User-Agent and Accept: application/json unless -H replaces them;
as with curl, -H 'Accept:' leaves a header out, and -H 'X-Name;' sends it
empty. Authorization (the access token) and Host (api_url's) are
freshtoken's own, as are Content-Length, Transfer-Encoding and Trailer,
written from the body it sends: -H cannot set them.
A redirect is followed, -H headers and all, as curl -L does; the access
token goes only to api_url's host. A redirect from an API elsewhere to an
address of this machine is not followed (exit 5): a freshtoken proxy there
would send the request on with another environment's token.
A body from -d @FILE or -d @- may hold up to 256 MiB (a larger file is
refused by its size, unread; -d @- at a terminal says to type it, and how
to end it); -d is given once (a request has one body, and curl's joining
of several with & no JSON survives).
A body that is JSON goes with Content-Type: application/json, without the
byte order mark some editors (Notepad) begin a file with; with a
Content-Type of your own (-H), the body goes as written. One that begins
as JSON does ({ or [) but is not JSON goes as written too, unlabelled, with
a warning on stderr saying what is wrong with it (none for NDJSON, one JSON
value a line, or an INI file's [section]).

The response body goes to stdout: JSON is pretty-printed and coloured on a
terminal (NO_COLOR, or TERM=dumb, turns the colours off; a body over 16 MiB,
or one that indented would come to over 64 MiB, is not indented), and on a
terminal the control characters of any answer (-i's status line and headers
too) are shown, as less shows them (^[, ^M, <U+202E>), never acted on; it is
passed through byte for byte when stdout is a pipe or a file. An HTTP error
status exits 4, with the body still on stdout. A HEAD's answer, which has no
body, is printed as -i prints it (status line and headers), as curl -I does.

--all follows Link: rel="next" to the last page and prints one document
shaped like a page with every item merged in (FreeAgent: {"contacts": [...]});
for FreeAgent it asks for 100 items a page unless PATH sets per_page, and
paces itself under FreeAgent's 120 requests a minute. A body (-d) goes
with each page's request, as with the first. When the pages hold
fewer items than the first page's X-Total-Count, a warning on stderr says
the result may be incomplete. Pages --all cannot join (a page from another
host, by a next link or a redirect, a next link back to a page already
read, ten pages in a row that bring no new items yet link on, ten pages
or more that bring over twice the largest X-Total-Count they give, unless
the first page holds as many items as its own, a page that is not JSON
shaped like the first, a page cut off, more than 256 MiB in all) print
nothing and exit 5.

On Linux, once nothing reads the output of a GET through a pipe (| true, a
pager quit before the answer came), it asks the API for nothing more (no
further page of --all, no retry after a 429) and exits 141, as a write to
that output would have; an answer written whole before the reader went is
a success, and a named pipe (mkfifo), whose reader may come back, is left
to its write.

An API that has not begun to answer within the environment's timeout
setting (default 30s), or that sends nothing more of its answer for as
long, is given up on: exit 5 (what was printed of the answer is then
incomplete).

A 429 Too Many Requests is waited out for as long as its Retry-After asks
(at least a second, up to 2 minutes, 5 times in a row), then retried; past
that the command gives up and exits 5.`

func newRequestCmd(f *Factory, method string, runF func(*requestOptions) error) *cobra.Command {
	opts := &requestOptions{f: f, Method: method}
	cmd := &cobra.Command{
		Use:   "request METHOD PATH",
		Short: "Call the API with a fresh token",
		Long:  requestLong,
		Example: `  freshtoken request GET /v2/company
  freshtoken request POST /v2/contacts -d @contact.json
  freshtoken -e sandbox request GET '/v2/contacts?view=active' --all > contacts.json`,
		Args: exactArgs(2, "METHOD and PATH"),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if method == "" {
				opts.Method, opts.Path = strings.ToUpper(args[0]), args[1]
			} else {
				opts.Path = args[0]
			}
			opts.Path = strings.TrimSpace(opts.Path) // pasted around it, never part of it
			if opts.Path == "" {
				// An unset variable ("get $P"), not the API's root: that
				// request was sent, and its answer printed as if asked for.
				return usageErrorf("PATH is empty: give the API path to call, such as /v2/company (or / for the API's root)")
			}
			if err := checkRequestOptions(opts); err != nil {
				return err
			}
			return nil
		},
		RunE: runner(opts, runF, runRequest),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if method == "" && len(args) == 0 {
				return []string{"GET", "POST", "PUT", "PATCH", "DELETE"}, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
	}
	if method != "" {
		lower := strings.ToLower(method)
		cmd.Use = lower + " PATH"
		cmd.Short = "Call the API with " + method + " and a fresh token"
		cmd.Args = exactArgs(1, "PATH")
		switch method {
		case http.MethodGet:
			cmd.Example = `  freshtoken -e sandbox get /v2/company
  freshtoken -e sandbox get /v2/contacts --all > contacts.json
  freshtoken -e sandbox get /v2/invoices -i
  freshtoken -e sandbox get '/v2/invoices?view=open' -H 'X-RateLimit-Test: true'`
		case http.MethodDelete:
			cmd.Example = `  freshtoken -e sandbox delete /v2/contacts/123`
		default:
			path := "/v2/contacts" // POST creates one; PUT and PATCH change the one they name
			if method != http.MethodPost {
				path += "/123"
			}
			cmd.Example = fmt.Sprintf(`  freshtoken -e sandbox %[1]s %[2]s -d '{"contact":{"first_name":"Ada","last_name":"Lovelace"}}'
  freshtoken -e sandbox %[1]s %[2]s -d @contact.json
  jq '{contact: .}' ada.json | freshtoken -e sandbox %[1]s %[2]s -d @-`, lower, path)
		}
	}
	fl := cmd.Flags()
	fl.VarP(&countedString{&opts.Data, &opts.DataGiven}, "data", "d", "request body: DATA, @FILE, or @- for stdin (JSON gets Content-Type: application/json)")
	cmd.RegisterFlagCompletionFunc("data", completeDataFile)
	fl.VarP((*repeatable)(&opts.Headers), "header", "H", "extra header 'Key: Value'; repeatable, and replaces a default of the same name")
	fl.BoolVarP(&opts.Include, "include", "i", false, "print the status line and headers before the body")
	fl.BoolVar(&opts.All, "all", false, `follow Link: rel="next" and merge every page into one document (GET only)`)
	return cmd
}

// completeDataFile offers, after -d @, the files and folders whose names
// begin as typed, each after its @; after -d without an @, nothing, as
// the body itself follows. The shell's own file names, offered there,
// went without the @, and sent the name as the body.
func completeDataFile(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	typed, ok := strings.CutPrefix(toComplete, "@")
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	dir, base := filepath.Split(typed)
	entries, err := os.ReadDir(cmp.Or(dir, "."))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var files []string
	directive := cobra.ShellCompDirectiveNoFileComp
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".") {
			continue
		}
		if e.IsDir() { // the file is further in: no space after it
			name += string(filepath.Separator)
			directive |= cobra.ShellCompDirectiveNoSpace
		}
		files = append(files, "@"+dir+name)
	}
	return files, directive
}

func checkRequestOptions(opts *requestOptions) error {
	if opts.Method == "" || strings.ContainsFunc(opts.Method, func(r rune) bool { return r < 'A' || r > 'Z' }) {
		return usageErrorf("%s is not an HTTP method such as GET or POST", shownChoice(opts.Method, []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}))
	}
	if opts.DataGiven > 1 { // the value, maybe a secret, is not shown
		return usageErrorf("-d was given %d times, and a request has one body: give all of it in one -d (freshtoken does not join them with &, as curl does)", opts.DataGiven)
	}
	if opts.All && opts.Method != http.MethodGet {
		return usageErrorf("--all follows pages of a GET; it cannot be used with %s", opts.Method)
	}
	if opts.All && opts.Include {
		return usageErrorf("--all and --include cannot be used together: the merged document has no single status line or headers")
	}
	for _, h := range opts.Headers {
		k, v, _, ok := cutHeader(h)
		switch {
		// What follows the name, most likely a credential, is not shown:
		// nor is the rest of a "name" before a colon in the value
		// ("X-Api-Key id:secret", "X-Token=id:secret").
		case !ok || !isHeaderName(k):
			if name := headerNameBefore(h); name != "" {
				return usageErrorf("-H %s: not 'Key: Value', as no colon follows the name (what follows it is not shown); write -H '%s: VALUE'", name, name)
			}
			return usageErrorf("-H: not 'Key: Value' (it is not shown); write a header name (letters, digits and !#$%%&'*+-.^_`|~), a colon, then the value")
		// These two would be dropped without a word, the request going
		// with freshtoken's own; the value, maybe a credential, is not shown.
		case strings.EqualFold(k, "Authorization"):
			return usageErrorf("-H Authorization: freshtoken sends the environment's access token in it; to call the API with other credentials, use curl")
		case strings.EqualFold(k, "Host"):
			return usageErrorf("-H Host: freshtoken sends the host api_url names, the only one it sends the token to; set api_url to call another")
		// net/http writes these from the body it sends and drops any
		// given: a wrong length was dropped without a word.
		case strings.EqualFold(k, "Content-Length"):
			return usageErrorf("-H Content-Length: freshtoken sends the length of the body it sends (-d), and no other; leave this -H out")
		case strings.EqualFold(k, "Transfer-Encoding"), strings.EqualFold(k, "Trailer"):
			return usageErrorf("-H %s: freshtoken frames the body it sends (-d) itself; leave this -H out", http.CanonicalHeaderKey(k))
		case strings.ContainsFunc(v, isControl): // the value, maybe a credential, is not shown
			return usageErrorf("-H %s: a header value cannot hold a line break or another control character (a tab it can)", k)
		}
	}
	return nil
}

// isControl reports whether r cannot be in a header value: a control
// character other than a tab (net/http refuses the request, which then
// failed as an API that could not be reached, exit 5).
func isControl(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }

// isHeaderName reports whether s is an HTTP field name: an RFC 7230 token.
func isHeaderName(s string) bool {
	return s != "" && headerNameLen(s) == len(s)
}

// headerNameLen is the length of the header name s begins with.
func headerNameLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return i
		}
	}
	return len(s)
}

// cutHeader splits an -H into its name and value, as curl reads it:
// "Name: value"; "Name:", no value, which leaves the header out (omit); or
// "Name;", which sends it with an empty value. The value is as written,
// space and all. ok is false when h is none of these.
func cutHeader(h string) (name, value string, omit, ok bool) {
	if n, found := strings.CutSuffix(strings.TrimSpace(h), ";"); found && isHeaderName(n) {
		return n, "", false, true
	}
	name, value, ok = strings.Cut(h, ":")
	return strings.TrimSpace(name), value, strings.TrimSpace(value) == "", ok
}

// headerNameBefore is the header name h, an -H without its colon, begins
// with, when something else follows it ("Authorization Bearer …",
// "X-Api-Key=…"); "" when h is one word, which may be the value alone.
func headerNameBefore(h string) string {
	h = strings.TrimSpace(h)
	if n := headerNameLen(h); n < len(h) {
		return h[:n]
	}
	return ""
}

func runRequest(ctx context.Context, opts *requestOptions) error {
	f := opts.f
	f.rerunnable = !strings.HasPrefix(opts.Data, "@") // a file may be a pipe (-d @<(…)), read once
	if err := checkBodyNotEmptiedByOutput(opts.Data, f.IO.In, f.IO.Out); err != nil {
		return err
	}
	env, src, err := f.EnvSource(ctx)
	if err != nil {
		return err
	}
	target, err := resolveURL(src.APIURL(), opts.Path)
	if err != nil {
		if others := f.envsWithAPIOf(opts.Path, env.Name); len(others) > 0 {
			// A production URL pasted while the sandbox is selected.
			return usageErrorf("%v; %s", err, otherEnvsHint(others))
		}
		return err
	}
	if opts.All && env.IsFreeAgent() {
		target = withDefaultQuery(target, "per_page", freeAgentMaxPerPage)
	}
	if opts.Data == "@-" && f.IO.InTTY {
		// It waited on the terminal without a word, as if hung.
		end := "Ctrl-D on a line of its own"
		if runtime.GOOS == "windows" {
			end = "Ctrl-Z, then Enter, on a line of its own"
		}
		fmt.Fprintf(f.dialogue().ErrOut, "Type the request body (-d @- reads it from the terminal), then %s.\n", end)
	}
	body, err := await.Result(ctx, func() ([]byte, error) { return readData(opts.Data, f.IO.In, maxRequestBody) })
	if err != nil {
		return err
	}
	req, err := newAPIRequest(ctx, opts.Method, target, body, opts.Headers)
	if err != nil {
		return err
	}
	if why := brokenJSON(req, body, opts.Headers); why != "" {
		// A brace missed in -d '{"contact":{…}': the API's refusal of an
		// unlabelled body said nothing of it.
		f.warn(fmt.Sprintf("%s: warning: the request body begins as JSON does but is not JSON (%s), so it goes as written, without Content-Type: application/json", env.Name, why))
	}
	var progress *pageProgress
	if opts.All && f.IO.ErrTTY {
		progress = &pageProgress{w: f.IO.ErrOut}
		defer progress.clear()
	}
	hc, err := apiHTTPClient(env, src)
	if err != nil {
		return err
	}
	client := &apiclient.Client{
		HTTP:   hc,
		Logger: f.Logger(),
		OnWait: func(w apiclient.Wait) {
			progress.clear()
			var wait string
			switch {
			case w.AtOnce:
				wait = fmt.Sprintf("it asks for no wait, but waiting %s all the same", w.Delay)
			case w.Less:
				wait = fmt.Sprintf("it asks for less than a second, but waiting %s all the same", w.Delay)
			case w.Asked:
				wait = fmt.Sprintf("waiting %s as it asks", w.Delay)
			case w.Unreadable != "":
				wait = fmt.Sprintf("its Retry-After (%q) is no wait freshtoken can read, so backing off for %s", redact.OneLine(w.Unreadable, 40), w.Delay)
			default:
				wait = fmt.Sprintf("it did not say how long to wait, so backing off for %s", w.Delay)
			}
			f.warn(fmt.Sprintf("%s: the API answered 429 Too Many Requests; %s, then retrying (%d of %d)",
				env.Name, wait, w.Retry, w.MaxRetries))
		},
	}
	if env.IsFreeAgent() {
		client.PerMinute = freeAgentPerMinute
	}
	if safeOp(opts.Method) {
		// Once nobody is left to read the answer (`| true`, a pager
		// quit), nothing more is asked of the API for a request that
		// changes nothing: each one, a page of --all or a retry after a
		// 429, spends its rate limit.
		var readerGone context.CancelCauseFunc
		ctx, readerGone = context.WithCancelCause(ctx)
		defer readerGone(nil)
		defer onReaderGone(f.IO.Out, func() { readerGone(errReaderGone) })()
		req = req.WithContext(ctx)
	}
	if !opts.All {
		resp, err := client.Do(req)
		if err != nil {
			if readerWent(ctx) {
				return cutByReader(f.IO.Out)
			}
			return requestError(err, env, target)
		}
		defer resp.Body.Close()
		// A HEAD's answer is its status and headers alone: without them,
		// as curl -I prints them, it printed nothing, success or not.
		err = writeResponse(f, resp, opts.Include || opts.Method == http.MethodHead, env.Name)
		var he *HTTPStatusError
		switch {
		case !errors.As(err, &he):
			// An error status printed whole stays one, the reader gone
			// after it or not.
			if err != nil && readerWent(ctx) {
				return cutByReader(f.IO.Out)
			}
		case !httpx.SameOrigin(resp.Request.URL, req.URL):
			// Followed as curl -L follows it, but without the token: the
			// likely reason for the error, which names only where it led.
			to, what := httpx.OffOrigin(resp.Request.URL, req.URL)
			he.Hint = fmt.Sprintf("the API redirected the request to %s, %s, which freshtoken sends no access token to", to, what)
		case (resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented) && methodMeant(opts.Method) != "":
			he.Hint = fmt.Sprintf("%s is no standard HTTP method: did you mean %s?", opts.Method, methodMeant(opts.Method))
		case resp.StatusCode == http.StatusNotFound && env.IsFreeAgent():
			he.Hint = freeAgentPathHint(opts.Path)
		}
		return err
	}
	doc, err := client.All(req, progress.update)
	progress.clear()
	if err != nil && readerWent(ctx) {
		return cutByReader(f.IO.Out)
	}
	var se *apiclient.StatusError
	if errors.As(err, &se) {
		if werr := writeBody(f, se.Response.Header.Get("Content-Type"), bytes.NewReader(se.Body)); werr != nil {
			return werr
		}
		return &HTTPStatusError{Env: env.Name, Method: se.Response.Request.Method, URL: se.Response.Request.URL.String(),
			Status: fmt.Sprintf("%s on page %d", se.Response.Status, se.Page)}
	}
	if err != nil {
		return requestError(err, env, target)
	}
	if err := writeBody(f, doc.ContentType, bytes.NewReader(doc.Body)); err != nil {
		return answered(err, env.Name, req, "on "+pluralCount(doc.Pages, "page"))
	}
	if doc.Short() {
		// A warning, not a failure: the collection may simply have shrunk
		// while it was read. But a script should not take the document for
		// everything without being told.
		f.warn(fmt.Sprintf("%s: warning: the API said there are %d items (X-Total-Count) but %s held only %d; the result may be incomplete",
			env.Name, doc.Total, pluralCount(doc.Pages, "page"), doc.Gathered))
	}
	return nil
}

// methodMeant is the standard method that method, not one, is a typo of
// (GET for GTE), or "". A typo is sent as typed, as curl and gh api send
// it, and named only once the API refuses the method (405, 501): an API
// may have a method of its own near a standard one (BATCH, READ), which
// refusing it before sending would leave no way to call.
func methodMeant(method string) string {
	standard := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
	if slices.Contains(standard, method) {
		return ""
	}
	return nearest.Word(method, standard)
}

// freeAgentPathHint is what to try when FreeAgent answered 404 to a path
// without the /v2/ that every FreeAgent API path starts with; "" for a path
// that has it, or a full URL. Only the path before the query tells: a
// query may hold a URL (?redirect=https://…) or a dot.
func freeAgentPathHint(path string) string {
	query := ""
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path, query = path[:i], queryMasked(path[i:])
	}
	if strings.Contains(path, "://") {
		return ""
	}
	path = "/" + strings.TrimPrefix(path, "/")
	if path == "/v2" || strings.HasPrefix(path, "/v2/") {
		return ""
	}
	if first, rest, _ := strings.Cut(path[1:], "/"); strings.EqualFold(first, "v2") {
		// /V2/company: the hint was to try /v2/V2/company.
		return "FreeAgent's API paths start with /v2/, in lower case: try /v2/" + rest + query
	}
	if first, rest, _ := strings.Cut(path[1:], "/"); strings.Contains(first, ".") && freeAgentPathHint("/"+rest) == "" {
		// Another host's URL without its scheme (this API's own is
		// refused before it is sent): the hint was to try
		// /v2/api.sandbox.freeagent.com/v2/company.
		return fmt.Sprintf("%s is a host, not part of a path: a URL starts with https://, and freshtoken sends tokens only to api_url's host; this API's path is /%s%s", first, rest, query)
	}
	return "FreeAgent's API paths start with /v2/: try /v2" + path + query
}

func pluralCount(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// apiHTTPClient sends API requests with src's tokens, giving up on an API
// that has not begun to answer within timeout (the environment's timeout
// setting) after the request was sent, that took none of the request's
// body for as long, or that sends nothing more of its answer's body for
// as long. A long upload or download that keeps moving is not cut off.
// An answer's header past httpx.MaxAnswerHeader is not read, as the
// proxy reads none.
func apiHTTPClient(env *config.Env, src *freshtoken.Source) (*http.Client, error) {
	base, err := env.Transport()
	if err != nil {
		return nil, err
	}
	base.MaxResponseHeaderBytes = httpx.MaxAnswerHeader
	return &http.Client{
		Transport: &freshtoken.Transport{Source: src, Base: httpx.Bounded{Base: httpx.ExplainTLS(base), Wait: env.Timeout}, IdleTimeout: env.Timeout},
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errRedirectLoop
			}
			return nil
		},
	}, nil
}

// maxRedirects is how many redirects in a row an API request follows, as
// net/http's default.
const maxRedirects = 10

// errRedirectLoop is an API request that met maxRedirects: the API was
// reached, and answered each time with another redirect.
var errRedirectLoop = fmt.Errorf("redirected %d times", maxRedirects)

// errReaderGone is a request that changes nothing (GET, --all) stopped as
// standard output's reader went away, which ends the command as a write
// to it would have (EPIPE).
var errReaderGone = fmt.Errorf("standard output's reader went away: %w", syscall.EPIPE)

// readerWent reports whether ctx ended as standard output's reader went
// away (errReaderGone).
func readerWent(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errReaderGone)
}

// cutByReader is errReaderGone for a request the watch (onReaderGone) cut
// short, out marked as a stream whose reader went, as a failed write marks
// it. Only such a request is: an answer written whole before its reader
// went (`| head -n1` of one line) is a success, as for any command.
func cutByReader(out io.Writer) error {
	if p, ok := out.(pipeWatch); ok {
		p.lostReader()
	}
	return errReaderGone
}

// utf8BOM is the byte order mark as UTF-8 writes it.
var utf8BOM = []byte("\ufeff")

// newAPIRequest builds the request with freshtoken's default headers, then
// the -H headers: the first -H of a name replaces its default, repeats add
// values, and one without a value ("Accept:") leaves the header out. An
// in-memory body can be replayed after a 429 or a 401. A JSON body's byte
// order mark is dropped when freshtoken labels it JSON; with a
// Content-Type of the user's (-H), the body goes as written.
func newAPIRequest(ctx context.Context, method, target string, body []byte, headers []string) (*http.Request, error) {
	typed := typesBody(headers)
	if rest, ok := bytes.CutPrefix(body, utf8BOM); ok && json.Valid(rest) && !typed {
		// JSON saved with a byte order mark (Notepad's UTF-8) went
		// without Content-Type: application/json, as not JSON, mark and
		// all, which JSON sent over a network must not begin with (RFC
		// 8259, 8.1): the API refused the file the user wrote.
		body = rest
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, usageErrorf("cannot build the request: %v", err)
	}
	req.Header.Set("User-Agent", userAgent())
	req.Header.Set("Accept", "application/json")
	if body != nil && json.Valid(body) {
		req.Header.Set("Content-Type", "application/json")
	}
	replaced := map[string]bool{}
	for _, h := range headers {
		k, v, omit, _ := cutHeader(h)
		k = http.CanonicalHeaderKey(k)
		if !replaced[k] {
			req.Header.Del(k)
			replaced[k] = true
		}
		switch {
		case omit && k == "User-Agent":
			req.Header[k] = []string{""} // one not there, net/http sends its own
		case omit:
			req.Header.Del(k)
		default:
			req.Header.Add(k, strings.TrimSpace(v))
		}
	}
	return req, nil
}

// typesBody reports whether headers, the -H given, set the Content-Type
// (or leave it out): the body is then the user's to label.
func typesBody(headers []string) bool {
	return slices.ContainsFunc(headers, func(h string) bool {
		k, _, _, _ := cutHeader(h)
		return strings.EqualFold(k, "Content-Type")
	})
}

// brokenJSON says what is wrong with body, sent as req, when it begins as
// JSON does ({ or [, after white space or a byte order mark) but is not
// JSON, and it goes unlabelled (neither freshtoken, finding it JSON, nor
// the user, with -H, set a Content-Type): the API's refusal would not say
// why. "" otherwise, and for a body of another format that begins so: a
// stream of JSON values (NDJSON), or a [ that begins no JSON value (an INI
// file's [section], a log's [INFO]).
func brokenJSON(req *http.Request, body []byte, headers []string) string {
	body = bytes.TrimLeft(bytes.TrimPrefix(body, utf8BOM), " \t\r\n")
	if len(body) == 0 || body[0] != '{' && body[0] != '[' || req.Header.Get("Content-Type") != "" || typesBody(headers) {
		return ""
	}
	if body[0] == '[' {
		d := json.NewDecoder(bytes.NewReader(body))
		d.Token()
		var se *json.SyntaxError
		if _, err := d.Token(); errors.As(err, &se) {
			return ""
		}
	}
	if jsonStream(body) {
		return ""
	}
	var raw json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return err.Error()
	}
	return ""
}

// jsonStream reports whether body is JSON values one after another.
func jsonStream(body []byte) bool {
	d := json.NewDecoder(bytes.NewReader(body))
	for {
		var v json.RawMessage
		switch err := d.Decode(&v); {
		case err == io.EOF:
			return true
		case err != nil:
			return false
		}
	}
}

// requestError explains a request that got no usable answer. The engine's
// own errors (log-in needed and the like) pass through; net/http only wraps
// them.
func requestError(err error, env *config.Env, target string) error {
	target = redact.URL(target) // as messages show it: a key in its query masked
	var (
		fe         *freshtoken.Error
		rl         *apiclient.RateLimitError
		ue         *url.Error
		unanswered *httpx.UnansweredError
	)
	// apiAt names the API the request went to, and check what to look at
	// when it could not be reached.
	apiAt, check := "the API at "+target, "check your connection and api_url"
	if errors.As(err, &ue) && !errors.Is(err, errRedirectLoop) && !errors.Is(err, freshtoken.ErrRedirectToThisMachine) {
		// The request that failed: a page of --all after the first, or
		// where a redirect led; the first request's named a page that
		// had answered.
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			if t, terr := url.Parse(target); terr == nil && !httpx.SameOrigin(u, t) {
				// Not api_url's host: "the API at" it, and to check
				// api_url, pointed at the wrong host.
				_, what := httpx.OffOrigin(u, t)
				apiAt, check = redact.URL(ue.URL)+" ("+what+", which the API redirected the request to)", "check your connection, or tell the API's owner where it redirects"
			} else {
				apiAt = "the API at " + redact.URL(ue.URL)
			}
			target = redact.URL(ue.URL)
		}
	}
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.Is(err, context.Canceled) && errors.As(err, &ue):
		// net/http's method and URL add nothing to the interruption: the
		// line went on with `Get "http://…": context canceled`.
		return ue.Err
	case errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &rl):
		what := fmt.Sprintf("the API kept answering 429 Too Many Requests after %d retries; wait a minute and try again", rl.Retries)
		if rl.TooLong {
			what = fmt.Sprintf("the API answered 429 Too Many Requests and asks to wait %s, longer than freshtoken waits; try again then", httpx.SayWait(rl.Wait))
		}
		return &freshtoken.Error{Env: env.Name, Kind: freshtoken.ErrUnreachable, Msg: what + " (" + redact.URL(rl.URL) + ")"}
	case errors.Is(err, apiclient.ErrPages):
		return &freshtoken.Error{Env: env.Name, Kind: freshtoken.ErrUnreachable,
			Msg: fmt.Sprintf("%v; the API's pages could not be gathered into one document, so nothing was printed: read its pages one at a time without --all", err)}
	case errors.Is(err, freshtoken.ErrRedirectToThisMachine) && errors.As(err, &ue):
		// A host name is refused for the address it leads to, which the
		// user cannot see in it.
		here := "an address of this machine"
		if u, perr := url.Parse(ue.URL); perr == nil {
			if _, isIP := httpx.ParseHost(u.Hostname()); !isIP {
				here = u.Hostname() + " leads to this machine"
			}
		}
		return &freshtoken.Error{Env: env.Name, Kind: freshtoken.ErrUnreachable,
			Msg: fmt.Sprintf("the API at %s redirected the request to %s (%s), which freshtoken does not follow: a freshtoken proxy there would send it on with another environment's token; the API is at fault: tell its owner", target, redact.URL(ue.URL), here)}
	case errors.Is(err, errRedirectLoop):
		msg := fmt.Sprintf("the API at %s redirected the request %d times in a row, and freshtoken follows no more (a redirect loop?)", target, maxRedirects)
		if errors.As(err, &ue) && !safeOp(ue.Op) {
			msg += "; the request was made, and sending it again makes it again"
		}
		return &freshtoken.Error{Env: env.Name, Kind: freshtoken.ErrUnreachable, Msg: msg + "; the API is at fault: tell its owner"}
	case errors.As(err, &ue) && failure.Unreadable(ue.Err):
		// The API was reached; its answer cannot be read.
		return &failure.UnreadableAnswerError{Env: env.Name, API: target, Changes: !safeOp(ue.Op), Err: ue.Err}
	case errors.As(err, &unanswered):
		msg := fmt.Sprintf("%s had not begun to answer %s after the request was sent", apiAt, unanswered.After)
		if unanswered.NotTaking {
			msg = fmt.Sprintf("%s took none of the request's body for %s, and had not answered", apiAt, unanswered.After)
		}
		return &freshtoken.Error{Env: env.Name, Kind: freshtoken.ErrUnreachable, Err: failure.ErrAPITimeout,
			Msg: msg + "; try again, or raise the environment's timeout setting if it is slow"}
	case errors.As(err, &ue) && ue.Timeout():
		return &freshtoken.Error{Env: env.Name, Kind: freshtoken.ErrUnreachable, Err: failure.ErrAPITimeout,
			Msg: fmt.Sprintf("%s did not answer within %s; try again, or raise the environment's timeout setting", apiAt, env.Timeout)}
	case errors.As(err, &ue) && failure.Of(ue.Err) != failure.Unexpected:
		// The engine's, met as the token was had for the request (a
		// client_secret_cmd that failed, or that a signal ended, a store
		// that refused): net/http wrapped it, and it was told as an API
		// that could not be reached.
		return ue.Err
	case errors.As(err, &ue):
		if atomicfile.OutOfFiles(ue.Err) {
			check = atomicfile.OutOfFilesStep(ue.Err)
		}
		return &freshtoken.Error{Env: env.Name, Kind: freshtoken.ErrUnreachable, Err: failure.ErrAPIUnreachable,
			Msg: fmt.Sprintf("%s could not be reached (%v); %s", apiAt, ue.Err, check)}
	}
	return fmt.Errorf("%s: %w", env.Name, err)
}

// safeOp reports whether op, a url.Error's (net/http's "Get", "Post"),
// is a method that changes nothing.
func safeOp(op string) bool {
	return strings.EqualFold(op, http.MethodGet) || strings.EqualFold(op, http.MethodHead) || strings.EqualFold(op, http.MethodOptions)
}

// resolveURL joins path to the API root; a full URL must be on its host.
// PATH is parsed once, and whatever form it took (a path, //host/path, a
// URL with a scheme in any case), the URL it resolves to must have the API
// root's scheme and host.
func resolveURL(apiURL, path string) (string, error) {
	base, err := url.Parse(apiURL)
	if err != nil {
		return "", err
	}
	if first, rest, _ := strings.Cut(path, "/"); !strings.HasSuffix(first, ":") && first != "" && strings.EqualFold((&url.URL{Host: first}).Hostname(), base.Hostname()) {
		// The API's URL without its scheme: it went as a path on the
		// API's host (/api.example.com/v2/x, a 404 with a hint to try
		// /v2/api.example.com/v2/x), or, with a port, was "not a path or
		// URL: first path segment in URL cannot contain colon". A first
		// segment ending in a colon is a scheme ("https:"); a "://"
		// further on, in a query, is none.
		return "", usageErrorf("%s begins with the API's host but no scheme: write %s://%s/%s, or the path alone, /%s", queryMasked(path), base.Scheme, first, queryMasked(rest), queryMasked(rest))
	}
	u, err := url.Parse(path)
	if err != nil {
		return "", usageErrorf("%q is not a path or URL: %v", redact.URL(path), httpx.UnwrapURLError(err))
	}
	if u.User != nil {
		// user:password@ (or a token as the user): refused as "not on
		// this environment's API", the very host it named, and shown,
		// password and all. Neither is shown; the host is.
		shown := *u
		shown.User = nil
		return "", usageErrorf("%s: the URL has a user name or password before its host (not shown), which freshtoken never sends, as it sends the environment's access token: write the URL without it", queryMasked(strings.Replace(shown.String(), "//", "//…@", 1)))
	}
	if u.Scheme == "" && u.Host == "" {
		// A path: relative to the API root, so /v2/x under https://h/api/
		// is https://h/api/v2/x.
		rel := *u
		rel.Path = strings.TrimLeft(u.Path, "/")
		rel.RawPath = strings.TrimLeft(u.RawPath, "/")
		u = &rel
	}
	resolved := base.ResolveReference(u)
	onHost := func(t *url.URL) bool { // as the Transport, which sends the token, has it
		return httpx.SameOrigin(t, base) && t.User == nil
	}
	if !onHost(resolved) {
		return "", notOnHost(path, base)
	}
	resolved.Scheme, resolved.Host = base.Scheme, base.Host
	resolved.RawQuery = queryEscaped(resolved.RawQuery)
	target := resolved.String()
	// The request is built from this text: it must read back as the same host.
	if again, err := url.Parse(target); err != nil || !onHost(again) {
		return "", notOnHost(path, base)
	}
	return target, nil
}

// envsWithAPIOf names the configured environments other than current
// whose API a full URL is on, in alphabetical order; none when no
// other is, or for a path.
func (f *Factory) envsWithAPIOf(rawURL, current string) []string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || u.User != nil {
		return nil
	}
	conf, err := f.Config()
	if err != nil {
		return nil
	}
	var names []string
	for _, name := range conf.Names() {
		if name == current {
			continue
		}
		if api, err := url.Parse(conf.Envs[name].APIURL); err == nil && httpx.SameOrigin(u, api) {
			names = append(names, name)
		}
	}
	return names
}

// otherEnvsHint says whose API a URL is on, names, and how to choose one:
// each of several sharing the API (one account's two logins) may be the one
// meant.
func otherEnvsHint(names []string) string {
	if len(names) == 1 {
		return fmt.Sprintf("it is environment %s's API: add -e %s", names[0], names[0])
	}
	flags := make([]string, len(names))
	for i, n := range names {
		flags[i] = "-e " + n
	}
	return fmt.Sprintf("it is the API of %s: add %s", plural(names, "environment"), strings.Join(flags, " or "))
}

// notOnHost refuses a URL that is not on the API's host, naming the API
// by scheme and host: an https URL for an http API (or the reverse) was
// said to be "not on this environment's API host", the very host it named.
func notOnHost(path string, base *url.URL) error {
	return usageErrorf("%s is not on this environment's API, %s://%s; freshtoken sends tokens only there", queryMasked(path), base.Scheme, base.Host)
}

// queryMasked is s, a path or URL as given, as a message shows it: its
// query and fragment as redact.URL shows them, with the values named as
// secrets (api_key=…, an implicit log-in's #access_token=…) masked, and
// what comes before them as written.
func queryMasked(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		return s[:i] + redact.URL(s[i:])
	}
	return s
}

// queryEscaped is a query as typed, its spaces, quotes, angle brackets and
// letters beyond ASCII percent-encoded as browsers and curl send them (the
// WHATWG URL standard's query percent-encode set); url.Parse keeps a query
// as it was written, and the request line it went in ended at its first
// space. What is percent-encoded already, and the rest, stay as written.
func queryEscaped(q string) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if c := q[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// withDefaultQuery adds key=value to target's query unless key is there,
// leaving the rest of the query as it was written.
func withDefaultQuery(target, key, value string) string {
	u, err := url.Parse(target)
	if err != nil || u.Query().Has(key) {
		return target
	}
	param := url.QueryEscape(key) + "=" + url.QueryEscape(value)
	if u.RawQuery != "" {
		param = u.RawQuery + "&" + param
	}
	u.RawQuery = param
	return u.String()
}

// checkBodyNotEmptiedByOutput refuses -d @FILE when FILE is stdout's file
// and empty, and not appended to: `post -d @c.json > c.json`, which the
// shell emptied before freshtoken began; and -d @- when stdin is that file
// (`post -d @- < c.json > c.json`). The request went with an empty body,
// exit 0, and nothing said the body was gone.
func checkBodyNotEmptiedByOutput(data string, in io.Reader, out io.Writer) error {
	name, ok := strings.CutPrefix(data, "@")
	o, isFile := underlying(out).(*os.File)
	if !ok || name == "" || !isFile {
		return nil
	}
	var fi os.FileInfo
	var err error
	what := name + " is also where standard output goes"
	if name == "-" {
		stdin, isFile := in.(*os.File)
		if !isFile {
			return nil
		}
		fi, err = stdin.Stat()
		what = "standard input is the file standard output goes to"
	} else {
		fi, err = os.Stat(name)
	}
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
		return nil
	}
	// Appended to (>>), the file was empty before: its empty body goes.
	if oi, err := o.Stat(); err == nil && os.SameFile(fi, oi) && !appendedTo(o) {
		return usageErrorf("-d %s: %s, and the shell emptied it for the answer before freshtoken started, so the body is gone; nothing was sent: write the answer to another file", data, what)
	}
	return nil
}

// maxRequestBody is the largest body -d reads: the body is held in memory,
// to be sent again after a 401 or a 429.
const maxRequestBody = 256 << 20

// readData reads -d: literal data, @FILE, or @- for stdin, at most limit
// bytes of a file or stdin, which may never end (/dev/zero, `yes |`).
func readData(data string, stdin io.Reader, limit int64) ([]byte, error) {
	switch {
	case data == "":
		return nil, nil
	case !strings.HasPrefix(data, "@"):
		return []byte(data), nil
	case data == "@":
		return nil, usageErrorf("-d @ names no file; write -d @FILE for the file that holds the body, or -d @- to read it from stdin")
	}
	r := stdin
	if data != "@-" {
		f, err := os.Open(data[1:])
		if errors.Is(err, fs.ErrNotExist) {
			where := ""
			if wd, werr := os.Getwd(); werr == nil && !filepath.IsAbs(data[1:]) {
				where = " in " + wd
			}
			if rest, ok := strings.CutPrefix(data[1:], "~/"); ok {
				// A shell expands ~ only at a word's start: the file was
				// looked for in a folder named ~, which is not there.
				return nil, usageErrorf("-d %s: the shell leaves a ~ after @ as it is, so no folder ~%s holds %s; write -d @$HOME/%s", data, where, rest, rest)
			}
			return nil, usageErrorf("-d %s: %s does not exist%s; give the path of the file that holds the body, or -d @- to read it from stdin", data, data[1:], where)
		}
		if err != nil {
			return nil, usageErrorf("-d %s: %v", data, err)
		}
		defer f.Close()
		if isFolder(data[1:]) {
			return nil, usageErrorf("-d %s: %s is a folder; give the path of the file that holds the body, or -d @- to read it from stdin", data, data[1:])
		}
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
			// Refused unread: a 2 GiB file (sparse, a disk image) took
			// 600 MB of memory and seconds to read up to the limit.
			return nil, bodyTooLarge(data, limit)
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	switch {
	case errors.Is(err, errHungUp): // the terminal closed: told as its SIGHUP
		return nil, err
	case err != nil:
		return nil, usageErrorf("-d %s: %v", data, err)
	case int64(len(b)) > limit:
		return nil, bodyTooLarge(data, limit)
	}
	return b, nil
}

// bodyTooLarge refuses -d data, which holds more than limit bytes.
func bodyTooLarge(data string, limit int64) error {
	return usageErrorf("-d %s: more than %s, the largest body freshtoken sends (it holds the body in memory, to send it again after a 401 or a 429); send a larger one with curl and `freshtoken token`", data, sizeInWords(limit))
}

// sizeInWords is n bytes in KiB or MiB, for people.
func sizeInWords(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n>>10, 10) + " KiB"
}
