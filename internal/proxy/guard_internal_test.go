package proxy

import (
	"net/url"
	"testing"
)

// TestOwnTakesALocalhostNameOnlyWhenGiven: a proxy on 127.0.0.1 owns any
// spelling of its address, localhost among them, and no name under
// .localhost it was not given, in any spelling: one written with an
// ideographic full stop, which ParseHost reads as 127.0.0.1, was taken as
// its own (the check of .localhost read the bytes as written).
func TestOwnTakesALocalhostNameOnlyWhenGiven(t *testing.T) {
	g, err := newGuard("127.0.0.1:8787", false)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"127.0.0.1:8787":          true,
		"127.1:8787":              true,
		"LOCALHOST.:8787":         true,
		"app.localhost:8787":      false,
		"App.Localhost.:8787":     false,
		"app\u3002localhost:8787": false,
		"127.0.0.1:8788":          false,
		"example.com:8787":        false,
	} {
		if got := g.own(host); got != want {
			t.Errorf("own(%q) = %t, want %t", host, got, want)
		}
	}
}

// TestALinkToTheNameListenedOnIsSeenInAnySpelling: a proxy given a name to
// --listen on (with --allow-remote) sees a link or redirect to that name as
// pointing at itself however the name is written, in capitals, with a
// trailing dot or in fullwidth letters a client maps to it: the fullwidth
// spelling passed, and a client following it reached the proxy by the name.
func TestALinkToTheNameListenedOnIsSeenInAnySpelling(t *testing.T) {
	g, err := newGuard("vm.example:8787", true)
	if err != nil {
		t.Fatal(err)
	}
	for link, want := range map[string]bool{
		"http://vm.example:8787/other/v2/x":           true,
		"http://VM.Example.:8787/other/v2/x":          true,
		"http://\uff56\uff4d.example:8787/other/v2/x": true,
		"http://vm.example:8788/other/v2/x":           false,
		"http://api.example:8787/other/v2/x":          false,
	} {
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.pointsHere(u); got != want {
			t.Errorf("pointsHere(%q) = %t, want %t", link, got, want)
		}
	}
}
