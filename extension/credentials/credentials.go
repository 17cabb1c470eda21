// Package credentials turns what a game hands over (PEM text, or PSK
// identities and keys) into a pion configuration, with errors that say which
// part is wrong. Godot users paste keys and chains by hand; "no key",
// "not PEM" and "key does not match certificate" are the mistakes they make.
package credentials

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"godtls/extension/suites"
)

// Errors that callers map to Godot Error codes.
var (
	ErrNoKey         = errors.New("no private key")
	ErrNoCertificate = errors.New("no certificate")
	ErrNotPEM        = errors.New("not PEM")
	ErrKeyMismatch   = errors.New("private key does not match the certificate")
	ErrUnsupported   = errors.New("unsupported key type")
	ErrNoPSK         = errors.New("no pre-shared keys")
)

// Certificate is a parsed server credential.
type Certificate struct {
	TLS  tls.Certificate
	Kind suites.KeyKind
	// Warnings are problems that do not stop the server (an expired
	// certificate still works with clients that do not verify it, which is
	// how most games use self-signed certificates).
	Warnings []string
}

// FromPEM parses a PEM private key (PKCS#1, PKCS#8 or SEC 1) and a PEM
// certificate chain, leaf first.
func FromPEM(keyPEM, chainPEM []byte, now time.Time) (*Certificate, error) {
	if len(bytes.TrimSpace(keyPEM)) == 0 {
		return nil, ErrNoKey
	}
	if len(bytes.TrimSpace(chainPEM)) == 0 {
		return nil, ErrNoCertificate
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	chain := CertificateBlocks(chainPEM)
	if len(chain) == 0 {
		return nil, fmt.Errorf("certificate chain: %w (no CERTIFICATE block found)", ErrNotPEM)
	}
	leaf, err := parseLeaf(chain[0])
	if err != nil {
		return nil, fmt.Errorf("certificate: cannot parse the first certificate: %v", err)
	}
	if !publicKeyMatches(leaf.PublicKey, key) {
		return nil, ErrKeyMismatch
	}
	c := &Certificate{TLS: tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}}
	switch key.(type) {
	case *rsa.PrivateKey:
		c.Kind = suites.RSAKey
	case *ecdsa.PrivateKey, ed25519.PrivateKey:
		c.Kind = suites.ECDSAKey
	default:
		return nil, ErrUnsupported
	}
	if now.After(leaf.NotAfter) {
		c.Warnings = append(c.Warnings, fmt.Sprintf("certificate expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339)))
	}
	if now.Before(leaf.NotBefore) {
		c.Warnings = append(c.Warnings, fmt.Sprintf("certificate is not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339)))
	}
	return c, nil
}

// CertificateBlocks returns the DER of each CERTIFICATE block of a PEM
// text, in order.
func CertificateBlocks(chainPEM []byte) [][]byte {
	var chain [][]byte
	rest := chainPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return chain
		}
		if block.Type == "CERTIFICATE" {
			chain = append(chain, block.Bytes)
		}
	}
}

func parseKey(keyPEM []byte) (crypto.Signer, error) {
	rest := keyPEM
	sawPEM := false
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		sawPEM = true
		switch block.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("private key: bad PKCS#1 RSA key: %v", err)
			}
			return k, nil
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("private key: bad SEC 1 EC key: %v", err)
			}
			return k, nil
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("private key: bad PKCS#8 key: %v", err)
			}
			s, ok := k.(crypto.Signer)
			if !ok {
				return nil, ErrUnsupported
			}
			return s, nil
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("private key: encrypted keys are not supported; export it without a passphrase")
		}
	}
	if !sawPEM {
		return nil, fmt.Errorf("private key: %w", ErrNotPEM)
	}
	return nil, fmt.Errorf("private key: %w (no PRIVATE KEY block found)", ErrNoKey)
}

func publicKeyMatches(pub crypto.PublicKey, key crypto.Signer) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := key.Public().(equaler)
	return ok && e.Equal(pub)
}

// PSK is a table of identities and keys, plus the hint the server sends.
type PSK struct {
	Keys map[string][]byte
	Hint string
}

// NewPSK validates a PSK table: at least one identity, none empty and none
// over 128 bytes (RFC 4279 §5.3), and no empty key. An empty identity is
// refused because no client this addon ships can send one (client.Config
// refuses it), so its entry could only serve other software.
func NewPSK(keys map[string][]byte, hint string) (*PSK, error) {
	if len(keys) == 0 {
		return nil, ErrNoPSK
	}
	copied := make(map[string][]byte, len(keys))
	for id, k := range keys {
		if id == "" {
			return nil, fmt.Errorf("a PSK identity is empty")
		}
		if len(k) == 0 {
			return nil, fmt.Errorf("pre-shared key for identity %q is empty", id)
		}
		if len(id) > 128 {
			return nil, fmt.Errorf("PSK identity %q is longer than 128 bytes", id[:16]+"…")
		}
		copied[id] = append([]byte(nil), k...)
	}
	return &PSK{Keys: copied, Hint: hint}, nil
}

// Lookup returns the key for an identity the client sent.
func (p *PSK) Lookup(identity []byte) ([]byte, error) {
	k, ok := p.Keys[string(identity)]
	if !ok {
		return nil, fmt.Errorf("unknown PSK identity %q", identity)
	}
	return k, nil
}
