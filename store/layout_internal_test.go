package store

import (
	"reflect"
	"testing"
)

// TestStoredTagsAreRecords: the stored layout names each of a record's
// fields as Record's own JSON does (the compiler sees to it that both have
// the same fields): a field added to Record with a tag, and to
// recordFields with another, would be stored under a name that neither
// an earlier version nor Record's own JSON knows.
func TestStoredTagsAreRecords(t *testing.T) {
	rec, fields, st := reflect.TypeFor[Record](), reflect.TypeFor[recordFields](), reflect.TypeFor[stored]()
	for i := range rec.NumField() {
		want, tag := rec.Field(i).Tag.Get("json"), fields.Field(i).Tag.Get("json")
		if tag == "-" { // written by stored, after the others
			if f, ok := st.FieldByName(rec.Field(i).Name); ok {
				tag = f.Tag.Get("json")
			}
		}
		if tag != want {
			t.Errorf("%s is stored as %q; Record's JSON names it %q", rec.Field(i).Name, tag, want)
		}
	}
}
