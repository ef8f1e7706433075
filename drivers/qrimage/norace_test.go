//go:build !race

package qrimage

const raceEnabled = false
