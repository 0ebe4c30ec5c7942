module github.com/freshtoken/freshtoken

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/cli/browser v1.3.0
	github.com/gofrs/flock v0.13.2
	github.com/mattn/go-isatty v0.0.24
	github.com/spf13/cobra v1.10.2
	golang.org/x/oauth2 v0.38.0
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/rogpeppe/go-internal v1.16.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/tools v0.26.0 // indirect
)
