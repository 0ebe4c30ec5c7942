package httpx

import (
	"strings"
	"testing"
)

// TestURLFaultHidesAPasswordInAURLThatDoesNotParse: a URL with a user and
// password that url.Parse refuses (a space or a stray % in the password,
// a port that is no number, no scheme at all) was quoted whole as "not an
// http(s) URL with a host", the password with it; it is told as holding a
// user or password, not shown, as a URL that parses is.
func TestURLFaultHidesAPasswordInAURLThatDoesNotParse(t *testing.T) {
	for _, u := range []string{
		"https://me:s3cr3t x@h/t",
		"https://me:s3%zzcr3t@h/t",
		"https://me:s3cr3t@h:port/t",
		"me:s3cr3t@h/t",
		"//me:s3cr3t@h/t",
		"https://me:s3cr3t@h",
	} {
		fault := URLFault(u)
		if strings.Contains(fault, "s3") || !strings.HasPrefix(fault, "has a user or password in it") {
			t.Errorf("URLFault(%q) = %q, want it to say it has a user or password, without showing it", u, fault)
		}
	}
	for _, u := range []string{"https://h/a@b", "https://h/t?x=a@b", "https://h/#a@b", "ftp://h/"} {
		if fault := URLFault(u); strings.HasPrefix(fault, "has a user") {
			t.Errorf("URLFault(%q) = %q: an @ after the host is no user", u, fault)
		}
	}
}

// TestURLFaultHidesASecretInTheQuery: a URL refused for its scheme, its
// host or a fragment was quoted whole, a client_secret or access_token in
// its query with it (the check for a secret in the query comes after, for
// a URL otherwise good); the query is left out of the quote when it holds
// one.
func TestURLFaultHidesASecretInTheQuery(t *testing.T) {
	for _, u := range []string{
		"htps://h/t?client_secret=hunter2",
		"https://h/t?client_secret=hunter2#x",
		"https://h x/t?a=1&access_token=hunter2",
		"https:///t?client_secret=hunter2",
		// An implicit log-in's answer, copied from a browser's address bar.
		"https://h/cb#access_token=hunter2&token_type=bearer",
		"ftp://h/cb#id_token=hunter2",
		"https://h/cb?x=1#state=s&access_token=hunter2",
	} {
		if fault := URLFault(u); fault == "" || strings.Contains(fault, "hunter2") {
			t.Errorf("URLFault(%q) = %q, want it refused without the secret", u, fault)
		}
	}
	if fault := URLFault("https://h/t?page=2#x"); !strings.Contains(fault, `"https://h/t?page=2#x"`) {
		t.Errorf("a query with no secret: %q, want the URL quoted whole", fault)
	}
	if fault := URLFault("https://h/t#section-2"); !strings.Contains(fault, `"https://h/t#section-2" has a fragment (#section-2)`) {
		t.Errorf("a fragment with no secret: %q, want it shown", fault)
	}
}
