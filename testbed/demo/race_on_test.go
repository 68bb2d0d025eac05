//go:build race

package demo

// raceEnabled: built with -race (everything runs several times slower).
const raceEnabled = true
