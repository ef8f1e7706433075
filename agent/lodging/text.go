package lodging

import (
	"fmt"
	"time"

	"motcua-agent/config/vocab"
)

// Every text a nurse sees from this package, in one place for a Vietnamese reader.
// (The page's own labels are in pages/ward.html.)

const (
	textPageTitle    = "Danh sách lưu trú qua đêm"
	textDashTitle    = "Thông báo lưu trú (người bệnh, người nhà ở lại qua đêm)"
	textUnknownWard  = "Không có khoa này trong cấu hình."
	textUnknownEntry = "Không còn người này trong danh sách (đã thông báo và đã xóa, hoặc đã quá hạn)."
	textBadEntry     = "Nhập đủ số định danh cá nhân (12 chữ số) hoặc số hộ chiếu, họ tên; ngày theo dạng ngày/tháng/năm."
	textNoTyping     = "Chức năng gõ vào ô đang nhập chưa được bật."
	textNoDesktop    = "Máy trạm không gõ được vào màn hình: hãy chạy phần mềm trong phiên làm việc của điều dưỡng, hoặc xuất danh sách."
	textTypeFailed   = "Gõ vào ô đang nhập không thành công; hãy xuất danh sách."
	textNoWarning    = "Không có ai sắp quá hạn thông báo."
	textSexMale      = "Nam"
	textNationality  = "Việt Nam"
)

// exportHeader is the export's header, in the order of the VNeID form's fields.
var exportHeader = []string{"STT", "Số định danh cá nhân / Hộ chiếu", "Họ và tên", "Ngày sinh", "Giới tính", "Quốc tịch",
	"Lý do lưu trú", "Lưu trú từ ngày", "Đến ngày", "Địa chỉ nơi lưu trú", "Hạn thông báo", "Đã thông báo"}

// warningText says how many people are not notified and how long is left.
func warningText(n int, deadline, now time.Time) string {
	when := deadline.Format("15:04")
	if deadline.YearDay() != now.YearDay() {
		when += " sáng mai"
	} else {
		when += " hôm nay"
	}
	if !now.Before(deadline) {
		return fmt.Sprintf("Đã quá hạn thông báo lưu trú (%s): còn %s người chưa thông báo.", deadline.Format("15:04"), vocab.Number(int64(n)))
	}
	return fmt.Sprintf("Còn %s người chưa thông báo lưu trú, hạn %s (còn %s).", vocab.Number(int64(n)), when,
		vocab.Duration(deadline.Sub(now).Truncate(time.Minute)))
}
