package simcard

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"crypto"
	"crypto/x509/pkix"

	"motcua-agent/drivers/emrtd/vcard"
)

// PKISpec describes one generated test PKI.
type PKISpec struct {
	Dir      string // under pki/
	CSCAName string
	Seed     uint64
}

// PKIs are the test PKIs the profiles use: "test" (its CSCA is what tests put in
// the trust store) and "unknown" (a second CSCA nobody trusts).
var PKIs = []PKISpec{
	{Dir: "test", CSCAName: "CSCA Test Vietnam (fictional)", Seed: 1},
	{Dir: "unknown", CSCAName: "CSCA Unknown Issuer (fictional)", Seed: 2},
}

// PhotoSpec describes one generated portrait: a simple drawing, never a real face.
type PhotoSpec struct {
	File          string
	Width, Height int
	Skin, Hair    color.RGBA
	Quality       int
	Seed          uint64
}

// Photos are the generated DG2 portraits. "large" is about 20 KB, for benchmarks.
var Photos = []PhotoSpec{
	{File: "photo-a.jpg", Width: 120, Height: 160, Skin: color.RGBA{236, 200, 170, 255}, Hair: color.RGBA{30, 25, 20, 255}, Quality: 60, Seed: 11},
	{File: "photo-b.jpg", Width: 120, Height: 160, Skin: color.RGBA{220, 180, 150, 255}, Hair: color.RGBA{60, 40, 30, 255}, Quality: 60, Seed: 12},
	{File: "photo-c.jpg", Width: 120, Height: 160, Skin: color.RGBA{240, 210, 190, 255}, Hair: color.RGBA{200, 200, 200, 255}, Quality: 60, Seed: 13},
	{File: "photo-large.jpg", Width: 240, Height: 320, Skin: color.RGBA{230, 195, 165, 255}, Hair: color.RGBA{20, 20, 20, 255}, Quality: 88, Seed: 14},
}

// Generate writes the test PKIs and the photos under dir (testdata/cards). Keys come
// from fixed seeds, so they are the same every time; certificate signatures differ
// (ECDSA signing is randomised), which changes nothing for the tests.
func Generate(dir string) error {
	for _, p := range PKIs {
		if err := generatePKI(filepath.Join(dir, "pki", p.Dir), p); err != nil {
			return fmt.Errorf("generate PKI %s: %w", p.Dir, err)
		}
	}
	for _, p := range Photos {
		b, err := drawPortrait(p)
		if err != nil {
			return fmt.Errorf("generate photo %s: %w", p.File, err)
		}
		if err := os.WriteFile(filepath.Join(dir, p.File), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func generatePKI(dir string, spec PKISpec) error {
	rnd := rand.NewChaCha8([32]byte{byte(spec.Seed)})
	// CSCA on brainpoolP384r1 with SHA-384, the document signer on
	// brainpoolP256r1 with SHA-256: the real Vietnamese CSCA uses brainpool too.
	csca, err := vcard.GenerateECKey("brainpoolP384r1", rnd)
	if err != nil {
		return err
	}
	ds, err := vcard.GenerateECKey("brainpoolP256r1", rnd)
	if err != nil {
		return err
	}
	org := []string{"Fictional Test Authority"}
	cscaName := pkix.Name{Country: []string{"VN"}, Organization: org, CommonName: spec.CSCAName}
	dsName := pkix.Name{Country: []string{"VN"}, Organization: org, CommonName: "Document Signer " + spec.Dir + " (fictional)"}
	cscaCert, err := vcard.CreateCertificate(vcard.CertificateTemplate{
		Serial: big.NewInt(int64(spec.Seed)*100 + 1), Subject: cscaName, Issuer: cscaName,
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, Hash: crypto.SHA384,
	}, csca.Public(), csca)
	if err != nil {
		return err
	}
	dsCert, err := vcard.CreateCertificate(vcard.CertificateTemplate{
		Serial: big.NewInt(int64(spec.Seed)*100 + 2), Subject: dsName, Issuer: cscaName,
		NotBefore: time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		Hash: crypto.SHA384, AuthorityPublicKey: csca.Public(),
	}, ds.Public(), csca)
	if err != nil {
		return err
	}
	return writeSigner(dir, cscaCert, dsCert, ds)
}

// drawPortrait draws a cartoon head and shoulders with a little texture, so the JPEG
// has a realistic size.
func drawPortrait(p PhotoSpec) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, p.Width, p.Height))
	rnd := rand.New(rand.NewPCG(p.Seed, p.Seed*7+1))
	w, h := float64(p.Width), float64(p.Height)
	inEllipse := func(x, y, cx, cy, rx, ry float64) bool {
		dx, dy := (x-cx)/rx, (y-cy)/ry
		return dx*dx+dy*dy <= 1
	}
	for y := 0; y < p.Height; y++ {
		for x := 0; x < p.Width; x++ {
			fx, fy := float64(x), float64(y)
			c := color.RGBA{200, 220, 245, 255} // pale blue background
			switch {
			case inEllipse(fx, fy, w/2, h*1.05, w*0.55, h*0.3): // shoulders
				c = color.RGBA{245, 245, 250, 255}
			case inEllipse(fx, fy, w/2, h*0.33, w*0.3, h*0.2) && fy < h*0.28: // hair
				c = p.Hair
			case inEllipse(fx, fy, w/2, h*0.42, w*0.27, h*0.24): // face
				c = p.Skin
				if inEllipse(fx, fy, w*0.4, h*0.38, w*0.03, h*0.015) || inEllipse(fx, fy, w*0.6, h*0.38, w*0.03, h*0.015) {
					c = color.RGBA{40, 30, 30, 255} // eyes
				}
				if inEllipse(fx, fy, w/2, h*0.52, w*0.08, h*0.012) {
					c = color.RGBA{170, 80, 80, 255} // mouth
				}
			}
			n := rnd.IntN(17) - 8 // texture, like sensor noise
			img.Set(x, y, color.RGBA{clamp(int(c.R) + n), clamp(int(c.G) + n), clamp(int(c.B) + n), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: p.Quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func clamp(v int) uint8 {
	return uint8(max(0, min(255, v)))
}
