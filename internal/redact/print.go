package redact

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// Printed is how a value holding secrets prints and logs, so that a
// program may print or log one (%v, %+v, %#v, slog's text and JSON
// handlers) without showing them. Shown is a copy of the value with its
// secrets masked, of a type without methods (type shownT T), so that
// printing it cannot call the value's own String again; Name is the
// value's type as %#v names it ("freshtoken.Settings"). A type gives
// itself String, GoString, LogValue and MarshalJSON that return its
// Printed's.
type Printed struct {
	Name  string
	Shown any
}

// String is Shown as %+v prints it.
func (p Printed) String() string { return fmt.Sprintf("%+v", p.Shown) }

// GoString is Shown as %#v prints it, named Name.
func (p Printed) GoString() string {
	s := fmt.Sprintf("%#v", p.Shown)
	if i := strings.IndexByte(s, '{'); i >= 0 {
		s = s[i:]
	}
	return p.Name + s
}

// LogValue is String for slog, whose JSON handler would otherwise marshal
// the fields, secrets and all.
func (p Printed) LogValue() slog.Value { return slog.StringValue(p.String()) }

// MarshalJSON is Shown as json.Marshal encodes it: the value's fields,
// its secrets masked, for json.Marshal and what calls it (slog's JSON
// handler, for a value in a struct, a map or a slice; expvar).
func (p Printed) MarshalJSON() ([]byte, error) { return json.Marshal(p.Shown) }
