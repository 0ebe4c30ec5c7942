//go:build !unix

package filestore

import (
	"context"
	"io/fs"
	"os"
)

// noFollow is 0 where the system has no O_NOFOLLOW; links are still refused
// by the Lstat checks.
const noFollow = 0

// noBlock is 0 where opens do not block on special files.
const noBlock = 0

// foreignOwner is false where files carry no Unix owner.
func foreignOwner(fs.FileInfo) bool { return false }

// owner is never asked where files carry no Unix owner.
func owner(fs.FileInfo) int { return -1 }

// allocated is 0 where the system does not say how much disk a file holds:
// a record is then never written in place.
func allocated(fs.FileInfo) int64 { return 0 }

// unstored is false where the system does not say how much disk a file
// holds.
func unstored(fs.FileInfo) bool { return false }

// lockContent does nothing where records are never written in place.
func lockContent(context.Context, *os.File, bool) error { return nil }
