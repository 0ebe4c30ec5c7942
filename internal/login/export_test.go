package login

// ListenFailed is listenFailed, for telling listen errors no test can make
// happen on every machine (an address it does not have, too many files).
var ListenFailed = listenFailed
