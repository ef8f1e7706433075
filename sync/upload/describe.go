package upload

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"motcua-agent/sync/wire"
	"net"
	"syscall"
)

// Describe turns a push failure into what a technician can act on: an English line for
// `sync status` and logs, and a Vietnamese one for the dashboard.
func Describe(err error, hub string) (en, vi string) {
	var he *HubError
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr *tls.CertificateVerificationError
	switch {
	case err == nil:
		return "", ""
	case errors.As(err, &he):
		return describeHub(he)
	case errors.As(err, &unknownCA), errors.As(err, &certErr):
		return fmt.Sprintf("the hub %s presented a certificate this agent does not trust: set sync.ca_file to the province's CA certificate (%v)", hub, err),
			"Không tin cậy chứng thư của máy chủ tỉnh: cần cấu hình tệp CA (sync.ca_file)."
	case errors.As(err, &hostErr):
		return fmt.Sprintf("the hub's certificate is not for %s: check sync.url uses the name on the certificate", hub),
			"Chứng thư của máy chủ tỉnh không khớp địa chỉ đã cấu hình."
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve the hub name %s: check the DNS settings and sync.url", hub),
			"Không tìm thấy địa chỉ máy chủ tỉnh: kiểm tra mạng và cấu hình."
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("the hub %s refused the connection: the hub service is down or the port in sync.url is wrong; data is kept and will be sent when it answers", hub),
			"Máy chủ tỉnh không nhận kết nối; số liệu được giữ lại và sẽ gửi khi kết nối lại."
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return fmt.Sprintf("no answer from the hub %s in time: the network is down or very slow; data is kept and will be sent later", hub),
			"Mất kết nối tới máy chủ tỉnh (quá thời gian chờ); số liệu được giữ lại."
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return fmt.Sprintf("no network route to the hub %s: check the cable or Wi-Fi; data is kept and will be sent later", hub),
			"Không có mạng tới máy chủ tỉnh: kiểm tra dây mạng hoặc Wi-Fi; số liệu được giữ lại."
	case isDial(err):
		// Other connection failures (and the Windows forms of the errors above).
		return fmt.Sprintf("cannot connect to the hub %s (%v): check the network and sync.url; data is kept and will be sent when it answers", hub, err),
			"Không kết nối được máy chủ tỉnh; số liệu được giữ lại và sẽ gửi khi kết nối lại."
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("the connection to the hub %s was cut during the push; it will be retried (nothing is lost or counted twice)", hub),
			"Kết nối tới máy chủ tỉnh bị ngắt giữa chừng; sẽ gửi lại."
	}
	return fmt.Sprintf("push to the hub %s failed: %v; it will be retried", hub, err),
		"Gửi số liệu lên máy chủ tỉnh không thành công; sẽ thử lại."
}

func isDial(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func describeHub(he *HubError) (string, string) {
	switch he.Code {
	case wire.CodeUnknownDevice:
		return "the hub does not know this device: enroll it with `motcua-hub enroll` on the hub and copy the printed lines into this agent's config",
			"Máy chủ tỉnh chưa đăng ký máy trạm này: cần đăng ký (hub enroll) và cập nhật cấu hình."
	case wire.CodeBadSignature:
		return "the hub rejected this device's identity: check that site.device_id is enrolled at the hub and sync.secret (or the secret file) is exactly what `motcua-hub enroll` printed",
			"Máy chủ tỉnh từ chối xác thực máy trạm: kiểm tra máy trạm đã được đăng ký và khóa bí mật (sync.secret) đúng như lúc đăng ký."
	case wire.CodeRevoked:
		return "this device was revoked at the hub: ask the provincial IT team to enroll it again; data is kept until then",
			"Máy trạm đã bị thu hồi trên máy chủ tỉnh: liên hệ bộ phận CNTT tỉnh; số liệu vẫn được giữ."
	case wire.CodeClockSkew:
		return fmt.Sprintf("this PC's clock is far from the hub's (%s) and the correction did not take: set the date and time of this PC", he.Message),
			"Đồng hồ máy trạm lệch nhiều so với máy chủ tỉnh: chỉnh lại ngày giờ máy tính."
	case wire.CodeWrongSite:
		return fmt.Sprintf("the hub has this device at another site (%s): fix sync.site or re-enroll", he.Message),
			"Mã điểm trong cấu hình không khớp với đăng ký trên máy chủ tỉnh."
	case wire.CodeInvalid, wire.CodeSchema, wire.CodeMalformed, wire.CodeTooLarge, wire.CodeOverBudget:
		return fmt.Sprintf("the hub refused the data (%s: %s): the data is kept and retried; report this to the provincial IT team, an update may be needed", he.Code, he.Message),
			"Máy chủ tỉnh không chấp nhận dữ liệu gửi lên; số liệu được giữ lại. Báo bộ phận CNTT tỉnh."
	}
	if he.Status >= 500 || he.Code == wire.CodeInternal {
		return fmt.Sprintf("the hub had a problem (HTTP %d %s); it will be retried", he.Status, he.Message),
			"Máy chủ tỉnh đang gặp sự cố; sẽ tự động gửi lại."
	}
	return fmt.Sprintf("the hub answered HTTP %d (%s: %s); it will be retried", he.Status, he.Code, he.Message),
		fmt.Sprintf("Máy chủ tỉnh trả lời lỗi %d; sẽ thử lại.", he.Status)
}
