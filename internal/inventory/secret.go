package inventory

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
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
		return "", &ResolveError{Reason: "both"}
	case r.Env != "":
		if lookupEnv == nil {
			lookupEnv = os.LookupEnv
		}
		v, ok := lookupEnv(r.Env)
		if !ok {
			return "", &ResolveError{Reason: "env_unset", Args: []string{r.Env}}
		}
		if v == "" {
			return "", &ResolveError{Reason: "env_empty", Args: []string{r.Env}}
		}
		return v, nil
	case r.File != "":
		f, err := os.Open(expandHome(r.File))
		if err != nil {
			return "", &ResolveError{Reason: "file_open", Args: []string{r.File}, Err: unwrapOpenErr(err)}
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
		if err != nil {
			return "", &ResolveError{Reason: "file_read", Args: []string{r.File}, Err: unwrapOpenErr(err)}
		}
		if len(b) > maxSecretFile {
			return "", &ResolveError{Reason: "file_large", Args: []string{r.File, strconv.Itoa(maxSecretFile >> 10)}}
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", &ResolveError{Reason: "file_empty", Args: []string{r.File}}
		}
		return v, nil
	}
	return "", &ResolveError{Reason: "none"}
}

// ResolveError is why a secret reference does not resolve: Reason names the
// sentence (Error), Args its data (the variable or file name, a size), Err
// what the system said (file_open, file_read), so a report can say it in
// another language.
type ResolveError struct {
	Reason string
	Args   []string
	Err    error
}

func (e *ResolveError) Error() string {
	arg := func(i int) string {
		if i < len(e.Args) {
			return e.Args[i]
		}
		return ""
	}
	switch e.Reason {
	case "both":
		return "secret reference names both env and file"
	case "env_unset":
		return fmt.Sprintf("environment variable %s is not set", arg(0))
	case "env_empty":
		return fmt.Sprintf("environment variable %s is empty", arg(0))
	case "file_open":
		return fmt.Sprintf("secret file %s: %v", arg(0), e.Err)
	case "file_read":
		return fmt.Sprintf("secret file %s: cannot read: %v", arg(0), e.Err)
	case "file_large":
		return fmt.Sprintf("secret file %s is larger than %s KiB; it should hold only the secret", arg(0), arg(1))
	case "file_empty":
		return fmt.Sprintf("secret file %s is empty", arg(0))
	}
	return "no secret reference given"
}

func (e *ResolveError) Unwrap() error { return e.Err }

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
