// Package forge makes what an off-path attacker sends at a DTLS session:
// records of every content type, epoch, body and sequence number (the
// post-handshake matrix), epoch-0 records that seize pion's replay window
// during a handshake (handshake.go), raw UDP datagrams with any source
// address (a connected player's or the server's exact ip:port), and ICMP
// port-unreachable reports (icmp.go), for the attack tests of the server,
// the client and the multiplayer engine.
package forge

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"syscall"
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

// Sender forges IPv4 UDP datagrams with any source address through a raw
// socket (root only).
type Sender struct{ fd int }

// NewSender opens the raw socket; the error says why it cannot (not root).
func NewSender() (*Sender, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return nil, fmt.Errorf("forging a source ip:port needs a raw socket (root): %w", err)
	}
	return &Sender{fd: fd}, nil
}

// Close closes the raw socket.
func (s *Sender) Close() error { return syscall.Close(s.fd) }

// Send sends payload from from to to, both IPv4.
func (s *Sender) Send(from, to netip.AddrPort, payload []byte) error {
	if !from.Addr().Is4() || !to.Addr().Is4() {
		return fmt.Errorf("forge: IPv4 only (%v -> %v)", from, to)
	}
	pkt := make([]byte, 28+len(payload))
	pkt[0], pkt[8], pkt[9] = 0x45, 64, syscall.IPPROTO_UDP
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	src, dst := from.Addr().As4(), to.Addr().As4()
	copy(pkt[12:], src[:])
	copy(pkt[16:], dst[:])
	binary.BigEndian.PutUint16(pkt[20:], from.Port())
	binary.BigEndian.PutUint16(pkt[22:], to.Port())
	binary.BigEndian.PutUint16(pkt[24:], uint16(8+len(payload)))
	copy(pkt[28:], payload)
	return syscall.Sendto(s.fd, pkt, 0, &syscall.SockaddrInet4{Addr: dst})
}
