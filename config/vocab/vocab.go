// Package vocab is the one vocabulary the agent and the hub share: every metric the
// agent counts (its name, how it folds, its dimensions and its Vietnamese label), the
// names of the dimensions, and the catalogue of the 25 essential public services the
// province reports on. The agent's store refuses a metric that is not here, and the
// hub's pages label metrics from here, so the two can never disagree on a name.
package vocab

import (
	"fmt"
	"slices"
	"sort"
)

// Kind is how a metric's events fold into its daily value.
type Kind string

const (
	Add    Kind = "add"    // the sum of the events' values
	Max    Kind = "max"    // the largest value seen that day
	Unique Kind = "unique" // the number of distinct keys (keyed hashes) that day
)

// Metric names. A name is lower-case words joined by dots and underscores.
const (
	// QR check-ins and scans (agent/checkin).
	Checkins       = "checkins"
	CheckinsPeople = "checkins.people"
	Scans          = "scans"
	// Chip ID card verifications (agent/identity).
	IdentityVerifications = "identity.verifications"
	IdentityPeople        = "identity.people"
	// Dossiers (agent/dossier).
	DossiersReceived  = "dossiers.received"
	DossiersDigitized = "dossiers.digitized"
	DossiersPages     = "dossiers.pages"
	// Queue (agent/queue).
	TicketsIssued         = "tickets.issued"
	TicketsServed         = "tickets.served"
	TicketsNoShow         = "tickets.noshow" // the name stores have used since the first release
	TicketsWaitSeconds    = "tickets.wait_seconds"
	TicketsServiceSeconds = "tickets.service_seconds"
	TicketsUnprinted      = "tickets.unprinted"
	// Counted once per ticket at its first call, with the same dims as its wait: the
	// denominator of the average wait (FigureAvgWait).
	TicketsFirstCalls  = "tickets.first_calls"
	TicketsRecalls     = "tickets.recalls"     // each press of "gọi lại"
	TicketsTransferred = "tickets.transferred" // each transfer, under the service it left
	TicketsCancelled   = "tickets.cancelled"
	// Satisfaction ratings (agent/queue): one per finished ticket at most, on the
	// canonical scale 1..5 (DimLevel), under the service and counter that finished it;
	// Satisfied counts the top two levels, so a share is a ratio of two metrics.
	Ratings          = "ratings"
	RatingsSatisfied = "ratings.satisfied"
	// Gates (agent/gate).
	GateEntries        = "gate.entries"
	GateExits          = "gate.exits"
	GateExitsUnmatched = "gate.exits_unmatched"
	GateUniqueVisitors = "gate.unique_visitors"
	GatePeakOccupancy  = "gate.peak_occupancy"
	GateRefusals       = "gate.refusals"
	GateReconciled     = "gate.reconciled"
	GateManualOpens    = "gate.manual_opens"
	// Health-insurance look-ups at clinic reception (agent/clinic).
	BHYTLookups        = "bhyt.lookups"
	BHYTLookupsOK      = "bhyt.lookups_ok"
	BHYTLookupFailures = "bhyt.lookup_failures"
	// Answers 001/002 (defence or police social insurance), whatever the province's
	// success rule: with it a report says how many of its successes or failures they are.
	BHYTLookupsOtherAgency = "bhyt.lookups_other_agency"
	// BHYTLookupsOtherAgencyOK counts the 001/002 answers a site counted as successes
	// (clinic.other_agency_success): beside BHYTLookupsOtherAgency it states the rule
	// the province's report applied.
	BHYTLookupsOtherAgencyOK = "bhyt.lookups_other_agency_ok"
	// The night's lodging list at hospital wards (agent/lodging): people put on it,
	// notified by the nurse before the deadline, and not notified by it.
	LodgingListed   = "lodging.listed"
	LodgingNotified = "lodging.notified"
	LodgingMissed   = "lodging.missed"
)

// Dimension names.
const (
	DimKind    = "kind"    // how a person was identified: chip, cccd_qr, vneid, …
	DimOutcome = "outcome" // ok, or why not
	DimPurpose = "purpose" // what a scanner is for: checkin, identity, gate, dossier
	DimService = "service" // the service code (the catalogue's number by default)
	DimCounter = "counter" // the counter (quầy) that served
	DimLane    = "lane"    // a gate's lane
	DimHour    = "hour"    // the hour of day, "00".."23"
	DimReason  = "reason"  // why a gate refused
	DimMethod  = "method"  // how a chip card was opened: pace, bac
	DimStation = "station" // a clinic's reception station
	DimSource  = "source"  // how a look-up was asked: qr, chip, typed
	DimWard    = "ward"    // a hospital ward's desk keeping a lodging list
	DimLevel   = "level"   // a satisfaction rating on the canonical scale, "1".."5"
)

// Def describes one metric.
type Def struct {
	Name  string
	Kind  Kind
	Dims  []string // the dimensions an event may give it, no others
	Label string   // Vietnamese, as the dashboard and the hub show it
}

