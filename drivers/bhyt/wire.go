package bhyt

// This file is our side of the social-insurance gateway's wire, in one place: a change
// of host, endpoint, field or result code is one edit here. Sources: CV 1923/BHXH-CNTT
// (20/06/2024) appendix 03, CV 1245/BHXH-CNTT (03/05/2024), CV 2746/BHXH-CNTT, and open
// HIS integrations of them (../shared/domain/CLINIC.md).

// WireVersion names the contract described here; it travels in the look-up events so a
// month's counts can be told apart when the gateway changes.
const WireVersion = "egw-2024.1"

// Gateway hosts.
const (
	ProductionGateway = "https://egw.baohiemxahoi.gov.vn"
	TrainingGateway   = "https://daotaoegw.baohiemxahoi.gov.vn"
)

// Endpoints.
const (
	PathToken = "/api/token/take"
	PathCheck = "/api/egw/KQNhanLichSuKCB2024"
)

// Request fields. The token request is form-encoded per the guidance (some clients send
// JSON; the simulator takes both). The password travels as its MD5 in upper-case hex,
// in the token body and again in the check's query.
const (
	fieldUsername     = "username"
	fieldPassword     = "password"
	fieldToken        = "token"
	fieldIDToken      = "id_token"
	fieldCard         = "maThe"    // insurance card number, or the 12-digit ID number
	fieldName         = "hoTen"    // patient's full name
	fieldBirth        = "ngaySinh" // dd/mm/yyyy documented (ddmmyyyy in the official sample; mm/yyyy or yyyy when the card has no day or month)
	fieldOperatorName = "hoTenCb"  // the operator's full name, without titles
	fieldOperatorID   = "cccdCb"   // the operator's ID number
)

// birthLayout is how we send a full birth date.
const birthLayout = "02/01/2006"

// checkBody is the card check's body (JSON by default; form-encoded with the same names
// when the client is set to).
type checkBody struct {
	Card         string `json:"maThe"`
	Name         string `json:"hoTen"`
	Birth        string `json:"ngaySinh"`
	OperatorName string `json:"hoTenCb"`
	OperatorID   string `json:"cccdCb"`
}

// tokenAnswer is the token endpoint's answer. expires_in is an absolute UTC time in the
// observed answers; a number of seconds (the OAuth habit) is tolerated.
type tokenAnswer struct {
	Code   flexString `json:"maKetQua"`
	APIKey *struct {
		AccessToken string     `json:"access_token"`
		IDToken     string     `json:"id_token"`
		TokenType   string     `json:"token_type"`
		Username    string     `json:"username"`
		ExpiresIn   flexString `json:"expires_in"`
	} `json:"APIKey"`
}

// checkAnswer is the card check's answer. maKetQua comes as a string ("000"); numbers
// are tolerated. Errors may come with HTTP 4xx and still carry maKetQua. Any "new card"
// field may be null or "" rather than absent, and a plain valid card may come with
// maTheMoi equal to maThe and no new dates. ghiChu is read only to be dropped: it is
// often a sentence with the patient's name, birth date and address.
type checkAnswer struct {
	Code           flexString `json:"maKetQua"`
	Card           string     `json:"maThe"`
	Name           string     `json:"hoTen"`
	Birth          string     `json:"ngaySinh"`
	Sex            string     `json:"gioiTinh"`
	Address        string     `json:"diaChi"`
	Facility       string     `json:"maDKBD"`
	Agency         string     `json:"cqBHXH"`
	ValidFrom      string     `json:"gtTheTu"`
	ValidTo        string     `json:"gtTheDen"`
	Area           string     `json:"maKV"`
	FiveYears      string     `json:"ngayDu5Nam"`
	SocialNumber   string     `json:"maSoBHXH"`
	OldCard        string     `json:"maTheCu"`
	NewCard        string     `json:"maTheMoi"`
	NewValidFrom   string     `json:"gtTheTuMoi"`
	NewValidTo     string     `json:"gtTheDenMoi"`
	NewFacility    string     `json:"maDKBDMoi"`
	NewFacilityNam string     `json:"tenDKBDMoi"`
}

// Result codes (maKetQua) and what each means for the look-up: the counters' reason,
// and whether it is a success (000, and 003/004 where a new card was issued).
var resultCodes = map[string]Reason{
	"000": ReasonValid,
	"001": ReasonOtherAgency, // Ministry of Defence social insurance
	"002": ReasonOtherAgency, // Ministry of Public Security social insurance
	"003": ReasonNewCard,     // old card expired, new card issued
	"004": ReasonNewCard,     // old card still valid, new card issued
	"010": ReasonExpired,
	"050": ReasonNoCard,
	"051": ReasonWrongCard,
	"052": ReasonWrongCard, // province code (characters 4–5)
	"053": ReasonWrongCard, // benefit code (character 3)
	"054": ReasonOperator,  // operator's ID number not registered by the facility
	"055": ReasonOperator,  // operator's name does not match their ID number
	"060": ReasonWrongName,
	"061": ReasonWrongName, // first letter right
	"070": ReasonWrongBirth,
	"100": ReasonGatewayError, // data error
	"101": ReasonGatewayError, // server error
	"110": ReasonRevoked,
	"120": ReasonReduced, // reported as reduced, no further detail
	"121": ReasonReduced, // reduced: moved to another province
	"122": ReasonReduced, // reduced: moved within the province
	"123": ReasonReduced, // reduced: re-joined at the same unit
	"124": ReasonReduced, // reduced: stopped participating
	"130": ReasonChildNoCard,
	"205": ReasonBadFormat,
	"401": ReasonAuth,
	"500": ReasonGatewayError, // the gateway's own server error: never a final "no"
}

// tokenOK is the token answer's success code.
const tokenOK = "200"

// retryableCodes are answers worth asking again later (the gateway's own fault, not the
// card's): 101 and 500 are its server errors.
var retryableCodes = map[string]bool{"101": true, "500": true}
