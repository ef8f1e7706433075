package store

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"motcua-agent/config/vocab"
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
	out := make([]Service, len(vocab.EssentialServices))
	for i, v := range vocab.EssentialServices {
		out[i] = Service{No: v.No, Name: v.Name, Level: v.Level, Codes: []string{strconv.Itoa(v.No)}}
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
