package suites

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"sync/atomic"
	"testing"

	"github.com/pion/dtls/v2/pkg/crypto/prf"
	"github.com/pion/dtls/v2/pkg/protocol"
	"github.com/pion/dtls/v2/pkg/protocol/recordlayer"
	"golang.org/x/crypto/chacha20poly1305"
)

func pair(t testing.TB) (server, client *ChaCha20Poly1305) {
	master := bytes.Repeat([]byte{7}, 48)
	cr, sr := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	server, client = New(ECDHEECDSAChaCha20Poly1305), New(ECDHEECDSAChaCha20Poly1305)
	if err := server.Init(master, cr, sr, false); err != nil {
		t.Fatal(err)
	}
	if err := client.Init(master, cr, sr, true); err != nil {
		t.Fatal(err)
	}
	return server, client
}

func record(epoch uint16, seq uint64, payload []byte) (*recordlayer.RecordLayer, []byte) {
	h := recordlayer.Header{ContentType: protocol.ContentTypeApplicationData, Version: protocol.Version1_2, Epoch: epoch, SequenceNumber: seq, ContentLen: uint16(len(payload))}
	raw, _ := h.Marshal()
	return &recordlayer.RecordLayer{Header: h}, append(raw, payload...)
}

// The records decrypt with an independent AEAD whose nonce is computed here
// from RFC 7905's words, so a random or reused nonce would fail this test.
func TestNonceIsRFC7905AndUnique(t *testing.T) {
	server, client := pair(t)
	keys := server.keys.Load()
	seen := map[[12]byte]bool{}
	msg := []byte("the same plaintext every time")
	var prev []byte
	for seq := uint64(0); seq < 50; seq++ {
		pkt, raw := record(1, seq, msg)
		enc, err := server.Encrypt(pkt, raw)
		if err != nil {
			t.Fatal(err)
		}
		if int(binary.BigEndian.Uint16(enc[11:13])) != len(msg)+16 {
			t.Fatal("record length not rewritten")
		}
		// independent nonce: IV XOR (0,0,0,0 ‖ epoch ‖ seq48)
		var nonce [12]byte
		copy(nonce[:], keys.localIV[:])
		var es [8]byte
		binary.BigEndian.PutUint64(es[:], uint64(1)<<48|seq)
		for i := 0; i < 8; i++ {
			nonce[4+i] ^= es[i]
		}
		if seen[nonce] {
			t.Fatalf("nonce reused at seq %d", seq)
		}
		seen[nonce] = true
		aead, _ := chacha20poly1305.New(serverWriteKey(t))
		ad := append(append([]byte{}, enc[3:11]...), enc[0], enc[1], enc[2], 0, byte(len(msg)))
		plain, err := aead.Open(nil, nonce[:], enc[13:], ad)
		if err != nil || !bytes.Equal(plain, msg) {
			t.Fatalf("independent decrypt at seq %d: %v", seq, err)
		}
		if bytes.Equal(enc, prev) {
			t.Fatal("two sequence numbers produced the same record")
		}
		prev = enc
		// and the peer's suite opens it
		dec, err := client.Decrypt(append([]byte(nil), enc...))
		if err != nil || !bytes.Equal(dec[13:], msg) {
			t.Fatalf("client decrypt: %v", err)
		}
	}
}

