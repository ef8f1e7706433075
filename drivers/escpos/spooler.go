package escpos

// WindowsPrinter is a printer as Windows knows it: the name a config's printer.name
// takes, and the port it is on (USB001 for a USB printer).
type WindowsPrinter struct {
	Name     string `json:"name"`
	Port     string `json:"port"`
	Driver   string `json:"driver"`
	Offline  bool   `json:"offline,omitempty"`
	PaperOut bool   `json:"paper_out,omitempty"`
	Error    bool   `json:"error,omitempty"`
}
