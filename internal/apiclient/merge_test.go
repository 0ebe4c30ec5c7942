package apiclient

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestMerger(t *testing.T) {
	tests := []struct {
		name  string
		pages []string
		want  string // "" when merging must fail with wantErr
		err   string
	}{
		{"arrays", []string{`[1, 2]`, "[3]\n", `[]`}, "[1,2,3]\n", ""},
		{"one list member", []string{`{"contacts": [{"a": 1}]}`, `{"contacts":[{"a":2}]}`}, `{"contacts":[{"a":1},{"a":2}]}` + "\n", ""},
		{"other members kept from the first page, in order", []string{`{"z":1,"items":[1],"a":{"b":2}}`, `{"a":null,"items":[2],"z":9}`}, `{"z":1,"items":[1,2],"a":{"b":2}}` + "\n", ""},
		{"two lists", []string{`{"a":[1],"b":[2]}`}, "", `2 list members ["a" "b"]`},
		{"no list", []string{`{"a":1}`}, "", `0 list members`},
		{"not JSON", []string{`<html>`}, "", "is not a JSON object or list"},
		{"later page has another list", []string{`{"a":[1]}`, `{"b":[2]}`}, "", `has no "a" list like the first page, but ["b"]`},
		{"later page has another list beside", []string{`{"a":[1]}`, `{"a":[2],"b":[3]}`}, "", `has the lists ["b"] beside "a", where the first page has one list`},
		{"later page without the list is empty", []string{`{"a":[1],"n":1}`, `{}`, `{"n":2}`, `{"a":[2]}`}, `{"a":[1,2],"n":1}` + "\n", ""},
		{"later page is a list, not an object", []string{`{"a":[1]}`, `[2]`}, "", "is a JSON list, not an object like the first page"},
		{"later page is not a list", []string{`[1]`, `{"a":[2]}`}, "", "does not hold a JSON list"},
		{"trailing garbage", []string{`{"a":[1]} x`}, "", "is not"},
		{"brackets, commas and quotes in strings", []string{`[ "a,]}" , {"b":"\\\"],"} ]`, ` [ ] `, `[[1,2],{"c":[3,{}]}]`}, `["a,]}",{"b":"\\\"],"},[1,2],{"c":[3,{}]}]` + "\n", ""},
		{"keys as sent, an escaped one matched", []string{"{ \"n\\u0061me\" : [1] , \"x\" : \"[\" }", `{"name":[2]}`, `{"na\u006de":[3]}`}, `{"n\u0061me":[1,2,3],"x":"["}` + "\n", ""},
		{"members' values read whole, whatever they hold", []string{"{ \"s\" : \"a\\\"}],\" ,\"o\":{\"k\":[\"x\",{\"y\":\"}\"}]},\"items\":[1],\"b\":\"\\\\\",\"t\":true,\"n\":-1.5e3 ,\"z\":null\n}", `{"items":[2],"o":{"k":[]}}`}, `{"s":"a\"}],","o":{"k":["x",{"y":"}"}]},"items":[1,2],"b":"\\","t":true,"n":-1.5e3,"z":null}` + "\n", ""},
		{"a later null list is empty", []string{`{"a":[1]}`, `{"a":null}`}, `{"a":[1]}` + "\n", ""},
		{"later page is not valid", []string{`[1]`, `[2`}, "", "is not valid JSON"},
		{"first page is not valid", []string{`[1`}, "", "is not valid JSON"},
		{"first page is an object that is not valid", []string{`{"a":[1}`}, "", "is not valid JSON"},
		{"later page is an object that is not valid", []string{`{"a":[1]}`, `{"a":[2}`}, "", "is not valid JSON"},
		{"the list's key twice, then a value", []string{`{"a":[1],"a":1}`, `{"a":[2]}`}, "", `has the member "a" twice`},
		{"a value, then the list's key", []string{`{"a":1,"\u0061":[1]}`, `{"a":[2]}`}, "", `has the member "a" twice`},
		{"the list's key twice on a later page", []string{`{"a":[1]}`, `{"a":[2],"a":[3]}`}, "", `has the member "a" twice`},
		{"the list's key twice on a later page, null last", []string{`{"a":[1]}`, `{"a":[2],"\u0061":null}`}, "", `has the member "a" twice`},
		{"another key twice is kept as sent", []string{`{"n":1,"a":[1],"n":2}`, `{"n":3,"a":[2],"n":4}`}, `{"n":1,"a":[1,2],"n":2}` + "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want != "" {
				// The merged document counts as one page: as many items.
				var merged any
				if err := json.Unmarshal([]byte(tt.want), &merged); err != nil {
					t.Fatalf("want is not JSON: %v", err)
				}
				want := -1
				switch v := merged.(type) {
				case []any:
					want = len(v)
				case map[string]any:
					for _, x := range v {
						if l, ok := x.([]any); ok {
							want = len(l)
						}
					}
				}
				if got := countItems([]byte(tt.want)); got != want {
					t.Errorf("countItems(%s) = %d, want %d", tt.want, got, want)
				}
			}
			m, err := newMerger([]byte(tt.pages[0]))
			for _, p := range tt.pages[1:] {
				if err != nil {
					break
				}
				err = m.add([]byte(p))
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(m.document()); got != tt.want {
				t.Errorf("document = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAllRefusesBadNextLinks runs All against an API whose Link headers
// point elsewhere or in a circle.
func TestAllRefusesBadNextLinks(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<http://other.example/page2>; rel="next"`)
		w.Write([]byte(`[1]`))
	})
	mux.HandleFunc("/circle", func(w http.ResponseWriter, r *http.Request) {
		next := "/circle?page=2"
		if r.URL.Query().Get("page") == "2" {
			next = "/circle"
		}
		w.Header().Set("Link", "<"+next+`>; rel="next"`)
		w.Write([]byte(`[1]`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for path, want := range map[string]string{
		"/elsewhere": "links its next page to http://other.example/page2, on another host",
		"/circle":    "page 2 links its next page back to " + srv.URL + "/circle, already read",
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		_, err := (&Client{}).All(req, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("All(%s) = %v, want an error saying %q", path, err, want)
		}
		if !errors.Is(err, ErrPages) {
			t.Errorf("All(%s) = %v, not ErrPages", path, err)
		}
	}
}

// TestAllRefusesANextLinkDowngradedToHTTP: an https API whose next link
// names its own host over http:// is not followed (the token would cross
// the network readable); the refusal says what the
// link is, the API's host over http, not https: it said "on another host",
// of the very host the user's api_url names.
func TestAllRefusesANextLinkDowngradedToHTTP(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "<http://"+r.Host+`/page2>; rel="next"`)
		w.Write([]byte(`[1]`))
	}))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/first", nil)
	_, err := (&Client{HTTP: srv.Client()}).All(req, nil)
	want := "page 1 links its next page to http://" + srv.Listener.Addr().String() + "/page2, on its host over http, not https; not following it"
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrPages) {
		t.Errorf("All = %v; want ErrPages saying %q", err, want)
	}
}

// TestAllFollowsTheAPIHostHoweverItIsSpelled: a next link naming the API's
// host in another case (an API that writes its own name, where api_url
// has capitals), or with the scheme's default port written out, is the
// same host, as the engine's Transport, which sends it the token, has it;
// it was refused as another host, and nothing was printed.
func TestAllFollowsTheAPIHostHoweverItIsSpelled(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "" {
			w.Header().Set("Link", "<"+strings.Replace(srv.URL, "127.0.0.1", "LOCALHOST", 1)+`/items?page=2>; rel="next"`)
		}
		fmt.Fprintf(w, `[%q]`, r.URL.Query().Get("page"))
	}))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+"/items", nil)
	doc, err := (&Client{}).All(req, nil)
	if err != nil {
		t.Fatalf("All = %v; want the next page on the same host followed", err)
	}
	if got := string(doc.Body); got != `["","2"]`+"\n" {
		t.Errorf("document %q; want both pages", got)
	}
}

