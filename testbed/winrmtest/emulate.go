package winrmtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
)

// launch says how the server runs one command line.
type launch struct {
	script string // run with /bin/sh -c
	refuse string // when non-empty: do not run; fail with exit code 1 and this on stderr
}

// digest is the key of a registered command line: the SHA-256 of the line
// without surrounding blanks (as the server assembles it from the request).
func digest(cmdline string) [sha256.Size]byte {
	return sha256.Sum256([]byte(strings.TrimSpace(cmdline)))
}

// Register makes the server run sh (a POSIX sh script, with /bin/sh -c) in
// place of the exact command line command, whatever that is: this is how a
// PowerShell command, which the server cannot run, gets behaviour. The
// command line sent to a real Windows host carries nothing for the test.
// A later Register of the same command line replaces the script. Safe for
// concurrent use.
func (s *Server) Register(command, sh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scripts == nil {
		s.scripts = map[[sha256.Size]byte]string{}
	}
	s.scripts[digest(command)] = sh
}

// registered returns the script registered for cmdline.
func (s *Server) registered(cmdline string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.scripts[digest(cmdline)]
	return sh, ok
}

// emulate maps a WinRM command line to what this Linux server runs:
//   - a command line registered (Server.Register): its sh script;
//   - any other PowerShell command line (powershell.exe, pwsh, with or without
//     path): refused, since the server cannot run PowerShell; with
//     -EncodedCommand (also -enc, -ec, -e) the message names the decoded
//     script's first line;
//   - any other command line is run as-is with /bin/sh -c (not cmd.exe semantics).
func emulate(cmdline string, registered func(string) (string, bool)) launch {
	if sh, ok := registered(cmdline); ok {
		return launch{script: sh}
	}
	fields := strings.Fields(cmdline)
	if len(fields) == 0 {
		return launch{refuse: "winrmtest: empty command line"}
	}
	exe := strings.ToLower(strings.Trim(fields[0], `"'`))
	exe = path.Base(strings.ReplaceAll(exe, `\`, "/"))
	switch exe {
	case "powershell", "powershell.exe", "pwsh", "pwsh.exe":
	default:
		return launch{script: cmdline}
	}
	sum := digest(cmdline)
	refuse := fmt.Sprintf("winrmtest: cannot run PowerShell, and no sh script is registered for this command line (sha256 %s; see Server.Register)", hex.EncodeToString(sum[:8]))
	for i := 1; i < len(fields); i++ {
		f := strings.ToLower(fields[i])
		if !strings.HasPrefix(f, "-") && !strings.HasPrefix(f, "/") {
			continue
		}
		name := f[1:]
		// PowerShell accepts -e, -ec and any prefix of -encodedcommand.
		if name == "e" || name == "ec" || (len(name) >= 2 && strings.HasPrefix("encodedcommand", name)) {
			if i+1 >= len(fields) {
				return launch{refuse: "winrmtest: -EncodedCommand without a value"}
			}
			script, err := decodeEncodedCommand(fields[i+1])
			if err != nil {
				return launch{refuse: "winrmtest: " + err.Error()}
			}
			first, _, _ := strings.Cut(strings.TrimLeft(script, "\r\n"), "\n")
			return launch{refuse: fmt.Sprintf("%s: script %.80q", refuse, strings.TrimRight(first, "\r"))}
		}
	}
	return launch{refuse: refuse}
}

// decodeEncodedCommand reverses PowerShell's -EncodedCommand: base64 of UTF-16LE.
func decodeEncodedCommand(b64 string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("-EncodedCommand is not base64: %v", err)
	}
	s, err := fromUTF16le(raw)
	if err != nil {
		return "", fmt.Errorf("-EncodedCommand is not UTF-16LE: %v", err)
	}
	return s, nil
}

// EncodePowerShell builds the command line a Windows client sends for script:
// `powershell.exe -NoProfile -NonInteractive -EncodedCommand B64` (B64 = base64 of UTF-16LE).
func EncodePowerShell(script string) string {
	return "powershell.exe -NoProfile -NonInteractive -EncodedCommand " + base64.StdEncoding.EncodeToString(utf16le(script))
}
