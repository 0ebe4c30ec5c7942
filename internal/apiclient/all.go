package apiclient

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// DefaultMaxBytes is the most All reads, of every page together, for a
// Client whose MaxBytes is zero.
const DefaultMaxBytes = 256 << 20

// maxStalePages is how many pages in a row may bring no items but those of
// pages already read, or none, and still link a next page, before All
// takes the pages for endless: an API whose next link always names a new
// URL (a cursor counted up, a page number past the last) is never caught
// by the links alone, and was read at thousands of requests a second, for
// hours, as long as its small pages kept under MaxBytes.
const maxStalePages = 10

// ErrPages means All could not gather the pages into one document: a page
// could not be read whole, a page came from another host (by a next link or
// a redirect) or a next link leads back to a page already read, the pages
// are not alike JSON, maxStalePages pages in a row brought nothing new, or
// as many or more brought over twice their X-Total-Count (see overTotal),
// or together they hold more than MaxBytes (their next links included). The
// API answered, but not with pages All can join.
var ErrPages = errors.New("the pages cannot be gathered into one document")

// pagesError is an error of All that is ErrPages.
type pagesError struct{ error }

func (e pagesError) Is(target error) bool { return target == ErrPages }

func (e pagesError) Unwrap() error { return errors.Unwrap(e.error) }

// pagesErrorf is fmt.Errorf wrapped as a pagesError, with each *url.URL
// among args (a page's, a next link's) shown as redact.URL shows it: a key
// in its query (?api_key=…) masked.
func pagesErrorf(format string, args ...any) error {
	for i, a := range args {
		if u, ok := a.(*url.URL); ok {
			args[i] = redact.URL(u.String())
		}
	}
	return pagesError{fmt.Errorf(format, args...)}
}

// Page is what All reports after each page, for a progress display.
type Page struct {
	Number int // 1 for the first page
	Items  int // items gathered so far, this page's included
	Total  int // X-Total-Count of the first page, or -1 when it did not say
}

// StatusError is a page that answered an HTTP error status; All stops there.
type StatusError struct {
	Page     int
	Response *http.Response // its body already read into Body and closed
	Body     []byte
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("page %d (%s) answered %s", e.Page, redact.URL(e.Response.Request.URL.String()), e.Response.Status)
}

// Document is the result of All.
type Document struct {
	Body        []byte // the merged document, or the only page unchanged
	ContentType string // the first page's
	Pages       int
	Items       int // -1 when the only page was not merged, so not counted
	// Total is the first page's X-Total-Count, or -1 when it did not say.
	// Above the items gathered, it means pages were missed: the API said
	// there are more items than its pages held.
	Total int
	// Gathered is how many items the pages held: Items, or the lone
	// page's items when it is a list or an object with one list; -1 when
	// they cannot be counted.
	Gathered int
	// midway is set when the read began after the first page (a prev
	// link, or page=N above 1), so X-Total-Count counts items before it.
	midway bool
}

// Short reports whether the API's X-Total-Count promised more items than
// the pages held: a next link that was not recognised, or a collection that
// shrank while it was being read. The result may be incomplete.
func (d *Document) Short() bool {
	return !d.midway && d.Total >= 0 && d.Gathered >= 0 && d.Total > d.Gathered
}

