package winrmtest

// TB is the part of testing.TB that Start uses. Like net/http/httptest, this
// package imports no package testing, so a program (the demo) can link it;
// *testing.T and *testing.B satisfy TB.
type TB interface {
	Helper()
	Cleanup(func())
	TempDir() string
	Fatalf(format string, args ...any)
}
