//go:build race

package qrimage

// raceEnabled: the race detector slows gozxing about tenfold, so the blackbox test
// checks the upright images only under -race (all four rotations run without it).
const raceEnabled = true
