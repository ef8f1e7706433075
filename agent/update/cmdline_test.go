package update

import "testing"

func TestSplitCommandLine(t *testing.T) {
	for _, c := range []struct{ line, exe, rest string }{
		{`"C:\Program Files\motcua-agent\motcua-agent.exe" service run --config C:\x.yaml`, `C:\Program Files\motcua-agent\motcua-agent.exe`, ` service run --config C:\x.yaml`},
		{`C:\ProgramData\motcua-agent\versions\1.2.0\motcua-agent.exe service run`, `C:\ProgramData\motcua-agent\versions\1.2.0\motcua-agent.exe`, ` service run`},
		{`"C:\a.exe"`, `C:\a.exe`, ``},
		{`"C:\unterminated`, `C:\unterminated`, ``},
	} {
		exe, rest := splitCommandLine(c.line)
		if exe != c.exe || rest != c.rest {
			t.Errorf("%s: %q %q", c.line, exe, rest)
		}
	}
}
