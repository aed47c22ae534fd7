package tlsx

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
)

func TestVerifyCN(t *testing.T) {
	state := func(cn string) tls.ConnectionState {
		return tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Subject: pkix.Name{CommonName: cn}}}}
	}
	allowed := verifyCN([]string{"tikv-cvm-member", "tikv-cvm-admin"})
	if err := allowed(state("tikv-cvm-admin")); err != nil {
		t.Errorf("a listed name is refused: %v", err)
	}
	if err := allowed(state("operator")); err == nil {
		t.Error("an unlisted name is admitted")
	}
	if err := verifyCN(nil)(state("anyone")); err != nil {
		t.Errorf("no list admits any certificate: %v", err)
	}
}

func TestEnabled(t *testing.T) {
	if on, err := (Files{}).Enabled(); on || err != nil {
		t.Error("no paths: TLS off")
	}
	if _, err := (Files{CA: "ca.pem"}).Enabled(); err == nil {
		t.Error("a partial configuration must be refused")
	}
}
