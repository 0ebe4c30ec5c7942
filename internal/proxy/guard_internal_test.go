package proxy

import "testing"

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
