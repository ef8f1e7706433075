package app

import (
	"context"
)

// Part is one piece of the running agent. Start sets it up and returns; whatever runs
// on afterwards goes in a.Go and must return when ctx ends, which is how every part is
// stopped. An error from Start stops the agent before it listens.
type Part struct {
	Name  string
	Start func(ctx context.Context, a *App) error
}

// Parts is every part of the agent, in the order Run starts them. A later part may use
// what an earlier one registered (the queue watches the card flow's bus topic, so the
// card reader starts first).
var Parts = []Part{
	{"record", startRecord},                  // storage faults: probe, dashboard, /healthz
	{"retention", startRetention},            // prunes events past privacy.retention_days
	{"gate-simulation", startGateSimulation}, // simulated turnstile sensors, demo only
	{"gate", startGate},                      // entry/exit counting, occupancy, relay
	{"clinic", startClinic},                  // health-insurance look-ups at reception (listens before scans)
	{"lodging", startLodging},                // the night's lodging list at hospital wards (listens before scans)
	{"scan", startScan},                      // QR scanners and the dossier scan folder
	{"card", startCard},                      // chip ID card reader (or the simulated card)
	{"queue", startQueue},                    // tickets, printer, displays, keypad, voice
	{"update", startUpdate},                  // proves a new version on trial; applies the hub's rollouts (before sync, which carries its state)
	{"sync", startSync},                      // pushes counters to the provincial hub
}
