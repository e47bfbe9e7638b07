package scenes

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Limits on Radiance HDR files (DecodeHDR).
const (
	// MaxHDRSide is the largest width or height DecodeHDR accepts.
	MaxHDRSide = 16384
	// MaxHDRPixels is the largest width x height DecodeHDR accepts (a 8192 x 4096
	// panorama): 128 MiB of RGBE data, 384 MiB decoded.
	MaxHDRPixels = 8192 * 4096
	// maxHDRHeader bounds the header's text.
	maxHDRHeader = 64 << 10
)

// HDRImage is a decoded Radiance HDR picture: linear RGB, three float32 per pixel, rows
// from the top.
type HDRImage struct {
	Width, Height int
	Pix           []float32
}

// LoadHDR reads the Radiance HDR file at path (see DecodeHDR). Errors wrap ErrBadHDR, or the
// file system's error for a missing or unreadable file.
func LoadHDR(path string) (*HDRImage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadHDR, err)
	}
	defer f.Close()
	img, err := DecodeHDR(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// DecodeHDR decodes a Radiance HDR (RGBE) picture: "#?RADIANCE" or "#?RGBE" header,
// FORMAT=32-bit_rle_rgbe, the standard "-Y H +X W" orientation, scanlines flat, run-length
// encoded (the adaptive encoding of Radiance 2.0) or in the old run-length encoding. Sizes
// past MaxHDRSide or MaxHDRPixels, other formats and orientations, and truncated data give
// errors wrapping ErrBadHDR.
func DecodeHDR(r io.Reader) (*HDRImage, error) {
	br := bufio.NewReader(r)
	var header int
	line := func() (string, error) {
		s, err := br.ReadString('\n')
		header += len(s)
		if header > maxHDRHeader {
			return "", fmt.Errorf("%w: header longer than %d bytes", ErrBadHDR, maxHDRHeader)
		}
		if err != nil {
			return "", fmt.Errorf("%w: header truncated", ErrBadHDR)
		}
		return strings.TrimRight(s, "\r\n"), nil
	}
	magic, err := line()
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(magic, "#?RADIANCE") && !strings.HasPrefix(magic, "#?RGBE") {
		return nil, fmt.Errorf("%w: not a Radiance HDR file (no #?RADIANCE or #?RGBE first line)", ErrBadHDR)
	}
	for {
		s, err := line()
		if err != nil {
			return nil, err
		}
		if s == "" {
			break
		}
		if v, ok := strings.CutPrefix(s, "FORMAT="); ok && v != "32-bit_rle_rgbe" {
			return nil, fmt.Errorf("%w: format %q (want 32-bit_rle_rgbe)", ErrBadHDR, v)
		}
	}
	res, err := line()
	if err != nil {
		return nil, err
	}
	f := strings.Fields(res)
	if len(f) != 4 || f[0] != "-Y" || f[2] != "+X" {
		return nil, fmt.Errorf("%w: resolution line %q (want the standard orientation -Y H +X W)", ErrBadHDR, res)
	}
	h, err1 := strconv.Atoi(f[1])
	w, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || w < 1 || h < 1 {
		return nil, fmt.Errorf("%w: resolution line %q", ErrBadHDR, res)
	}
	if w > MaxHDRSide || h > MaxHDRSide || w*h > MaxHDRPixels {
		return nil, fmt.Errorf("%w: %d x %d pixels is over the limit (%d per side, %d in all)", ErrBadHDR, w, h, MaxHDRSide, MaxHDRPixels)
	}
	// The pixels grow as scanlines arrive: a short file claiming a large size costs what
	// it holds, not what it claims.
	img := &HDRImage{Width: w, Height: h, Pix: make([]float32, 0, min(3*w*h, 3<<20))}
	scan := make([]byte, 4*w)
	for y := range h {
		if err := readScanline(br, scan, w); err != nil {
			return nil, fmt.Errorf("%w: scanline %d of %d: %v", ErrBadHDR, y, h, err)
		}
		for x := range w {
			r, g, b := rgbeToFloat(scan[4*x : 4*x+4])
			img.Pix = append(img.Pix, r, g, b)
		}
	}
	return img, nil
}

// readScanline reads one scanline of w pixels into scan (4 bytes each: R, G, B, E).
func readScanline(br *bufio.Reader, scan []byte, w int) error {
	var first [4]byte
	if _, err := io.ReadFull(br, first[:]); err != nil {
		return errTruncated(err)
	}
	if w >= 8 && w < 0x8000 && first[0] == 2 && first[1] == 2 && first[2]&0x80 == 0 {
		if n := int(first[2])<<8 | int(first[3]); n != w {
			return fmt.Errorf("run-length scanline of %d pixels in a %d pixel wide picture", n, w)
		}
		for c := range 4 {
			for x := 0; x < w; {
				count, err := br.ReadByte()
				if err != nil {
					return errTruncated(err)
				}
				if count > 128 {
					n := int(count) - 128
					if x+n > w {
						return fmt.Errorf("run of %d past the end of the scanline", n)
					}
					v, err := br.ReadByte()
					if err != nil {
						return errTruncated(err)
					}
					for ; n > 0; n-- {
						scan[4*x+c] = v
						x++
					}
					continue
				}
				n := int(count)
				if n == 0 || x+n > w {
					return fmt.Errorf("literal run of %d at pixel %d of %d", n, x, w)
				}
				for ; n > 0; n-- {
					v, err := br.ReadByte()
					if err != nil {
						return errTruncated(err)
					}
					scan[4*x+c] = v
					x++
				}
			}
		}
		return nil
	}
	// Flat pixels, possibly with the old run-length encoding: a (1, 1, 1, n) pixel repeats
	// the previous one n << shift times, shift growing by 8 for each such pixel in a row.
	copy(scan[0:4], first[:])
	x, shift := 1, 0
	if first[0] == 1 && first[1] == 1 && first[2] == 1 {
		return fmt.Errorf("scanline starts with a repeat")
	}
	for x < w {
		var p [4]byte
		if _, err := io.ReadFull(br, p[:]); err != nil {
			return errTruncated(err)
		}
		if p[0] == 1 && p[1] == 1 && p[2] == 1 {
			n := int(p[3]) << shift
			if n > w-x {
				return fmt.Errorf("repeat of %d past the end of the scanline", n)
			}
			for ; n > 0; n-- {
				copy(scan[4*x:4*x+4], scan[4*x-4:4*x])
				x++
			}
			shift += 8
			if shift > 24 {
				return fmt.Errorf("repeat count too large")
			}
			continue
		}
		copy(scan[4*x:4*x+4], p[:])
		x++
		shift = 0
	}
	return nil
}

func errTruncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("truncated")
	}
	return err
}

