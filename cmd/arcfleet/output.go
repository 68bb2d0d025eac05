package main

// outputOptions are the global output flags every command gets through env.out:
// --log-format text|json, -v/--verbose, -q/--quiet. The CLI framework (main.go)
// binds them; their behaviour belongs to the log/live-view code.
type outputOptions struct {
	Format         string
	Verbose, Quiet bool
}
