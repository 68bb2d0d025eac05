package inventory

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxSecretFile bounds how much of a secret file is read: a secret is short, and a
// wrong path (a log, a device) should fail fast instead of filling memory.
const maxSecretFile = 64 << 10

// Resolve returns the secret's value: the environment variable's value (looked up
// with lookupEnv, so tests and callers control the environment) or the file's
// content without its trailing newline. The error names the reference, never the value.
func (r SecretRef) Resolve(lookupEnv func(string) (string, bool)) (string, error) {
	switch {
	case r.Env != "" && r.File != "":
		return "", errors.New("secret reference names both env and file")
	case r.Env != "":
		if lookupEnv == nil {
			lookupEnv = os.LookupEnv
		}
		v, ok := lookupEnv(r.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", r.Env)
		}
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty", r.Env)
		}
		return v, nil
	case r.File != "":
		f, err := os.Open(expandHome(r.File))
		if err != nil {
			return "", fmt.Errorf("secret file %s: %w", r.File, unwrapOpenErr(err))
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
		if err != nil {
			return "", fmt.Errorf("secret file %s: cannot read: %w", r.File, unwrapOpenErr(err))
		}
		if len(b) > maxSecretFile {
			return "", fmt.Errorf("secret file %s is larger than %d KiB; it should hold only the secret", r.File, maxSecretFile>>10)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", r.File)
		}
		return v, nil
	}
	return "", errors.New("no secret reference given")
}

// unwrapOpenErr drops the path (already in our message) from an *os.PathError.
func unwrapOpenErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// expandHome turns a leading "~/" into the user's home directory.
func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return home + p[1:]
		}
	}
	return p
}
