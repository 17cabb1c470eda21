package server

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/credentials"
	"godtls/extension/internal/testcert"
	"godtls/extension/suites"
)

// Replacing the certificate of a listening server: the peer connected with
// the old one keeps exchanging, a new client sees the new certificate, and
// a client that trusts only the old one is refused for that reason.
func TestCertificateReloadKeepsPeers(t *testing.T) {
	defer checkRoutines(t)()
	old := testcert.Issue(t, testcert.Leaf{Hosts: []string{"game.example"}})
	renewed := testcert.Issue(t, testcert.Leaf{Hosts: []string{"game.example"}})
	s := New(Config{})
	defer s.Stop()
	useCert(t, s, old.Pair)
	if err := s.Listen(0, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	cfg := func(ca []byte) *dtls.Config {
		c := clientConfig(suites.ECDSAKey)
		c.InsecureSkipVerify = false
		c.RootCAs = x509.NewCertPool()
		c.RootCAs.AppendCertsFromPEM(ca)
		c.ServerName = "game.example"
		return c
	}
	kept := dial(t, s, cfg(old.CAPEM))
	waitFor(t, "the first peer", func() bool { return s.ConnectionAvailable() })
	p := s.TakeConnection()

	useCert(t, s, renewed.Pair)

	fresh := dial(t, s, cfg(renewed.CAPEM))
	block, _ := pem.Decode(renewed.Pair.CertPEM)
	if got := fresh.ConnectionState().PeerCertificates; len(got) == 0 || !bytes.Equal(got[0], block.Bytes) {
		t.Fatal("a client connecting after the reload did not get the new certificate")
	}
	_ = fresh.Close()
	if _, err := dialFrom(s, cfg(old.CAPEM), "127.0.0.1:0"); err == nil {
		t.Fatal("a client trusting only the old certificate connected after the reload")
	} else if !strings.Contains(err.Error(), "certificate") && !strings.Contains(err.Error(), "x509") {
		t.Fatalf("the old-trusting client failed with %v; want a certificate error", err)
	}
	// the peer from before the reload still talks both ways
	if err := p.Send([]byte("after the reload")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = kept.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := kept.Read(buf); err != nil || string(buf[:n]) != "after the reload" {
		t.Fatalf("the kept peer read %q, %v", buf[:n], err)
	}
	if _, err := kept.Write([]byte("still here")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the kept peer's packet", func() bool { return p.Available() > 0 })
	_ = kept.Close()
}

func useCert(t *testing.T, s *Server, pair testcert.Pair) {
	t.Helper()
	c, err := credentials.FromPEM(pair.KeyPEM, pair.CertPEM, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetCertificate(c); err != nil {
		t.Fatal(err)
	}
}
