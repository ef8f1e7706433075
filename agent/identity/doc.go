// Package identity is the chip ID card flow at a counter: it pairs a scanned QR or
// typed keys with the next card placed on that counter's reader, opens and reads the
// chip, verifies it (passive, active and chip authentication, QR agreement), records
// one identity.verified event and hands the result to local applications.
//
// It must never log or store names, ID numbers, addresses or photos except as the
// config allows: ID numbers go to the store only as the store's keyed hash.
package identity
