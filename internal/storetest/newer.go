package storetest

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// WriteNewerFormat rewrites the file store's record at path as a newer
// freshtoken would have written it (format version, above this one's 1;
// an upgrade rolled back), and returns the text it wrote. It fails the
// test when the record holds no format version to change.
func WriteNewerFormat(t testing.TB, path string, version int) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	newer := strings.Replace(string(b), `"version": 1,`, `"version": `+strconv.Itoa(version)+`,`, 1)
	if newer == string(b) {
		t.Fatalf("no format version in the record at %s: %s", path, b)
	}
	if err := os.WriteFile(path, []byte(newer), 0o600); err != nil {
		t.Fatal(err)
	}
	return newer
}
