package app

import (
	"context"
	"motcua-agent/agent/checkin"
	"motcua-agent/agent/queue"
	"motcua-agent/agent/web"
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
	{"retention", startRetention},            // prunes events past privacy.retention_days
	{"gate-simulation", startGateSimulation}, // simulated turnstile sensors, demo only
	{"gate", startGate},                      // entry/exit counting, occupancy, relay
	{"scan", startScan},                      // QR scanners and the dossier scan folder
	{"card", startCard},                      // chip ID card reader (or the simulated card)
	{"queue", startQueue},                    // tickets, printer, displays, keypad, voice
	{"sync", startSync},                      // pushes counters to the provincial hub
}

// labelMetrics gives the dashboard the Vietnamese name of every metric the parts count.
func labelMetrics() {
	web.LabelMetric("identity.verifications", "Lượt xác thực thẻ căn cước gắn chip")
	web.LabelMetric("identity.people", "Số người đã xác thực chip (không trùng)")
	web.LabelMetric(queue.MetricIssued, "Số vé đã phát")
	web.LabelMetric(queue.MetricServed, "Số lượt đã phục vụ")
	web.LabelMetric(queue.MetricNoShow, "Số lượt vắng mặt")
	web.LabelMetric(queue.MetricWaitSeconds, "Tổng thời gian chờ (giây)")
	web.LabelMetric(queue.MetricServiceSeconds, "Tổng thời gian phục vụ (giây)")
	web.LabelMetric(queue.MetricUnprinted, "Số vé không in được")
	web.LabelMetric(checkin.MetricCheckins, "Lượt tiếp đón bằng mã QR")
	web.LabelMetric(checkin.MetricPeople, "Số người tiếp đón (không trùng)")
	web.LabelMetric(checkin.MetricScans, "Lượt quét mã QR")
}
