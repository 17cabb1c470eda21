// Package suites provides the DTLS 1.2 ChaCha20-Poly1305 cipher suites (RFC 7905)
// as pion/dtls v2 custom suites.
//
// Why this package exists: pion v2.2.12's own AES-GCM and AES-CCM suites build
// their 64-bit explicit nonce from random bytes (CVE-2026-26014), and pion v2
// resolves every suite ID it knows to its built-in implementation before it
// looks at Config.CustomCipherSuites, so those suites cannot be replaced. The
// IDs below are unknown to pion v2, so our implementation is the one used.
// RFC 7905 derives the nonce from the write IV and the record's epoch and
// sequence number: nothing random, nothing explicit on the wire, never reused
// while the sequence number increases.
package suites

import (
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync/atomic"

	"github.com/pion/dtls/v2"
	"github.com/pion/dtls/v2/pkg/crypto/clientcertificate"
	"github.com/pion/dtls/v2/pkg/crypto/prf"
	"github.com/pion/dtls/v2/pkg/protocol"
	"github.com/pion/dtls/v2/pkg/protocol/recordlayer"
	"golang.org/x/crypto/chacha20poly1305"
)

// IANA identifiers of the suites (RFC 7905 §2).
const (
	ECDHERSAChaCha20Poly1305   dtls.CipherSuiteID = 0xCCA8
	ECDHEECDSAChaCha20Poly1305 dtls.CipherSuiteID = 0xCCA9
	PSKChaCha20Poly1305        dtls.CipherSuiteID = 0xCCAB
)

const (
	keyLen = chacha20poly1305.KeySize   // 32
	ivLen  = chacha20poly1305.NonceSize // 12
	tagLen = chacha20poly1305.Overhead  // 16
)

// Overhead is what a ChaCha20-Poly1305 record adds to its plaintext: the
// record header and the Poly1305 tag.
const Overhead = recordlayer.HeaderSize + tagLen

var (
	errNotInitialized = errors.New("chacha20-poly1305 suite used before its keys were derived")
	errShortRecord    = errors.New("record too short for chacha20-poly1305")
	errOpen           = errors.New("chacha20-poly1305: record authentication failed")
	errSeqExhausted   = errors.New("chacha20-poly1305: the 48-bit write sequence is used up")
)

// kind says how a suite authenticates the handshake.
type kind int

const (
	kindECDSA kind = iota
	kindRSA
	kindPSK
)

// ChaCha20Poly1305 is one RFC 7905 suite. A value is used for a single
// connection: pion asks for a fresh suite per handshake through the
// CustomCipherSuites factory.
type ChaCha20Poly1305 struct {
	kind kind
	keys atomic.Pointer[recordKeys]
	// authFailed, when set, counts records that failed authentication:
	// pion v2 drops them without a word, and a game's counters should show
	// forged or corrupted records.
	authFailed *atomic.Uint64
	// lastHandshake is the plaintext of the last handshake record sealed
	// (the Finished): what a server seals again when the client shows it
	// lost the server's last flight, after pion was let go.
	lastHandshake atomic.Pointer[[]byte]
}

// LastHandshake returns the plaintext of the last handshake record this
// suite sealed (header and body of the Finished message), or nil.
func (c *ChaCha20Poly1305) LastHandshake() []byte {
	if p := c.lastHandshake.Load(); p != nil {
		return *p
	}
	return nil
}

type recordKeys struct {
	local, remote     cipher.AEAD
	localIV, remoteIV [ivLen]byte
	// nextWrite is the session's one write-sequence counter under the
	// local key. Every record sealed with that key draws its number here:
	// pion's (its Finished, a retransmitted last flight, close_notify,
	// alerts) through Encrypt, which replaces the number pion chose with
	// this one, and the engine's own record layer through SealRecord. Two
	// counters (pion's and ours) would hand out the same number twice, and
	// with ChaCha20-Poly1305 a repeated (epoch, sequence) under one key is
	// a repeated nonce.
	nextWrite atomic.Uint64
}

// takeSeq reserves the next write sequence number.
func (k *recordKeys) takeSeq() (uint64, error) {
	seq := k.nextWrite.Add(1) - 1
	if seq > recordlayer.MaxSequenceNumber {
		return 0, errSeqExhausted
	}
	return seq, nil
}

// New returns a suite for the given ID, or nil if the ID is not one of ours.
func New(id dtls.CipherSuiteID) *ChaCha20Poly1305 {
	switch id {
	case ECDHEECDSAChaCha20Poly1305:
		return &ChaCha20Poly1305{kind: kindECDSA}
	case ECDHERSAChaCha20Poly1305:
		return &ChaCha20Poly1305{kind: kindRSA}
	case PSKChaCha20Poly1305:
		return &ChaCha20Poly1305{kind: kindPSK}
	}
	return nil
}

// CountingFailures makes c count each record that fails authentication in
// n, and returns c.
func (c *ChaCha20Poly1305) CountingFailures(n *atomic.Uint64) *ChaCha20Poly1305 {
	c.authFailed = n
	return c
}

