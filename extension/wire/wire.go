// Package wire reads just enough of a DTLS datagram to route it: the record
// header, and whether it opens a new handshake (an epoch-0 ClientHello).
// It never allocates and never trusts a length field it has not checked,
// because every byte it sees comes from the network before any
// authentication.
package wire

import "encoding/binary"

// Record and handshake constants from RFC 6347.
const (
	RecordHeaderLen    = 13
	HandshakeHeaderLen = 12
	RandomLen          = 32

	ContentChangeCipherSpec = 20
	ContentAlert            = 21
	ContentHandshake        = 22
	ContentApplicationData  = 23

	HandshakeClientHello = 1
)

// Kind is how the demultiplexer treats a datagram.
type Kind int

// Datagram kinds.
const (
	// Garbage is not a DTLS 1.0/1.2 record.
	Garbage Kind = iota
	// Record is a well-formed record that does not open a handshake.
	Record
	// ClientHello is the first fragment of an epoch-0 ClientHello.
	ClientHello
)

// Info is what Classify learned about a datagram.
type Info struct {
	Kind Kind
	// Random is the ClientHello random (valid for ClientHello only). A client
	// that retransmits a ClientHello sends the same random; a client that
	// restarts sends a new one.
	Random [RandomLen]byte
	// HasCookie is true when the ClientHello carries a non-empty cookie.
	HasCookie bool
}

// Classify inspects the first record of a datagram.
func Classify(b []byte) Info {
	var info Info
	if len(b) < RecordHeaderLen {
		return info
	}
	ct := b[0]
	if ct < ContentChangeCipherSpec || ct > ContentApplicationData {
		return info
	}
	// DTLS 1.0 is 0xfeff, DTLS 1.2 is 0xfefd; ClientHello records may use 1.0.
	if b[1] != 0xfe || (b[2] != 0xff && b[2] != 0xfd) {
		return info
	}
	length := int(binary.BigEndian.Uint16(b[11:13]))
	if length > len(b)-RecordHeaderLen {
		return info
	}
	info.Kind = Record
	epoch := binary.BigEndian.Uint16(b[3:5])
	if ct != ContentHandshake || epoch != 0 {
		return info
	}
	body := b[RecordHeaderLen : RecordHeaderLen+length]
	if len(body) < HandshakeHeaderLen || body[0] != HandshakeClientHello {
		return info
	}
	fragOffset := uint32(body[6])<<16 | uint32(body[7])<<8 | uint32(body[8])
	fragLen := int(uint32(body[9])<<16 | uint32(body[10])<<8 | uint32(body[11]))
	if fragOffset != 0 || fragLen > len(body)-HandshakeHeaderLen {
		return info
	}
	hello := body[HandshakeHeaderLen : HandshakeHeaderLen+fragLen]
	// client_version(2) random(32) session_id<0..32> cookie<0..255>
	if len(hello) < 2+RandomLen+1 {
		return info
	}
	info.Kind = ClientHello
	copy(info.Random[:], hello[2:2+RandomLen])
	rest := hello[2+RandomLen:]
	sidLen := int(rest[0])
	if sidLen <= 32 && len(rest) >= 1+sidLen+1 {
		info.HasCookie = rest[1+sidLen] > 0
	}
	return info
}
