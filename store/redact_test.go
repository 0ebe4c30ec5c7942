package store_test

import (
	"testing"

	"github.com/freshtoken/freshtoken/store"
)

// TestRedactURL: a store's URL is shown without what may hold a secret
// (user, password, query, fragment). A file URL's path is shown as written:
// a space was shown as %20, which is not what the configuration holds, and
// a path written without slashes (file:tokens) was shown as "the [store]
// url", so an error about it read `"the [store] url" needs an absolute
// path` instead of naming what was typed.
func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"file:///srv/my tokens":                 "file:///srv/my tokens",
		"file:///srv/tokens?x=1#y":              "file:///srv/tokens",
		"file:tokens":                           "file:tokens",
		"file:tokens?secret=1":                  "file:tokens",
		"file://localhost/srv/tokens":           "file://localhost/srv/tokens",
		"redis://user:s3cr3t@h:6379/0?x=s3cr3t": "redis://h:6379/0",
		"rediss://:s3cr3t@h/1":                  "rediss://h/1",
		"redis:s3cr3t@h":                        "the [store] url",
		"%zz":                                   "the [store] url",
	} {
		if got := store.RedactURL(raw); got != want {
			t.Errorf("RedactURL(%q) = %q; want %q", raw, got, want)
		}
	}
}