// ID implements dtls.CipherSuite.
func (c *ChaCha20Poly1305) ID() dtls.CipherSuiteID {
	switch c.kind {
	case kindRSA:
		return ECDHERSAChaCha20Poly1305
	case kindPSK:
		return PSKChaCha20Poly1305
	}
	return ECDHEECDSAChaCha20Poly1305
}

func (c *ChaCha20Poly1305) String() string {
	switch c.kind {
	case kindRSA:
		return "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
	case kindPSK:
		return "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"
	}
	return "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
}

// CertificateType implements dtls.CipherSuite; pion uses it to keep only the
// suites that match the server key.
func (c *ChaCha20Poly1305) CertificateType() clientcertificate.Type {
	if c.kind == kindRSA {
		return clientcertificate.RSASign
	}
	return clientcertificate.ECDSASign
}

// HashFunc implements dtls.CipherSuite: the PRF hash is SHA-256 (RFC 7905 §2).
func (c *ChaCha20Poly1305) HashFunc() func() hash.Hash { return sha256.New }

// AuthenticationType implements dtls.CipherSuite.
func (c *ChaCha20Poly1305) AuthenticationType() dtls.CipherSuiteAuthenticationType {
	if c.kind == kindPSK {
		return dtls.CipherSuiteAuthenticationTypePreSharedKey
	}
	return dtls.CipherSuiteAuthenticationTypeCertificate
}

// KeyExchangeAlgorithm implements dtls.CipherSuite.
func (c *ChaCha20Poly1305) KeyExchangeAlgorithm() dtls.CipherSuiteKeyExchangeAlgorithm {
	if c.kind == kindPSK {
		return dtls.CipherSuiteKeyExchangeAlgorithmPsk
	}
	return dtls.CipherSuiteKeyExchangeAlgorithmEcdhe
}

// ECC implements dtls.CipherSuite: the ECDHE suites need the curve extensions.
func (c *ChaCha20Poly1305) ECC() bool { return c.kind != kindPSK }

// IsInitialized implements dtls.CipherSuite.
func (c *ChaCha20Poly1305) IsInitialized() bool { return c.keys.Load() != nil }

// Init derives the record keys: no MAC key, a 32-byte key and a 12-byte IV per
// direction, with the SHA-256 PRF.
func (c *ChaCha20Poly1305) Init(masterSecret, clientRandom, serverRandom []byte, isClient bool) error {
	ek, err := prf.GenerateEncryptionKeys(masterSecret, clientRandom, serverRandom, 0, keyLen, ivLen, c.HashFunc())
	if err != nil {
		return err
	}
	localKey, remoteKey := ek.ServerWriteKey, ek.ClientWriteKey
	localIV, remoteIV := ek.ServerWriteIV, ek.ClientWriteIV
	if isClient {
		localKey, remoteKey = remoteKey, localKey
		localIV, remoteIV = remoteIV, localIV
	}
	k := &recordKeys{}
	if k.local, err = chacha20poly1305.New(localKey); err != nil {
		return err
	}
	if k.remote, err = chacha20poly1305.New(remoteKey); err != nil {
		return err
	}
	copy(k.localIV[:], localIV)
	copy(k.remoteIV[:], remoteIV)
	c.keys.Store(k)
	return nil
}

// Nonce is the RFC 7905 per-record nonce: the 12-byte write IV XORed with
// four zero bytes followed by the 16-bit epoch and the 48-bit sequence number.
func Nonce(iv [ivLen]byte, epoch uint16, seq uint64) [ivLen]byte {
	var n [ivLen]byte
	binary.BigEndian.PutUint64(n[4:], seq&recordlayer.MaxSequenceNumber)
	binary.BigEndian.PutUint16(n[4:], epoch)
	for i := range n {
		n[i] ^= iv[i]
	}
	return n
}

// additionalData is epoch‖sequence (8 bytes), content type, version and the
// plaintext length, as for every DTLS 1.2 AEAD suite.
func additionalData(h *recordlayer.Header, plaintextLen int) [13]byte {
	var ad [13]byte
	binary.BigEndian.PutUint64(ad[:8], h.SequenceNumber)
	binary.BigEndian.PutUint16(ad[:2], h.Epoch)
	ad[8] = byte(h.ContentType)
	ad[9] = h.Version.Major
	ad[10] = h.Version.Minor
	binary.BigEndian.PutUint16(ad[11:], uint16(plaintextLen))
	return ad
}

// Encrypt seals a whole record (header + plaintext) for pion. The sequence
// number pion wrote into the header is replaced by the session's own
// (recordKeys.nextWrite), in the header and in the nonce: pion's counter
// knows nothing of the records the engine seals itself. It returns
// header‖ciphertext‖tag with the length fixed.
func (c *ChaCha20Poly1305) Encrypt(pkt *recordlayer.RecordLayer, raw []byte) ([]byte, error) {
	k := c.keys.Load()
	if k == nil {
		return nil, errNotInitialized
	}
	if len(raw) < recordlayer.HeaderSize {
		return nil, errShortRecord
	}
	seq, err := k.takeSeq()
	if err != nil {
		return nil, err
	}
	pkt.Header.SequenceNumber = seq
	if pkt.Header.ContentType == protocol.ContentTypeHandshake {
		fin := append([]byte(nil), raw[recordlayer.HeaderSize:]...)
		c.lastHandshake.Store(&fin)
	}
	out := make([]byte, recordlayer.HeaderSize, recordlayer.HeaderSize+len(raw)-recordlayer.HeaderSize+tagLen)
	copy(out, raw[:recordlayer.HeaderSize])
	putSeq(out, seq)
	return k.seal(out, &pkt.Header, raw[recordlayer.HeaderSize:]), nil
}