// pion numbers its records with a counter of its own, which knows nothing
// of the records the engine seals: every record sealed under one key takes
// its number from the suite's one counter, whatever pion wrote, so no
// (epoch, sequence) pair, hence no nonce, is ever used twice.
func TestOneWriteCounterPerKey(t *testing.T) {
	server, client := pair(t)
	seen := map[uint64]bool{}
	take := func(enc []byte) {
		t.Helper()
		seq := uint64(enc[5])<<40 | uint64(enc[6])<<32 | uint64(binary.BigEndian.Uint32(enc[7:11]))
		if seen[seq] {
			t.Fatalf("sequence number %d used twice under one key", seq)
		}
		seen[seq] = true
		plain, err := client.OpenRecord(append([]byte(nil), enc...), protocol.ContentType(enc[0]), 1, seq)
		if err != nil || string(plain) != "m" {
			t.Fatalf("record %d does not open: %v", seq, err)
		}
	}
	for i := 0; i < 20; i++ {
		// pion believes every record of its is number 3
		pkt, raw := record(1, 3, []byte("m"))
		enc, err := server.Encrypt(pkt, raw)
		if err != nil {
			t.Fatal(err)
		}
		take(enc)
		enc, err = server.SealRecord(nil, protocol.ContentTypeApplicationData, 1, []byte("m"))
		if err != nil {
			t.Fatal(err)
		}
		take(enc)
	}
	if len(seen) != 40 {
		t.Fatalf("%d distinct numbers for 40 records", len(seen))
	}
}

// serverWriteKey recomputes the server write key the way Init does, through
// pion's PRF, so the test's AEAD is independent of the suite's state.
func serverWriteKey(t testing.TB) []byte {
	t.Helper()
	master := bytes.Repeat([]byte{7}, 48)
	cr, sr := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	k, err := prfKeys(master, cr, sr)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTamperedRecordRejected(t *testing.T) {
	server, client := pair(t)
	pkt, raw := record(1, 9, []byte("payload"))
	enc, _ := server.Encrypt(pkt, raw)
	enc[len(enc)-1] ^= 1
	if _, err := client.Decrypt(enc); err == nil {
		t.Fatal("tampered record accepted")
	}
	// wrong sequence number in the header: authentication must fail too
	pkt, raw = record(1, 10, []byte("payload"))
	enc, _ = server.Encrypt(pkt, raw)
	enc[10] ^= 1
	if _, err := client.Decrypt(enc); err == nil {
		t.Fatal("record with altered sequence number accepted")
	}
	if _, err := New(PSKChaCha20Poly1305).Decrypt(enc); err == nil {
		t.Fatal("uninitialised suite decrypted")
	}
}

// Authentic opens a copy: the record is left for the record layer to open
// again, and a forged one is refused and counted.
func TestAuthenticLeavesTheRecord(t *testing.T) {
	server, client := pair(t)
	var failed atomic.Uint64
	client.CountingFailures(&failed)
	enc, err := server.SealRecord(nil, protocol.ContentTypeApplicationData, 1, []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(enc[5])<<40 | uint64(enc[6])<<32 | uint64(enc[7])<<24 | uint64(enc[8])<<16 | uint64(enc[9])<<8 | uint64(enc[10])
	kept := append([]byte(nil), enc...)
	if !client.Authentic(enc, protocol.ContentTypeApplicationData, 1, seq) {
		t.Fatal("a genuine record did not authenticate")
	}
	if !bytes.Equal(enc, kept) {
		t.Fatal("Authentic changed the record")
	}
	if plain, err := client.OpenRecord(enc, protocol.ContentTypeApplicationData, 1, seq); err != nil || string(plain) != "payload" {
		t.Fatalf("opened after Authentic: %q, %v", plain, err)
	}
	kept[len(kept)-1] ^= 1
	if client.Authentic(kept, protocol.ContentTypeApplicationData, 1, seq) {
		t.Fatal("a tampered record authenticated")
	}
	if failed.Load() != 1 {
		t.Fatalf("%d failures counted, want 1", failed.Load())
	}
}

// FuzzDecrypt: bytes from the network never panic the record decryptor.
func FuzzDecrypt(f *testing.F) {
	server, _ := pair(f)
	pkt, raw := record(1, 1, []byte("seed"))
	enc, _ := server.Encrypt(pkt, raw)
	f.Add(enc)
	f.Add([]byte{20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1})
	f.Add([]byte{})
	_, client := pair(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = client.Decrypt(b)
	})
}

func prfKeys(master, cr, sr []byte) ([]byte, error) {
	ek, err := prf.GenerateEncryptionKeys(master, cr, sr, 0, keyLen, ivLen, sha256.New)
	if err != nil {
		return nil, err
	}
	return ek.ServerWriteKey, nil
}