// TestAllStopsAtMaxBytes runs All against an API whose pages together, or
// one page once unzipped, hold more than MaxBytes: it stops reading there,
// with an error, rather than gathering them all in memory (an endless body
// or a gzip bomb would take every byte the machine has). The next links
// count too: All keeps each to see that none leads back, and empty pages
// each linking on by a URL of 256 KiB (a response header may hold 10 MiB)
// filled memory while the pages' bodies counted two bytes each.
func TestAllStopsAtMaxBytes(t *testing.T) {
	const limit = 1 << 20
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `</big?page=2>; rel="next"`)
		if r.URL.Query().Get("page") == "2" {
			w.Header().Del("Link")
		}
		fmt.Fprintf(w, `[%q]`, strings.Repeat("x", limit))
	})
	mux.HandleFunc("/many", func(w http.ResponseWriter, r *http.Request) {
		// 64 KiB a page, forty pages: 2.5 MiB in all.
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if n < 40 {
			w.Header().Set("Link", fmt.Sprintf(`</many?page=%d>; rel="next"`, n+1))
		}
		fmt.Fprintf(w, `[%d,%q]`, n, strings.Repeat("x", 64<<10))
	})
	mux.HandleFunc("/links", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if n < 40 {
			w.Header().Set("Link", fmt.Sprintf(`</links?page=%d&pad=%s>; rel="next"`, n+1, strings.Repeat("x", 256<<10)))
		}
		w.Write([]byte(`[]`))
	})
	mux.HandleFunc("/bomb", func(w http.ResponseWriter, r *http.Request) {
		// 8 MiB of spaces, a few KiB on the wire; Go's transport unzips it.
		w.Header().Set("Content-Encoding", "gzip")
		if r.URL.Query().Get("page") == "" {
			w.Header().Set("Link", `</bomb?page=2>; rel="next"`)
		}
		gz := gzip.NewWriter(w)
		gz.Write([]byte("["))
		gz.Write(bytes.Repeat([]byte(" "), 8<<20))
		gz.Write([]byte("]"))
		gz.Close()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for _, path := range []string{"/big", "/many", "/links", "/bomb"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		doc, err := (&Client{MaxBytes: limit}).All(req, nil)
		if err == nil {
			t.Errorf("All(%s) returned %d bytes without an error, though its pages hold more than MaxBytes %d", path, len(doc.Body), limit)
			continue
		}
		if want := "more than 1 MiB"; !strings.Contains(err.Error(), want) {
			t.Errorf("All(%s) = %v, want an error saying %q", path, err, want)
		}
		if !errors.Is(err, ErrPages) {
			t.Errorf("All(%s) = %v, not ErrPages", path, err)
		}
	}
}

// TestAllStopsAtPagesThatNeverEnd runs All against APIs whose next link
// always names a URL not read yet, so that no link leads back, while the
// pages bring nothing new: empty pages under a cursor counted up, the last
// page again for every page number past it, two pages in turn. All read
// them at thousands of requests a second until their small bodies and
// links reached MaxBytes (millions of requests, hours against an API that
// a script's `get --all` was meant to read once); it stops after
// maxStalePages of them. A few empty pages on the way to more items, as a
// filtered scan may give, are read through.
func TestAllStopsAtPagesThatNeverEnd(t *testing.T) {
	var requests atomic.Int64
	mux := http.NewServeMux()
	page := func(r *http.Request) int { n, _ := strconv.Atoi(r.URL.Query().Get("page")); return n }
	mux.HandleFunc("/cursor", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Link", fmt.Sprintf(`</cursor?page=%d>; rel="next"`, page(r)+1))
		body := `{"items":[],"cursor":%d}`
		if page(r) == 0 {
			body = `{"items":[1],"cursor":%d}`
		}
		fmt.Fprintf(w, body, page(r))
	})
	mux.HandleFunc("/last-again", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Link", fmt.Sprintf(`</last-again?page=%d>; rel="next"`, page(r)+1))
		fmt.Fprintf(w, `[%d]`, min(page(r), 3))
	})
	mux.HandleFunc("/in-turn", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Link", fmt.Sprintf(`</in-turn?page=%d>; rel="next"`, page(r)+1))
		fmt.Fprintf(w, `{"items":[%d]}`, page(r)%2)
	})
	mux.HandleFunc("/gaps", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if page(r) < 30 {
			w.Header().Set("Link", fmt.Sprintf(`</gaps?page=%d>; rel="next"`, page(r)+1))
		}
		if page(r)%(maxStalePages-1) != 0 {
			w.Write([]byte(`{}`))
			return
		}
		fmt.Fprintf(w, `{"items":[%d]}`, page(r))
	})
	mux.HandleFunc("/new-without-end", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Link", fmt.Sprintf(`</new-without-end?page=%d>; rel="next"`, page(r)+1))
		w.Header().Set("X-Total-Count", "3")
		fmt.Fprintf(w, `{"items":[%d]}`, page(r))
	})
	mux.HandleFunc("/growing", func(w http.ResponseWriter, r *http.Request) {
		if page(r) < 29 {
			w.Header().Set("Link", fmt.Sprintf(`</growing?page=%d>; rel="next"`, page(r)+1))
		}
		w.Header().Set("X-Total-Count", strconv.Itoa(20+page(r)/3))
		fmt.Fprintf(w, `{"items":[%d]}`, page(r))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for path, want := range map[string]string{
		"/new-without-end": "pages 1 to 10 held 10 items, more than twice the 3 their X-Total-Count gave at most, and still link a next page",
		"/cursor":          "pages 2 to 11 held no items but those of pages already read, or none, and each linked a next page",
		"/last-again":      "pages 5 to 14 held no items but those of pages already read",
		"/in-turn":         "pages 3 to 12 held no items but those of pages already read",
	} {
		requests.Store(0)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		// A MiB rather than the 256 the CLI allows, so that without the
		// check the test ends within seconds, as do the pages' bytes.
		doc, err := (&Client{MaxBytes: 1 << 20}).All(req, nil)
		if err == nil {
			t.Errorf("All(%s) returned %d bytes without an error after %d requests, though its pages never end", path, len(doc.Body), requests.Load())
			continue
		}
		if !strings.Contains(err.Error(), want) || !errors.Is(err, ErrPages) {
			t.Errorf("All(%s) = %v, want ErrPages saying %q", path, err, want)
		}
		if n := requests.Load(); n > 2*maxStalePages {
			t.Errorf("All(%s) sent %d requests before stopping", path, n)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/gaps", nil)
	doc, err := (&Client{}).All(req, nil)
	if err != nil {
		t.Fatalf("All(/gaps) = %v; want every page read, the empty ones between items included", err)
	}
	if got := string(doc.Body); got != `{"items":[0,9,18,27]}`+"\n" {
		t.Errorf("All(/gaps) = %q, want every page's items", got)
	}
	// A collection that grows while it is read (X-Total-Count 20 at the
	// first page, 30 items in the end) is read whole.
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/growing", nil)
	if doc, err = (&Client{}).All(req, nil); err != nil || doc.Items != 30 {
		t.Errorf("All(/growing) = %v; want its 30 items", err)
	}
}

// TestAllReadsPagesWhoseCountIsNoBound: pages that end, whose X-Total-Count
// is not the collection's size as the first page gave it, are read whole:
// a count of each page's own items, 0 from an API that does not count, a
// collection that more than doubles while it is read (a busy ledger, a
// page of one item at a time), each page counting it as it is then. The
// rule that stops pages bringing new items without end took each of them
// for endless, at ten pages, the first page's count doubled: exit 5, and
// no --all for an API whose pages always ended.
func TestAllReadsPagesWhoseCountIsNoBound(t *testing.T) {
	const pages = 15
	for name, count := range map[string]func(page int) int{
		"its own page's":  func(int) int { return 2 },
		"none, as 0":      func(int) int { return 0 },
		"growing, as now": func(page int) int { return 3 + 2*page },
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			if page < pages-1 {
				w.Header().Set("Link", fmt.Sprintf(`</items?page=%d>; rel="next"`, page+1))
			}
			w.Header().Set("X-Total-Count", strconv.Itoa(count(page)))
			fmt.Fprintf(w, `{"items":[%d,%d]}`, 2*page, 2*page+1)
		}))
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/items", nil)
		if doc, err := (&Client{}).All(req, nil); err != nil || doc.Items != 2*pages {
			t.Errorf("All of %d pages, X-Total-Count %s: %v; want their %d items", pages, name, err, 2*pages)
		}
		srv.Close()
	}
}

