//go:build !windows

package cli

import "os/user"

// currentUser is the user this process runs as, by name: only a Windows
// task names its user, so here it serves --dry-run --os windows, whose
// task is a description.
func currentUser() (string, error) {
	me, err := user.Current()
	if err != nil {
		return "", err
	}
	return me.Username, nil
}
