package httpx_test

import (
	"reflect"
	"testing"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

func TestParseLinks(t *testing.T) {
	h := []string{
		`<https://api.example.com/v2/contacts?page=1&per_page=10>; rel="prev", <https://api.example.com/v2/contacts?page=3>; rel="next"`,
		`<https://x.example/a,b>; title="a, b; c"; rel="last first", <broken; rel=next`,
		`<https://api.example.com/v2/contacts?page=4>; rel='next', <https://api.example.com/v2/contacts?page=9>; rel=last`,
	}
	type link struct {
		target string
		rels   []string
	}
	var got []link
	for _, l := range httpx.ParseLinks(h...) {
		got = append(got, link{target: l.Target})
		for _, rel := range []string{"prev", "next", "last", "first"} {
			if l.Rel(rel) {
				got[len(got)-1].rels = append(got[len(got)-1].rels, rel)
			}
		}
	}
	want := []link{
		{"https://api.example.com/v2/contacts?page=1&per_page=10", []string{"prev"}},
		{"https://api.example.com/v2/contacts?page=3", []string{"next"}},
		{"https://x.example/a,b", []string{"last", "first"}},
		{"https://api.example.com/v2/contacts?page=4", []string{"next"}},
		{"https://api.example.com/v2/contacts?page=9", []string{"last"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseLinks = %+v\nwant %+v", got, want)
	}
}
