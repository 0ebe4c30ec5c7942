package filestore

import (
	"os"
	"testing"
)

// WatchSyncs calls seen with the name of every file or folder the store
// syncs, just before it is synced, until the test ends.
func WatchSyncs(t testing.TB, seen func(name string)) {
	t.Helper()
	real := syncFile
	syncFile = func(f *os.File) error {
		seen(f.Name())
		return real(f)
	}
	t.Cleanup(func() { syncFile = real })
}

// CheckName is checkName, to see what the store refuses on each system
// from any system.
var CheckName = checkName

// LandAfterLook calls land once, just after RemoveUnusedReserve (or
// RemoveEmpty) looked at the folder and before it removes the reserve.
func LandAfterLook(t testing.TB, land func()) {
	t.Helper()
	real := lookedAtFolder
	lookedAtFolder = func() {
		lookedAtFolder = real
		land()
	}
	t.Cleanup(func() { lookedAtFolder = real })
}

// LandAfterRoomCheck calls land once, just after a save found no room to
// make the reserve, or could not write it, and before it looks at the
// empty one it opened again to remove it.
func LandAfterRoomCheck(t testing.TB, land func()) {
	t.Helper()
	real := givingUpReserve
	givingUpReserve = func() {
		givingUpReserve = real
		land()
	}
	t.Cleanup(func() { givingUpReserve = real })
}

// BeforeWritingReserve calls write once, just after a save found room to
// make the reserve and before it writes it.
func BeforeWritingReserve(t testing.TB, write func()) {
	t.Helper()
	real := roomFound
	roomFound = func() {
		roomFound = real
		write()
	}
	t.Cleanup(func() { roomFound = real })
}
