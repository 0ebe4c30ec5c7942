package keeper

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/freshtoken/freshtoken/internal/atomicfile"
)

// A ledger is a folder of the user's (see config.TokenFileLedger) that
// notes, for each token file freshtoken writes, a fingerprint of what it
// wrote there last, one small file per token file: no token, and no path,
// only their SHA-256. A log-out or a remove, in another process than the
// keeper that wrote the file, then knows the file for freshtoken's though
// it holds an older access token than the one stored (the keeper had yet
// to write the newer, or was stopped), and never takes a file of the
// user's own for one, whatever it holds. Its notes decide which files a
// log-out removes, so they are kept as the token store keeps tokens: in a
// folder of the user's alone, never through a link, each note a file
// only the user may use, and what a writer killed mid-write left is
// removed by the next.

// ledgerEntry is where ledger notes what was written at path.
func ledgerEntry(ledger, path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	sum := sha256.Sum256([]byte(path))
	return filepath.Join(ledger, hex.EncodeToString(sum[:16]))
}

// fingerprint is what a ledger notes of content, a token file's.
func fingerprint(content string) string {
	sum := sha256.Sum256([]byte("freshtoken token file\x00" + content))
	return hex.EncodeToString(sum[:]) + "\n"
}

// checkLedger says why ledger, or the folder it is in (the default token
// folder), may not be used: a link, which is never followed, or not a
// folder, or one others may use (where modes say so: not on Windows).
// Folders not made yet are fine.
func checkLedger(ledger string) error {
	for _, dir := range []string{filepath.Dir(ledger), ledger} {
		fi, err := os.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		case !fi.IsDir():
			return fmt.Errorf("%s is not a folder (a link is never followed)", dir)
		case runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0:
			return fmt.Errorf("%s has mode %04o, which lets others use it", dir, fi.Mode().Perm())
		}
	}
	return nil
}

// noteWritten notes in ledger ("": none) that content is what freshtoken
// wrote at path.
func noteWritten(ledger, path, content string) error {
	if ledger == "" {
		return nil
	}
	if err := checkLedger(ledger); err != nil {
		return err
	}
	if err := os.MkdirAll(ledger, 0o700); err != nil {
		return err
	}
	entry := ledgerEntry(ledger, path)
	removeLitter(entry)
	return atomicfile.Write(entry, []byte(fingerprint(content)), atomicfile.Options{})
}

// forgetNote removes ledger's note of the token file at path, which is
// gone: a ledger keeps notes only of token files there are, so it does not
// grow with every token_file named over the years.
func forgetNote(ledger, path string) {
	if ledger != "" && checkLedger(ledger) == nil {
		os.Remove(ledgerEntry(ledger, path))
	}
}

// wroteThere reports whether the file at path holds, as freshtoken writes
// a token file, what ledger notes freshtoken wrote there last.
func wroteThere(ledger, path string) bool {
	if ledger == "" || checkLedger(ledger) != nil {
		return false
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxTokenFile {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && holds(path, string(b)) && holds(ledgerEntry(ledger, path), fingerprint(string(b)))
}

// ForgetTokenFile removes the token file at path once the environment's
// tokens are forgotten (a log-out, a remove), if freshtoken wrote what it
// holds: the access token token, as the keeper writes it, or what ledger
// notes a keeper wrote there last (an older access token: the keeper had
// yet to write the stored one, or was stopped). It reports whether it
// removed the file; a file holding anything else is the user's, and is
// left alone, as is none.
func ForgetTokenFile(path, token, ledger string) (removed bool, err error) {
	if path == "" {
		return false, nil
	}
	removeLitter(path)
	if !(token != "" && holds(path, token+"\n")) && !wroteThere(ledger, path) {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	forgetNote(ledger, path)
	return true, nil
}

// FollowTokenFile has the token file at path hold token, the access token
// now stored in place of was (tokens put back), if it holds was as the
// keeper writes it: written there while was was stored, it would hand out
// was until the keeper's next look, or for good with none running. With
// token "" (none stored now) the file is removed. A file holding anything
// else is left alone.
func FollowTokenFile(path, was, token, ledger string) error {
	if path == "" || was == "" || !holds(path, was+"\n") {
		return nil
	}
	if token == "" {
		_, err := ForgetTokenFile(path, was, ledger)
		return err
	}
	if err := atomicfile.Write(path, []byte(token+"\n"), atomicfile.Options{}); err != nil {
		return unwritableBecause(path, err)
	}
	return noteWritten(ledger, path, token+"\n")
}
