package identity

import (
	"fmt"
	"motcua-agent/drivers/cccd"
	"motcua-agent/drivers/emrtd"
	"strings"
)

// KeysFrom turns the key options a person gives (exactly one of the ID card's QR, an MRZ,
// a CAN, or document number with birth and expiry dates) into candidate access keys.
func KeysFrom(qr, mrz, can, doc, dob, exp string) ([]emrtd.AccessKey, *cccd.QR, error) {
	given := 0
	for _, s := range []string{qr, mrz, can, doc} {
		if s != "" {
			given++
		}
	}
	if given != 1 {
		return nil, nil, fmt.Errorf("give exactly one of --qr, --mrz, --can or --doc/--dob/--expiry")
	}
	switch {
	case qr != "":
		q, err := cccd.ParseQR(qr)
		if err != nil {
			return nil, nil, err
		}
		return cccd.KeysFromQR(q), &q, nil
	case mrz != "":
		m, err := emrtd.ParseMRZ(mrz)
		if err != nil {
			return nil, nil, err
		}
		if len(m.CheckDigitErrors) > 0 {
			return nil, nil, fmt.Errorf("MRZ check digits do not verify: %s", strings.Join(m.CheckDigitErrors, ", "))
		}
		k := m.AccessKey()
		k.Label = "mrz"
		var keys []emrtd.AccessKey
		if id, err := cccd.IDFromMRZ(m); err == nil {
			keys = append(keys, emrtd.AccessKey{CAN: id[6:], Label: "mrz: CAN = last 6 digits of the ID"})
		}
		return append(keys, k), nil, nil
	case can != "":
		if len(can) != 6 || strings.Trim(can, "0123456789") != "" {
			return nil, nil, fmt.Errorf("--can wants 6 digits")
		}
		return []emrtd.AccessKey{{CAN: can, Label: "typed CAN"}}, nil, nil
	}
	if len(dob) != 6 || len(exp) != 6 {
		return nil, nil, fmt.Errorf("--doc needs --dob YYMMDD and --expiry YYMMDD")
	}
	var keys []emrtd.AccessKey
	if len(doc) == 12 && strings.Trim(doc, "0123456789") == "" {
		// A CCCD's 12-digit ID: the MRZ carries its last 9 digits, the CAN its last 6.
		keys = append(keys, emrtd.AccessKey{CAN: doc[6:], Label: "typed ID: CAN = last 6 digits"})
		doc = doc[3:]
	}
	return append(keys, emrtd.AccessKey{DocumentNumber: strings.ToUpper(doc), DateOfBirth: dob, DateOfExpiry: exp, Label: "typed"}), nil, nil
}
