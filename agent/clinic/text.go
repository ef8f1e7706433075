package clinic

import "motcua-agent/drivers/bhyt"

// Every text the nurse sees from this package, in one place for a Vietnamese reader.
// (The page's own labels are in pages/reception.html.)

const (
	textChecking     = "Đang kiểm tra thẻ BHYT…"
	textQueued       = "Chưa kiểm tra được, sẽ kiểm tra lại khi có mạng"
	textQueuedAdvice = "Cổng giám định BHYT chưa trả lời. Có thể tiếp tục tiếp đón; kết quả sẽ hiện ở đây khi có mạng."
	textGatewayOK    = "Cổng giám định BHYT trả lời bình thường"
	textGatewayDown  = "Không kết nối được cổng giám định BHYT: các lượt tra cứu đang chờ và sẽ tự kiểm tra lại khi có mạng."
)

type reasonText struct{ tone, headline, advice string }

var reasonTexts = map[string]reasonText{
	string(bhyt.ReasonValid):   {"ok", "Thẻ BHYT còn giá trị sử dụng", ""},
	string(bhyt.ReasonNewCard): {"ok", "Đã được cấp thẻ BHYT mới", "Dùng số thẻ mới hiển thị dưới đây."},
	string(bhyt.ReasonOtherAgency): {"warn", "Thẻ do BHXH Bộ Quốc phòng hoặc Bộ Công an quản lý",
		"Đề nghị người bệnh xuất trình giấy tờ để kiểm tra."},
	string(bhyt.ReasonExpired): {"bad", "Thẻ BHYT đã hết hạn sử dụng", "Người bệnh chưa có thẻ còn hạn: hướng dẫn gia hạn hoặc khám dịch vụ."},
	string(bhyt.ReasonNoCard):  {"bad", "Không tìm thấy thẻ BHYT", "Hệ thống BHXH không có thông tin thẻ của người này."},
	string(bhyt.ReasonWrongCard): {"bad", "Số thẻ BHYT không đúng",
		"Kiểm tra lại số thẻ, hoặc tra cứu bằng số định danh cá nhân."},
	string(bhyt.ReasonOperator): {"warn", "Tài khoản tra cứu của người tiếp đón chưa được đăng ký đúng",
		"Báo bộ phận công nghệ thông tin kiểm tra họ tên và số căn cước của người tra cứu trên cổng giám định."},
	string(bhyt.ReasonWrongName): {"bad", "Họ tên không khớp với dữ liệu BHXH",
		"Đối chiếu họ tên trên thẻ căn cước; nhập tay nếu mã QR đọc sai."},
	string(bhyt.ReasonWrongBirth): {"bad", "Ngày sinh không khớp với dữ liệu BHXH",
		"Đối chiếu ngày sinh trên thẻ căn cước; nhập tay nếu cần."},
	string(bhyt.ReasonGatewayError): {"warn", "Cổng giám định BHYT báo lỗi dữ liệu", "Thử tra cứu lại sau ít phút."},
	string(bhyt.ReasonRevoked):      {"bad", "Thẻ BHYT đã bị thu hồi", ""},
	string(bhyt.ReasonReduced):      {"bad", "Thẻ BHYT đã báo giảm", "Người bệnh đã chuyển nơi tham gia hoặc dừng tham gia BHYT."},
	string(bhyt.ReasonChildNoCard):  {"warn", "Trẻ em chưa xuất trình thẻ BHYT", "Kiểm tra giấy chứng sinh hoặc giấy khai sinh của trẻ."},
	string(bhyt.ReasonBadFormat): {"warn", "Thông tin tra cứu không đúng định dạng",
		"Kiểm tra số định danh (12 chữ số), họ tên và ngày sinh (ngày/tháng/năm)."},
	string(bhyt.ReasonAuth): {"warn", "Cổng giám định không nhận tài khoản tra cứu",
		"Báo bộ phận công nghệ thông tin kiểm tra tên đăng nhập, mật khẩu và địa chỉ mạng đã đăng ký."},
	string(bhyt.ReasonUnknownCode): {"warn", "Cổng giám định BHYT trả lời một kết quả chưa biết", "Tra cứu trực tiếp trên cổng giám định."},
	string(bhyt.ReasonMalformed): {"warn", "Không đọc được câu trả lời của cổng giám định",
		"Thử lại sau ít phút hoặc tra cứu trực tiếp trên cổng giám định."},
	string(bhyt.ReasonOversized): {"warn", "Câu trả lời của cổng giám định quá dài, không đọc được",
		"Thử lại sau ít phút hoặc tra cứu trực tiếp trên cổng giám định."},
	ReasonNoAccount: {"warn", "Bàn tiếp đón này chưa có tài khoản tra cứu BHYT",
		"Chọn người tra cứu, hoặc báo bộ phận công nghệ thông tin thêm tài khoản."},
	ReasonGaveUp: {"warn", "Không kiểm tra được: cổng giám định không trả lời trong thời gian chờ",
		"Tra cứu lại khi có mạng."},
	ReasonFull: {"bad", "Chưa kiểm tra được: số lượt chờ cổng giám định đã đầy",
		"Lượt này không được giữ lại để tự kiểm tra khi có mạng. Ghi nhận thông tin người bệnh theo giấy tờ, rồi quét lại thẻ khi cổng giám định BHYT trả lời."},
	ReasonVNeIDNoData: {"warn", "Mã VNeID này không có thông tin để tra cứu thẻ BHYT",
		"Mời người bệnh mở thẻ Căn cước trong ứng dụng VNeID và đưa mã QR của thẻ, đặt thẻ căn cước lên đầu đọc, hoặc nhập tay."},
	ReasonUnreadableQR: {"warn", "Không đọc được mã QR trên thẻ căn cước", "Quét lại mã QR, đặt thẻ lên đầu đọc, hoặc nhập tay."},
	ReasonLost:         {"warn", "Lượt tra cứu bị gián đoạn do máy khởi động lại", "Quét lại thẻ để tra cứu."},
}

const (
	textPageTitle       = "Tiếp đón: tra cứu thẻ BHYT"
	textDashTitle       = "Tra cứu thẻ BHYT bằng căn cước"
	textUnknownStation  = "Không có bàn tiếp đón này trong cấu hình."
	textStopping        = "Phần mềm tiếp đón đang tắt; tra cứu lại sau khi khởi động."
	textUnknownOperator = "Không có người tra cứu này trong tệp tài khoản."
	textBadTyped        = "Nhập đủ số định danh (12 chữ số) hoặc số thẻ BHYT, họ tên và ngày sinh (ngày/tháng/năm, tháng/năm hoặc năm)."
	textRuleStrict      = "Mã kết quả 000, 003, 004 (thẻ do BHXH Bộ Quốc phòng, Bộ Công an quản lý tính là không thành công)"
	textRuleOtherAgency = "Mã kết quả 000, 001, 002, 003, 004 (tính cả thẻ do BHXH Bộ Quốc phòng, Bộ Công an quản lý)"
)
