// Package wire reads just enough of a DTLS datagram to route it: the record
// headers, whether it opens a new handshake (an epoch-0 ClientHello) and with
// which cookie, and the cookie of an outgoing HelloVerifyRequest; and
// during a handshake, what pion will take of a peer's handshake fragments
// (HandshakeFragments, HandshakeNotes). The one thing it writes is the
// sequence number of epoch-0 records on their way to pion
// (EpochZeroNumbering). It never trusts a length field it has not
// checked, because every byte it sees comes from the network before any
// authentication.
package wire

import "encoding/binary"

// Record and handshake constants from RFC 6347.
const (
	RecordHeaderLen    = 13
	HandshakeHeaderLen = 12
	RandomLen          = 32
	MaxCookieLen       = 255

	ContentChangeCipherSpec = 20
	ContentAlert            = 21
	ContentHandshake        = 22
	ContentApplicationData  = 23

	HandshakeClientHello        = 1
	HandshakeHelloVerifyRequest = 3
	HandshakeClientKeyExchange  = 16
)

// MaxDatagram is the largest datagram pion/dtls v2 reads (its receive buffer
// is 8,192 bytes): anything larger would be cut and lost inside pion, so the
// engine drops it at the socket and counts it instead.
const MaxDatagram = 8192

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

// Info is what Classify learned about a datagram's first record.
type Info struct {
	Kind Kind
	// ContentType and Epoch of the first record (Record and ClientHello).
	ContentType byte
	Epoch       uint16
	// Random is the ClientHello random (valid for ClientHello only). A client
	// that retransmits a ClientHello sends the same random; a client that
	// restarts sends a new one.
	Random [RandomLen]byte
	// Cookie is the ClientHello's cookie (empty: none). It points into the
	// classified datagram and is valid only as long as that buffer is.
	Cookie []byte
	// HasCookie is true when the ClientHello carries a non-empty cookie.
	HasCookie bool
}

// header checks the record header at the start of b and returns the record's
// content type, epoch and body, or ok=false.
func header(b []byte) (ct byte, epoch uint16, body []byte, ok bool) {
	if len(b) < RecordHeaderLen {
		return 0, 0, nil, false
	}
	ct = b[0]
	if ct < ContentChangeCipherSpec || ct > ContentApplicationData {
		return 0, 0, nil, false
	}
	// DTLS 1.0 is 0xfeff, DTLS 1.2 is 0xfefd; ClientHello records may use 1.0.
	if b[1] != 0xfe || (b[2] != 0xff && b[2] != 0xfd) {
		return 0, 0, nil, false
	}
	length := int(binary.BigEndian.Uint16(b[11:13]))
	if length > len(b)-RecordHeaderLen {
		return 0, 0, nil, false
	}
	return ct, binary.BigEndian.Uint16(b[3:5]), b[RecordHeaderLen : RecordHeaderLen+length], true
}

// handshakeBody returns the body of the first, unfragmented-at-offset-0
// handshake message of type typ in an epoch-0 handshake record body.
func handshakeBody(body []byte, typ byte) ([]byte, bool) {
	if len(body) < HandshakeHeaderLen || body[0] != typ {
		return nil, false
	}
	fragOffset := uint32(body[6])<<16 | uint32(body[7])<<8 | uint32(body[8])
	fragLen := int(uint32(body[9])<<16 | uint32(body[10])<<8 | uint32(body[11]))
	if fragOffset != 0 || fragLen > len(body)-HandshakeHeaderLen {
		return nil, false
	}
	return body[HandshakeHeaderLen : HandshakeHeaderLen+fragLen], true
}

// Classify inspects the first record of a datagram.
func Classify(b []byte) Info {
	var info Info
	ct, epoch, body, ok := header(b)
	if !ok {
		return info
	}
	info.Kind, info.ContentType, info.Epoch = Record, ct, epoch
	if ct != ContentHandshake || epoch != 0 {
		return info
	}
	hello, ok := handshakeBody(body, HandshakeClientHello)
	// client_version(2) random(32) session_id<0..32> cookie<0..255>
	if !ok || len(hello) < 2+RandomLen+1 {
		return info
	}
	info.Kind = ClientHello
	copy(info.Random[:], hello[2:2+RandomLen])
	rest := hello[2+RandomLen:]
	sidLen := int(rest[0])
	if sidLen <= 32 && len(rest) >= 1+sidLen+1 {
		cookieLen := int(rest[1+sidLen])
		if start := 1 + sidLen + 1; len(rest) >= start+cookieLen {
			info.Cookie = rest[start : start+cookieLen]
			info.HasCookie = cookieLen > 0
		}
	}
	return info
}

