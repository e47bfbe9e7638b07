package rtmpclient

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/internal/nginxtest"
	"github.com/rendercast/rendercast/rtmpsrv"
)

// Publish sends releaseStream and FCPublish with the name, then publish name "live" on the
// stream; metadata, AVC and raw video tags arrive with the layout FLV defines.
func TestPublishWire(t *testing.T) {
	ctx := testContext(t)
	type got struct {
		cmds []*Command
		data *DataMessage
		raw  []byte // the data message body
		tags []*VideoMessage
	}
	result := make(chan got, 1)
	url := startFakeServer(t, func(fc *fakeConn) error {
		if _, err := fc.accept(); err != nil {
			return err
		}
		cs, err := fc.expect("createStream")
		if err != nil {
			return err
		}
		if err := fc.send(0, "_result", cs.TransactionID, nil, 1.0); err != nil {
			return err
		}
		var g got
		for _, name := range []string{"releaseStream", "FCPublish", "publish"} {
			c, err := fc.expect(name)
			if err != nil {
				return err
			}
			g.cmds = append(g.cmds, c)
		}
		// Answers to releaseStream and FCPublish are ignored: an _error must not matter.
		if err := fc.send(0, "_error", g.cmds[0].TransactionID, nil, statusObject("error", "NetConnection.Call.Failed", "no")); err != nil {
			return err
		}
		if err := fc.onStatus(1, "status", CodePublishStart); err != nil {
			return err
		}
		for len(g.tags) < 3 {
			m, err := fc.next()
			if err != nil {
				return err
			}
			switch m.Type {
			case typeDataAMF0:
				name, vals, err := decodeData(m.Type, m.Body)
				if err != nil {
					return err
				}
				g.data = &DataMessage{Timestamp: m.Timestamp, StreamID: wireStreamID(m.MessageStreamID), Name: name, Values: vals}
				g.raw = m.Body
			case typeVideo:
				v := &VideoMessage{Timestamp: m.Timestamp, StreamID: wireStreamID(m.MessageStreamID), Body: m.Body}
				v.VideoTag, err = ParseVideoTag(m.Body)
				if err != nil {
					return err
				}
				g.tags = append(g.tags, v)
			}
		}
		result <- g
		return fc.drain()
	})
	c := mustDial(t, ctx, strings.Replace(url, "/app/stream", "/live/show", 1), Options{})
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, id, "show?key=k1"); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	meta := amf0.ECMAArray{{Key: "width", Value: 320.0}, {Key: "height", Value: 240.0}, {Key: "videocodecid", Value: 7.0}}
	if err := c.WriteMetadata(id, meta); err != nil {
		t.Fatal(err)
	}
	config := []byte{1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 0}
	key := &avc.Frame{NALUs: []byte{0, 0, 0, 2, 0x65, 0x88}, Keyframe: true, PTS: 1040 * time.Millisecond, DTS: time.Second, Config: config}
	if err := c.WriteAVC(id, 0, key); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteVideo(id, 33*time.Millisecond, AVCTag(false, AVCNALU, -5*time.Millisecond, []byte{0, 0, 0, 1, 0x41})); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteVideo(id, -time.Millisecond, []byte{0x27}); err == nil {
		t.Error("WriteVideo at a negative timestamp: no error")
	}
	var g got
	select {
	case g = <-result:
	case <-ctx.Done():
		t.Fatal("the fake server did not get the stream")
	}
	for i, c := range g.cmds {
		if c.Arg(0) != "show?key=k1" {
			t.Errorf("%s argument %v, want the name with its query", c.Name, c.Arg(0))
		}
		if want := uint32(0); i < 2 && c.StreamID != want {
			t.Errorf("%s on stream %d, want 0", c.Name, c.StreamID)
		}
	}
	if p := g.cmds[2]; p.StreamID != id || p.Arg(1) != "live" || p.TransactionID == 0 {
		t.Errorf("publish on stream %d, args %v, tx %v; want stream %d, type live", p.StreamID, p.Args, p.TransactionID, id)
	}
	if g.data == nil || g.data.Name != "onMetaData" || g.data.StreamID != id || g.data.Timestamp != 0 {
		t.Fatalf("data message %+v, want onMetaData on stream %d at 0", g.data, id)
	}
	if !bytes.HasPrefix(g.raw, []byte("\x02\x00\x0d@setDataFrame\x02\x00\x0aonMetaData\x08")) {
		t.Errorf("data message body %q, want @setDataFrame onMetaData ECMA array", g.raw[:min(len(g.raw), 40)])
	}
	if w, _ := g.data.Object().GetFloat64("width"); w != 320 {
		t.Errorf("metadata width %v", w)
	}
	want := []struct {
		key     bool
		typ     uint8
		ts, cts time.Duration
		payload []byte
	}{
		{true, AVCSequenceHeader, 0, 0, config},
		{true, AVCNALU, 0, 40 * time.Millisecond, key.NALUs},
		{false, AVCNALU, 33 * time.Millisecond, -5 * time.Millisecond, []byte{0, 0, 0, 1, 0x41}},
	}
	for i, w := range want {
		v := g.tags[i]
		if v.Codec != CodecAVC || v.Keyframe != w.key || v.AVCPacketType != w.typ || v.Timestamp != w.ts ||
			v.CompositionTime != w.cts || !bytes.Equal(v.Payload, w.payload) || v.StreamID != id {
			t.Errorf("video %d: %+v at %v, want key %v type %d at %v cts %v payload %x", i, v.VideoTag, v.Timestamp, w.key, w.typ, w.ts, w.cts, w.payload)
		}
	}
	if b := g.tags[0].Body[:5]; !bytes.Equal(b, []byte{0x17, 0, 0, 0, 0}) {
		t.Errorf("sequence header tag starts % x, want 17 00 00 00 00", b)
	}
	if b := g.tags[1].Body[:5]; !bytes.Equal(b, []byte{0x17, 1, 0, 0, 40}) {
		t.Errorf("NALU tag starts % x, want 17 01 00 00 28", b)
	}
}

