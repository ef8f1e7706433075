package escpos

import "testing"

// BenchmarkRender: one 80 mm ticket to bytes; ratio against decoding the same bytes.
func BenchmarkRender(b *testing.B) {
	s := Sample()
	var out []byte
	for i := 0; i < b.N; i++ {
		var err error
		if out, err = Render(s, Options{Width: Width80, NativeQR: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(out)), "bytes/ticket")
}
