//go:build race

package main

// raceBuild: the arcfleet binary under test is built with -race too, so a data
// race in the real process (signals, progress, fan-out) fails its run (exit 66).
const raceBuild = true