var defs = []Def{
	{Checkins, Add, []string{DimKind, DimOutcome}, "Lượt tiếp đón (mã QR, thẻ chip hoặc VNeID)"},
	{CheckinsPeople, Unique, []string{DimKind}, "Số người tiếp đón (không trùng)"},
	{Scans, Add, []string{DimPurpose, DimKind, DimOutcome}, "Lượt quét mã QR"},
	{IdentityVerifications, Add, []string{DimOutcome, DimReason, DimMethod}, "Lượt xác thực thẻ căn cước gắn chip"},
	{IdentityPeople, Unique, nil, "Số người đã xác thực chip (không trùng)"},
	{DossiersReceived, Unique, []string{DimService}, "Hồ sơ tiếp nhận"},
	{DossiersDigitized, Unique, []string{DimService}, "Hồ sơ đã số hóa"},
	{DossiersPages, Add, []string{DimService}, "Trang đã số hóa"},
	{TicketsIssued, Add, []string{DimService}, "Số phiếu đã phát"},
	{TicketsServed, Add, []string{DimService, DimCounter}, "Số lượt đã phục vụ"},
	{TicketsNoShow, Add, []string{DimService, DimCounter}, "Số lượt vắng mặt"},
	{TicketsWaitSeconds, Add, []string{DimService, DimCounter}, "Tổng thời gian chờ (giây)"},
	{TicketsServiceSeconds, Add, []string{DimService, DimCounter}, "Tổng thời gian phục vụ (giây)"},
	{TicketsUnprinted, Add, []string{DimService}, "Số phiếu không in được"},
	{TicketsFirstCalls, Add, []string{DimService, DimCounter}, "Số phiếu đã được gọi"},
	{TicketsRecalls, Add, []string{DimService, DimCounter}, "Số lần gọi lại"},
	{TicketsTransferred, Add, []string{DimService, DimCounter}, "Số lượt chuyển dịch vụ hoặc quầy"},
	{TicketsCancelled, Add, []string{DimService, DimCounter}, "Số phiếu đã hủy"},
	{Ratings, Add, []string{DimService, DimCounter, DimLevel}, "Lượt đánh giá mức độ hài lòng"},
	{RatingsSatisfied, Add, []string{DimService, DimCounter}, "Lượt đánh giá hài lòng hoặc rất hài lòng"},
	{GateEntries, Add, []string{DimLane, DimHour, DimKind}, "Lượt vào cổng"},
	{GateExits, Add, []string{DimLane, DimHour, DimKind}, "Lượt ra cổng"},
	{GateExitsUnmatched, Add, []string{DimLane, DimHour, DimKind}, "Lượt ra không có lượt vào"},
	{GateUniqueVisitors, Unique, nil, "Khách tham quan (không trùng)"},
	{GatePeakOccupancy, Max, []string{DimHour}, "Số khách đông nhất trong khu"},
	{GateRefusals, Add, []string{DimReason, DimLane, DimHour}, "Lượt từ chối ở cổng"},
	{GateReconciled, Add, []string{DimLane, DimHour}, "Khách chốt cuối ngày (không quét ra)"},
	{GateManualOpens, Add, []string{DimLane, DimHour}, "Lượt nhân viên mở cổng bằng tay"},
	{BHYTLookups, Add, []string{DimStation, DimSource}, "Lượt tra cứu thẻ BHYT bằng căn cước"},
	{BHYTLookupsOK, Add, []string{DimStation}, "Lượt tra cứu thẻ BHYT thành công"},
	{BHYTLookupFailures, Add, []string{DimStation, DimReason}, "Lượt tra cứu thẻ BHYT không thành công"},
	{BHYTLookupsOtherAgency, Add, []string{DimStation}, "Lượt tra cứu ra thẻ do BHXH Bộ Quốc phòng, Bộ Công an quản lý"},
	{BHYTLookupsOtherAgencyOK, Add, []string{DimStation}, "Trong đó được tính là thành công (quy tắc của tỉnh)"},
	{LodgingListed, Add, []string{DimWard, DimSource}, "Người lưu trú qua đêm được lập danh sách"},
	{LodgingNotified, Add, []string{DimWard}, "Người lưu trú đã thông báo lưu trú"},
	{LodgingMissed, Add, []string{DimWard}, "Người lưu trú chưa thông báo khi hết hạn"},
}

var byName = func() map[string]Def {
	m := make(map[string]Def, len(defs))
	for _, d := range defs {
		if _, dup := m[d.Name]; dup {
			panic("vocab: metric defined twice: " + d.Name)
		}
		m[d.Name] = d
	}
	return m
}()

// Lookup returns the definition of a metric.
func Lookup(name string) (Def, bool) {
	d, ok := byName[name]
	return d, ok
}

// Label is a metric's Vietnamese name, or the metric's own name when it is unknown (a
// newer agent's metric at an older hub).
func Label(name string) string {
	if d, ok := byName[name]; ok {
		return d.Label
	}
	return name
}

