package cli

import (
	"reflect"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
)

// TestHelpConfigNamesEveryKey: every key an environment takes is shown in
// `freshtoken help config`.
func TestHelpConfigNamesEveryKey(t *testing.T) {
	help := newConfigHelpTopic().Long
	rt := reflect.TypeFor[config.EnvSettings]()
	for i := range rt.NumField() {
		key, _, _ := strings.Cut(rt.Field(i).Tag.Get("toml"), ",")
		if !strings.Contains(help, " "+key+" = ") {
			t.Errorf("help config does not show %s", key)
		}
	}
}
