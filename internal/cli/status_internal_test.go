package cli

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/store"
)

// TestStatusJSONIsDocumented: every member `status --json` may print, in
// its objects too, has a row in docs/status.md, which says what each
// means and promises that none is renamed or removed. Its shape was
// documented nowhere but in part in `status --help`, so a script had only
// the output of the day to go by.
func TestStatusJSONIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/status.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var check func(typ reflect.Type, in string)
	check = func(typ reflect.Type, in string) {
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ.PkgPath() == "time" || seen[typ] {
			return
		}
		seen[typ] = true
		for f := range typ.Fields() {
			tag, ok := f.Tag.Lookup("json")
			if !ok || !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if in == "" {
				if !strings.Contains(string(doc), "| `"+name+"` |") {
					t.Errorf("docs/status.md has no row for %q", name)
				}
			} else if !strings.Contains(string(doc), `"`+name+`"`) {
				t.Errorf("docs/status.md does not name %q of %s", name, in)
			}
			check(f.Type, name)
		}
	}
	check(reflect.TypeFor[envStatus](), "")
}

// TestRenewalReasonsReadAsEnglish: status's last renewal said the reason as
// the record keeps it, "(1 so far, for request)" after `token --force`, and
// "for keep-alive", "for rejection"; each reason now reads as words.
func TestRenewalReasonsReadAsEnglish(t *testing.T) {
	for _, c := range []struct {
		reason  string
		fetched bool
		want    string
	}{
		{store.RenewedForExpiry, false, ", as the access token was due to expire"},
		{store.RenewedForRejection, false, ", as the API refused the access token (401)"},
		{store.RenewedOnRequest, false, ", as asked (`token --force`, or Renew now on the proxy's page)"},
		{store.RenewedToKeepAlive, false, ", by a running `freshtoken proxy`'s keep-alive"},
		{store.RenewedForExpiry, true, ", when one was due"},
		{store.RenewedOnRequest, true, ", as asked (a log-in, `token --force`, or Renew now on the proxy's page)"},
		{"", false, ""},
	} {
		if got := renewedFor(c.reason, c.fetched); got != c.want {
			t.Errorf("renewedFor(%q, fetched %v) = %q; want %q", c.reason, c.fetched, got, c.want)
		}
	}
}

// TestTimesCenturiesAwayReadAsLengths: a time more than 292 years away (a
// record someone edited, a renewal stamped by a clock set to year 9999)
// reads as a length of time: status said "expired
// -2562047h47m16.854775808s ago", the least Duration negated into itself.
func TestTimesCenturiesAwayReadAsLengths(t *testing.T) {
	past, future := time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	for said, want := range map[string]string{
		relative("expires", "expired", past):   "expired 106751d ago",
		relative("expires", "expired", future): "expires in 106751d",
		ago(future):                            "by a clock 106751d ahead",
	} {
		if !strings.Contains(said, want) {
			t.Errorf("%q; want %q in it", said, want)
		}
	}
}
