package identity

import "motcua-agent/drivers/emrtd"

// Fact is one check of a card read as the official reads it: a plain Vietnamese
// sentence and, when the check failed, what to do.
type Fact struct {
	Check string `json:"check"` // access, chip, data, qr, chain, read
	State string `json:"state"` // ok, bad, warn, info
	Text  string `json:"text"`
	Todo  string `json:"todo,omitempty"`
}

// Fact states.
const (
	FactOK   = "ok"
	FactBad  = "bad"
	FactWarn = "warn"
	FactInfo = "info"
)

const todoTampered = "Thẻ có dấu hiệu bị sửa: không tiếp nhận, báo cán bộ phụ trách."

// Facts turns a finished read into the sentences the panel shows, in a fixed order:
// opening the chip, the chip is genuine, the data is unaltered, the QR agrees, the
// certificate chain.
func Facts(s Status) []Fact {
	if s.State != "done" {
		return nil
	}
	switch s.Reason {
	case ReasonCardRemoved:
		return []Fact{{Check: "read", State: FactBad, Text: "Thẻ bị nhấc ra khi đang đọc.", Todo: "Đặt lại thẻ lên đầu đọc và giữ yên."}}
	case ReasonTimeout, ReasonReadError:
		return []Fact{{Check: "read", State: FactBad, Text: "Không đọc được chip.", Todo: "Đặt lại thẻ; nếu vẫn lỗi, thử đầu đọc khác."}}
	case ReasonNoReader:
		return []Fact{{Check: "read", State: FactBad, Text: "Không thấy đầu đọc thẻ.", Todo: "Kiểm tra dây cắm đầu đọc thẻ."}}
	}
	c := s.Checks
	if c == nil || s.Reason == ReasonAccessDenied {
		todo := "Kiểm tra lại số đã nhập (6 chữ số in ở góc mặt trước thẻ, hoặc số định danh và ngày sinh), rồi đặt lại thẻ."
		if s.KeySource == "qr" {
			todo = "Quét mã QR trên chính thẻ này rồi đặt lại thẻ; hoặc nhập 6 chữ số in ở góc mặt trước thẻ."
		}
		return []Fact{{Check: "access", State: FactBad, Text: "Không mở được chip: số dùng để mở không khớp với thẻ.", Todo: todo}}
	}
	out := []Fact{{Check: "access", State: FactOK, Text: "Đã mở được chip" + methodVI(s.Method) + "."}}
	out = append(out, chipFact(c))
	out = append(out, dataFact(c))
	out = append(out, qrFact(c, s.KeySource))
	out = append(out, chainFact(c.Chain))
	return out
}

// methodVI says, in an official's words, what opened the chip: the protocol's name
// (PACE, BAC) means nothing at a counter, so it stays in the logs and the record.
func methodVI(m string) string {
	if m == "PACE-CAN" {
		return " bằng số in trên thẻ"
	}
	return ""
}

func chipFact(c *StatusChecks) Fact {
	for _, st := range []emrtd.CheckStatus{c.ChipAuth, c.ActiveAuth} {
		if st == emrtd.CheckFailed || st == emrtd.CheckError {
			return Fact{Check: "chip", State: FactBad, Text: "Chip không vượt qua bước xác thực chống sao chép.",
				Todo: "Thẻ có dấu hiệu bị sao chép: không tiếp nhận, báo cán bộ phụ trách."}
		}
	}
	if c.ChipAuth == emrtd.CheckPassed || c.ActiveAuth == emrtd.CheckPassed {
		return Fact{Check: "chip", State: FactOK, Text: "Chip thật."}
	}
	return Fact{Check: "chip", State: FactInfo, Text: "Thẻ không hỗ trợ xác thực chống sao chép; chỉ kiểm được chữ ký dữ liệu."}
}

func dataFact(c *StatusChecks) Fact {
	for _, st := range c.DataGroups {
		if st != string(emrtd.CheckPassed) {
			return Fact{Check: "data", State: FactBad, Text: "Dữ liệu trong chip đã bị sửa (không khớp chữ ký số).", Todo: todoTampered}
		}
	}
	switch {
	case len(c.DataGroups) == 0:
		return Fact{Check: "data", State: FactBad, Text: "Không kiểm được dữ liệu trong chip.", Todo: "Đặt lại thẻ và đọc lại."}
	case c.SODSignature != emrtd.CheckPassed:
		return Fact{Check: "data", State: FactBad, Text: "Chữ ký số của dữ liệu trong chip không đúng.", Todo: todoTampered}
	}
	return Fact{Check: "data", State: FactOK, Text: "Dữ liệu không bị sửa."}
}

func qrFact(c *StatusChecks, source string) Fact {
	switch c.QRAgreement {
	case emrtd.CheckPassed:
		return Fact{Check: "qr", State: FactOK, Text: "Mã QR khớp với chip."}
	case emrtd.CheckFailed:
		return Fact{Check: "qr", State: FactBad, Text: "Mã QR không khớp với chip.",
			Todo: "Mã QR không phải của thẻ này: quét lại mã QR trên chính thẻ; nếu vẫn không khớp, báo cán bộ phụ trách."}
	}
	if source == "typed" {
		return Fact{Check: "qr", State: FactInfo, Text: "Không có mã QR để đối chiếu (chip mở bằng thông tin nhập tay)."}
	}
	return Fact{Check: "qr", State: FactInfo, Text: "Chưa đối chiếu được mã QR với chip."}
}

func chainFact(ch emrtd.ChainStatus) Fact {
	switch ch {
	case emrtd.ChainTrusted:
		return Fact{Check: "chain", State: FactOK, Text: "Chuỗi chứng thư: tin cậy."}
	case emrtd.ChainNoAnchor:
		return Fact{Check: "chain", State: FactWarn, Text: "Chuỗi chứng thư: chưa có gốc tin cậy.",
			Todo: "Chưa kết luận được thẻ do cơ quan nào cấp: nhờ bộ phận CNTT nạp chứng thư gốc CSCA (motcua-agent trust import)."}
	}
	return Fact{Check: "chain", State: FactBad, Text: "Chuỗi chứng thư: không tin cậy.", Todo: todoTampered}
}
