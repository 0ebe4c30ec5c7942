package cli

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// currentUser is the security identifier (SID) of the user this process
// runs as, read from its own token: no account lookup, which can fail (a
// domain controller out of reach) where the token cannot.
func currentUser() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("could not read this process's user from its token: %w", err)
	}
	return u.User.Sid.String(), nil
}