// TestAllRefusesPagesFromAnotherHost: a page whose request the API answers
// with a redirect to another host is refused as a next link there is,
// whichever page it is. The redirected page's items were merged in without
// a word (the other host got no token, so they may be anyone's), while a
// next link to the same place was refused.
func TestAllRefusesPagesFromAnotherHost(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"contacts":[{"from":"elsewhere"}]}`))
	}))
	t.Cleanup(other.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("/first", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/first", http.StatusFound)
	})
	mux.HandleFunc("/second", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			http.Redirect(w, r, other.URL+"/second?page=2", http.StatusTemporaryRedirect)
			return
		}
		w.Header().Set("Link", `</second?page=2>; rel="next"`)
		w.Write([]byte(`{"contacts":[{"from":"api"}]}`))
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/second", http.StatusMovedPermanently) // the same host: followed
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for path, want := range map[string]string{
		"/first":  "page 1 (" + srv.URL + "/first) was redirected to " + other.URL + "/first, on another host; not reading it",
		"/second": "page 2 (" + srv.URL + "/second?page=2) was redirected to " + other.URL + "/second?page=2, on another host; not reading it",
		"/moved":  "page 2 (" + srv.URL + "/second?page=2) was redirected to " + other.URL,
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		doc, err := (&Client{}).All(req, nil)
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrPages) {
			var body string
			if doc != nil {
				body = string(doc.Body)
			}
			t.Errorf("All(%s) = %q, %v; want ErrPages saying %q", path, body, err, want)
		}
	}
}

// TestAllAllocatesInProportionToItsPages runs All against pages of many
// tiny items ("0,": two bytes each), as one page alone, as two pages, and as
// an object page whose list sits among many other members. All decoded
// every item into a json.RawMessage of its own (a slice header and an
// allocation each), and the first page's members likewise, to count and
// merge them: some 30 bytes of memory for every two bytes of page, so that
// a 20 MiB page took more than a gigabyte, and pages within MaxBytes (256
// MiB) could take many gigabytes, and seconds of CPU each. The bytes All
// allocates must stay within a small multiple of the bytes it reads. An
// object of so many members is no page of a list: it is refused, after
// reading a thousand of them. Two object pages, each with its list as a
// member (FreeAgent's {"contacts": [...]}), took more: each page was read
// whole by encoding/json's Decoder, which copies it into a buffer of its
// own, and the first page three times over (its shape, its items, the
// merged document), some 13 times the pages' size; it is read once.
func TestAllAllocatesInProportionToItsPages(t *testing.T) {
	const items = 1 << 19
	list := []byte("[" + strings.Repeat("0,", items) + "0]")
	members := []byte("{" + strings.Repeat(`"a":0,`, items) + `"items":[1]}`)
	// FreeAgent's shape: the list is a member of an object.
	object := []byte(`{"contacts":` + string(list) + `,"n":1}`)
	mux := http.NewServeMux()
	mux.HandleFunc("/lone", func(w http.ResponseWriter, r *http.Request) { w.Write(list) })
	mux.HandleFunc("/two", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "" {
			w.Header().Set("Link", `</two?page=2>; rel="next"`)
		}
		w.Write(list)
	})
	mux.HandleFunc("/members", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "" {
			w.Header().Set("Link", `</members?page=2>; rel="next"`)
		}
		w.Write(members)
	})
	mux.HandleFunc("/objects", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "" {
			w.Header().Set("Link", `</objects?page=2>; rel="next"`)
		}
		w.Write(object)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		path  string
		read  int
		items int
	}{
		{"/lone", len(list), -1},
		{"/two", 2 * len(list), 2 * (items + 1)},
		{"/members", len(members), 0},
		{"/objects", 2 * len(object), 2 * (items + 1)},
	} {
		doc, allocated, err := allAllocating(t, srv.URL+tt.path)
		switch {
		case tt.items == 0:
			if want := "is an object of more than 1000 members, not a page of a list"; err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("All(%s): %v; want it refused, saying it %s", tt.path, err, want)
			}
		case err != nil:
			t.Fatalf("All(%s): %v", tt.path, err)
		case doc.Items != tt.items:
			t.Errorf("All(%s) gathered %d items, want %d", tt.path, doc.Items, tt.items)
		case tt.path == "/lone" && doc.Gathered != items+1:
			t.Errorf("All(%s) counted %d items, want %d", tt.path, doc.Gathered, items+1)
		}
		if limit := uint64(10 * tt.read); allocated > limit && !raceDetector { // its own allocations, some as many again
			t.Errorf("All(%s) allocated %d bytes to read %d bytes of pages (%.1f times as many); want at most %d",
				tt.path, allocated, tt.read, float64(allocated)/float64(tt.read), limit)
		}
	}
}

// TestAllReadsALonePageOnce: a lone page of FreeAgent's shape
// ({"contacts": [...]}) just under MaxBytes (256 MiB) took 1.17 GB of
// memory: read in growing pieces joined at the end (twice its size), then
// copied whole into encoding/json's Decoder, in growing buffers, to find
// its list (over four times more). The page is read in place; into a slice
// of its size when the API gives its Content-Length, else in pieces.
func TestAllReadsALonePageOnce(t *testing.T) {
	page := []byte(`{"contacts":[` + strings.Repeat(`{"name":"Ann"},`, 1<<19) + `{"name":"Bo"}],"n":1}`)
	mux := http.NewServeMux()
	mux.HandleFunc("/sized", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.Write(page)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) { w.Write(page) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for path, most := range map[string]float64{"/sized": 1.1, "/chunked": 2.2} {
		doc, allocated, err := allAllocating(t, srv.URL+path)
		if err != nil {
			t.Fatalf("All(%s): %v", path, err)
		}
		if !bytes.Equal(doc.Body, page) || doc.Gathered != 1<<19+1 {
			t.Errorf("All(%s): %d bytes, %d items; want the page unchanged, %d items", path, len(doc.Body), doc.Gathered, 1<<19+1)
		}
		if float64(allocated) > most*float64(len(page)) && !raceDetector {
			t.Errorf("All(%s) allocated %.1f times the page's %d bytes; want at most %.1f times", path, float64(allocated)/float64(len(page)), len(page), most)
		}
	}
}

// TestAllMergesPagesInPlace: pages of FreeAgent's shape merged took some
// 3.5 times their size: each page read (once), their items gathered in a
// buffer that grows (half as much again), then copied whole into the
// merged document (once more). The items are gathered in the document.
func TestAllMergesPagesInPlace(t *testing.T) {
	page := []byte(`{"contacts":[` + strings.Repeat(`{"name":"Ann"},`, 1<<19) + `{"name":"Bo"}],"n":1}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "" {
			w.Header().Set("Link", `</?page=2>; rel="next"`)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.Write(page)
	}))
	t.Cleanup(srv.Close)
	doc, allocated, err := allAllocating(t, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Items != 2*(1<<19+1) {
		t.Errorf("All gathered %d items, want %d", doc.Items, 2*(1<<19+1))
	}
	read := 2 * float64(len(page))
	if float64(allocated) > 3*read && !raceDetector {
		t.Errorf("All allocated %.1f times the pages' %.0f bytes; want at most 3 times", float64(allocated)/read, read)
	}
}

