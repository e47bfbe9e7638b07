package rtmpsrv_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/rendercast/rendercast/internal/testcert"
	"github.com/rendercast/rendercast/rtmpsrv"
)

// ExampleServer_StartTLS serves RTMPS beside plain RTMP, with a certificate that can be
// replaced while the server runs (here one made on the spot; a real server loads PEM files
// with tls.LoadX509KeyPair, and again on SIGHUP).
func ExampleServer_StartTLS() {
	ca, _ := testcert.NewCA()
	first, _ := ca.Issue()
	certs := rtmpsrv.NewCertSource(first.TLS)

	srv, err := rtmpsrv.NewServer(rtmpsrv.Config{TLS: certs.TLSConfig()})
	if err != nil {
		panic(err)
	}
	srv.Install(rtmpsrv.ConnectHandlerFunc(func(c *rtmpsrv.Conn, created bool, cmd rtmpsrv.Object, args []any) bool {
		if st, ok := c.TLS(); ok && created {
			_ = st.Version // the connection came through the RTMPS listener
		}
		return true
	}))
	if err := srv.Start("127.0.0.1:0"); err != nil { // rtmp://
		panic(err)
	}
	if err := srv.StartTLS("127.0.0.1:0"); err != nil { // rtmps://
		panic(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()

	renewed, _ := ca.Issue()
	certs.Set(renewed.TLS) // connections from now on get the renewed certificate
	serial, err := testcert.PeerSerial(srv.ListenAddrTLS().String(), ca.Pool())
	fmt.Println(err == nil && serial.Cmp(renewed.Serial) == 0, srv.Config().TLS.MinVersion == tls.VersionTLS12)
	// Output: true true
}
