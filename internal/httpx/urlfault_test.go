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
