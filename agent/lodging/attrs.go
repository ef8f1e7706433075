package lodging

// The attributes of the lodging register's events in the record, one struct per kind,
// under the keys the register has always written. An entry is its random id: the
// guest's data is sealed elsewhere and never here.

// ListedAttrs are KindListed's.
type ListedAttrs struct {
	Entry    string `json:"entry"`
	Ward     string `json:"ward"`
	Source   string `json:"source"`
	Deadline string `json:"deadline"` // RFC 3339, UTC
}

// NotifiedAttrs are KindNotified's.
type NotifiedAttrs struct {
	Entry string `json:"entry"`
	Ward  string `json:"ward"`
	Late  bool   `json:"late"`
}

// ErasedAttrs are KindErased's.
type ErasedAttrs struct {
	Entry    string `json:"entry"`
	Ward     string `json:"ward"`
	Notified bool   `json:"notified"`
}

// ExportedAttrs are KindExported's.
type ExportedAttrs struct {
	Ward   string `json:"ward"`
	Rows   int    `json:"rows"`
	Format string `json:"format"`
}

// TypedAttrs are KindTyped's: how much was typed, never what.
type TypedAttrs struct {
	Entry  string `json:"entry"`
	Fields int    `json:"fields"`
	Chars  int    `json:"chars"`
}
