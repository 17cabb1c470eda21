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
}

type recordKeys struct {
	local, remote     cipher.AEAD
	localIV, remoteIV [ivLen]byte
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

// Encrypt seals a whole record (header + plaintext) whose header pion has
// already numbered; it returns header‖ciphertext‖tag with the length fixed.
func (c *ChaCha20Poly1305) Encrypt(pkt *recordlayer.RecordLayer, raw []byte) ([]byte, error) {
	k := c.keys.Load()
	if k == nil {
		return nil, errNotInitialized
	}
	if len(raw) < recordlayer.HeaderSize {
		return nil, errShortRecord
	}
	payload := raw[recordlayer.HeaderSize:]
	nonce := Nonce(k.localIV, pkt.Header.Epoch, pkt.Header.SequenceNumber)
	ad := additionalData(&pkt.Header, len(payload))
	out := make([]byte, recordlayer.HeaderSize, recordlayer.HeaderSize+len(payload)+tagLen)
	copy(out, raw[:recordlayer.HeaderSize])
	out = k.local.Seal(out, nonce[:], payload, ad[:])
	binary.BigEndian.PutUint16(out[recordlayer.HeaderSize-2:], uint16(len(out)-recordlayer.HeaderSize))
	return out, nil
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
	body := in[recordlayer.HeaderSize:]
	if len(body) < tagLen {
		if c.authFailed != nil {
			c.authFailed.Add(1)
		}
		return nil, errShortRecord
	}
	nonce := Nonce(k.remoteIV, h.Epoch, h.SequenceNumber)
	ad := additionalData(&h, len(body)-tagLen)
	plain, err := k.remote.Open(body[:0], nonce[:], body, ad[:])
	if err != nil {
		if c.authFailed != nil {
			c.authFailed.Add(1)
		}
		return nil, fmt.Errorf("%w (epoch %d, seq %d)", errOpen, h.Epoch, h.SequenceNumber)
	}
	return append(in[:recordlayer.HeaderSize], plain...), nil
}
