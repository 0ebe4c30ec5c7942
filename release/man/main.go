// Command man writes freshtoken's manual pages, one per command, into the
// folder it is given; release/build.sh puts them into the packages.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra/doc"

	"github.com/freshtoken/freshtoken/internal/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./release/man FOLDER")
		os.Exit(2)
	}
	root := cli.NewRootCmd(&cli.Factory{IO: cli.SystemStreams()})
	root.DisableAutoGenTag = true
	header := &doc.GenManHeader{Title: "FRESHTOKEN", Section: "1", Source: "freshtoken", Manual: "freshtoken manual"}
	if err := doc.GenManTree(root, header, os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "man:", err)
		os.Exit(1)
	}
}
