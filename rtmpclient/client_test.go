package rtmpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustDial(t *testing.T, ctx context.Context, url string, opts Options) *Client {
	t.Helper()
	c, err := Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConnectCommand(t *testing.T) {
	ctx := testContext(t)
	got := make(chan *Command, 1)
	var firstType uint8
	var firstChunkSize uint32
	ackWindow := make(chan uint32, 1)
	url := startFakeServer(t, func(fc *fakeConn) error {
		// The client's first message must raise its chunk size.
		m, err := fc.r.Read()
		if err != nil {
			return err
		}
		firstType = m.Type
		firstChunkSize, _ = decodeUint32(m.Type, m.Body)
		fc.r.SetChunkSize(firstChunkSize)
		// A small server chunk size makes the long description span chunks.
		if err := fc.setChunkSize(64); err != nil {
			return err
		}
		c, err := fc.expect("connect")
		if err != nil {
			return err
		}
		got <- c
		info := statusObject("status", "NetConnection.Connect.Success", strings.Repeat("d", 1000))
		if err := fc.send(0, "_result", c.TransactionID, amf0.Object{{Key: "fmsVer", Value: "FMS/3,0,1,123"}}, info); err != nil {
			return err
		}
		m, err = fc.next()
		if err != nil {
			return err
		}
		if m.Type != typeWindowAckSize {
			return fmt.Errorf("after connect: message type %d, want window ack size", m.Type)
		}
		v, _ := decodeUint32(m.Type, m.Body)
		ackWindow <- v
		return fc.drain()
	})
	url = strings.Replace(url, "/app/stream", "/app/inst/stream?token=abc", 1)
	c := mustDial(t, ctx, url, Options{
		ConnectProperties: amf0.Object{
			{Key: "token", Value: "secret"},
			{Key: "fpad", Value: true},
			{Key: "nested", Value: map[string]any{"b": 2, "a": []string{"x"}}},
		},
		ConnectArgs: []any{"user", 42, nil},
	})
	cmd := <-got
	if cmd.TransactionID != 1 || cmd.StreamID != 0 {
		t.Errorf("connect transaction %v on stream %d, want 1 on 0", cmd.TransactionID, cmd.StreamID)
	}
	obj := asObject(cmd.Object)
	port := c.URL().Host[strings.LastIndexByte(c.URL().Host, ':')+1:]
	want := map[string]any{
		"app":            "app/inst",
		"tcUrl":          "rtmp://127.0.0.1:" + port + "/app/inst?token=abc",
		"flashVer":       DefaultFlashVer,
		"fpad":           true, // replaced, not duplicated
		"objectEncoding": 0.0,
		"token":          "secret",
	}
	for k, v := range want {
		if got, _ := obj.Get(k); got != v {
			t.Errorf("connect property %s = %#v, want %#v", k, got, v)
		}
	}
	n := 0
	for _, e := range obj {
		if e.Key == "fpad" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("fpad appears %d times, want 1", n)
	}
	nested, _ := obj.Get("nested")
	wantNested := amf0.Object{{Key: "a", Value: amf0.StrictArray{"x"}}, {Key: "b", Value: 2.0}}
	if fmt.Sprint(nested) != fmt.Sprint(wantNested) {
		t.Errorf("nested = %v, want %v", nested, wantNested)
	}
	if fmt.Sprint(cmd.Args) != fmt.Sprint([]any{"user", 42.0, nil}) {
		t.Errorf("connect args = %#v", cmd.Args)
	}
	res := c.ConnectResult()
	if v, _ := res.Properties.GetString("fmsVer"); v != "FMS/3,0,1,123" {
		t.Errorf("fmsVer = %q", v)
	}
	if res.Status.Code != "NetConnection.Connect.Success" || len(res.Status.Description) != 1000 {
		t.Errorf("connect status = %q with %d-byte description", res.Status.Code, len(res.Status.Description))
	}
	// firstType and firstChunkSize were written before the server sent on got.
	if firstType != typeSetChunkSize || firstChunkSize != DefaultChunkSize {
		t.Errorf("first message type %d value %d, want set chunk size %d", firstType, firstChunkSize, DefaultChunkSize)
	}
	select {
	case v := <-ackWindow:
		if v != DefaultWindowAckSize {
			t.Errorf("window ack size announced %d, want %d", v, DefaultWindowAckSize)
		}
	case <-ctx.Done():
		t.Error("no window ack size announced after connect")
	}
}

func TestConnectRejected(t *testing.T) {
	ctx := testContext(t)
	url := startFakeServer(t, func(fc *fakeConn) error {
		c, err := fc.expect("connect")
		if err != nil {
			return err
		}
		return fc.send(0, "_error", c.TransactionID, nil,
			statusObject("error", "NetConnection.Connect.Rejected", "go away"))
		// Returning closes the connection, as a refusing server does.
	})
	c, err := Dial(ctx, url, Options{})
	if err == nil {
		c.Close()
		t.Fatal("Dial succeeded, want a rejection")
	}
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("Dial error %v (%T), want *StatusError", err, err)
	}
	if se.Op != "connect" || se.Level != "error" || se.Code != "NetConnection.Connect.Rejected" || se.Description != "go away" {
		t.Errorf("StatusError = %+v", se)
	}
}

