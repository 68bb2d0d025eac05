//go:build !unix

package planner

func openFileLimit() (uint64, bool) { return 0, false }
