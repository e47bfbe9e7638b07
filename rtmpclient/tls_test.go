package rtmpclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/internal/testcert"
)

func testCertificate(t *testing.T) (*testcert.CA, *testcert.Server) {
	t.Helper()
	ca, err := testcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue()
	if err != nil {
		t.Fatal(err)
	}
	return ca, srv
}

// An rtmps:// URL goes through TLS, verified against the given roots, and the connect
// command carries the rtmps tcUrl.
func TestDialTLS(t *testing.T) {
	ctx := testContext(t)
	ca, cert := testCertificate(t)
	got := make(chan *Command, 1)
	url := startFakeServerTLS(t, &tls.Config{Certificates: []tls.Certificate{cert.TLS}}, func(fc *fakeConn) error {
		c, err := fc.accept()
		if err != nil {
			return err
		}
		got <- c
		if _, ok := fc.conn.(*tls.Conn); !ok {
			return errors.New("fake server connection is not TLS")
		}
		r, err := fc.expect("echo")
		if err != nil {
			return err
		}
		if err := fc.send(0, "_result", r.TransactionID, nil, r.Arg(0)); err != nil {
			return err
		}
		return fc.drain()
	})
	if !strings.HasPrefix(url, "rtmps://") {
		t.Fatalf("fake server URL %s", url)
	}
	c := mustDial(t, ctx, url, Options{TLSConfig: &tls.Config{RootCAs: ca.Pool()}})
	connect := <-got
	obj, _ := connect.Object.(amf0.Object)
	if tc, _ := obj.GetString("tcUrl"); !strings.HasPrefix(tc, "rtmps://127.0.0.1:") || !strings.HasSuffix(tc, "/app") {
		t.Errorf("tcUrl %q, want rtmps://127.0.0.1:PORT/app", tc)
	}
	res, err := c.Call(ctx, "echo", nil, "over tls")
	if err != nil || res != "over tls" {
		t.Fatalf("echo over TLS: %v, %v", res, err)
	}
	c.Close()
}

// A server certificate the client does not trust fails Dial with the verification error.
func TestDialTLSUntrusted(t *testing.T) {
	ctx := testContext(t)
	ca, cert := testCertificate(t)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.(*tls.Conn).HandshakeContext(ctx) // fails: the client gives up
		c.Close()
	}()
	_, err = Dial(ctx, "rtmps://"+l.Addr().String()+"/app/stream", Options{})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("Dial with an untrusted certificate: %v, want x509.UnknownAuthorityError", err)
	}
	// The name is checked too: a certificate for 127.0.0.1 and localhost does not fit
	// another name.
	_, port, _ := net.SplitHostPort(l.Addr().String())
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.(*tls.Conn).HandshakeContext(ctx)
		c.Close()
	}()
	_, err = Dial(ctx, "rtmps://127.0.0.1:"+port+"/app/stream", Options{TLSConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "example.org"}})
	var wrongName x509.HostnameError
	if !errors.As(err, &wrongName) {
		t.Fatalf("Dial with a wrong server name: %v, want x509.HostnameError", err)
	}
}
