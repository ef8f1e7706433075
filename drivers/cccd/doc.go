// Package cccd knows the Vietnamese chip ID card (CCCD 2021 and the 2024 "thẻ căn
// cước") beyond ICAO 9303: the QR printed on the card, the Vietnamese data group DG13,
// the access keys that can be derived from what a citizen shows (QR, typed ID, MRZ),
// and the comparison between what the QR says and what the chip says.
//
// It parses bytes that come from outside (QR scanners, cards) and must never panic or
// allocate without bound on them. It never logs: the values it handles are personal
// data, so callers decide what may be kept.
package cccd