// All sends req, a GET, and follows Link: rel="next" to the last page,
// sending req's body (replayed by GetBody), if any, with each page. A
// single page is returned byte for byte. Several pages are merged into one
// document of the same shape: a JSON array gets every page's items; a JSON
// object whose one array member holds the items (FreeAgent's
// {"contacts": [...]}) keeps its first page's other members and gets every
// page's items in that member. Pages that cannot be merged so are an error,
// as is a page from another host, which would not get the token, whether a
// next link or a redirect leads there, or a next link back to a page
// already read, and so are pages holding more than MaxBytes in all, and
// pages that keep linking on while bringing no new items; each of these is
// ErrPages. onPage, when set, is called after each page.
func (c *Client) All(req *http.Request, onPage func(Page)) (*Document, error) {
	c.init()
	if req.Method != http.MethodGet {
		return nil, fmt.Errorf("only GET requests can be paginated, not %s", req.Method)
	}
	var (
		doc   = &Document{Items: -1, Total: -1, Gathered: -1}
		first []byte
		m     *merger
		total = -1
		// most is the largest X-Total-Count of the pages read, or -1
		// when it bounds nothing (see overTotal).
		most = -1
		seen = map[string]bool{}
		cur  = req
		// budget is how many more bytes the pages may bring.
		budget = c.MaxBytes
	)
	for {
		doc.Pages++
		seen[cur.URL.String()] = true
		resp, err := c.Do(cur)
		if err != nil {
			return nil, err
		}
		// read is the page that answered, after any redirect: its next
		// link, if relative, is relative to it (RFC 8288 §3.2).
		read := cur.URL
		if to := resp.Request; to != nil {
			if !httpx.SameOrigin(to.URL, req.URL) {
				resp.Body.Close()
				_, what := httpx.OffOrigin(to.URL, req.URL)
				return nil, pagesErrorf("page %d (%s) was redirected to %s, on %s; not reading it", doc.Pages, cur.URL, to.URL, what)
			}
			read = to.URL
			seen[read.String()] = true
		}
		body, err := readPage(resp, budget)
		resp.Body.Close()
		if err != nil {
			return nil, pagesErrorf("page %d (%s): %w", doc.Pages, cur.URL, err)
		}
		if budget -= int64(len(body)); budget < 0 {
			return nil, pagesErrorf("page %d (%s) brings the pages to more than %s, the most that are gathered; stopping", doc.Pages, cur.URL, mebibytes(c.MaxBytes))
		}
		if resp.StatusCode >= 400 {
			return nil, &StatusError{Page: doc.Pages, Response: resp, Body: body}
		}
		next, err := nextLink(resp)
		if err != nil {
			return nil, pagesErrorf("page %d (%s): %w", doc.Pages, cur.URL, err)
		}
		count := totalCount(resp)
		if doc.Pages == 1 {
			doc.ContentType = resp.Header.Get("Content-Type")
			total = count
			doc.Total = total
			doc.midway = hasRel(resp, "prev") || positive(cur.URL.Query().Get("page")) > 1
			if next == nil {
				doc.Body = body
				doc.Gathered = countItems(body)
				if onPage != nil {
					onPage(Page{Number: 1, Items: max(doc.Gathered, 0), Total: total})
				}
				return doc, nil
			}
			first = body
		}
		if m == nil {
			if m, err = newMerger(first); err != nil {
				return nil, pagesErrorf("cannot merge the pages of %s: page 1 %w", req.URL, err)
			}
			if total > m.count {
				most = total
			}
		} else if err := m.add(body); err != nil {
			return nil, pagesErrorf("cannot merge the pages of %s: page %d %w", req.URL, doc.Pages, err)
		}
		if most >= 0 {
			most = max(most, count)
		}
		if onPage != nil {
			onPage(Page{Number: doc.Pages, Items: m.count, Total: total})
		}
		if next != nil && m.stale >= maxStalePages {
			return nil, pagesErrorf("pages %d to %d held no items but those of pages already read, or none, and each linked a next page; the pages do not end, stopping", doc.Pages-m.stale+1, doc.Pages)
		}
		if next != nil && overTotal(doc, m.count, most) {
			return nil, pagesErrorf("pages 1 to %d held %d items, more than twice the %d their X-Total-Count gave at most, and still link a next page; the pages do not end, stopping", doc.Pages, m.count, most)
		}
		if next == nil {
			doc.Body = m.document()
			doc.Items = m.count
			doc.Gathered = doc.Items
			return doc, nil
		}
		next = read.ResolveReference(next)
		// Each link read is kept (seen), so it counts as a page's bytes do.
		if budget -= int64(len(next.String())); budget < 0 {
			return nil, pagesErrorf("page %d links its next page by a URL that brings the pages to more than %s, the most that are gathered; stopping", doc.Pages, mebibytes(c.MaxBytes))
		}
		switch {
		case !httpx.SameOrigin(next, req.URL):
			// A next link to http:// of an https API's host is refused
			// too: the token would cross the network in clear text.
			_, what := httpx.OffOrigin(next, req.URL)
			return nil, pagesErrorf("page %d links its next page to %s, on %s; not following it", doc.Pages, next, what)
		case seen[next.String()]:
			return nil, pagesErrorf("page %d links its next page back to %s, already read; stopping", doc.Pages, next)
		}
		c.Logger.Debug("following the next page", "page", doc.Pages+1, "url", redact.URL(next.String()))
		// Each page is sent req's body too (`get --all -d`): a clone's is
		// the first page's, already read.
		if cur, err = replay(req); err != nil {
			return nil, err
		}
		cur.URL = next
		cur.Host = ""
	}
}

