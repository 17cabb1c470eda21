// Package forge makes what an off-path attacker sends at a DTLS session:
// records of every content type, epoch, body and sequence number (the
// post-handshake matrix), epoch-0 records that seize pion's replay window
// during a handshake (handshake.go), raw UDP datagrams with any source
// address (a connected player's or the server's exact ip:port), and ICMP
// error reports (icmp.go), for the attack tests of the server,
// the client and the multiplayer engine.
package forge

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// Case is one forged datagram of the matrix.
type Case struct {
	Name  string
	Bytes []byte
}

// Record builds one DTLS 1.2 record with the given header fields.
func Record(contentType byte, epoch uint16, seq uint64, body []byte) []byte {
	rec := make([]byte, 13, 13+len(body))
	rec[0], rec[1], rec[2] = contentType, 0xfe, 0xfd
	binary.BigEndian.PutUint64(rec[3:], seq&(1<<48-1))
	binary.BigEndian.PutUint16(rec[3:], epoch)
	binary.BigEndian.PutUint16(rec[11:], uint16(len(body)))
	return append(rec, body...)
}

// Matrix sizes.
var (
	ContentTypes = []byte{20, 21, 22, 23}
	Epochs       = []uint16{0, 1, 2, 0xffff}
	Sequences    = []uint64{0, 1, 200, 1 << 40, 1<<48 - 1}
)

// OversizedBody is the largest record body a datagram the engine reads can
// carry (8,192 bytes, less the header): larger datagrams never reach a
// session (counted as oversize at the socket).
const OversizedBody = 8192 - 13

// Matrix calls yield with every content type × epoch × body × sequence
// number, where the bodies are: empty, one byte of each value, 64 random
// bytes, and OversizedBody random bytes. It stops early if yield returns
// false. seed makes the random bodies repeatable.
func Matrix(seed uint64, yield func(Case) bool) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	type body struct {
		name string
		b    []byte
	}
	bodies := []body{{"empty", nil}}
	for v := 0; v < 256; v++ {
		bodies = append(bodies, body{fmt.Sprintf("byte %#02x", v), []byte{byte(v)}})
	}
	bodies = append(bodies, body{"64 random bytes", random(64)}, body{"oversized", random(OversizedBody)})
	for _, ct := range ContentTypes {
		for _, ep := range Epochs {
			for _, bd := range bodies {
				for _, seq := range Sequences {
					c := Case{
						Name:  fmt.Sprintf("type %d epoch %d seq %d body %s", ct, ep, seq, bd.name),
						Bytes: Record(ct, ep, seq, bd.b),
					}
					if !yield(c) {
						return
					}
				}
			}
		}
	}
}

// MatrixSize is how many cases Matrix yields.
func MatrixSize() int { return len(ContentTypes) * len(Epochs) * (256 + 3) * len(Sequences) }
