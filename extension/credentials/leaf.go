package credentials

import (
	"crypto/x509"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// parseLeaf parses the certificate the server presents. Godot's
// Crypto.generate_self_signed_certificate (mbedtls) writes a random
// 20-byte serial number as it comes: about one certificate in 512 starts
// with a zero byte followed by one under 0x80, an INTEGER not in its
// shortest form. mbedtls reads it, so Godot's DTLSServer and
// PacketPeerDTLS take it; Go's parser refuses it ("x509: malformed serial
// number"; OpenSSL's does too), and a drop-in for DTLSServer cannot refuse
// a certificate DTLSServer takes. The server sends the
// certificate's own bytes, untouched; what it reads of it (the public key
// to match the private key, the dates to warn about, the names pion maps
// to it) comes from a copy whose serial is in its shortest form.
func parseLeaf(der []byte) (*x509.Certificate, error) {
	leaf, err := x509.ParseCertificate(der)
	if err == nil {
		return leaf, nil
	}
	if fixed, ok := withShortestSerial(der); ok {
		if leaf, err2 := x509.ParseCertificate(fixed); err2 == nil {
			return leaf, nil
		}
	}
	return nil, err
}

// withShortestSerial returns der with its serial number's leading zero
// bytes dropped where DER allows none, and whether there were any. Its
// signature no longer covers it: a copy to read, never to send.
func withShortestSerial(der []byte) ([]byte, bool) {
	return withSerial(der, func(serial []byte) []byte {
		for len(serial) > 1 && serial[0] == 0 && serial[1]&0x80 == 0 {
			serial = serial[1:]
		}
		return serial
	})
}

// withSerial returns der with its serial number's content bytes replaced
// by what change makes of them, and whether change changed anything.
func withSerial(der []byte, change func(serial []byte) []byte) ([]byte, bool) {
	input := cryptobyte.String(der)
	var cert, tbs, version, serial cryptobyte.String
	var hasVersion bool
	versionTag := cbasn1.Tag(0).Constructed().ContextSpecific()
	if !input.ReadASN1(&cert, cbasn1.SEQUENCE) || !input.Empty() ||
		!cert.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.ReadOptionalASN1(&version, &hasVersion, versionTag) ||
		!tbs.ReadASN1(&serial, cbasn1.INTEGER) {
		return nil, false
	}
	changed := change([]byte(serial))
	if string(changed) == string(serial) {
		return nil, false
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(c *cryptobyte.Builder) {
		c.AddASN1(cbasn1.SEQUENCE, func(t *cryptobyte.Builder) {
			if hasVersion {
				t.AddASN1(versionTag, func(v *cryptobyte.Builder) { v.AddBytes(version) })
			}
			t.AddASN1(cbasn1.INTEGER, func(i *cryptobyte.Builder) { i.AddBytes(changed) })
			t.AddBytes(tbs) // the rest of the certificate's body
		})
		c.AddBytes(cert) // its signature algorithm and signature
	})
	out, err := b.Bytes()
	return out, err == nil
}