// readPage reads resp's body, up to limit bytes and one more: into a slice
// of its length when the API gave it, within limit (a page read in growing
// pieces, then joined, takes twice its size).
func readPage(resp *http.Response, limit int64) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= limit {
		body := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit+1))
}

// overTotal reports whether items, gathered from doc's pages so far, are
// more than twice most, the largest X-Total-Count of those pages, at
// maxStalePages pages or more: pages that bring new items without end (a
// next link counted up over generated items), which the stale pages' count
// never catches, were read until they reached MaxBytes, for FreeAgent some
// 25 minutes of its whole rate limit. A collection that grows while it is
// read, even to more than twice its size, is counted larger by its later
// pages. A first page that holds as many items as its X-Total-Count, or
// more, yet links a next page shows the header to be no count of the
// collection (the page's own count, 0 from an API that does not count):
// most is then -1, and only MaxBytes bounds the pages.
func overTotal(doc *Document, items, most int) bool {
	return most >= 0 && !doc.midway && doc.Pages >= maxStalePages && items > 2*most
}

// totalCount is resp's X-Total-Count, or -1 when it gives none.
func totalCount(resp *http.Response) int {
	n, err := strconv.Atoi(resp.Header.Get("X-Total-Count"))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// mebibytes is n bytes in MiB, for people.
func mebibytes(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) + " MiB"
}

// hasRel reports whether resp's Link headers have a link of relation rel.
func hasRel(resp *http.Response, rel string) bool {
	for _, l := range httpx.ParseLinks(resp.Header.Values("Link")...) {
		if l.Rel(rel) {
			return true
		}
	}
	return false
}