// TestAllResolvesNextLinksAgainstThePageRead: a relative next link is
// resolved against the URL of the page it came with, after any redirect
// on the API's host (RFC 8288 §3.2: the link's context is the resource
// that answered), as curl and browsers resolve it: /v2/contacts redirected
// to /v2/contacts/, whose <page2> is /v2/contacts/page2. It was resolved
// against the URL asked for, /v2/page2, a page of something else or none.
func TestAllResolvesNextLinksAgainstThePageRead(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/contacts", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v2/contacts/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/v2/contacts/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<page2>; rel="next"`)
		w.Write([]byte(`[1]`))
	})
	mux.HandleFunc("/v2/contacts/page2", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`[2]`)) })
	mux.HandleFunc("/v2/page2", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`["not a contact"]`)) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v2/contacts", nil)
	doc, err := (&Client{}).All(req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(doc.Body) != "[1,2]\n" {
		t.Errorf("All = %q, want the pages at /v2/contacts/ and /v2/contacts/page2, [1,2]", doc.Body)
	}
}

// FuzzMerger: whatever two pages hold, the merger agrees with
// encoding/json: pages it merges are JSON whose list holds every item of
// both, in order, and it counts them as encoding/json does.
func FuzzMerger(f *testing.F) {
	for _, seed := range [][2]string{
		{`[1, "a,]}" ,{"b":"\\\"]"}]`, `[ [1,[2]] , null, -1.5e+3, true ]`},
		{`{"x":{"y":[1]},"items":[{"a":"\u005d"}],"z":"["}`, `{"items":[2,"\"",[]]}`},
		{`{"a\"b":[1]}`, `{"a\"b":[]}`},
		{`[]`, `[ ]`},
		{`{"a":[1],"a":[2]}`, `[]`},
		{`{"a":[1],"a":1}`, `{"a":[2]}`},
		{"{\"\xec\x8d\":[],\"\x9d\x9d\":[]}", "0"},
		{`[1e999]`, `[2]`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, first, second string) {
		// decode is page as encoding/json reads it, its numbers as sent:
		// 1e999 is JSON, merged as sent, though no float64 holds it.
		decode := func(page string) (any, bool) {
			dec := json.NewDecoder(strings.NewReader(page))
			dec.UseNumber()
			var v any
			return v, json.Valid([]byte(page)) && dec.Decode(&v) == nil
		}
		items := func(page string) ([]any, bool) {
			v, ok := decode(page)
			if !ok {
				return nil, false
			}
			switch v := v.(type) {
			case []any:
				return v, true
			case map[string]any:
				var list []any
				n := 0
				for _, m := range v {
					if l, ok := m.([]any); ok {
						list = l
						n++
					}
				}
				return list, n == 1
			}
			return nil, false
		}
		// Of a key given twice (as encoding/json reads keys, invalid
		// UTF-8 as U+FFFD), encoding/json keeps the last value, where the
		// merger sees every member: {"a":[1],"a":[2]} is a list of one
		// item to encoding/json, two lists the merger does not count.
		// What it merges, keys given twice or not, must agree.
		twice := func(page string) bool {
			seen := map[string]bool{}
			again := false
			if json.Valid([]byte(page)) {
				eachMember([]byte(page), func(key, _ []byte) {
					var k string
					json.Unmarshal(key, &k)
					again = again || seen[k]
					seen[k] = true
				})
			}
			return again
		}
		want1, ok1 := items(first)
		if got := countItems([]byte(first)); ok1 && !twice(first) && got != len(want1) {
			t.Fatalf("countItems(%q) = %d, want %d", first, got, len(want1))
		}
		m, err := newMerger([]byte(first))
		if err != nil {
			return
		}
		if err := m.add([]byte(second)); err != nil {
			return
		}
		doc := m.document()
		got, ok := items(string(doc))
		if !ok {
			t.Fatalf("merging %q and %q gave %q, not a page of one list", first, second, doc)
		}
		want2, _ := items(second)
		want := append(append([]any{}, want1...), want2...)
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("merging %q and %q gave %q: items %v, want %v", first, second, doc, got, want)
		}
		if m.count != len(want) {
			t.Fatalf("merging %q and %q counted %d items, want %d", first, second, m.count, len(want))
		}
		if !m.array {
			// The first page's other members, kept.
			sent, _ := decode(first)
			merged, _ := decode(string(doc))
			others := func(v any) map[string]any {
				o := v.(map[string]any)
				maps.DeleteFunc(o, func(_ string, v any) bool { _, list := v.([]any); return list })
				return o
			}
			if got, want := others(merged), others(sent); !reflect.DeepEqual(got, want) {
				t.Fatalf("merging %q and %q gave %q: members %v, want the first page's %v", first, second, doc, got, want)
			}
		}
	})
}

