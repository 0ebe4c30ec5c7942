package cli

import "testing"

func TestProxyFlags(t *testing.T) {
	checkFlags(t, []flagCase[proxyOptions]{
		{"", proxyOptions{Listen: "127.0.0.1:8787"}, false},
		{"--listen 127.0.0.1:9000", proxyOptions{Listen: "127.0.0.1:9000"}, false},
		{"--listen localhost:9000", proxyOptions{Listen: "localhost:9000"}, false},
		{"--listen [::1]:9000", proxyOptions{Listen: "[::1]:9000"}, false},
		{"--listen 0.0.0.0:8787 --allow-remote", proxyOptions{Listen: "0.0.0.0:8787", AllowRemote: true}, false},
		{"--listen 0.0.0.0:8787", proxyOptions{}, true},
		{"--listen :8787", proxyOptions{}, true},
		{"--listen 192.168.1.5:8787", proxyOptions{}, true},
		{"--listen 8787", proxyOptions{}, true},
		{"extra", proxyOptions{}, true},
	}, newProxyCmd, func(g, w proxyOptions) bool {
		return g.Listen == w.Listen && g.AllowRemote == w.AllowRemote
	})
}
