//go:build tools

// Package arcfleet pins the chosen dependencies in go.mod before every package uses them.
package arcfleet

import (
	_ "github.com/Azure/go-ntlmssp"
	_ "github.com/masterzen/winrm"
	_ "github.com/schollz/progressbar/v3"
	_ "golang.org/x/crypto/ssh"
	_ "golang.org/x/crypto/ssh/agent"
	_ "golang.org/x/crypto/ssh/knownhosts"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/term"
	_ "gopkg.in/yaml.v3"
)
