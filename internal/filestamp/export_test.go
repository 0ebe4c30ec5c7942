package filestamp

// ChangeTime is when fi's file last changed in any way, where the system
// keeps it; the zero time elsewhere.
var ChangeTime = changeTime