func TestAVCTag(t *testing.T) {
	for _, tc := range []struct {
		key  bool
		typ  uint8
		cts  time.Duration
		want []byte
	}{
		{true, AVCSequenceHeader, 0, []byte{0x17, 0, 0, 0, 0, 9}},
		{false, AVCNALU, 66 * time.Millisecond, []byte{0x27, 1, 0, 0, 66, 9}},
		{false, AVCNALU, -2 * time.Millisecond, []byte{0x27, 1, 0xff, 0xff, 0xfe, 9}},
		{true, AVCNALU, 3 * time.Hour, []byte{0x17, 1, 0x7f, 0xff, 0xff, 9}}, // clamped to 2^23-1 ms
		{false, AVCEndOfSequence, 0, []byte{0x27, 2, 0, 0, 0, 9}},
	} {
		got := AVCTag(tc.key, tc.typ, tc.cts, []byte{9})
		if !bytes.Equal(got, tc.want) {
			t.Errorf("AVCTag(%v, %d, %v) = % x, want % x", tc.key, tc.typ, tc.cts, got, tc.want)
		}
		p, err := ParseVideoTag(got)
		if err != nil || p.Keyframe != tc.key || p.AVCPacketType != tc.typ {
			t.Errorf("ParseVideoTag(AVCTag(...)) = %+v, %v", p, err)
		}
	}
}

// A refusal of publish is a *StatusError with the server's code.
func TestPublishRefusedByFakeServer(t *testing.T) {
	ctx := testContext(t)
	url := startFakeServer(t, func(fc *fakeConn) error {
		if _, err := fc.accept(); err != nil {
			return err
		}
		cs, err := fc.expect("createStream")
		if err != nil {
			return err
		}
		if err := fc.send(0, "_result", cs.TransactionID, nil, 1.0); err != nil {
			return err
		}
		for _, name := range []string{"releaseStream", "FCPublish", "publish"} {
			if _, err := fc.expect(name); err != nil {
				return err
			}
		}
		if err := fc.onStatus(1, "error", "NetStream.Publish.BadName"); err != nil {
			return err
		}
		return fc.drain()
	})
	c := mustDial(t, ctx, url, Options{})
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Publish(ctx, id, "stream")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetStream.Publish.BadName" || se.Op != "publish" {
		t.Fatalf("Publish: %v, want a *StatusError NetStream.Publish.BadName", err)
	}
}

