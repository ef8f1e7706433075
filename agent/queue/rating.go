package queue

// Citizens' satisfaction ratings of finished tickets: one per ticket, only after it is
// finished, within queue.rating.window_minutes, on the canonical scale 1..5 whatever
// the site shows. A rating is counted under the service and counter that finished the
// ticket (vocab.Ratings, vocab.RatingsSatisfied) and never published on the bus: the
// counter console never sees it.

import (
	"context"
	"crypto/hmac"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
)

// Channels a rating may come by.
const (
	ChannelTablet = "tablet"
	ChannelKeypad = "keypad"
	ChannelQR     = "qr"
)

// levelWords name the canonical levels as the ministries' five-level survey does.
var levelWords = map[int]string{1: "Rất không hài lòng", 2: "Không hài lòng", 3: "Bình thường", 4: "Hài lòng", 5: "Rất hài lòng"}

// LevelWords is a canonical level's name on a site showing n levels: three levels
// read "Không hài lòng", "Bình thường", "Hài lòng".
func LevelWords(level, n int) string {
	if n == 3 {
		return map[int]string{1: "Không hài lòng", 3: "Bình thường", 5: "Hài lòng"}[level]
	}
	return levelWords[level]
}

// satisfied are the top two canonical levels (the satisfaction share's numerator).
func satisfied(level int) bool { return level >= 4 }

// lowLevel is a level that may carry reasons.
func lowLevel(level int) bool { return level <= 3 }

// RatingRequest is one rating.
type RatingRequest struct {
	Number  int
	Level   int
	Reasons []string
	Channel string
}

// Rating is a recorded rating, as the rating pages are told (never the officer).
type Rating struct {
	Number  int    `json:"number"`
	Level   int    `json:"level"`
	Channel string `json:"channel"`
}

// RatingKey is the secret of a ticket's own rating link: a keyed hash of its day and
// number, so nobody can rate another's ticket by guessing a number ("" when the agent
// makes no rating links).
func (q *Queue) RatingKey(day string, number int) string {
	if q.sign == nil || !q.cfg.Rating.Enabled {
		return ""
	}
	return q.sign(fmt.Sprintf("queue-rating\x00%s\x00%d", day, number))[:24]
}

// checkRatingKey says whether key is the rating link's secret of today's ticket.
func (q *Queue) checkRatingKey(day string, number int, key string) bool {
	want := q.RatingKey(day, number)
	return want != "" && hmac.Equal([]byte(want), []byte(key))
}

func (q *Queue) window() time.Duration {
	return time.Duration(q.cfg.Rating.WindowMinutes) * time.Minute
}

// ratable says why a ticket cannot be rated now (nil: it can). Called with mu held.
func (q *Queue) ratable(t *Ticket, now time.Time) error {
	switch {
	case !q.cfg.Rating.Enabled:
		return refuse(http.StatusNotFound, "Điểm phục vụ này chưa bật đánh giá mức độ hài lòng.", "ratings are off (queue.rating.enabled)")
	case t.rating != 0:
		return refuse(http.StatusConflict, "Lượt phục vụ này đã được đánh giá. Mỗi lượt chỉ đánh giá một lần, xin cảm ơn ông/bà.",
			"ticket %d is already rated", t.Number)
	case t.State != Done:
		return refuse(http.StatusConflict, "Số này chưa được phục vụ xong nên chưa đánh giá được.",
			"ticket %d is %s, not finished", t.Number, t.State)
	case now.Sub(t.FinishedAt) > q.window():
		return refuse(http.StatusGone, fmt.Sprintf("Đã quá %d phút kể từ khi phục vụ xong nên không đánh giá được nữa.", q.cfg.Rating.WindowMinutes),
			"ticket %d was finished more than %s ago", t.Number, q.window())
	}
	return nil
}

