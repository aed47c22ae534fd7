// Package tlsx turns the CA, certificate and key paths PD and TiKV take into TLS configurations.
// Like PD and TiKV, files are read again for every new connection, so replaced certificates take
// effect without a restart.
package tlsx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Files are the three paths of a component's [security] section.
type Files struct {
	CA, Cert, Key string
}

// verifyCN admits a client whose certificate's common name is listed ([security]
// cert-allowed-cn, as etcd's TLSInfo.AllowedCNs and TiKV's check_common_name do); none listed
// admits any certificate from the CA.
func verifyCN(allowed []string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(allowed) == 0 {
			return nil
		}
		if len(cs.PeerCertificates) == 0 {
			return errors.New("no client certificate")
		}
		cn := cs.PeerCertificates[0].Subject.CommonName
		for _, a := range allowed {
			if a == cn {
				return nil
			}
		}
		return fmt.Errorf("client certificate common name %q is not in cert-allowed-cn %v", cn, allowed)
	}
}

// Enabled reports whether TLS is configured; PD and TiKV refuse a partial configuration.
func (f Files) Enabled() (bool, error) {
	set := 0
	for _, p := range []string{f.CA, f.Cert, f.Key} {
		if p != "" {
			set++
		}
	}
	switch set {
	case 0:
		return false, nil
	case 3:
		return true, nil
	default:
		return false, errors.New("ca, cert and key paths must all be set, or none")
	}
}

func (f Files) load() (*x509.CertPool, tls.Certificate, error) {
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("failed to load ca from path %s: %w", f.CA, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, tls.Certificate{}, fmt.Errorf("no certificate in %s", f.CA)
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("failed to load cert %s / key %s: %w", f.Cert, f.Key, err)
	}
	return pool, pair, nil
}

// Check loads the files once, so a start-up with unreadable material fails at once.
func (f Files) Check() error {
	_, _, err := f.load()
	return err
}

// Server requires and verifies a client certificate from the CA, as PD and TiKV do with TLS on,
// and with allowedCN admits only those common names.
func (f Files) Server(allowedCN []string, nextProtos ...string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			pool, pair, err := f.load()
			if err != nil {
				return nil, err
			}
			return &tls.Config{
				MinVersion:   tls.VersionTLS12,
				Certificates: []tls.Certificate{pair},
				ClientCAs:    pool,
				ClientAuth:       tls.RequireAndVerifyClientCert,
				NextProtos:       nextProtos,
				VerifyConnection: verifyCN(allowedCN),
			}, nil
		},
	}
}

// Client presents the certificate and verifies the server against the CA.
func (f Files) Client() (*tls.Config, error) {
	pool, pair, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: []tls.Certificate{pair}}, nil
}
