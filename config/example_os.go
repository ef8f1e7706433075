package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Device names in the examples are Linux's; a Windows PC names the same devices
// differently. Each rule rewrites one kind, keeping the file's comments and layout.
var windowsExampleRules = []struct {
	re   *regexp.Regexp
	repl func(m []string) string
}{
	// A USB ticket printer is installed in Windows and printed to by its name.
	{regexp.MustCompile(`(?m)^(\s*)transport: usb\n\s*device: /dev/usb/lp\d+\n`), func(m []string) string {
		return m[1] + "transport: windows\n" + m[1] + `name: "XP-80C"   # the printer's name under Settings > Printers & scanners` + "\n"
	}},
	// Serial scanners, relays and displays: /dev/ttyACM0, /dev/ttyUSB0 … become COM3, COM4 …
	{regexp.MustCompile(`/dev/tty(?:ACM|USB)\d+`), nil},
	{regexp.MustCompile(`(?m)^# data_dir defaults to .*$`), func([]string) string {
		return `# data_dir defaults to %ProgramData%\motcua-agent`
	}},
}

// ExampleFor returns the example config of a profile for an operating system
// ("linux" or "windows"): on Windows, printers print through the spooler by name and
// serial devices are COM ports. `config example PROFILE --os windows` prints it.
func ExampleFor(profile, goos string) ([]byte, error) {
	b, err := Example(profile)
	if err != nil {
		return nil, err
	}
	switch goos {
	case "linux", "":
		return b, nil
	case "windows":
	default:
		return nil, fmt.Errorf("no example for %q: use linux or windows", goos)
	}
	text := string(b)
	com := 3 // COM1 and COM2 are usually the board's own ports
	for _, r := range windowsExampleRules {
		text = r.re.ReplaceAllStringFunc(text, func(s string) string {
			if r.repl == nil {
				name := fmt.Sprintf("COM%d", com)
				com++
				return name
			}
			return r.repl(r.re.FindStringSubmatch(s))
		})
	}
	if strings.Contains(text, "/dev/") {
		return nil, fmt.Errorf("example %s: a Linux device path has no Windows rule", profile)
	}
	return []byte(text), nil
}