// putSeq writes a 48-bit sequence number into a record header.
func putSeq(hdr []byte, seq uint64) {
	hdr[5], hdr[6] = byte(seq>>40), byte(seq>>32)
	binary.BigEndian.PutUint32(hdr[7:11], uint32(seq))
}

// seal appends the sealed payload to out (which holds the header h
// describes) and fixes the header's length.
func (k *recordKeys) seal(out []byte, h *recordlayer.Header, payload []byte) []byte {
	nonce := Nonce(k.localIV, h.Epoch, h.SequenceNumber)
	ad := additionalData(h, len(payload))
	start := len(out) - recordlayer.HeaderSize
	out = k.local.Seal(out, nonce[:], payload, ad[:])
	binary.BigEndian.PutUint16(out[start+recordlayer.HeaderSize-2:], uint16(len(out)-start-recordlayer.HeaderSize))
	return out
}

// SealRecord appends one DTLS 1.2 record of content type ct at the
// established epoch to dst, sealed under the session's write key with the
// next number of its one write-sequence counter (the one pion's records
// take theirs from too).
func (c *ChaCha20Poly1305) SealRecord(dst []byte, ct protocol.ContentType, epoch uint16, plain []byte) ([]byte, error) {
	k := c.keys.Load()
	if k == nil {
		return nil, errNotInitialized
	}
	seq, err := k.takeSeq()
	if err != nil {
		return nil, err
	}
	h := recordlayer.Header{ContentType: ct, Version: protocol.Version1_2, Epoch: epoch, SequenceNumber: seq}
	var hdr [recordlayer.HeaderSize]byte
	hdr[0] = byte(ct)
	hdr[1], hdr[2] = protocol.Version1_2.Major, protocol.Version1_2.Minor
	binary.BigEndian.PutUint16(hdr[3:5], epoch)
	putSeq(hdr[:], seq)
	return k.seal(append(dst, hdr[:]...), &h, plain), nil
}

// OpenRecord authenticates and decrypts one whole record in place: rec is
// header‖ciphertext‖tag, epoch and seq are what its header says. It returns
// the plaintext, which aliases rec; on failure rec's body may be
// overwritten. Failures are counted like Decrypt's.
func (c *ChaCha20Poly1305) OpenRecord(rec []byte, ct protocol.ContentType, epoch uint16, seq uint64) ([]byte, error) {
	k := c.keys.Load()
	if k == nil {
		return nil, errNotInitialized
	}
	body := rec[recordlayer.HeaderSize:]
	if len(body) < tagLen {
		c.countFailure()
		return nil, errShortRecord
	}
	h := recordlayer.Header{ContentType: ct, Version: protocol.Version1_2, Epoch: epoch, SequenceNumber: seq}
	nonce := Nonce(k.remoteIV, epoch, seq)
	ad := additionalData(&h, len(body)-tagLen)
	plain, err := k.remote.Open(body[:0], nonce[:], body, ad[:])
	if err != nil {
		c.countFailure()
		return nil, errOpen
	}
	return plain, nil
}

// Authentic reports whether a whole record opens under the session's
// keys, leaving rec as it was: it is opened in a copy. For records kept
// before a record layer owns the session, which opens them again through
// its replay window. Failures are counted like OpenRecord's.
func (c *ChaCha20Poly1305) Authentic(rec []byte, ct protocol.ContentType, epoch uint16, seq uint64) bool {
	_, err := c.OpenRecord(append([]byte(nil), rec...), ct, epoch, seq)
	return err == nil
}

func (c *ChaCha20Poly1305) countFailure() {
	if c.authFailed != nil {
		c.authFailed.Add(1)
	}
}

// Decrypt opens a whole record and returns header‖plaintext. A
// change_cipher_spec record is never encrypted and passes through.
func (c *ChaCha20Poly1305) Decrypt(in []byte) ([]byte, error) {
	var h recordlayer.Header
	if err := h.Unmarshal(in); err != nil {
		return nil, err
	}
	if h.ContentType == protocol.ContentTypeChangeCipherSpec {
		return in, nil
	}
	k := c.keys.Load()
	if k == nil {
		return nil, errNotInitialized
	}
	plain, err := c.OpenRecord(in, h.ContentType, h.Epoch, h.SequenceNumber)
	if err != nil {
		return nil, fmt.Errorf("%w (epoch %d, seq %d)", err, h.Epoch, h.SequenceNumber)
	}
	return in[:recordlayer.HeaderSize+len(plain)], nil
}
