//go:build !unix

package executor

func openFileLimit() (uint64, bool) { return 0, false }
