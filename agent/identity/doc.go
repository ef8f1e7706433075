// Package identity is the chip ID card flow at a counter: it pairs a scanned QR or
// typed keys with the next card placed on that counter's reader, opens and reads the
// chip, verifies it (passive, active and chip authentication, QR agreement), records
// one identity.verified event and hands the result to local applications. Its panel
// shows the last read of each counter on that counter's pages (facts in Vietnamese,
// the holder's fields for roles allowed personal data) and, when an official asks,
// types the fields where the desktop's focus is (drivers/keyboard).
//
// It must never log or store names, ID numbers, addresses or photos except as the
// config allows: ID numbers go to the store only as the store's keyed hash. The panel
// holds a holder's data in memory only, for card.panel.clear_after at most; a typing
// is recorded with counts, never with what was typed.
package identity
