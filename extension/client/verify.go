package client

import (
	"crypto/x509"
	"godtls/extension/link"
	"godtls/extension/suites"
	"strings"
	"time"

	"github.com/pion/dtls/v2"
)

// How a client verifies the server: the pion configuration it offers and the
// certificate check.

// pionConfig offers our ChaCha20-Poly1305 suites first and pion's CBC suites
// after them, never pion's GCM/CCM (their nonces repeat: CVE-2026-26014).
// offered is the list of our suite instances, to learn which one was chosen.
func (c *Client) pionConfig() (offered []dtls.CipherSuite, cfg *dtls.Config) {
	cfg = &dtls.Config{
		MTU:                  link.PionMTU(c.cfg.MTU),
		ExtendedMasterSecret: dtls.RequestExtendedMasterSecret,
		FlightInterval:       time.Second,
		LoggerFactory:        link.Quiet,
	}
	var kinds []suites.KeyKind
	if c.cfg.PSKIdentity != "" {
		key := append([]byte(nil), c.cfg.PSKKey...)
		cfg.PSK = func([]byte) ([]byte, error) { return key, nil }
		cfg.PSKIdentityHint = []byte(c.cfg.PSKIdentity)
		kinds = []suites.KeyKind{suites.PreSharedKey}
	} else {
		// We verify the chain and the name ourselves (pion's check is Go's
		// crypto/x509, which ignores the Common Name): certificates made by
		// Godot's Crypto.generate_self_signed_certificate carry the host name
		// only there, and PacketPeerDTLS (mbedTLS) accepts them.
		cfg.InsecureSkipVerify = true
		if !c.cfg.Insecure {
			name := c.cfg.ServerName
			if c.cfg.AnyName {
				name = ""
			}
			cfg.VerifyPeerCertificate = verifyServer(c.cfg.RootCAs, name)
		}
		kinds = []suites.KeyKind{suites.ECDSAKey, suites.RSAKey}
	}
	cfg.CipherSuites = []dtls.CipherSuiteID{}
	for _, k := range kinds {
		offered = append(offered, suites.New(suites.ChaChaID(k)).CountingFailures(&c.authFailed))
		cfg.CipherSuites = append(cfg.CipherSuites, suites.CBCFallback(k))
	}
	// pion asks for the custom suites once per connection; hand it these
	// instances so the one it initialises is the one we ask afterwards.
	cfg.CustomCipherSuites = func() []dtls.CipherSuite { return offered }
	return offered, cfg
}

// verifyServer checks the server's chain against roots (nil: the system's)
// and, unless name is "", that the leaf is for name: by its subject
// alternative names, or by its Common Name when it has none (as mbedTLS
// does). Errors are crypto/x509's, so classify knows them.
func verifyServer(roots *x509.CertPool, name string) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return x509.CertificateInvalidError{Reason: x509.NotAuthorizedToSign, Detail: "no certificate"}
		}
		certs := make([]*x509.Certificate, len(raw))
		for i, der := range raw {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return err
			}
			certs[i] = cert
		}
		inter := x509.NewCertPool()
		for _, cert := range certs[1:] {
			inter.AddCert(cert)
		}
		leaf := certs[0]
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
			return err
		}
		if name == "" {
			return nil
		}
		if len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 && len(leaf.URIs) == 0 && len(leaf.EmailAddresses) == 0 {
			if strings.EqualFold(leaf.Subject.CommonName, strings.TrimSuffix(name, ".")) {
				return nil
			}
			return x509.HostnameError{Certificate: leaf, Host: name}
		}
		return leaf.VerifyHostname(name)
	}
}
