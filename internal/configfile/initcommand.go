package configfile

import (
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/store"
)

// InitCommand is the command that adds an environment named name, for a
// message to suggest: with -e name when name can name one, with -e NAME
// when name may be a secret typed where a name goes (redact.MayBeSecret:
// not said back), and without -e when name cannot name one (init would
// refuse it).
func InitCommand(name string) string {
	switch {
	case name == "" || store.ValidateNewEnvName(name) != nil:
		return "freshtoken init"
	case redact.MayBeSecret(name):
		return "freshtoken init -e NAME"
	}
	return "freshtoken init -e " + name
}
