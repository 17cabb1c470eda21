package suites

import (
	"crypto/aes"
	"sync/atomic"

	"github.com/pion/dtls/v2"
	"github.com/pion/dtls/v2/pkg/protocol/recordlayer"
)

// KeyKind says which kind of credential a server or client uses.
type KeyKind int

// Credential kinds.
const (
	ECDSAKey KeyKind = iota
	RSAKey
	PreSharedKey
)

// CBCFallback is pion's built-in CBC suite for each kind, for clients that do
// not speak ChaCha20-Poly1305 (pion v2 clients). CBC with HMAC-SHA1/SHA256
// uses a random explicit IV, which is what CBC requires; pion's GCM and CCM
// suites are never offered.
func CBCFallback(k KeyKind) dtls.CipherSuiteID {
	switch k {
	case RSAKey:
		return dtls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
	case PreSharedKey:
		return dtls.TLS_PSK_WITH_AES_128_CBC_SHA256
	}
	return dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
}

// CBCWireSize is the size on the wire of a record of n plaintext bytes on
// one of the CBCFallback suites: the header, the explicit IV, and the
// plaintext with its MAC padded to the next whole block (at least one byte
// of padding).
func CBCWireSize(id dtls.CipherSuiteID, n int) int {
	mac := 20 // HMAC-SHA1
	if id == dtls.TLS_PSK_WITH_AES_128_CBC_SHA256 {
		mac = 32
	}
	return recordlayer.HeaderSize + aes.BlockSize + (n+mac)/aes.BlockSize*aes.BlockSize + aes.BlockSize
}

// ChaChaID is the ChaCha20-Poly1305 suite for a credential kind.
func ChaChaID(k KeyKind) dtls.CipherSuiteID {
	switch k {
	case RSAKey:
		return ECDHERSAChaCha20Poly1305
	case PreSharedKey:
		return PSKChaCha20Poly1305
	}
	return ECDHEECDSAChaCha20Poly1305
}

// Apply restricts cfg to the ChaCha20-Poly1305 suite of kind k and, when
// allowCBC is set, pion's CBC suite of the same kind. An empty non-nil
// CipherSuites list matters: a nil list would make pion add its defaults,
// which include the GCM suites. authFailed, if not nil, counts the
// ChaCha20-Poly1305 records that fail authentication (pion's CBC suites
// drop theirs uncounted).
func Apply(cfg *dtls.Config, k KeyKind, allowCBC bool, authFailed *atomic.Uint64) {
	id := ChaChaID(k)
	cfg.CustomCipherSuites = func() []dtls.CipherSuite {
		return []dtls.CipherSuite{New(id).CountingFailures(authFailed)}
	}
	cfg.CipherSuites = []dtls.CipherSuiteID{}
	if allowCBC {
		cfg.CipherSuites = append(cfg.CipherSuites, CBCFallback(k))
	}
}

// IsChaCha reports whether id is one of this package's suites.
func IsChaCha(id dtls.CipherSuiteID) bool { return New(id) != nil }

// Initialized returns the suite of this package that pion initialised among
// those a session offered, or nil when pion chose its CBC fallback or the
// keys do not exist yet. A suite wrapped by its caller (the server's panic
// guard) is looked through by its Unwrap method.
func Initialized(offered []dtls.CipherSuite) *ChaCha20Poly1305 {
	for _, cs := range offered {
		if w, ok := cs.(interface{ Unwrap() dtls.CipherSuite }); ok {
			cs = w.Unwrap()
		}
		if ch, ok := cs.(*ChaCha20Poly1305); ok && ch.IsInitialized() {
			return ch
		}
	}
	return nil
}
