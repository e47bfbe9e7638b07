package preview

import (
	"bufio"
	"errors"
	"image"
	"image/color"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

func TestOpenWithoutDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	w, err := Open(Config{})
	if !errors.Is(err, ErrNoDisplay) {
		if w != nil {
			w.Close()
		}
		t.Fatalf("Open without DISPLAY: %v, want ErrNoDisplay", err)
	}
	t.Log(err)
}

// TestWindowOnXvfb opens a real window on a virtual X server, when Xvfb is installed.
func TestWindowOnXvfb(t *testing.T) {
	xvfb, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Skip("Xvfb not installed (apt-get install xvfb): window test skipped")
	}
	// -displayfd: Xvfb picks a free display and writes its number once it accepts clients.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{pw}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	defer pr.Close() // open until Xvfb is done writing "N\n"
	pr.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("Xvfb did not report its display: %v", err)
	}
	display := ":" + strings.TrimSpace(line)
	t.Setenv("DISPLAY", display)

	w, err := Open(Config{Title: "test", Width: 320, Height: 180})
	if err != nil {
		t.Fatalf("Open on Xvfb: %v", err)
	}
	if _, err := Open(Config{}); !errors.Is(err, ErrBusy) {
		t.Errorf("second Open: %v, want ErrBusy", err)
	}
	// BT.709 limited range: Y 63, Cb 102, Cr 240 is pure red (255, 0, 0).
	yuv := image.NewYCbCr(image.Rect(0, 0, 64, 36), image.YCbCrSubsampleRatio420)
	fill(yuv.Y, 63)
	fill(yuv.Cb, 102)
	fill(yuv.Cr, 240)
	rgba := image.NewRGBA(image.Rect(0, 0, 30, 20))
	gray := image.NewGray(image.Rect(0, 0, 10, 10))
	gray.SetGray(1, 1, color.Gray{200})
	for _, img := range []image.Image{rgba, gray, yuv} {
		if err := w.Show(img); err != nil {
			t.Fatal(err)
		}
	}
	// The window is 320x180 and the frame 16:9: it fills the window. Snapshots may come
	// before the last frame is uploaded; poll.
	var got color.RGBA
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		reply := make(chan *image.RGBA, 1)
		w.snapshots <- reply
		shot := <-reply
		if got = shot.RGBAAt(shot.Rect.Dx()/2, shot.Rect.Dy()/2); got.R > 240 && got.G < 16 && got.B < 16 {
			break
		}
	}
	if !(got.R > 240 && got.G < 16 && got.B < 16) {
		t.Errorf("window centre shows %v, want red", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	<-w.Closed()
	if err := w.Show(yuv); !errors.Is(err, ErrClosed) {
		t.Errorf("Show after Close: %v, want ErrClosed", err)
	}
	w.Close()
	// The window can be opened again once closed.
	w2, err := Open(Config{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	w2.Close()
}
