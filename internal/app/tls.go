package app

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/rendercast/rendercast/rtmpsrv"
)

// loadCertificate reads -tls-cert and -tls-key; errors name the flag and the file.
func loadCertificate(cfg *Config) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(cfg.TLSCert)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("-tls-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(cfg.TLSKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("-tls-key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("-tls-cert %s, -tls-key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("-tls-cert %s: %w", cfg.TLSCert, err)
		}
	}
	return cert, nil
}

// setupTLS loads the RTMPS certificate when -listen-tls is set; the RTMP server then
// serves it from a CertSource that SIGHUP refreshes.
func (a *App) setupTLS() (*tls.Config, error) {
	if a.cfg.ListenTLS == "" {
		return nil, nil
	}
	cert, err := loadCertificate(a.cfg)
	if err != nil {
		return nil, err
	}
	a.certs = rtmpsrv.NewCertSource(cert)
	a.logCertificate("tls certificate loaded", cert)
	return a.certs.TLSConfig(), nil
}

func (a *App) logCertificate(msg string, cert tls.Certificate) {
	a.log.Info(msg, "cert", a.cfg.TLSCert, "subject", cert.Leaf.Subject.String(),
		"serial", cert.Leaf.SerialNumber.String(), "not_after", cert.Leaf.NotAfter)
}

// ReloadCertificate reads the RTMPS certificate files again (SIGHUP); a bad new pair is
// logged and the one in use stays. Without -listen-tls it does nothing.
func (a *App) ReloadCertificate() {
	if a.certs == nil {
		return
	}
	cert, err := loadCertificate(a.cfg)
	if err != nil {
		a.log.Error("tls certificate reload failed, keeping the current one", "err", err)
		return
	}
	a.certs.Set(cert)
	a.logCertificate("tls certificate reloaded", cert)
}