// HelloVerifyCookie returns the cookie of a datagram that holds a
// HelloVerifyRequest (what a server sends back to a cookieless ClientHello).
// The engine reads it from pion's own outbound flight, so that an address is
// called verified only when it echoes exactly that cookie.
func HelloVerifyCookie(b []byte) ([]byte, bool) {
	ct, epoch, body, ok := header(b)
	if !ok || ct != ContentHandshake || epoch != 0 {
		return nil, false
	}
	hvr, ok := handshakeBody(body, HandshakeHelloVerifyRequest)
	// server_version(2) cookie<0..255>
	if !ok || len(hvr) < 3 {
		return nil, false
	}
	n := int(hvr[2])
	if n == 0 || len(hvr) < 3+n {
		return nil, false
	}
	return hvr[3 : 3+n], true
}

// CookieEqual compares a ClientHello's cookie with the one pion sent, in
// constant time for equal lengths.
func CookieEqual(got, sent []byte) bool {
	if len(sent) == 0 || len(got) != len(sent) {
		return false
	}
	var diff byte
	for i := range got {
		diff |= got[i] ^ sent[i]
	}
	return diff == 0
}

// EstablishedEpoch is the only epoch a connection uses once its handshake is
// over: pion v2 never renegotiates, so the epoch stays 1 for the rest of the
// connection.
const EstablishedEpoch = 1

// KeepEstablished returns the datagram without the records that no genuine
// peer sends once the handshake is over, for a connection in that state.
// What is kept is exactly what pion authenticates before it acts on it:
// epoch-1 alerts, handshake records (a retransmitted Finished: it makes pion
// resend its last flight, RFC 6347 §4.2.4) and application data, all
// decrypted and checked by the suite before pion looks at them. What is
// dropped, and why:
//   - epoch-0 records: stale retransmissions or forged; pion v2 ends the
//     connection on an epoch-0 alert or application data from anyone who can
//     spoof the address;
//   - ChangeCipherSpec at any epoch: it is never encrypted, so a forged one
//     reached pion as if genuine: body 0x01 moved pion's epoch-1 replay window
//     to the forged sequence number (every later genuine record then counted
//     as a replay), any other body made pion send a fatal decode_error alert;
//   - any other epoch: pion queues epoch-2 records for a change of keys that
//     never comes.
//
// b is not modified; out is b itself when nothing was dropped. ok is false
// when the datagram is not a clean run of records (nothing of it is kept).
func KeepEstablished(b []byte) (out []byte, dropped int, ok bool) {
	rest := b
	out = b
	for len(rest) > 0 {
		ct, epoch, body, valid := header(rest)
		if !valid {
			return nil, dropped, false
		}
		n := RecordHeaderLen + len(body)
		if epoch != EstablishedEpoch || ct == ContentChangeCipherSpec {
			if dropped == 0 {
				out = append([]byte(nil), b[:len(b)-len(rest)]...)
			}
			dropped++
		} else if dropped > 0 {
			out = append(out, rest[:n]...)
		}
		rest = rest[n:]
	}
	return out, dropped, true
}

// OneRecord is one record of a datagram, as its header describes it.
type OneRecord struct {
	ContentType byte
	Epoch       uint16
	Seq         uint64 // 48 bits
	// Whole is header‖body, a slice of the datagram.
	Whole []byte
}

// NextRecord splits the first record off b. ok is false when b does not
// start with a well-formed record header whose length fits in b.
func NextRecord(b []byte) (r OneRecord, rest []byte, ok bool) {
	ct, epoch, body, ok := header(b)
	if !ok {
		return OneRecord{}, nil, false
	}
	n := RecordHeaderLen + len(body)
	seq := uint64(b[5])<<40 | uint64(b[6])<<32 | uint64(binary.BigEndian.Uint32(b[7:11]))
	return OneRecord{ContentType: ct, Epoch: epoch, Seq: seq, Whole: b[:n]}, b[n:], true
}