func TestConnectServerHangsUp(t *testing.T) {
	ctx := testContext(t)
	url := startFakeServer(t, func(fc *fakeConn) error {
		_, err := fc.expect("connect")
		return err
	})
	_, err := Dial(ctx, url, Options{})
	if !errors.Is(err, io.EOF) {
		t.Fatalf("Dial error %v, want one wrapping io.EOF", err)
	}
}

func TestDialTimeout(t *testing.T) {
	// A server that accepts but never answers the handshake.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := l.Accept()
		if err == nil {
			accepted <- conn
		}
		close(accepted)
	}()
	_, err = Dial(context.Background(), "rtmp://"+l.Addr().String()+"/app/s", Options{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial error %v, want DeadlineExceeded", err)
	}
	l.Close()
	for conn := range accepted {
		conn.Close()
	}

	_, err = Dial(context.Background(), "http://127.0.0.1/app/s", Options{})
	if !errors.Is(err, ErrBadURL) {
		t.Errorf("Dial(http://...) error %v, want ErrBadURL", err)
	}
}

func TestCall(t *testing.T) {
	ctx := testContext(t)
	noReply := make(chan *Command, 1)
	url := startFakeServer(t, func(fc *fakeConn) error {
		if _, err := fc.accept(); err != nil {
			return err
		}
		// add: a plain result.
		c, err := fc.expect("add")
		if err != nil {
			return err
		}
		a, _ := c.Arg(0).(float64)
		b, _ := c.Arg(1).(float64)
		if err := fc.send(0, "_result", c.TransactionID, nil, a+b); err != nil {
			return err
		}
		// Two calls in flight, answered in reverse order, plus a stray response first.
		c1, err := fc.command()
		if err != nil {
			return err
		}
		c2, err := fc.command()
		if err != nil {
			return err
		}
		if c1.TransactionID == c2.TransactionID {
			return fmt.Errorf("two calls share transaction id %v", c1.TransactionID)
		}
		if err := fc.send(0, "_result", 9999, nil, "stray"); err != nil {
			return err
		}
		for _, c := range []*Command{c2, c1} {
			if err := fc.send(0, "_result", c.TransactionID, nil, "answer to "+c.Name); err != nil {
				return err
			}
		}
		// fail: an _error with an information object, as AMF3 to test unwrapping.
		c, err = fc.expect("fail")
		if err != nil {
			return err
		}
		if err := fc.sendAMF3(0, "_error", c.TransactionID, nil,
			statusObject("error", "NetConnection.Call.Failed", "no such thing")); err != nil {
			return err
		}
		// echo: the command object and arguments round-trip.
		c, err = fc.expect("echo")
		if err != nil {
			return err
		}
		if err := fc.send(0, "_result", c.TransactionID, nil, amf0.Object{{Key: "obj", Value: c.Object}, {Key: "args", Value: amf0.StrictArray(c.Args)}}); err != nil {
			return err
		}
		c, err = fc.expect("notify")
		if err != nil {
			return err
		}
		noReply <- c
		return fc.drain()
	})
	c := mustDial(t, ctx, url, Options{})

	res, err := c.Call(ctx, "add", nil, 1, 2.5)
	if err != nil || res != 3.5 {
		t.Fatalf("Call(add) = %v, %v; want 3.5", res, err)
	}

	var wg sync.WaitGroup
	results := make([]any, 2)
	errs := make([]error, 2)
	for i, name := range []string{"first", "second"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = c.Call(ctx, name, nil)
		}()
	}
	wg.Wait()
	for i, name := range []string{"first", "second"} {
		if errs[i] != nil || results[i] != "answer to "+name {
			t.Errorf("Call(%s) = %v, %v; want its own answer", name, results[i], errs[i])
		}
	}

	_, err = c.Call(ctx, "fail", nil)
	var ce *CallError
	if !errors.As(err, &ce) {
		t.Fatalf("Call(fail) error %v (%T), want *CallError", err, err)
	}
	if ce.Name != "fail" || ce.Code != "NetConnection.Call.Failed" || ce.Description != "no such thing" || asObject(ce.Info) == nil {
		t.Errorf("CallError = %+v", ce)
	}

	res, err = c.Call(ctx, "echo", map[string]any{"k": true}, "s", int64(-7), amf0.Undefined{})
	if err != nil {
		t.Fatal(err)
	}
	want := amf0.Object{
		{Key: "obj", Value: amf0.Object{{Key: "k", Value: true}}},
		{Key: "args", Value: amf0.StrictArray{"s", -7.0, amf0.Undefined{}}},
	}
	if fmt.Sprint(res) != fmt.Sprint(want) {
		t.Errorf("echo = %v, want %v", res, want)
	}

	if _, err := c.Call(ctx, "bad", nil, struct{}{}); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("Call with a struct argument: %v, want ErrUnsupportedValue", err)
	}

	if err := c.CallNoReply("notify", nil, "x"); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-noReply:
		if n.TransactionID != 0 || n.Arg(0) != "x" {
			t.Errorf("notify: transaction %v args %v, want 0 [x]", n.TransactionID, n.Args)
		}
	case <-ctx.Done():
		t.Fatal("the server did not see notify")
	}
}