// Check says why a counter change is not in the vocabulary: an unknown metric, a
// dimension the metric does not have, or a fold other than the metric's.
func Check(metric string, kind Kind, dims map[string]string) error {
	d, ok := byName[metric]
	if !ok {
		return fmt.Errorf("metric %q is not in the vocabulary (config/vocab)", metric)
	}
	if kind != d.Kind {
		return fmt.Errorf("metric %q folds by %s, not %s", metric, d.Kind, kind)
	}
	for k := range dims {
		if !slices.Contains(d.Dims, k) {
			return fmt.Errorf("metric %q has no dimension %q", metric, k)
		}
	}
	return nil
}

// Metrics lists every metric, sorted by name.
func Metrics() []Def {
	out := append([]Def(nil), defs...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Service is one row of the province's monthly table of essential public services.
type Service struct {
	No    int
	Name  string
	Level string // online level as the report prints it: "3", "4", "3, 4", or empty
}

// EssentialServices are the 25 essential public services of the province's monthly
// report under Đề án 06, in the report's order. An agent's service code for each is
// its number until a province supplies its own catalogue.
var EssentialServices = []Service{
	{1, "Cấp, cấp lại, cấp đổi thẻ Căn cước công dân", "3"},
	{2, "Xác nhận số Chứng minh nhân dân khi đã được cấp thẻ Căn cước công dân", "4"},
	{3, "Đăng ký thường trú", "4"},
	{4, "Đăng ký tạm trú", "4"},
	{5, "Khai báo tạm vắng", "4"},
	{6, "Thông báo lưu trú", "4"},
	{7, "Đăng ký, cấp biển số mô tô, xe gắn máy", "3"},
	{8, "Thu tiền nộp phạt vi phạm hành chính giao thông đường bộ qua thiết bị ghi hình", "4"},
	{9, "Cấp, cấp lại, sửa đổi, bổ sung hộ chiếu phổ thông", "4"},
	{10, "Làm con dấu mới và cấp Giấy chứng nhận đã đăng ký mẫu dấu", "4"},
	{11, "Làm con dấu thu nhỏ, dấu nổi, dấu xi và cấp Giấy chứng nhận đã đăng ký mẫu con dấu", "4"},
	{12, "Cấp phiếu lý lịch tư pháp", "3"},
	{13, "Đăng ký khai sinh", "3"},
	{14, "Đăng ký khai tử", "3"},
	{15, "Đăng ký kết hôn", "3"},
	{16, "Cấp điện mới từ lưới điện hạ áp 220/380 V", "4"},
	{17, "Thay đổi chủ thể hợp đồng mua bán điện", "4"},
	{18, "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất do thay đổi thông tin người được cấp Giấy chứng nhận", "4"},
	{19, "Đăng ký dự thi tốt nghiệp THPT và xét tuyển đại học, cao đẳng", "4"},
	{20, "Cấp đổi, cấp lại giấy phép lái xe", "3, 4"},
	{21, "Đăng ký thuế lần đầu, thay đổi thông tin đăng ký thuế của hộ gia đình, cá nhân", "4"},
	{22, "Giải quyết hưởng trợ cấp thất nghiệp", "3"},
	{23, "Tích hợp tính giảm trừ mức đóng trong gia hạn thẻ bảo hiểm y tế theo hộ gia đình", "4"},
	{24, "Liên thông đăng ký khai sinh – đăng ký thường trú – cấp thẻ BHYT cho trẻ em dưới 6 tuổi", ""},
	{25, "Liên thông đăng ký khai tử – xóa đăng ký thường trú – trợ cấp mai táng phí", ""},
}

// What a hub accepts in a push. The dims that place a row in the administration
// (site, commune, province, device) come from the enrollment and are never taken
// from a device's push; only a provincial hub pushing to the national hub names its
// own sites and communes, in Placement dims.
const (
	DimChannel = "channel" // how a dossier came in: "online", or the counter
	DimSite    = "site"    // the site's code at the province (a provincial hub's rows)
	DimCommune = "commune" // the commune as the province enrolled it (a provincial hub's rows)
)

// Reserved are the dimension keys a hub derives itself; a device's push may not name them.
var Reserved = []string{DimSite, DimCommune, "province", "device", "district", "ward"}

// Placement are the reserved dims an upstream-enrolled provincial hub gives its rows.
var Placement = []string{DimSite, DimCommune}

// pushDims are the dims a hub accepts beyond a metric's own: the counter a row was
// counted at (the hub's drill-down to the counter) on every metric, and the channel of
// a received dossier (the report's "online" column).
var pushDims = map[string][]string{DossiersReceived: {DimChannel}}

// PushDims are the dimension keys a hub accepts on a metric from a device: its own,
// the counter, and the extras above. ok is false for a metric not in the vocabulary.
func PushDims(metric string) (dims []string, ok bool) {
	d, ok := byName[metric]
	if !ok {
		return nil, false
	}
	out := append(slices.Clone(d.Dims), DimCounter)
	return append(out, pushDims[metric]...), true
}
