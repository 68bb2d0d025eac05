package winrmtest

import (
	"encoding/base64"
	"fmt"
	"path"
	"strings"
)

// EmulateMarker starts the line of a PowerShell script that tells this server
// which POSIX sh script stands in for it: "#arcfleet-emulate-sh: BASE64".
// To PowerShell the line is a comment, so the same script runs unchanged on a
// real Windows host.
const EmulateMarker = "#arcfleet-emulate-sh:"

// launch says how the server runs one command line.
type launch struct {
	script string // run with /bin/sh -c
	refuse string // when non-empty: do not run; fail with exit code 1 and this on stderr
}

// emulate maps a WinRM command line to what this Linux server runs:
//   - `powershell.exe ... -EncodedCommand B64` (also pwsh, -enc, -ec, -e): B64 is
//     base64 of a UTF-16LE script; if the script has an EmulateMarker line, its
//     payload (base64 of a POSIX sh script) is run; otherwise the command is
//     refused, since the server cannot run PowerShell.
//   - any other command line is run as-is with /bin/sh -c (not cmd.exe semantics).
func emulate(cmdline string) launch {
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
			return emulateScript(script)
		}
	}
	return launch{refuse: "winrmtest: cannot run PowerShell; send the script as -EncodedCommand with an " + EmulateMarker + " line"}
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

func emulateScript(ps string) launch {
	for _, line := range strings.Split(ps, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), EmulateMarker)
		if !ok {
			continue
		}
		sh, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return launch{refuse: fmt.Sprintf("winrmtest: %s payload is not base64: %v", EmulateMarker, err)}
		}
		return launch{script: string(sh)}
	}
	return launch{refuse: "winrmtest: cannot run PowerShell and the script has no " + EmulateMarker + " line"}
}

// EncodePowerShell builds the command line a Windows client sends for script:
// `powershell.exe -NoProfile -NonInteractive -EncodedCommand B64` (B64 = base64 of UTF-16LE).
func EncodePowerShell(script string) string {
	return "powershell.exe -NoProfile -NonInteractive -EncodedCommand " + base64.StdEncoding.EncodeToString(utf16le(script))
}

// EmulationLine returns the PowerShell comment line that makes this server run
// sh in place of the script that carries it.
func EmulationLine(sh string) string {
	return EmulateMarker + " " + base64.StdEncoding.EncodeToString([]byte(sh))
}
