package config

// ForgetFetchedDiscoveries makes this process as a new one to discovery.
func ForgetFetchedDiscoveries() { fetchedDocuments.Clear() }
