package rtmpsrv

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// RTMPS is RTMP inside TLS: the listener started by StartTLS wraps every accepted
// connection in a TLS server connection. The TLS handshake runs in the connection's own
// goroutine, before the RTMP handshake and under the same HandshakeTimeout, so a client
// that stalls in it holds one connection slot for that long and nothing else.

// closeNotifyTimeout bounds the TLS close_notify alert sent when a connection closes: a
// client that stopped reading must not hold up Close (and so Shutdown).
const closeNotifyTimeout = 250 * time.Millisecond

// tlsConfig returns a copy of cfg fit for the server: TLS 1.2 at least, and no session
// tickets: librtmp (rtmpdump and the players built on it) reads a TLS 1.3 NewSessionTicket
// arriving after the handshake as a failed read and drops the connection, and RTMP
// connections last too long for resumption to matter.
func tlsConfig(cfg *tls.Config) (*tls.Config, error) {
	if cfg.GetCertificate == nil && cfg.GetConfigForClient == nil && len(cfg.Certificates) == 0 {
		return nil, fmt.Errorf("%w: TLS config has no certificate (set Certificates or GetCertificate)", ErrNoCertificate)
	}
	c := cfg.Clone()
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	c.SessionTicketsDisabled = true
	return c, nil
}

// tlsConn is a server-side TLS connection whose Close does not wait on a client that does
// not read.
type tlsConn struct {
	*tls.Conn
	raw net.Conn
}

// Close sends close_notify when the client takes it within closeNotifyTimeout, and closes
// the socket in any case.
func (t *tlsConn) Close() error {
	timer := time.AfterFunc(closeNotifyTimeout, func() { t.raw.Close() })
	defer timer.Stop()
	return t.Conn.Close()
}

// tlsHandshake runs the TLS handshake of a connection accepted by the TLS listener (a no-op
// for a plain one). The caller has set the handshake deadline.
func (c *Conn) tlsHandshake() error {
	t, ok := c.nc.(*tlsConn)
	if !ok {
		return nil
	}
	if err := t.HandshakeContext(c.ctx); err != nil {
		c.srv.tlsFailed.Add(1)
		return fmt.Errorf("%w: tls: %w", ErrHandshake, err)
	}
	st := t.ConnectionState()
	c.log.Debug("tls handshake done", "version", tls.VersionName(st.Version), "cipher", tls.CipherSuiteName(st.CipherSuite))
	return nil
}

// TLS reports whether the connection came through the TLS listener (RTMPS), and if so its
// TLS state (version, cipher suite, server name the client asked for).
func (c *Conn) TLS() (tls.ConnectionState, bool) {
	t, ok := c.nc.(*tlsConn)
	if !ok {
		return tls.ConnectionState{}, false
	}
	return t.ConnectionState(), true
}

// CertSource holds the certificate of a TLS listener and lets it be replaced while the
// server runs (e.g. on SIGHUP): connections after Set get the new certificate, those
// already up keep theirs. Its GetCertificate goes into tls.Config.GetCertificate; TLSConfig
// returns such a config. Safe for concurrent use.
type CertSource struct {
	cert atomic.Pointer[tls.Certificate]
}

// NewCertSource returns a source serving cert.
func NewCertSource(cert tls.Certificate) *CertSource {
	s := &CertSource{}
	s.Set(cert)
	return s
}

// Set replaces the certificate served to new connections.
func (s *CertSource) Set(cert tls.Certificate) { s.cert.Store(&cert) }

// Certificate returns the certificate served now.
func (s *CertSource) Certificate() *tls.Certificate { return s.cert.Load() }

// GetCertificate returns the current certificate; it is a tls.Config.GetCertificate.
func (s *CertSource) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := s.cert.Load()
	if c == nil {
		return nil, ErrNoCertificate
	}
	return c, nil
}

// TLSConfig returns a server TLS configuration (TLS 1.2 or newer) that serves the source's
// current certificate, for Config.TLS.
func (s *CertSource) TLSConfig() *tls.Config {
	return &tls.Config{GetCertificate: s.GetCertificate, MinVersion: tls.VersionTLS12, SessionTicketsDisabled: true}
}