// The project's own server plays but does not take streams: publish gets
// NetStream.Publish.BadName, after releaseStream and FCPublish were answered and ignored.
func TestPublishRefusedByRtmpsrv(t *testing.T) {
	ctx := testContext(t)
	srv, err := rtmpsrv.NewServer(rtmpsrv.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Install(rtmpsrv.ConnectHandlerFunc(func(*rtmpsrv.Conn, bool, rtmpsrv.Object, []any) bool { return true }))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	c := mustDial(t, ctx, "rtmp://"+srv.ListenAddr().String()+"/live/x", Options{})
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Publish(ctx, id, "x")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetStream.Publish.BadName" {
		t.Fatalf("Publish to rtmpsrv: %v, want NetStream.Publish.BadName", err)
	}
	// The connection is still usable after the refusal.
	if _, err := c.CreateStream(ctx); err != nil {
		t.Errorf("createStream after the refusal: %v", err)
	}
}

// encodeSolid encodes n frames of a solid colour at 30 fps, 320x240, a keyframe every 10.
func encodeSolid(t *testing.T, n int, c color.RGBA) []*avc.Frame {
	t.Helper()
	enc, err := encode.New(encode.Options{Width: 320, Height: 240, FrameRate: 30, Encoder: encode.EncoderX264,
		KeyframeInterval: time.Second / 3})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	draw.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	var out []*avc.Frame
	for i := range n {
		f, err := enc.Encode(img, time.Duration(i)*time.Second/30)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	if !out[0].Keyframe || out[0].Config == nil {
		t.Fatal("the first frame is not a keyframe with its configuration")
	}
	return out
}

// A stream published to nginx-rtmp plays in FFmpeg (ffprobe and ffmpeg, independent RTMP
// clients): size, codec, a decoded picture count and the published colour. A second
// publisher of the same name is refused by nginx with NetStream.Publish.BadName.
func TestPublishToNginx(t *testing.T) {
	ngx := nginxtest.Start(t, nginxtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	frames := encodeSolid(t, 60, color.RGBA{R: 230, G: 20, B: 20, A: 255})
	url := ngx.URL("live", "cam")
	c := mustDial(t, ctx, url, Options{})
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, id, "cam"); err != nil {
		t.Fatalf("Publish to nginx: %v", err)
	}
	if err := c.WriteMetadata(id, amf0.ECMAArray{{Key: "width", Value: 320.0}, {Key: "height", Value: 240.0},
		{Key: "framerate", Value: 30.0}, {Key: "videocodecid", Value: 7.0}}); err != nil {
		t.Fatal(err)
	}

	// Publish in real time, looping over the frames (the configuration again with each
	// keyframe, as a joining player needs none of ours: nginx keeps the sequence header).
	stop := make(chan struct{})
	werr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for i := 0; ; i++ {
			f := frames[i%len(frames)]
			g := *f
			g.DTS = time.Duration(i) * time.Second / 30
			g.PTS = g.DTS + (f.PTS - f.DTS)
			if i >= len(frames) {
				g.Config = nil
			}
			if err := c.WriteAVC(id, g.DTS, &g); err != nil {
				werr <- err
				return
			}
			select {
			case <-stop:
				werr <- nil
				return
			case <-tick.C:
			}
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
		if err := <-werr; err != nil {
			t.Errorf("writing to nginx: %v", err)
		}
	}()

	vs, err := nginxtest.Probe(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if vs.Codec != "h264" || vs.Width != 320 || vs.Height != 240 {
		t.Errorf("ffprobe: %+v, want h264 320x240", vs)
	}
	pics, err := nginxtest.DecodeRGB(ctx, url, 15, 320, 240)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pics {
		if r, g, b := nginxtest.Pixel(p, 320, 160, 120); r < 180 || g > 70 || b > 70 {
			t.Errorf("picture %d: centre pixel %d,%d,%d, want red", i, r, g, b)
			break
		}
	}

	c2 := mustDial(t, ctx, url, Options{})
	id2, err := c2.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = c2.Publish(ctx, id2, "cam")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "NetStream.Publish.BadName" {
		t.Errorf("second publisher of the same name: %v, want NetStream.Publish.BadName", err)
	}
	if st := c.Stats(); st.MessagesOut < 20 || st.BytesOut < 10_000 {
		t.Errorf("publisher stats %+v: too little sent", st)
	}
}
