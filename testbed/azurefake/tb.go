package azurefake

// TB is the part of testing.TB the rig uses (the package imports no testing).
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}
