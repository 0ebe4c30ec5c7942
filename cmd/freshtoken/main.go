// Command freshtoken keeps OAuth 2.0 access tokens fresh, hands-off.
package main

import (
	"os"

	"github.com/freshtoken/freshtoken/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.SystemStreams()))
}
