//go:build unix

package simcard_test

import (
	"path/filepath"
	"testing"
	"time"

	"motcua-agent/drivers/cccd"
	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/emrtd/vcard"
	"motcua-agent/drivers/pcsc"
	"motcua-agent/drivers/pcsc/pcsctest"
	"motcua-agent/drivers/pcsc/vpcd"
)

// BenchmarkSelectiveRead reads the benchmark card (a ~20 KB photo) through pcscd and
// vpcd, over a modelled contactless link (3 ms per APDU, 106 kbit/s), with every data
// group and with only those a check-in needs (no DG2), alternating in one run. It
// reports each one's wall time per read and the ratio without/with the photo.
func BenchmarkSelectiveRead(b *testing.B) {
	ctx := pcscSetupTB(b)
	c, err := simcard.Load(filepath.Join(cards, "hai-benchmark.json"))
	if err != nil {
		b.Fatal(err)
	}
	card, err := c.Card(simcard.Options{Faults: vcard.Faults{Delay: 3 * time.Millisecond, LinkBytesPerSecond: 13250}})
	if err != nil {
		b.Fatal(err)
	}
	slot := pcsctest.Insert(b, ctx, vpcd.DefaultAddr, card, vpcd.Options{})
	q, err := cccd.ParseQR(c.QR)
	if err != nil {
		b.Fatal(err)
	}
	keys, ts := cccd.KeysFromQR(q), testTrust(b)
	read := func(groups []int) (time.Duration, *emrtd.Document) {
		start := time.Now()
		k, err := pcsc.Connect(ctx, slot.Reader)
		if err != nil {
			b.Fatal(err)
		}
		defer k.Close()
		doc, err := emrtd.Read(ctx, k, emrtd.ReadOptions{Keys: keys, Trust: ts, DataGroups: groups})
		if err != nil || !doc.Genuine() {
			b.Fatalf("read %v: %v", groups, err)
		}
		return time.Since(start), doc
	}
	full, noPhoto := []int{1, 2, 13, 14, 15}, []int{1, 13, 14, 15}
	read(full) // warm up: the reader's first connection
	b.ResetTimer()
	var tFull, tNo time.Duration
	var bytesFull, bytesNo int
	for range b.N {
		d, doc := read(full)
		if doc.DG2 == nil {
			b.Fatal("full read without the photo")
		}
		tFull, bytesFull = tFull+d, doc.Counters.BytesReceived
		d, doc = read(noPhoto)
		if doc.DG2 != nil {
			b.Fatal("photo read when not asked for")
		}
		tNo, bytesNo = tNo+d, doc.Counters.BytesReceived
	}
	b.StopTimer()
	b.ReportMetric(float64(tFull.Milliseconds())/float64(b.N), "full-ms/read")
	b.ReportMetric(float64(tNo.Milliseconds())/float64(b.N), "nophoto-ms/read")
	b.ReportMetric(float64(tNo)/float64(tFull), "nophoto-vs-full")
	b.ReportMetric(float64(bytesNo)/float64(bytesFull), "bytes-nophoto-vs-full")
}
