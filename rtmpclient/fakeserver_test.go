package rtmpclient

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/handshake"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"
)

// fakeConn is the server side of one connection in a fake RTMP server that speaks just
// enough of the protocol for a test, written with the same low-level packages as the client.
type fakeConn struct {
	conn net.Conn
	r    *rawmessage.Reader
	w    *rawmessage.Writer
	// acks receives the sequence numbers of the client's acknowledgements, when not nil;
	// otherwise acknowledgements are skipped like other control messages.
	acks chan uint32
}

// startFakeServer listens on 127.0.0.1:0, accepts one connection, runs the server handshake
// and then serve in a goroutine. An error from serve fails the test (t.Errorf, never
// t.Fatal, from that goroutine). Cleanup waits for the goroutine; the connection has a
// deadline so that a test that goes wrong cannot hang.
func startFakeServer(t *testing.T, serve func(fc *fakeConn) error) (url string) {
	t.Helper()
	return startFakeServerTLS(t, nil, serve)
}

// startFakeServerTLS is startFakeServer behind TLS with tc (an rtmps:// URL), or plain when
// tc is nil.
func startFakeServerTLS(t *testing.T, tc *tls.Config, serve func(fc *fakeConn) error) (url string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "rtmp://"
	if tc != nil {
		l = tls.NewListener(l, tc)
		scheme = "rtmps://"
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := l.Accept()
		l.Close()
		if err != nil {
			t.Errorf("fake server: accept: %v", err)
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		if _, _, err := handshake.DoServer(conn, false); err != nil {
			t.Errorf("fake server: handshake: %v", err)
			return
		}
		bc := bytecounter.NewReadWriter(conn)
		fc := &fakeConn{conn: conn}
		fc.r = rawmessage.NewReader(bc, bc.Reader, func(uint32) error { return nil })
		fc.w = rawmessage.NewWriter(bc, bc.Writer, false)
		if err := serve(fc); err != nil {
			t.Errorf("fake server: %v", err)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	return scheme + l.Addr().String() + "/app/stream"
}

// next returns the next message, applying the client's chunk size changes.
func (fc *fakeConn) next() (*rawmessage.Message, error) {
	for {
		m, err := fc.r.Read()
		if err != nil {
			return nil, err
		}
		if m.Type == typeSetChunkSize {
			v, err := decodeUint32(m.Type, m.Body)
			if err != nil {
				return nil, err
			}
			if err := fc.r.SetChunkSize(v); err != nil {
				return nil, err
			}
			continue
		}
		if m.Type == typeAcknowledgement && fc.acks != nil {
			v, _ := decodeUint32(m.Type, m.Body)
			fc.acks <- v
			continue
		}
		return m, nil
	}
}

// command returns the next command, skipping control messages.
func (fc *fakeConn) command() (*Command, error) {
	for {
		m, err := fc.next()
		if err != nil {
			return nil, err
		}
		if m.Type != typeCommandAMF0 && m.Type != typeCommandAMF3 {
			continue
		}
		c, err := decodeCommand(m.Type, m.Body)
		if err != nil {
			return nil, err
		}
		c.StreamID = wireStreamID(m.MessageStreamID)
		return c, nil
	}
}

// expect returns the next command and checks its name.
func (fc *fakeConn) expect(name string) (*Command, error) {
	c, err := fc.command()
	if err != nil {
		return nil, fmt.Errorf("waiting for %s: %w", name, err)
	}
	if c.Name != name {
		return nil, fmt.Errorf("got command %q (%v %v), want %q", c.Name, c.Object, c.Args, name)
	}
	return c, nil
}

func (fc *fakeConn) write(msgs ...*rawmessage.Message) error {
	for _, m := range msgs {
		if err := fc.w.Write(m); err != nil {
			return err
		}
	}
	return nil
}

// send writes an AMF0 command on a message stream.
func (fc *fakeConn) send(streamID uint32, name string, tx float64, obj any, args ...any) error {
	m, err := encodeCommand(chunkStreamCommand, streamID, name, tx, obj, args)
	if err != nil {
		return err
	}
	return fc.write(m)
}

// sendAMF3 writes a command as an AMF3 command message (type 17): a zero byte, then AMF0.
func (fc *fakeConn) sendAMF3(streamID uint32, name string, tx float64, obj any, args ...any) error {
	m, err := encodeCommand(chunkStreamCommand, streamID, name, tx, obj, args)
	if err != nil {
		return err
	}
	m.Type = typeCommandAMF3
	m.Body = append([]byte{0}, m.Body...)
	return fc.write(m)
}

func statusObject(level, code, desc string) amf0.Object {
	return amf0.Object{{Key: "level", Value: level}, {Key: "code", Value: code}, {Key: "description", Value: desc}}
}

// onStatus sends an onStatus command on a stream.
func (fc *fakeConn) onStatus(streamID uint32, level, code string) error {
	return fc.send(streamID, "onStatus", 0, nil, statusObject(level, code, code+" description"))
}

// setChunkSize announces and switches the server's outgoing chunk size.
func (fc *fakeConn) setChunkSize(v uint32) error {
	if err := fc.write(uint32Message(typeSetChunkSize, v)); err != nil {
		return err
	}
	fc.w.SetChunkSize(v)
	return nil
}

// accept reads connect and accepts it the way common servers do.
func (fc *fakeConn) accept() (*Command, error) {
	c, err := fc.expect("connect")
	if err != nil {
		return nil, err
	}
	err = fc.write(
		uint32Message(typeWindowAckSize, 2500000),
		&rawmessage.Message{ChunkStreamID: chunkStreamControl, Type: typeSetPeerBandwidth, Body: []byte{0, 0x26, 0x25, 0xa0, 2}},
		userControlMessage(userControl{Event: ucStreamBegin}),
	)
	if err != nil {
		return nil, err
	}
	if err := fc.setChunkSize(4096); err != nil {
		return nil, err
	}
	props := amf0.Object{{Key: "fmsVer", Value: "FMS/3,0,1,123"}, {Key: "capabilities", Value: 31.0}}
	return c, fc.send(0, "_result", c.TransactionID, props, statusObject("status", "NetConnection.Connect.Success", "Connection succeeded."))
}

// acceptStream answers createStream with stream id 1 and returns the play command.
func (fc *fakeConn) acceptStream() (*Command, error) {
	c, err := fc.expect("createStream")
	if err != nil {
		return nil, err
	}
	if err := fc.send(0, "_result", c.TransactionID, nil, 1.0); err != nil {
		return nil, err
	}
	return fc.expect("play")
}

// drain reads until the client closes the connection.
func (fc *fakeConn) drain() error {
	for {
		if _, err := fc.next(); err != nil {
			if isClosedConn(err) {
				return nil
			}
			return err
		}
	}
}

// isClosedConn reports the errors a server sees when the client went away.
func isClosedConn(err error) bool {
	var ne *net.OpError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &ne)
}
