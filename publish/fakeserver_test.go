package publish

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/handshake"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"
)

// received is one media or data message a fake ingest server got, or the end of a
// connection (end true).
type received struct {
	conn int // 1 for the first connection
	end  bool
	typ  uint8
	ts   time.Duration
	body []byte
}

// fakeIngest is an RTMP server that accepts every connect, createStream and publish, and
// reports the media of each connection on msgs. kick closes the current connection.
type fakeIngest struct {
	l     net.Listener
	msgs  chan received
	publ  chan string // published names
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startFakeIngest(t *testing.T) *fakeIngest {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeIngest{l: l, msgs: make(chan received, 10000), publ: make(chan string, 16)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for n := 1; ; n++ {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				err := s.serve(n, c)
				s.msgs <- received{conn: n, end: true, body: []byte(fmt.Sprint(err))}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		s.kick()
		s.wg.Wait()
	})
	return s
}

func (s *fakeIngest) url(stream string) string {
	return "rtmp://" + s.l.Addr().String() + "/live/" + stream
}

// kick closes every open connection.
func (s *fakeIngest) kick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func (s *fakeIngest) serve(n int, conn net.Conn) error {
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, _, err := handshake.DoServer(conn, false); err != nil {
		return err
	}
	bc := bytecounter.NewReadWriter(conn)
	r := rawmessage.NewReader(bc, bc.Reader, func(uint32) error { return nil })
	w := rawmessage.NewWriter(bc, bc.Writer, false)
	send := func(streamID uint32, vals ...any) error {
		body, err := amf0.Data(vals).Marshal()
		if err != nil {
			return err
		}
		return w.Write(&rawmessage.Message{ChunkStreamID: 3, Type: 20, MessageStreamID: streamID, Body: body})
	}
	status := func(code string) amf0.Object {
		return amf0.Object{{Key: "level", Value: "status"}, {Key: "code", Value: code}, {Key: "description", Value: code}}
	}
	for {
		m, err := r.Read()
		if err != nil {
			return err
		}
		switch m.Type {
		case 1: // set chunk size
			if err := r.SetChunkSize(binary.BigEndian.Uint32(m.Body)); err != nil {
				return err
			}
		case 20:
			d, err := amf0.Unmarshal(m.Body)
			if err != nil || len(d) < 2 {
				return fmt.Errorf("bad command: %v", err)
			}
			name, _ := d[0].(string)
			tx, _ := d[1].(float64)
			switch name {
			case "connect":
				err = send(0, "_result", tx, amf0.Object{{Key: "fmsVer", Value: "FMS/3,0,1,123"}}, status("NetConnection.Connect.Success"))
			case "createStream":
				err = send(0, "_result", tx, nil, 1.0)
			case "publish":
				if len(d) > 3 {
					s.publ <- fmt.Sprint(d[3])
				}
				err = send(m.MessageStreamID, "onStatus", 0.0, nil, status("NetStream.Publish.Start"))
			}
			if err != nil {
				return err
			}
		case 8, 9, 18:
			s.msgs <- received{conn: n, typ: m.Type, ts: m.Timestamp, body: m.Body}
		}
	}
}

// next returns the next message, failing the test after 30 s.
func (s *fakeIngest) next(t *testing.T) received {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("fake ingest: no message within 30 s")
		return received{}
	}
}
