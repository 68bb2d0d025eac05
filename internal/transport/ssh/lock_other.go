//go:build !unix

package ssh

import "os"

// Without flock only the Dialer's in-process mutex serialises appends.
func lockFile(*os.File) error   { return nil }
func unlockFile(*os.File) error { return nil }