// positive is s as a whole number, or 0.
func positive(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// nextLink is the rel="next" target of resp's Link headers, or nil.
func nextLink(resp *http.Response) (*url.URL, error) {
	for _, l := range httpx.ParseLinks(resp.Header.Values("Link")...) {
		if l.Rel("next") {
			u, err := url.Parse(l.Target)
			if err != nil {
				return nil, fmt.Errorf("its Link header has a next page that is not a URL: %q", l.Target)
			}
			return u, nil
		}
	}
	return nil, nil
}

// countItems counts a lone page's items: the elements of a top-level
// array, or of an object's one array member; -1 when it has no such list.
// The merger's count, its items neither copied nor hashed: nothing merges
// them, and a page may be of up to MaxBytes.
func countItems(body []byte) int {
	m, err := newMergerOf(body, true)
	if err != nil {
		return -1
	}
	return m.count
}

// merger gathers the items of pages shaped like the first one. It keeps
// them as the pages sent them, compacted, one after another: a page's
// items are never decoded one by one, which cost some thirty bytes of
// memory for each two-byte item ("0,") of a page. They are gathered in
// the merged document itself, which document ends: copied into another,
// they took as much memory again as every page together.
type merger struct {
	array bool // the pages are arrays; otherwise objects
	// after are the members of the first page, an object, after its
	// list, in order: their keys and values as sent, slices of the page
	// (see eachMember).
	after []member
	key   string // the member holding the items
	// merged is the merged document up to the end of its list: the first
	// page's members before it, then the items gathered.
	merged bytes.Buffer
	count  int                        // the items in merged
	lists  map[[sha256.Size]byte]bool // every page's list, as sent
	// counting: the items are only counted (countItems), not kept.
	counting bool
	// stale counts the latest pages in a row that held no items, or
	// exactly the list of a page before them.
	stale int
}

// maxNamed is how many list members an error about them names.
const maxNamed = 10

func newMerger(first []byte) (*merger, error) { return newMergerOf(first, false) }

// newMergerOf is newMerger, or, counting, a merger that only counts the
// first page's items.
func newMergerOf(first []byte, counting bool) (*merger, error) {
	m := &merger{counting: counting}
	if isArray(first) {
		m.array = true
		m.merged.WriteByte('[')
		return m, m.add(first)
	}
	if err := checkObject(first); err != nil {
		return nil, err
	}
	var (
		members []member
		arrays  []string
		lists   int
		at      int // the list's place among members
	)
	err := eachMember(first, func(key, value []byte) {
		if isArray(value) {
			at = len(members)
			if lists++; lists <= maxNamed {
				arrays = append(arrays, memberName(key))
			}
		}
		members = append(members, member{key, value})
	})
	switch {
	case err != nil:
		return nil, err
	case lists != 1:
		return nil, fmt.Errorf("is an object with %d list members %q; only a page with exactly one list can be merged", lists, arrays)
	}
	m.key, m.after = arrays[0], members[at+1:]
	for i, mb := range members {
		if i != at && isMember(mb.key, m.key) {
			return nil, twice(m.key)
		}
	}
	m.merged.WriteByte('{')
	for _, mb := range members[:at] {
		writeMember(&m.merged, mb)
		m.merged.WriteByte(',')
	}
	m.merged.Write(members[at].key)
	m.merged.WriteString(":[")
	return m, m.addList(members[at].value)
}

// twice is the error of a page whose list's key comes twice: encoding/json
// and jq take the last, other readers the first, so one of the two values
// is dropped without a word (the first page's list merged, then hidden
// behind a later "key": 1).
func twice(key string) error {
	return fmt.Errorf("has the member %q twice, so which one holds its items is unclear", key)
}

// member is a member of a JSON object: its key and value as sent.
type member struct{ key, value []byte }

// add appends page's items. A later page without the first page's list
// member, such as {}, holds no items; one with another list, instead or
// beside it, has a different shape and cannot be merged.
func (m *merger) add(page []byte) error {
	if m.array {
		if !json.Valid(page) {
			return fmt.Errorf("is not valid JSON")
		}
		return m.addList(page)
	}
	if isArray(page) {
		return fmt.Errorf("is a JSON list, not an object like the first page")
	}
	if err := checkObject(page); err != nil {
		return err
	}
	var (
		list   []byte
		others []string
		named  int
		again  bool // the list's key comes twice
	)
	err := eachMember(page, func(key, value []byte) {
		switch {
		case isMember(key, m.key):
			again = again || list != nil
			list = value
		case isArray(value):
			if named++; named <= maxNamed {
				others = append(others, memberName(key))
			}
		}
	})
	switch {
	case err != nil:
		return err
	case again:
		return twice(m.key)
	case list == nil && len(others) > 0:
		return fmt.Errorf("has no %q list like the first page, but %q", m.key, others)
	case len(others) > 0:
		// Merging the first page's list alone dropped the other
		// lists' items without a word.
		return fmt.Errorf("has the lists %q beside %q, where the first page has one list", others, m.key)
	case list == nil:
		m.stale++
		return nil
	}
	return m.addList(list)
}

// addList appends the items of list, a page's list as sent, valid JSON.
func (m *merger) addList(list []byte) error {
	if string(bytes.TrimSpace(list)) == "null" { // an empty list, as some APIs send it
		m.stale++
		return nil
	}
	if !isArray(list) {
		return fmt.Errorf("does not hold a JSON list like the first page")
	}
	n := countElements(list)
	if m.counting {
		m.count += n
		return nil
	}
	if n > 0 {
		if m.count > 0 {
			m.merged.WriteByte(',')
		}
		at := m.merged.Len()
		json.Compact(&m.merged, list) // valid, so it cannot fail
		// Only the items: the list's brackets go.
		inner := m.merged.Bytes()[at+1 : m.merged.Len()-1]
		copy(m.merged.Bytes()[at:], inner)
		m.merged.Truncate(at + len(inner))
		m.count += n
	}
	if m.lists == nil {
		m.lists = map[[sha256.Size]byte]bool{}
	}
	sum := sha256.Sum256(bytes.TrimSpace(list))
	if n == 0 || m.lists[sum] {
		m.stale++
	} else {
		m.stale = 0
	}
	m.lists[sum] = true
	return nil
}

// document ends the merged document, compact, with a newline, and returns
// it; m takes no more pages.
func (m *merger) document() []byte {
	m.merged.WriteByte(']')
	if !m.array {
		for _, mb := range m.after {
			m.merged.WriteByte(',')
			writeMember(&m.merged, mb)
		}
		m.merged.WriteByte('}')
	}
	m.merged.WriteByte('\n')
	return m.merged.Bytes()
}

// writeMember writes mb to b, its key as sent and its value compacted.
func writeMember(b *bytes.Buffer, mb member) {
	b.Write(mb.key)
	b.WriteByte(':')
	json.Compact(b, mb.value) // valid, so it cannot fail
}

// checkObject says why data cannot be read as a JSON object; nil if it can.
func checkObject(data []byte) error {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("is not a JSON object or list")
	}
	if !json.Valid(data) {
		return fmt.Errorf("is not valid JSON")
	}
	return nil
}

