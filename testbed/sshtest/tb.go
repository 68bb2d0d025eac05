package sshtest

// TB is the part of testing.TB that StartFleet and BuildSim use. Like
// net/http/httptest, this package imports no package testing, so a program
// (the demo) can link it; *testing.T and *testing.B satisfy TB.
type TB interface {
	Helper()
	Cleanup(func())
	TempDir() string
	Skip(args ...any)
	Fatalf(format string, args ...any)
}
