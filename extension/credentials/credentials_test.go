package credentials

import (
	"errors"
	"strings"
	"testing"
	"time"

	"godtls/extension/internal/testcert"
	"godtls/extension/suites"
)

func TestFromPEM(t *testing.T) {
	ec := testcert.ECDSA(t)
	rs := testcert.RSA(t, 2048)
	now := time.Now()

	c, err := FromPEM(ec.KeyPEM, ec.CertPEM, now)
	if err != nil || c.Kind != suites.ECDSAKey || len(c.Warnings) != 0 {
		t.Fatalf("ECDSA: %v %+v", err, c)
	}
	c, err = FromPEM(rs.KeyPEM, rs.CertPEM, now)
	if err != nil || c.Kind != suites.RSAKey {
		t.Fatalf("RSA: %v", err)
	}
	if _, err := FromPEM(ec.KeyPEM, rs.CertPEM, now); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("mismatch: got %v", err)
	}
	if _, err := FromPEM(nil, ec.CertPEM, now); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: got %v", err)
	}
	if _, err := FromPEM(ec.KeyPEM, []byte("  "), now); !errors.Is(err, ErrNoCertificate) {
		t.Fatalf("no cert: got %v", err)
	}
	if _, err := FromPEM([]byte("hello"), ec.CertPEM, now); !errors.Is(err, ErrNotPEM) {
		t.Fatalf("not PEM: got %v", err)
	}
	if _, err := FromPEM(ec.KeyPEM, []byte("hello"), now); !errors.Is(err, ErrNotPEM) {
		t.Fatalf("cert not PEM: got %v", err)
	}
	c, err = FromPEM(ec.KeyPEM, ec.CertPEM, now.Add(10*365*24*time.Hour))
	if err != nil || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "expired") {
		t.Fatalf("expired: %v %v", err, c)
	}
	// full chain: leaf + another certificate
	chain := append(append([]byte(nil), ec.CertPEM...), rs.CertPEM...)
	c, err = FromPEM(ec.KeyPEM, chain, now)
	if err != nil || len(c.TLS.Certificate) != 2 {
		t.Fatalf("chain: %v", err)
	}
}

func TestPSK(t *testing.T) {
	if _, err := NewPSK(nil, ""); !errors.Is(err, ErrNoPSK) {
		t.Fatalf("empty table: %v", err)
	}
	if _, err := NewPSK(map[string][]byte{"a": nil}, ""); err == nil {
		t.Fatal("empty key accepted")
	}
	if _, err := NewPSK(map[string][]byte{"": {1}}, ""); err == nil {
		t.Fatal("empty identity accepted")
	}
	if _, err := NewPSK(map[string][]byte{strings.Repeat("i", 129): {1}}, ""); err == nil {
		t.Fatal("identity of 129 bytes accepted")
	}
	if _, err := NewPSK(map[string][]byte{strings.Repeat("i", 128): {1}}, ""); err != nil {
		t.Fatalf("identity of 128 bytes refused: %v", err)
	}
	p, err := NewPSK(map[string][]byte{"player": {1, 2, 3}}, "hint")
	if err != nil {
		t.Fatal(err)
	}
	if k, err := p.Lookup([]byte("player")); err != nil || len(k) != 3 {
		t.Fatalf("lookup: %v", err)
	}
	if _, err := p.Lookup([]byte("nobody")); err == nil {
		t.Fatal("unknown identity accepted")
	}
}