// checkRating says what is wrong with a request's level, reasons and channel.
func (q *Queue) checkRating(r RatingRequest) error {
	if !slices.Contains(config.RatingLevels(q.cfg.Rating.Levels), r.Level) {
		return refuse(http.StatusBadRequest, "Mức đánh giá không hợp lệ.", "level %d is not one of %v", r.Level, config.RatingLevels(q.cfg.Rating.Levels))
	}
	switch r.Channel {
	case ChannelTablet, ChannelKeypad, ChannelQR:
	default:
		return refuse(http.StatusBadRequest, "Yêu cầu không hợp lệ.", "channel must be tablet, keypad or qr")
	}
	if len(r.Reasons) > 0 && !lowLevel(r.Level) {
		return refuse(http.StatusBadRequest, "Chỉ chọn lý do khi chưa hài lòng.", "reasons go with a level of 3 or less")
	}
	seen := map[string]bool{}
	for _, why := range r.Reasons {
		if !slices.Contains(q.cfg.Rating.Reasons, why) || seen[why] {
			return refuse(http.StatusBadRequest, "Lý do không có trong danh sách.", "reason not in queue.rating.reasons (or given twice)")
		}
		seen[why] = true
	}
	return nil
}

// Rate records a citizen's rating of a finished ticket of today.
func (q *Queue) Rate(ctx context.Context, r RatingRequest) (Rating, error) {
	if err := q.checkRating(r); err != nil {
		return Rating{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	b := q.today(now)
	t, err := b.find(r.Number)
	if err != nil {
		return Rating{}, err
	}
	return q.rateLocked(ctx, b, t, r, now)
}

func (q *Queue) rateLocked(ctx context.Context, b *book, t *Ticket, r RatingRequest, now time.Time) (Rating, error) {
	if err := q.ratable(t, now); err != nil {
		return Rating{}, err
	}
	dims := ticketDims(t.Service, t.ServedBy)
	level := map[string]string{vocab.DimService: t.Service, vocab.DimCounter: t.ServedBy, vocab.DimLevel: strconv.Itoa(r.Level)}
	counts := []store.Count{{Metric: vocab.Ratings, Dims: level, Value: 1}}
	if satisfied(r.Level) {
		counts = append(counts, store.Count{Metric: vocab.RatingsSatisfied, Dims: dims, Value: 1})
	}
	attrs := &RatedAttrs{TicketAttrs{Number: t.Number, Staff: t.finishedBy}, r.Level, r.Channel, append([]string{}, r.Reasons...)}
	if _, err := q.commit(ctx, b, record{store.Event{Kind: KindRated, Time: now, Service: t.Service, Counter: t.ServedBy,
		Counts: counts}, attrs}); err != nil {
		return Rating{}, err
	}
	return Rating{Number: t.Number, Level: r.Level, Channel: r.Channel}, nil
}

// lastFinished is the ticket a counter finished last today. Called with mu held.
func (b *book) lastFinished(counter string) *Ticket {
	var last *Ticket
	for _, t := range b.tickets {
		if t.State == Done && t.ServedBy == counter && (last == nil || t.FinishedAt.After(last.FinishedAt)) {
			last = t
		}
	}
	return last
}

// RateLast rates the ticket a counter finished last (a rating keypad's key).
func (q *Queue) RateLast(ctx context.Context, counter string, level int, channel string) (Rating, error) {
	if err := q.checkCounter(counter); err != nil {
		return Rating{}, err
	}
	r := RatingRequest{Level: level, Channel: channel}
	if err := q.checkRating(r); err != nil {
		return Rating{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	b := q.today(now)
	t := b.lastFinished(counter)
	if t == nil {
		return Rating{}, refuse(http.StatusNotFound, "Quầy này chưa phục vụ xong lượt nào hôm nay.", "counter %s has finished nothing today", counter)
	}
	r.Number = t.Number
	return q.rateLocked(ctx, b, t, r, now)
}

// Prompt is what a counter's rating tablet shows: the ticket just finished there, until
// when (Number 0: nothing to rate).
type Prompt struct {
	Number int       `json:"number"`
	Until  time.Time `json:"until,omitzero"`
}

// PromptFor is the ticket a counter finished within the last queue.rating.prompt_seconds
// and that is not yet rated.
func (q *Queue) PromptFor(counter string) Prompt {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	t := q.today(now).lastFinished(counter)
	shown := time.Duration(q.cfg.Rating.PromptSeconds) * time.Second
	if t == nil || t.rating != 0 || now.Sub(t.FinishedAt) > shown || q.ratable(t, now) != nil {
		return Prompt{}
	}
	return Prompt{Number: t.Number, Until: t.FinishedAt.Add(shown)}
}
