package web

import (
	"context"

	"motcua-agent/config/vocab"
)

// Block is one flow's card on the dashboard: a title, rows of label and value in the
// flow's own order, a state that colours the card and an optional note under it. It is
// the one shape the dashboard page renders; every flow says its figures in Vietnamese
// words itself (vocab.Number, vocab.Decimal, vocab.Seconds), so the page never guesses.
type Block struct {
	Title string     `json:"title"`
	Rows  []Row      `json:"rows"`
	State BlockState `json:"state"`
	Note  string     `json:"note,omitempty"`
}

// Row is one line of a Block.
type Row struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// BlockState is how a Block stands: the page colours the card by it.
type BlockState string

const (
	BlockOK    BlockState = "ok"
	BlockWarn  BlockState = "warn"  // working, but someone should look (a queue backing up, a warning due)
	BlockFault BlockState = "fault" // the flow cannot say its figures or a part of it is down
)

// StatusFunc gives a flow's block at the moment the dashboard asks.
type StatusFunc func(context.Context) Block

// Add appends a row.
func (b *Block) Add(label, value string) { b.Rows = append(b.Rows, Row{Label: label, Value: value}) }

// AddNumber appends a row whose value is a whole number, with dots between thousands.
func (b *Block) AddNumber(label string, n int64) { b.Add(label, vocab.Number(n)) }

// Warn raises the block's state to warn (a fault stays a fault).
func (b *Block) Warn() {
	if b.State != BlockFault {
		b.State = BlockWarn
	}
}

// Fault marks the block as failed.
func (b *Block) Fault() { b.State = BlockFault }

// FaultBlock is the block of a flow that could not read its figures: the note says so
// in Vietnamese; the cause belongs in the flow's log.
func FaultBlock(title, note string) Block {
	return Block{Title: title, Rows: []Row{}, State: BlockFault, Note: note}
}

// Value is the value of the first row with the label (ok false when there is none).
func (b Block) Value(label string) (string, bool) {
	for _, r := range b.Rows {
		if r.Label == label {
			return r.Value, true
		}
	}
	return "", false
}