func rgbeToFloat(p []byte) (r, g, b float32) {
	if p[3] == 0 {
		return 0, 0, 0
	}
	f := float32(math.Ldexp(1, int(p[3])-(128+8)))
	return (float32(p[0]) + 0.5) * f, (float32(p[1]) + 0.5) * f, (float32(p[2]) + 0.5) * f
}

func floatToRGBE(r, g, b float32) [4]byte {
	m := max(r, g, b)
	if !(m > 1e-32) {
		return [4]byte{}
	}
	frac, exp := math.Frexp(float64(m))
	if exp > 127 {
		return [4]byte{255, 255, 255, 255}
	}
	s := frac * 256 / float64(m)
	return [4]byte{byte(float64(r) * s), byte(float64(g) * s), byte(float64(b) * s), byte(exp + 128)}
}

// EncodeHDR writes img as a Radiance HDR file, with run-length encoded scanlines when rle
// (and the width allows it: 8 to 32767 pixels), flat ones otherwise. Negative and
// non-finite values are written as 0.
func EncodeHDR(w io.Writer, img *HDRImage, rle bool) error {
	if img == nil || img.Width < 1 || img.Height < 1 || len(img.Pix) != 3*img.Width*img.Height {
		return fmt.Errorf("%w: image size does not match its pixels", ErrBadHDR)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n", img.Height, img.Width)
	wd := img.Width
	rle = rle && wd >= 8 && wd < 0x8000
	scan := make([]byte, 4*wd)
	clean := func(f float32) float32 {
		if !(f > 0) || math.IsInf(float64(f), 0) {
			return 0
		}
		return f
	}
	for y := range img.Height {
		for x := range wd {
			p := img.Pix[3*(y*wd+x):]
			e := floatToRGBE(clean(p[0]), clean(p[1]), clean(p[2]))
			copy(scan[4*x:], e[:])
		}
		if !rle {
			buf.Write(scan)
			continue
		}
		buf.Write([]byte{2, 2, byte(wd >> 8), byte(wd)})
		for c := range 4 {
			x := 0
			for x < wd {
				// A run of equal bytes (at least 3) goes as one; else literals up to the next run.
				run := 1
				for x+run < wd && run < 127 && scan[4*(x+run)+c] == scan[4*x+c] {
					run++
				}
				if run >= 3 {
					buf.Write([]byte{byte(128 + run), scan[4*x+c]})
					x += run
					continue
				}
				start := x
				for x < wd && x-start < 128 {
					if x+2 < wd && scan[4*x+c] == scan[4*(x+1)+c] && scan[4*x+c] == scan[4*(x+2)+c] {
						break
					}
					x++
				}
				buf.WriteByte(byte(x - start))
				for i := start; i < x; i++ {
					buf.WriteByte(scan[4*i+c])
				}
			}
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}
