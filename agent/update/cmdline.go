package update

import "strings"

// splitCommandLine splits a Windows service command line into the executable and the
// rest (with its leading space): `"C:\a b\x.exe" service run` or `C:\x.exe service run`.
func splitCommandLine(line string) (exe, rest string) {
	if strings.HasPrefix(line, `"`) {
		if i := strings.Index(line[1:], `"`); i >= 0 {
			return line[1 : i+1], line[i+2:]
		}
		return strings.Trim(line, `"`), ""
	}
	if i := strings.Index(strings.ToLower(line), ".exe"); i >= 0 {
		return line[:i+4], line[i+4:]
	}
	return line, ""
}