func TestCallTimeoutAndClose(t *testing.T) {
	ctx := testContext(t)
	url := startFakeServer(t, func(fc *fakeConn) error {
		if _, err := fc.accept(); err != nil {
			return err
		}
		return fc.drain() // never answers
	})
	c := mustDial(t, ctx, url, Options{Timeout: 300 * time.Millisecond})
	if _, err := c.Call(ctx, "silent", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Call to a silent server: %v, want DeadlineExceeded", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Call(cctx, "silent", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Call with a cancelled context: %v, want Canceled", err)
	}

	// Close unblocks everything that waits.
	c2 := mustDial(t, ctx, startFakeServer(t, func(fc *fakeConn) error {
		if _, err := fc.accept(); err != nil {
			return err
		}
		return fc.drain()
	}), Options{Timeout: -1})
	errs := make(chan error, 3)
	go func() { _, err := c2.Call(ctx, "silent", nil); errs <- err }()
	go func() { _, err := c2.ReadVideo(ctx); errs <- err }()
	go func() {
		for { // the accept's StreamBegin comes first
			if _, err := c2.ReadEvent(ctx); err != nil {
				errs <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond) // let them start waiting; the result does not depend on it
	c2.Close()
	for range 3 {
		if err := <-errs; !errors.Is(err, ErrClosed) {
			t.Errorf("after Close: %v, want ErrClosed", err)
		}
	}
	<-c2.Done()
	if !errors.Is(c2.Err(), ErrClosed) {
		t.Errorf("Err() = %v, want ErrClosed", c2.Err())
	}
	if _, err := c2.CreateStream(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateStream after Close: %v, want ErrClosed", err)
	}
	if err := c2.CallNoReply("x", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("CallNoReply after Close: %v, want ErrClosed", err)
	}
}

func TestServerCloses(t *testing.T) {
	ctx := testContext(t)
	url := startFakeServer(t, func(fc *fakeConn) error {
		if _, err := fc.accept(); err != nil {
			return err
		}
		_, err := fc.next() // the window ack size that completes Dial
		return err          // then hang up
	})
	c := mustDial(t, ctx, url, Options{})
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("Done not closed after the server hung up")
	}
	if !errors.Is(c.Err(), io.EOF) {
		t.Errorf("Err() = %v, want io.EOF", c.Err())
	}
	if _, err := c.ReadMedia(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("ReadMedia = %v, want io.EOF", err)
	}
}

