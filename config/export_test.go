package config

// ForgetFetchedDiscoveries makes this process as a new one to discovery.
func ForgetFetchedDiscoveries() { fetchedDocuments.Clear() }

// ChangeTime is when fi's file last changed in any way, where the system
// keeps it; the zero time elsewhere.
var ChangeTime = changeTime
