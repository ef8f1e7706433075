package hub

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Service is one row of the province's monthly table of essential public services.
// Codes are the values of the "service" dimension that count toward this row.
type Service struct {
	No    int      `json:"no"`
	Name  string   `json:"name"`
	Level string   `json:"level"` // online level as the report prints it: "3", "4", "3, 4"
	Codes []string `json:"codes"`
}

// EssentialServices are the 25 essential services in the order of the province's
// monthly report. The agent's service code for each is its number ("1".."25") until
// a province supplies its own catalogue with LoadCatalogue.
var EssentialServices = func() []Service {
	rows := []struct{ name, level string }{
		{"Cấp, cấp lại, cấp đổi thẻ Căn cước công dân", "3"},
		{"Xác nhận số Chứng minh nhân dân khi đã được cấp thẻ Căn cước công dân", "4"},
		{"Đăng ký thường trú", "4"},
		{"Đăng ký tạm trú", "4"},
		{"Khai báo tạm vắng", "4"},
		{"Thông báo lưu trú", "4"},
		{"Đăng ký, cấp biển số mô tô, xe gắn máy", "3"},
		{"Thu tiền nộp phạt vi phạm hành chính giao thông đường bộ qua thiết bị ghi hình", "4"},
		{"Cấp, cấp lại, sửa đổi, bổ sung hộ chiếu phổ thông", "4"},
		{"Làm con dấu mới và cấp Giấy chứng nhận đã đăng ký mẫu dấu", "4"},
		{"Làm con dấu thu nhỏ, dấu nổi, dấu xi và cấp Giấy chứng nhận đã đăng ký mẫu con dấu", "4"},
		{"Cấp phiếu lý lịch tư pháp", "3"},
		{"Đăng ký khai sinh", "3"},
		{"Đăng ký khai tử", "3"},
		{"Đăng ký kết hôn", "3"},
		{"Cấp điện mới từ lưới điện hạ áp 220/380 V", "4"},
		{"Thay đổi chủ thể hợp đồng mua bán điện", "4"},
		{"Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất do thay đổi thông tin người được cấp Giấy chứng nhận", "4"},
		{"Đăng ký dự thi tốt nghiệp THPT và xét tuyển đại học, cao đẳng", "4"},
		{"Cấp đổi, cấp lại giấy phép lái xe", "3, 4"},
		{"Đăng ký thuế lần đầu, thay đổi thông tin đăng ký thuế của hộ gia đình, cá nhân", "4"},
		{"Giải quyết hưởng trợ cấp thất nghiệp", "3"},
		{"Tích hợp tính giảm trừ mức đóng trong gia hạn thẻ bảo hiểm y tế theo hộ gia đình", "4"},
		{"Liên thông đăng ký khai sinh – đăng ký thường trú – cấp thẻ BHYT cho trẻ em dưới 6 tuổi", ""},
		{"Liên thông đăng ký khai tử – xóa đăng ký thường trú – trợ cấp mai táng phí", ""},
	}
	out := make([]Service, len(rows))
	for i, r := range rows {
		out[i] = Service{No: i + 1, Name: r.name, Level: r.level, Codes: []string{strconv.Itoa(i + 1)}}
	}
	return out
}()

// LoadCatalogue reads a province's catalogue as CSV with the header
// "no,code,name,level"; several lines with the same number add codes to one service.
func LoadCatalogue(r io.Reader) ([]Service, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 4
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read catalogue header: %w", err)
	}
	if strings.Join(header, ",") != "no,code,name,level" {
		return nil, errors.New("catalogue header must be no,code,name,level")
	}
	var out []Service
	index := map[int]int{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("catalogue line %d: %w", line, err)
		}
		no, err := strconv.Atoi(rec[0])
		if err != nil || no <= 0 {
			return nil, fmt.Errorf("catalogue line %d: number %q is not a positive integer", line, rec[0])
		}
		if rec[1] == "" || rec[2] == "" {
			return nil, fmt.Errorf("catalogue line %d: code and name are required", line)
		}
		if i, ok := index[no]; ok {
			out[i].Codes = append(out[i].Codes, rec[1])
			continue
		}
		index[no] = len(out)
		out = append(out, Service{No: no, Name: rec[2], Level: rec[3], Codes: []string{rec[1]}})
	}
	if len(out) == 0 {
		return nil, errors.New("catalogue has no services")
	}
	return out, nil
}