// avcTag builds an FLV AVC video tag body.
func avcTag(key bool, packetType uint8, cts int32, payload []byte) []byte {
	b := byte(0x27)
	if key {
		b = 0x17
	}
	u := uint32(cts)
	return append([]byte{b, packetType, byte(u >> 16), byte(u >> 8), byte(u)}, payload...)
}

func videoMsg(streamID uint32, ts time.Duration, body []byte) *rawmessage.Message {
	return &rawmessage.Message{ChunkStreamID: 6, Type: typeVideo, MessageStreamID: wireStreamID(streamID), Timestamp: ts, Body: body}
}

func TestStreamLifecycle(t *testing.T) {
	ctx := testContext(t)
	type seen struct {
		play, pause, resume, closeStream, deleteStream *Command
		bufferLength                                   userControl
	}
	var s seen
	seenCh := make(chan seen, 1)
	// Timestamps straddle the 24-bit limit, where extended timestamps start.
	timestamps := []time.Duration{
		0xFFFFF0 * time.Millisecond,
		0xFFFFFF * time.Millisecond,
		(0xFFFFFF + 33) * time.Millisecond,
		(0x7FFFFFFF + 5) * time.Millisecond,
	}
	big := bytes.Repeat([]byte{0, 0, 0, 1, 0x65}, 3000) // spans several chunks
	url := startFakeServer(t, func(fc *fakeConn) error {
		if _, err := fc.accept(); err != nil {
			return err
		}
		m, err := fc.next()
		if err != nil {
			return err
		}
		if m.Type != typeWindowAckSize {
			return fmt.Errorf("message type %d after connect, want window ack size", m.Type)
		}
		m, err = fc.next()
		if err != nil {
			return err
		}
		if s.bufferLength, err = decodeUserControl(m.Body); err != nil || m.Type != typeUserControl {
			return fmt.Errorf("want set buffer length, got type %d: %v", m.Type, err)
		}
		if s.play, err = fc.acceptStream(); err != nil {
			return err
		}
		err = fc.write(userControlMessage(userControl{Event: ucStreamBegin, StreamID: 1}))
		if err != nil {
			return err
		}
		if err := fc.onStatus(1, "status", "NetStream.Play.Reset"); err != nil {
			return err
		}
		if err := fc.onStatus(1, "status", "NetStream.Play.Start"); err != nil {
			return err
		}
		meta, _ := amf0.Data{"@setDataFrame", "onMetaData", amf0.ECMAArray{{Key: "width", Value: 64.0}}}.Marshal()
		access, _ := amf0.Data{"|RtmpSampleAccess", true, true}.Marshal()
		err = fc.write(
			&rawmessage.Message{ChunkStreamID: 5, Type: typeDataAMF0, MessageStreamID: wireStreamID(1), Body: access},
			&rawmessage.Message{ChunkStreamID: 5, Type: typeDataAMF3, MessageStreamID: wireStreamID(1), Body: append([]byte{0}, meta...)},
			videoMsg(1, timestamps[0], avcTag(true, AVCSequenceHeader, 0, []byte{1, 0x42, 0xc0, 0x0d, 0xff, 0xe1})),
			videoMsg(1, timestamps[1], avcTag(true, AVCNALU, 66, big)),
			videoMsg(1, timestamps[2], avcTag(false, AVCNALU, -33, []byte{0, 0, 0, 1, 0x41})),
			&rawmessage.Message{ChunkStreamID: 4, Type: typeAudio, MessageStreamID: wireStreamID(1), Timestamp: timestamps[2], Body: []byte{0xaf, 1, 2}},
			videoMsg(1, timestamps[3], avcTag(false, AVCNALU, 0, big)),
		)
		if err != nil {
			return err
		}
		if s.pause, err = fc.expect("pause"); err != nil {
			return err
		}
		if err := fc.onStatus(1, "status", "NetStream.Pause.Notify"); err != nil {
			return err
		}
		if s.resume, err = fc.expect("pause"); err != nil {
			return err
		}
		// A _result to the transaction does not end the wait for the status.
		if err := fc.send(1, "_result", s.resume.TransactionID, nil); err != nil {
			return err
		}
		if err := fc.onStatus(1, "status", "NetStream.Unpause.Notify"); err != nil {
			return err
		}
		if s.closeStream, err = fc.expect("closeStream"); err != nil {
			return err
		}
		if s.deleteStream, err = fc.expect("deleteStream"); err != nil {
			return err
		}
		seenCh <- s
		return fc.drain()
	})
	c := mustDial(t, ctx, url, Options{})
	if err := c.SetBufferLength(1, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	id, err := c.CreateStream(ctx)
	if err != nil || id != 1 {
		t.Fatalf("CreateStream = %d, %v; want 1", id, err)
	}
	if err := c.Play(ctx, id, "cam"); err != nil {
		t.Fatal(err)
	}

	var media []MediaMessage
	for len(media) < 7 {
		m, err := c.ReadMedia(ctx)
		if err != nil {
			t.Fatal(err)
		}
		media = append(media, m)
	}
	if d, ok := media[0].(*DataMessage); !ok || d.Name != "|RtmpSampleAccess" || d.StreamID != 1 {
		t.Errorf("media[0] = %#v, want |RtmpSampleAccess", media[0])
	}
	if d, ok := media[1].(*DataMessage); !ok || d.Name != "onMetaData" {
		t.Errorf("media[1] = %#v, want onMetaData", media[1])
	} else if w, _ := d.Object().GetFloat64("width"); w != 64 {
		t.Errorf("onMetaData width %v, want 64", w)
	}
	if w, _ := c.Metadata().GetFloat64("width"); w != 64 {
		t.Errorf("Metadata() = %v", c.Metadata())
	}
	wantVideo := []struct {
		idx        int
		ts         time.Duration
		key        bool
		packetType uint8
		cts        time.Duration
		payloadLen int
	}{
		{2, timestamps[0], true, AVCSequenceHeader, 0, 6},
		{3, timestamps[1], true, AVCNALU, 66 * time.Millisecond, len(big)},
		{4, timestamps[2], false, AVCNALU, -33 * time.Millisecond, 5},
		{6, timestamps[3], false, AVCNALU, 0, len(big)},
	}
	for _, w := range wantVideo {
		v, ok := media[w.idx].(*VideoMessage)
		if !ok {
			t.Errorf("media[%d] = %T, want video", w.idx, media[w.idx])
			continue
		}
		if v.Timestamp != w.ts || v.StreamID != 1 || v.Codec != CodecAVC || v.Keyframe != w.key ||
			v.AVCPacketType != w.packetType || v.CompositionTime != w.cts || len(v.Payload) != w.payloadLen {
			t.Errorf("media[%d] = ts %v stream %d codec %d key %v type %d cts %v payload %d; want %+v",
				w.idx, v.Timestamp, v.StreamID, v.Codec, v.Keyframe, v.AVCPacketType, v.CompositionTime, len(v.Payload), w)
		}
	}
	if a, ok := media[5].(*AudioMessage); !ok || !bytes.Equal(a.Body, []byte{0xaf, 1, 2}) || a.MediaTimestamp() != timestamps[2] {
		t.Errorf("media[5] = %#v, want the audio message", media[5])
	}

	if err := c.Pause(ctx, id, true, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(ctx, id, false, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseStream(id); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteStream(id); err != nil {
		t.Fatal(err)
	}

	// Events arrive in order: connection-level StreamBegin from accept, then the stream's.
	var kinds []string
	for {
		ectx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		e, err := c.ReadEvent(ectx)
		cancel()
		if err != nil {
			break
		}
		k := e.Kind.String()
		if e.Kind == EventStatus {
			k = e.Status.Code
		}
		kinds = append(kinds, fmt.Sprintf("%d:%s", e.StreamID, k))
	}
	wantKinds := "0:StreamBegin 1:StreamBegin 1:NetStream.Play.Reset 1:NetStream.Play.Start 1:NetStream.Pause.Notify 1:NetStream.Unpause.Notify"
	if strings.Join(kinds, " ") != wantKinds {
		t.Errorf("events = %v, want %s", kinds, wantKinds)
	}

	var ok bool
	select {
	case s, ok = <-seenCh:
	case <-ctx.Done():
	}
	if !ok {
		t.Fatal("the fake server did not see the whole lifecycle")
	}
	{
		if s.bufferLength.Event != ucSetBufferLength || s.bufferLength.StreamID != 1 || s.bufferLength.Value != 3000 {
			t.Errorf("set buffer length = %+v, want stream 1, 3000 ms", s.bufferLength)
		}
		if p := s.play; p == nil || p.StreamID != 1 || p.Arg(0) != "cam" || p.Arg(1) != -2.0 || p.TransactionID == 0 {
			t.Errorf("play = %+v, want on stream 1 with [cam -2] and a transaction id", p)
		}
		if p := s.pause; p == nil || p.StreamID != 1 || p.Arg(0) != true || p.Arg(1) != 1500.0 {
			t.Errorf("pause = %+v, want on stream 1 with [true 1500]", p)
		}
		if p := s.resume; p == nil || p.Arg(0) != false {
			t.Errorf("resume = %+v, want [false ...]", p)
		}
		if p := s.closeStream; p == nil || p.StreamID != 1 || p.TransactionID != 0 {
			t.Errorf("closeStream = %+v, want on stream 1, transaction 0", p)
		}
		if p := s.deleteStream; p == nil || p.StreamID != 0 || p.Arg(0) != 1.0 {
			t.Errorf("deleteStream = %+v, want on stream 0 with [1]", p)
		}
	}
}

func TestPlayRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply func(fc *fakeConn, play *Command) error
		check func(t *testing.T, err error)
	}{
		{"StreamNotFound", func(fc *fakeConn, play *Command) error {
			if err := fc.onStatus(1, "status", "NetStream.Play.Reset"); err != nil {
				return err
			}
			return fc.onStatus(1, "error", "NetStream.Play.StreamNotFound")
		}, func(t *testing.T, err error) {
			var se *StatusError
			if !errors.As(err, &se) || se.Op != "play" || se.Code != "NetStream.Play.StreamNotFound" {
				t.Errorf("Play = %v, want *StatusError NetStream.Play.StreamNotFound", err)
			}
		}},
		{"_error", func(fc *fakeConn, play *Command) error {
			return fc.send(1, "_error", play.TransactionID, nil, statusObject("error", "NetStream.Play.Failed", "refused"))
		}, func(t *testing.T, err error) {
			var ce *CallError
			if !errors.As(err, &ce) || ce.Name != "play" || ce.Code != "NetStream.Play.Failed" {
				t.Errorf("Play = %v, want *CallError NetStream.Play.Failed", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			url := startFakeServer(t, func(fc *fakeConn) error {
				if _, err := fc.accept(); err != nil {
					return err
				}
				play, err := fc.acceptStream()
				if err != nil {
					return err
				}
				if err := tc.reply(fc, play); err != nil {
					return err
				}
				return fc.drain()
			})
			c := mustDial(t, ctx, url, Options{})
			id, err := c.CreateStream(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c.Play(ctx, id, "missing"))
		})
	}
}

func TestPingAndAcknowledgement(t *testing.T) {
	ctx := testContext(t)
	pong := make(chan userControl, 1)
	acks := make(chan uint32, 64)
	url := startFakeServer(t, func(fc *fakeConn) error {
		if _, err := fc.accept(); err != nil {
			return err
		}
		fc.acks = acks
		err := fc.write(userControlMessage(userControl{Event: ucPingRequest, Value: 0x12345678}))
		if err != nil {
			return err
		}
		for {
			m, err := fc.next()
			if err != nil {
				return err
			}
			if m.Type == typeUserControl {
				u, err := decodeUserControl(m.Body)
				if err != nil {
					return err
				}
				pong <- u
				break
			}
		}
		// A small window: the client must acknowledge every 1000 bytes or so.
		if err := fc.write(uint32Message(typeWindowAckSize, 1000)); err != nil {
			return err
		}
		for i := range 20 {
			if err := fc.write(videoMsg(1, time.Duration(i)*time.Millisecond, avcTag(false, AVCNALU, 0, make([]byte, 1000)))); err != nil {
				return err
			}
		}
		return fc.drain()
	})
	c := mustDial(t, ctx, url, Options{})
	select {
	case u := <-pong:
		if u.Event != ucPingResponse || u.Value != 0x12345678 {
			t.Errorf("ping reply = %+v, want a ping response with 0x12345678", u)
		}
	case <-ctx.Done():
		t.Fatal("no ping response")
	}
	for range 20 {
		if _, err := c.ReadVideo(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// 20 KB read with a 1000-byte window: acknowledgements with increasing counts, up to
	// nearly everything read (the count includes the 3073 handshake bytes).
	var last uint32
	n := 0
	for last < 20000 {
		select {
		case v := <-acks:
			if v <= last {
				t.Errorf("acknowledgement %d: %d after %d", n, v, last)
			}
			last = v
			n++
		case <-ctx.Done():
			t.Fatalf("%d acknowledgements up to %d bytes, want one past 20000", n, last)
		}
	}
	if n < 3 {
		t.Errorf("%d acknowledgements for 20 KB with a 1000-byte window, want at least 3", n)
	}
	if st := c.Stats(); st.AcksSent < uint64(n) || st.PingsAnswered != 1 {
		t.Errorf("stats = %+v, want at least %d acks sent and 1 ping answered", st, n)
	}
}

func TestBackpressure(t *testing.T) {
	ctx := testContext(t)
	const total, size = 400, 64 << 10 // 25 MiB: more than loopback socket buffers hold
	var written atomic.Int64
	url := startFakeServer(t, func(fc *fakeConn) error {
		if _, err := fc.accept(); err != nil {
			return err
		}
		payload := make([]byte, size)
		for i := range total {
			if err := fc.write(videoMsg(1, time.Duration(i)*time.Millisecond, avcTag(false, AVCNALU, 0, payload))); err != nil {
				return err
			}
			written.Add(1)
		}
		return fc.drain()
	})
	c := mustDial(t, ctx, url, Options{MediaBuffer: 4})
	// Wait until the server stops making progress: its writes block.
	prev := int64(-1)
	for {
		time.Sleep(300 * time.Millisecond)
		n := written.Load()
		if n == prev {
			break
		}
		prev = n
	}
	if prev >= total {
		t.Fatalf("the server wrote all %d messages to a client that does not read", total)
	}
	if n := c.Stats().VideoMessages; n > 5 {
		t.Errorf("reader took %d video messages with a 4-message buffer, want at most 5", n)
	}
	for i := range total {
		v, err := c.ReadVideo(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if v.Timestamp != time.Duration(i)*time.Millisecond {
			t.Fatalf("message %d has timestamp %v", i, v.Timestamp)
		}
	}
	t.Logf("server blocked after %d of %d messages", prev, total)
}

func TestDropMedia(t *testing.T) {
	ctx := testContext(t)
	const total = 50
	url := startFakeServer(t, func(fc *fakeConn) error {
		if _, err := fc.accept(); err != nil {
			return err
		}
		for i := range total {
			if err := fc.write(videoMsg(1, time.Duration(i)*time.Millisecond, avcTag(false, AVCNALU, 0, []byte{1}))); err != nil {
				return err
			}
		}
		if err := fc.onStatus(1, "status", "Test.Done"); err != nil {
			return err
		}
		return fc.drain()
	})
	c := mustDial(t, ctx, url, Options{MediaBuffer: 4, DropMedia: true})
	for {
		e, err := c.ReadEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status.Code == "Test.Done" {
			break
		}
	}
	if st := c.Stats(); st.VideoMessages != total || st.MediaDropped != total-4 {
		t.Errorf("stats = %+v, want %d received and %d dropped", st, total, total-4)
	}
	for i := range 4 {
		v, err := c.ReadVideo(ctx)
		if err != nil || v.Timestamp != time.Duration(i)*time.Millisecond {
			t.Fatalf("buffered message %d = %v, %v", i, v, err)
		}
	}
}

func TestEventBufferDropsOldest(t *testing.T) {
	ctx := testContext(t)
	url := startFakeServer(t, func(fc *fakeConn) error {
		if _, err := fc.accept(); err != nil {
			return err
		}
		for i := range 10 {
			if err := fc.onStatus(0, "status", fmt.Sprint("code", i)); err != nil {
				return err
			}
		}
		if err := fc.write(videoMsg(1, 0, avcTag(false, AVCNALU, 0, nil))); err != nil {
			return err
		}
		return fc.drain()
	})
	c := mustDial(t, ctx, url, Options{EventBuffer: 3})
	if _, err := c.ReadVideo(ctx); err != nil { // everything before it has been handled
		t.Fatal(err)
	}
	var codes []string
	for range 3 {
		e, err := c.ReadEvent(ctx)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, e.Status.Code)
	}
	// accept's StreamBegin and code0..code6 were dropped.
	if got := strings.Join(codes, " "); got != "code7 code8 code9" {
		t.Errorf("events kept = %s, want the newest three", got)
	}
	if d := c.Stats().EventsDropped; d != 8 {
		t.Errorf("EventsDropped = %d, want 8", d)
	}
}

func TestProtocolErrors(t *testing.T) {
	ctrl := func(typ uint8, body ...byte) *rawmessage.Message {
		return &rawmessage.Message{ChunkStreamID: chunkStreamControl, Type: typ, Body: body}
	}
	for _, tc := range []struct {
		name string
		msg  *rawmessage.Message
		want error
	}{
		{"chunk size 0", ctrl(typeSetChunkSize, 0, 0, 0, 0), ErrProtocol},
		{"chunk size too large", ctrl(typeSetChunkSize, 0x7f, 0xff, 0xff, 0xff), ErrProtocol},
		{"short window ack size", ctrl(typeWindowAckSize, 1, 2), ErrProtocol},
		{"short user control", ctrl(typeUserControl, 0, 6, 1), ErrBadUserControl},
		{"bad command", &rawmessage.Message{ChunkStreamID: 3, Type: typeCommandAMF0, Body: []byte{0x02, 0, 9, 'x'}}, ErrBadCommand},
		{"bad data", &rawmessage.Message{ChunkStreamID: 5, Type: typeDataAMF0, Body: []byte{0x00, 1}}, ErrBadCommand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			url := startFakeServer(t, func(fc *fakeConn) error {
				if _, err := fc.accept(); err != nil {
					return err
				}
				if _, err := fc.next(); err != nil { // the window ack size that completes Dial
					return err
				}
				if err := fc.write(userControlMessage(userControl{Event: ucStreamEOF, StreamID: 1})); err != nil {
					return err
				}
				if err := fc.send(0, "close", 0, nil, "bye"); err != nil {
					return err
				}
				// Unknown message types (here an aggregate) are skipped.
				if err := fc.write(&rawmessage.Message{ChunkStreamID: 5, Type: 22, Body: []byte{1, 2, 3}}); err != nil {
					return err
				}
				if err := fc.write(tc.msg); err != nil {
					return err
				}
				return fc.drain()
			})
			c := mustDial(t, ctx, url, Options{})
			select {
			case <-c.Done():
			case <-ctx.Done():
				t.Fatal("the connection survived a protocol error")
			}
			if !errors.Is(c.Err(), tc.want) {
				t.Errorf("Err() = %v, want %v", c.Err(), tc.want)
			}
			var got []string
			for {
				e, err := c.ReadEvent(ctx)
				if err != nil {
					if !errors.Is(err, tc.want) {
						t.Errorf("ReadEvent after the end: %v, want %v", err, tc.want)
					}
					break
				}
				s := fmt.Sprintf("%d:%s", e.StreamID, e.Kind)
				if e.Command != nil {
					s += ":" + e.Command.Name + ":" + fmt.Sprint(e.Command.Arg(0))
				}
				got = append(got, s)
			}
			if want := "0:StreamBegin 1:StreamEOF 0:command:close:bye"; strings.Join(got, " ") != want {
				t.Errorf("events = %v, want %s", got, want)
			}
		})
	}
}
