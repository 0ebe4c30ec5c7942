package keyringstore

// AttributeCalls is how many items' attributes saves and deletes have read
// and written in this process, one call to the keychain each.
func AttributeCalls() (reads, writes int64) { return attributeReads.Load(), attributeWrites.Load() }
