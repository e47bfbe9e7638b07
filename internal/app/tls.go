package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rendercast/rendercast/rtmpsrv"
)

// loadCertificate reads -tls-cert and -tls-key; errors name the flag and the file.
func loadCertificate(cfg *config) (tls.Certificate, error) {
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
func (a *app) setupTLS() (*tls.Config, error) {
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

func (a *app) logCertificate(msg string, cert tls.Certificate) {
	a.log.Info(msg, "cert", a.cfg.TLSCert, "subject", cert.Leaf.Subject.String(),
		"serial", cert.Leaf.SerialNumber.String(), "not_after", cert.Leaf.NotAfter)
}

// reloadCertificate reads the certificate files again; a bad new pair is logged and the
// one in use stays.
func (a *app) reloadCertificate() {
	cert, err := loadCertificate(a.cfg)
	if err != nil {
		a.log.Error("tls certificate reload failed, keeping the current one", "err", err)
		return
	}
	a.certs.Set(cert)
	a.logCertificate("tls certificate reloaded", cert)
}

// reloadOnSIGHUP reloads the certificate on every SIGHUP until the returned function is
// called. Without RTMPS it does nothing (SIGHUP keeps its default action).
func (a *app) reloadOnSIGHUP() (stop func()) {
	if a.certs == nil {
		return func() {}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-ch:
				a.reloadCertificate()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
		<-finished
	}
}
