package cli

import (
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/configrepair"
)

// loadForRemoval is configrepair.LoadForRemoval, its file typed.
func loadForRemoval(path, name string) (*config.File, *configrepair.Broken, error) {
	f, broken, err := configrepair.LoadForRemoval(path, name)
	conf, _ := f.(*config.File)
	return conf, broken, err
}

// loadForRepair is configrepair.LoadForRepair, its file and what was
// refused typed.
func loadForRepair(path, name string) (*config.File, *config.Error, error) {
	f, refused, err := configrepair.LoadForRepair(path, name)
	conf, _ := f.(*config.File)
	e, _ := refused.(*config.Error)
	return conf, e, err
}
