package cccd

import (
	"fmt"

	"motcua-agent/drivers/emrtd"
)

// IDFromMRZ extracts the 12-digit ID number a CCCD carries at the start of the
// optional data of its TD1 MRZ, and checks it against the document number (the ID's
// last nine digits).
func IDFromMRZ(m *emrtd.MRZ) (string, error) {
	if m == nil || m.Format != "TD1" {
		return "", fmt.Errorf("ID from MRZ: a CCCD has a TD1 (3-line) MRZ")
	}
	opt := m.OptionalData1
	if len(opt) < 12 || !isDigits(opt[:12], 12) {
		return "", fmt.Errorf("ID from MRZ: optional data does not start with a 12-digit ID")
	}
	id := opt[:12]
	if id[3:] != m.DocumentNumber {
		return "", fmt.Errorf("ID from MRZ: the ID's last 9 digits differ from the document number")
	}
	return id, nil
}
