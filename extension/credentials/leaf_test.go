package credentials

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"godtls/extension/internal/testcert"
)

// A certificate whose serial number has a zero byte in front of one under
// 0x80, as Godot's generate_self_signed_certificate writes about one time
// in 512: Go's parser refuses it, the server takes it and presents it
// unchanged.
func TestASerialNotInItsShortestForm(t *testing.T) {
	ec := testcert.ECDSA(t)
	block, _ := pem.Decode(ec.CertPEM)
	padded, ok := withSerial(block.Bytes, func(serial []byte) []byte { return append([]byte{0}, serial...) })
	if !ok {
		t.Fatal("could not pad the test certificate's serial")
	}
	if _, err := x509.ParseCertificate(padded); err == nil {
		t.Fatal("Go's parser took the padded serial: the test cannot tell")
	}
	c, err := FromPEM(ec.KeyPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: padded}), time.Now())
	if err != nil {
		t.Fatalf("FromPEM refused the certificate: %v", err)
	}
	if !bytes.Equal(c.TLS.Certificate[0], padded) {
		t.Fatal("the certificate the server presents is not the one it was given")
	}
	if c.TLS.Leaf.SerialNumber.Int64() != 1 || len(c.Warnings) != 0 {
		t.Fatalf("read serial %v, warnings %v; want 1 and none", c.TLS.Leaf.SerialNumber, c.Warnings)
	}
	// A serial in its shortest form is left alone, and garbage stays an
	// error.
	if _, changed := withShortestSerial(block.Bytes); changed {
		t.Fatal("a serial already in its shortest form was rewritten")
	}
	if _, err := parseLeaf([]byte{0x30, 0x03, 0x02, 0x01, 0x01}); err == nil {
		t.Fatal("parseLeaf took a certificate of five bytes")
	}
}
