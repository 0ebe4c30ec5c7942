package apiclient

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
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
		{"later page without the list is empty", []string{`{"a":[1],"n":1}`, `{}`, `{"n":2}`, `{"a":[2]}`}, `{"a":[1,2],"n":1}` + "\n", ""},
		{"later page is not a list", []string{`[1]`, `{"a":[2]}`}, "", "does not hold a JSON list"},
		{"trailing garbage", []string{`{"a":[1]} x`}, "", "is not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
		fmt.Fprintf(w, `[%q]`, strings.Repeat("x", 64<<10))
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
