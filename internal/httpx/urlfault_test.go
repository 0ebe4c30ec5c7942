package httpx

import (
	"strings"
	"testing"
)

// TestURLFaultHidesASecret: a URL refused shows no secret it holds.
// A URL with a user and password that url.Parse refuses (a space or a
// stray % in the password, a port that is no number, no scheme at all)
// was quoted whole as "not an http(s) URL with a host", the password with
// it; it is told as holding a user or password, not shown, as a URL that
// parses is. A URL refused for its scheme, its host or a fragment was
// quoted whole, a client_secret or access_token in its query with it (the
// check for a secret in the query comes after, for a URL otherwise good);
// the query is left out of the quote when it holds one.
func TestURLFaultHidesASecret(t *testing.T) {
	const password = "has a user or password in it"
	for _, tt := range []struct{ url, secret, says string }{
		{"https://me:s3cr3t x@h/t", "s3", password},
		{"https://me:s3%zzcr3t@h/t", "s3", password},
		{"https://me:s3cr3t@h:port/t", "s3", password},
		{"me:s3cr3t@h/t", "s3", password},
		{"//me:s3cr3t@h/t", "s3", password},
		{"https://me:s3cr3t@h", "s3", password},
		{"htps://h/t?client_secret=hunter2", "hunter2", ""},
		{"https://h/t?client_secret=hunter2#x", "hunter2", ""},
		{"https://h x/t?a=1&access_token=hunter2", "hunter2", ""},
		{"https:///t?client_secret=hunter2", "hunter2", ""},
		// An implicit log-in's answer, copied from a browser's address bar.
		{"https://h/cb#access_token=hunter2&token_type=bearer", "hunter2", ""},
		{"ftp://h/cb#id_token=hunter2", "hunter2", ""},
		{"https://h/cb?x=1#state=s&access_token=hunter2", "hunter2", ""},
	} {
		if fault := URLFault(tt.url); fault == "" || !strings.HasPrefix(fault, tt.says) || strings.Contains(fault, tt.secret) {
			t.Errorf("URLFault(%q) = %q, want it refused without the secret, beginning %q", tt.url, fault, tt.says)
		}
	}
	for _, u := range []string{"https://h/a@b", "https://h/t?x=a@b", "https://h/#a@b", "ftp://h/"} {
		if fault := URLFault(u); strings.HasPrefix(fault, "has a user") {
			t.Errorf("URLFault(%q) = %q: an @ after the host is no user", u, fault)
		}
	}
	if fault := URLFault("https://h/t?page=2#x"); !strings.Contains(fault, `"https://h/t?page=2#x"`) {
		t.Errorf("a query with no secret: %q, want the URL quoted whole", fault)
	}
	if fault := URLFault("https://h/t#section-2"); !strings.Contains(fault, `"https://h/t#section-2" has a fragment (#section-2)`) {
		t.Errorf("a fragment with no secret: %q, want it shown", fault)
	}
}
