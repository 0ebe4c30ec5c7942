package configfile

// Raw is what a configuration file writes, as decoded, before any check:
// Env is the type of an environment's table, Notify that of [notify], as
// package config gives them. An edit is judged by it: kept only if the
// file then means what it meant (Raw and the keys no setting takes).
type Raw[Env, Notify any] struct {
	DefaultEnv string         `toml:"default_env"`
	Browser    string         `toml:"browser"`
	CAFile     string         `toml:"ca_file"`
	Store      RawStore       `toml:"store"`
	Notify     Notify         `toml:"notify"`
	Env        map[string]Env `toml:"env"`
}

// RawStore is the [store] table.
type RawStore struct {
	URL string `toml:"url"`
}
