package httpx_test

import (
	"net/url"
	"testing"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

// TestParseHost: every spelling of an IPv4 address that inet_aton and
// browsers accept is read as that address; names are not addresses.
func TestParseHost(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"127.0.0.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"0X7F.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"127.0.0.1.", "127.0.0.1"},
		{"localhost", "127.0.0.1"},
		{"LocalHost.", "127.0.0.1"},
		{"api.localhost", "127.0.0.1"},
		{"[::1]", "::1"},
		{"::1", "::1"},
		{"[::ffff:127.0.0.1]", "127.0.0.1"},
		{"0", "0.0.0.0"},
		{"\uff11\uff12\uff17.0.0.1", "127.0.0.1"}, // fullwidth digits, as UTS #46 maps them
		{"127\u30020\u30020\u30021", "127.0.0.1"}, // ideographic full stops
		{"\u2460\u2461\u2466.0.0.1", "127.0.0.1"}, // circled digits
		{"\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54", "127.0.0.1"}, // fullwidth localhost
		{"\u00b9\u00b2\u2077.0.0.1", "127.0.0.1"},                               // superscript digits
		{"127\uff0e0\uff0e0\uff0e1", "127.0.0.1"},                               // fullwidth full stops
		{"0\uff587f000001", "127.0.0.1"},                                        // fullwidth x
		{"127.0.0.1\u00ad", "127.0.0.1"},                                        // a soft hyphen, which mapping drops
		{"12\u200b7.0.0.1", "127.0.0.1"},                                        // a zero-width space, likewise
		{"b\u00fccher.example", ""},
		{"192.168.1.5", "192.168.1.5"},
		{"example.com", ""},
		{"127.0.0.256", ""},
		{"1.2.3.4.5", ""},
		{"4294967296", ""},
		{"08.1", ""},
		{"", ""},
	} {
		a, ok := httpx.ParseHost(tc.host)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tc.want {
			t.Errorf("ParseHost(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
}

// TestIsLocalhostName: localhost and names under it, in every spelling
// ParseHost reads as them, are localhost names; the addresses they stand
// for, and names that merely end so, are not.
func TestIsLocalhostName(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost":       true,
		"LocalHost.":      true,
		"api.localhost":   true,
		"[foo.localhost]": true,
		"\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54": true, // fullwidth localhost
		"app\u3002localhost": true, // an ideographic full stop
		"127.0.0.1":          false,
		"::1":                false,
		"notlocalhost":       false,
		"localhost.example":  false,
		"":                   false,
	} {
		if got := httpx.IsLocalhostName(host); got != want {
			t.Errorf("IsLocalhostName(%q) = %t, want %t", host, got, want)
		}
	}
}

// TestSameOrigin: one origin however it is spelled (case, the default
// port written or not, the root's trailing dot); another scheme, host or
// port is another.
func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"https://api.example.com/", "https://api.example.com/token", true},
		{"https://api.example.com/", "HTTPS://API.Example.COM:443/token", true},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:08080/x", true},
		{"http://api.example.com/", "http://api.example.com:80/", true},
		{"https://api.example.com/", "https://API.example.com./token", true},
		{"https://api.example.com/", "https://api.example.com../token", false},
		{"https://api.example.com/", "http://api.example.com/", false},
		{"https://api.example.com/", "https://api.example.com:8443/", false},
		{"https://api.example.com/", "https://login.example.com/", false},
		{"https://api.example.com/", "https://api.example.com:x/", false},
	} {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if b == nil { // a port net/url refuses
			b = &url.URL{Scheme: "https", Host: "api.example.com:x"}
		}
		if got := httpx.SameOrigin(a, b); got != tc.same {
			t.Errorf("SameOrigin(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}

func TestPort(t *testing.T) {
	for _, tc := range []struct {
		port, scheme string
		want         int
		ok           bool
	}{
		{"8787", "http", 8787, true},
		{"08787", "http", 8787, true},
		{"", "http", 80, true},
		{"", "HTTPS", 443, true},
		{"65536", "http", 0, false},
		{"+80", "http", 0, false},
	} {
		got, ok := httpx.Port(tc.port, tc.scheme)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Port(%q, %q) = %d, %v; want %d, %v", tc.port, tc.scheme, got, ok, tc.want, tc.ok)
		}
	}
}

// TestResolveReference: a URL is resolved as WHATWG readers resolve it,
// where Go's url package alone would differ.
func TestResolveReference(t *testing.T) {
	base, _ := url.Parse("http://api.example/v2/contacts?page=1")
	for _, tc := range []struct{ ref, want string }{
		{"/v2/users/me", "http://api.example/v2/users/me"},
		{"?page=2", "http://api.example/v2/contacts?page=2"},
		{"/%2e%2e/other/x", "http://api.example/other/x"},
		{"/a/%2E%2e/b", "http://api.example/b"},
		{"/a/.%2e/b/%2e/c", "http://api.example/b/c"},
		{"../../../x", "http://api.example/x"},
		{`/a/..\b`, "http://api.example/b"},
		{`http:/\127.0.0.1:8787/x`, "http://127.0.0.1:8787/x"},
		{`http:\\127.0.0.1/x`, "http://127.0.0.1/x"},
		{`https:127.0.0.1/x`, "https://127.0.0.1/x"},
		{`http:x`, "http://api.example/v2/x"},
		{`///127.0.0.1/x`, "http://127.0.0.1/x"},
		{`/\127.0.0.1/x`, "http://127.0.0.1/x"},
		{" \thttp://127.0.0.1/\nx ", "http://127.0.0.1/x"},
		{`/x?a=\b`, `http://api.example/x?a=\b`},
		{"mailto:a@example.com", "mailto:a@example.com"},
		{"/files/100%.pdf?q=50%&r=%2", "http://api.example/files/100%25.pdf?q=50%25&r=%252"}, // a bare % is data
	} {
		u, err := httpx.ResolveReference(base, tc.ref)
		if err != nil {
			t.Errorf("ResolveReference(%q): %v", tc.ref, err)
			continue
		}
		if got := u.String(); got != tc.want {
			t.Errorf("ResolveReference(%q) = %q, want %q", tc.ref, got, tc.want)
		}
	}
}

// TestLoopbackAddr: a loopback host in any spelling is written as its IP,
// for a listener to take without asking a name server; any other host is
// not a loopback address.
func TestLoopbackAddr(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.1:8787", "127.0.0.1:8787"},
		{"127.1:0", "127.0.0.1:0"},
		{"0x7f000001:8787", "127.0.0.1:8787"},
		{"localhost.:8787", "127.0.0.1:8787"},
		{"foo.localhost:8787", "127.0.0.1:8787"},
		{"[::1]:8787", "[::1]:8787"},
		{"127.0.0.2:8787", "127.0.0.2:8787"},
		{"0.0.0.0:8787", ""},
		{":8787", ""},
		{"example.com:8787", ""},
		{"127.0.0.1", ""},
	} {
		got, ok := httpx.LoopbackAddr(tc.addr)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("LoopbackAddr(%q) = %q, %v; want %q", tc.addr, got, ok, tc.want)
		}
	}
}
