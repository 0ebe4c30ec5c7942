package cli

import "testing"

func TestProxyFlags(t *testing.T) {
	tests := []struct {
		args    string
		want    proxyOptions
		wantErr bool
	}{
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
	}
	for _, tt := range tests {
		var got *proxyOptions
		cmd := newProxyCmd(testFactory(), func(o *proxyOptions) error { got = o; return nil })
		err := execute(t, cmd, tt.args)
		if tt.wantErr {
			if ExitCode(err) != ExitUsage || got != nil {
				t.Errorf("%q: err %v, ran %v; want a usage error before running", tt.args, err, got != nil)
			}
			continue
		}
		if err != nil || got.Listen != tt.want.Listen || got.AllowRemote != tt.want.AllowRemote {
			t.Errorf("%q: got %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}
