// Package bhyt is the client of the social-insurance gateway's health-insurance card
// check (thẻ BHYT): a token per operator account, the card check by ID or card number
// with the patient's name and birth date, and a strict parser of its answers. Beside
// it, Simulator speaks the same HTTP wire with fictional accounts and cards and faults
// on demand (slow, down, 5xx, expired tokens, malformed and oversized answers).
//
// The wire (hosts, endpoints, fields, result codes) lives in wire.go alone. Everything
// a look-up carries or answers is personal, health-related data: this package never
// logs, and its errors never carry a name, ID or card number, a token or a password.
// It knows nothing of stations, pages or counters.
package bhyt
