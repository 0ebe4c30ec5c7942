package service

// SettingsDigest is settingsDigest, for tests that write a unit as another
// freshtoken would have.
var SettingsDigest = settingsDigest
