package httpx

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// ListenFault is why an address could not be listened on, sorted by what
// a person does about it.
type ListenFault int

const (
	// ListenOther: another reason; another port may do.
	ListenOther ListenFault = iota
	// ListenBusy: something listens there already.
	ListenBusy
	// ListenPrivileged: a port only an administrator may listen on.
	ListenPrivileged
	// ListenOutOfFiles: no file could be opened for it; another address
	// would fail alike.
	ListenOutOfFiles
	// ListenNoSuchAddress: the host is no address of this machine.
	ListenNoSuchAddress
)

// ListenFailure sorts err, of net.Listen, and gives the system's own words
// for it, without the "listen tcp ADDR: bind:" before them, which repeats
// the address.
func ListenFailure(err error) (ListenFault, error) {
	cause := err
	var oe *net.OpError
	if errors.As(cause, &oe) {
		cause = oe.Err
	}
	var se *os.SyscallError
	if errors.As(cause, &se) {
		cause = se.Err
	}
	switch {
	case errors.Is(err, addrInUse):
		return ListenBusy, cause
	case errors.Is(err, os.ErrPermission):
		return ListenPrivileged, cause
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return ListenOutOfFiles, cause
	case errors.Is(err, addrNotAvailable):
		return ListenNoSuchAddress, cause
	}
	return ListenOther, cause
}
