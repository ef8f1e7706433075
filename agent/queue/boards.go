package queue

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"sync"
	"time"

	"motcua-agent/agent/health"
	"motcua-agent/agent/web"
)

// BoardSoundDevice is the dashboard's line for the display boards' sound.
const BoardSoundDevice = "board-sound"

// boardSound keeps what each open display board last said of its sound: "on" (it
// can speak a call) or "blocked" (the browser refuses to play until someone taps the
// board). The first call of the day is silent on a blocked board, so the dashboard
// says which boards are blocked while the office can still fix it.
type boardSound struct {
	mu     sync.Mutex
	now    func() time.Time
	hl     *health.Registry
	boards map[string]boardReport
}

type boardReport struct {
	on   bool
	seen time.Time
}

// Boards report every minute; one silent for boardStale has been closed.
const (
	boardStale = 3 * time.Minute
	maxBoards  = 32
)

var boardIDRe = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)

func newBoardSound(hl *health.Registry, now func() time.Time) *boardSound {
	if now == nil {
		now = time.Now
	}
	return &boardSound{hl: hl, now: now, boards: map[string]boardReport{}}
}

// report records one board's state and updates the dashboard's line.
func (b *boardSound) report(id string, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.boards[id] = boardReport{on: on, seen: now}
	// Stale boards go; past maxBoards the oldest go, so a client cannot grow the map.
	ids := make([]string, 0, len(b.boards))
	for k, r := range b.boards {
		if now.Sub(r.seen) > boardStale {
			delete(b.boards, k)
			continue
		}
		ids = append(ids, k)
	}
	sort.Slice(ids, func(i, j int) bool { return b.boards[ids[i]].seen.After(b.boards[ids[j]].seen) })
	for _, k := range ids[min(len(ids), maxBoards):] {
		delete(b.boards, k)
	}
	b.update(now)
}

// update sets the dashboard's line from the fresh reports. b.mu is held.
func (b *boardSound) update(now time.Time) {
	if b.hl == nil {
		return
	}
	on, blocked := 0, 0
	for _, r := range b.boards {
		if now.Sub(r.seen) > boardStale {
			continue
		}
		if r.on {
			on++
		} else {
			blocked++
		}
	}
	d := health.Device{Name: BoardSoundDevice, Kind: "display"}
	switch {
	case blocked > 0:
		d.State, d.Detail = health.Degraded, fmt.Sprintf("%d board(s) cannot play sound until tapped", blocked)
		d.Message = fmt.Sprintf("%d màn hình gọi số chưa bật âm thanh: bấm nút “Bật âm thanh gọi số” trên màn hình đó, hoặc đặt trình duyệt của màn hình cho phép tự phát âm thanh (xem hướng dẫn cài đặt).", blocked)
	case on > 0:
		d.State, d.Detail = health.OK, fmt.Sprintf("%d board(s) with sound on", on)
		d.Message = fmt.Sprintf("Loa của %d màn hình gọi số đã bật.", on)
	default:
		b.hl.Remove(BoardSoundDevice)
		return
	}
	b.hl.Set(d)
}

// register adds the boards' report: POST /api/v1/display/sound {"board","state"}.
func (b *boardSound) register(s *web.Server) {
	s.HandleFunc("POST /api/v1/display/sound", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Board string `json:"board"`
			State string `json:"state"`
		}
		if !web.ReadJSON(w, r, &body) {
			return
		}
		if !boardIDRe.MatchString(body.Board) || (body.State != "on" && body.State != "blocked") {
			web.WriteError(w, http.StatusBadRequest, "board must be 1-40 of a-z, 0-9, - and state on or blocked", "Báo cáo âm thanh của màn hình không hợp lệ.")
			return
		}
		b.report(body.Board, body.State == "on")
		web.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}, web.RoleDisplay)
}