// TestCountItemsCopiesNothing: a lone page's items (the only page `get
// --all` read, the commonest case) are counted where they lie. Counting
// them by a merger copied the page's whole list into the merger's buffer
// and hashed it, which nothing used: a page of up to 256 MiB took as much
// again, and `get --all` of one list page some 3.2 times its size, where
// it took 2.2. (Reading an object page's members, which eachMember finds
// where they lie, is all counting may cost besides.)
func TestCountItemsCopiesNothing(t *testing.T) {
	list := "[" + strings.Repeat("0,", 1<<19) + "0]"
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	for _, page := range []string{list, `{"contacts":` + list + `,"n":1}`} {
		body := []byte(page)
		var reading uint64 // an object's members, read
		if !isArray(body) {
			reading = allocated(func() { eachMember(body, func(_, _ []byte) {}) })
		}
		var n int
		if got := allocated(func() { n = countItems(body) }); got > reading+uint64(len(body)/10) {
			t.Errorf("countItems(%.20s…) allocated %d bytes to count the items of a page of %d, where reading it takes %d", page, got, len(body), reading)
		}
		if n != 1<<19+1 {
			t.Errorf("countItems(%.20s…) = %d, want %d", page, n, 1<<19+1)
		}
	}
}

// TestAllErrorsMaskAKeyInTheQuery: a key in the query of a page's URL (the
// request's ?api_key=…, or a next link's) shows masked in every error All
// and Do return naming it, and the rest of the query as it is: they quoted
// the URLs whole, key and all, on stderr.
func TestAllErrorsMaskAKeyInTheQuery(t *testing.T) {
	const key = "Zq7xW" // too short to be registered: only masking by name hides it
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"contacts":[]}`))
	}))
	t.Cleanup(other.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("/redirected", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/x?"+r.URL.RawQuery, http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<http://other.example/page2?api_key=`+key+`&view=all>; rel="next"`)
		w.Write([]byte(`[1]`))
	})
	mux.HandleFunc("/unmergeable", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			w.Write([]byte(`{"other":[1]}`))
			return
		}
		w.Header().Set("Link", `</unmergeable?page=2&api_key=`+key+`&view=all>; rel="next"`)
		w.Write([]byte(`{"contacts":[1]}`))
	})
	mux.HandleFunc("/failing", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for _, path := range []string{"/redirected", "/elsewhere", "/unmergeable", "/failing"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path+"?api_key="+key+"&view=all", nil)
		_, err := (&Client{}).All(req, nil)
		if err == nil || strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "api_key=…(5 chars)&view=all") {
			t.Errorf("All(%s) = %v; want an error naming the URL with the key masked", path, err)
		}
	}
	for _, e := range []*RateLimitError{{URL: srv.URL + "/x?api_key=" + key + "&view=all", Retries: 5}, {URL: srv.URL + "/x?api_key=" + key + "&view=all", TooLong: true, Wait: time.Hour}} {
		if s := e.Error(); strings.Contains(s, key) || !strings.Contains(s, "api_key=…(5 chars)&view=all") {
			t.Errorf("RateLimitError: %s; want the URL with the key masked", s)
		}
	}
}

// allAllocating gathers the pages from url with All, and says how many
// bytes the gathering allocated.
func allAllocating(t *testing.T, url string) (doc *Document, allocated uint64, err error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	doc, err = (&Client{}).All(req, nil)
	runtime.ReadMemStats(&after)
	return doc, after.TotalAlloc - before.TotalAlloc, err
}