// maxMembers is the most members a page that is an object may have: its
// items are in one list member, beside a few of what they are (a count,
// links); an object of more is no page of a list, and reading its members
// one by one would take hundreds of bytes of memory for each.
const maxMembers = 1000

// eachMember calls fn with each member of data, a valid JSON object, in
// order: its key as sent (quoted) and its value, both slices of data, read
// in place (encoding/json's Decoder would copy each value, the list of
// items and all, into a buffer of its own). An object of more than
// maxMembers members is refused.
func eachMember(data []byte, fn func(key, value []byte)) error {
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '{' {
		return fmt.Errorf("is not a JSON object or list")
	}
	i = skipSpace(data, i+1)
	for n := 0; data[i] != '}'; n++ {
		if n == maxMembers {
			return fmt.Errorf("is an object of more than %d members, not a page of a list, whose items would be in one member", maxMembers)
		}
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
		key := data[i:stringEnd(data, i)]
		at := skipSpace(data, skipSpace(data, i+len(key))+1) // past the colon
		end := valueEnd(data, at)
		fn(key, data[at:end])
		i = skipSpace(data, end)
	}
	return nil
}

// skipSpace is the index of the first byte of data from i on that is not
// JSON's white space, or len(data).
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}

// valueEnd is the index just past the JSON value that starts at data[i],
// in data, valid JSON.
func valueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		for depth := 0; ; i++ {
			switch data[i] {
			case '"':
				i = stringEnd(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	// A number, true, false or null.
	for i < len(data) && bytes.IndexByte([]byte(",}] \t\r\n"), data[i]) < 0 {
		i++
	}
	return i
}

// stringEnd is the index just past the JSON string that starts at data[i],
// in data, valid JSON.
func stringEnd(data []byte, i int) int {
	for i++; data[i] != '"'; i++ {
		if data[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// memberName is key, a member's key as sent, as a string.
func memberName(key []byte) string {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key[1 : len(key)-1])
	}
	var s string
	json.Unmarshal(key, &s) // valid, so it cannot fail
	return s
}

// isMember reports whether key, a member's key as sent, is name.
func isMember(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key[1:len(key)-1]) == name
	}
	return memberName(key) == name
}

// countElements counts the elements of list, a valid JSON array, decoding
// none of them: a slice of values that take no memory grows without
// allocating.
func countElements(list []byte) int {
	var items []skipValue
	if err := json.Unmarshal(list, &items); err != nil {
		return 0
	}
	return len(items)
}

// skipValue is a JSON value read and let go: decoding into it checks the
// value and copies nothing of it.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

func isArray(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && t[0] == '['
}
