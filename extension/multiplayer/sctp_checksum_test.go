package multiplayer

import (
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/sctp"

	"godtls/extension/link"
)

// tapConn keeps a copy of every packet written through it.
type tapConn struct {
	net.Conn
	mu      sync.Mutex
	written [][]byte
}

func (c *tapConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.written = append(c.written, append([]byte(nil), b...))
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// The checksum askImmediateAck writes after marking a packet is the one
// pion/sctp writes and checks: a real association's packets carry it.
func TestSCTPChecksumIsPions(t *testing.T) {
	a, b := net.Pipe()
	tap := &tapConn{Conn: b}
	var srv *sctp.Association
	var serr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv, serr = sctp.Server(sctp.Config{NetConn: tap, LoggerFactory: link.Quiet})
	}()
	cli, err := sctp.Client(sctp.Config{NetConn: a, LoggerFactory: link.Quiet})
	<-done
	if err != nil || serr != nil {
		t.Fatalf("association: %v, %v", err, serr)
	}
	defer func() { _ = cli.Close(); _ = srv.Close(); _ = a.Close(); _ = b.Close() }()
	st, err := cli.OpenStream(1, sctp.PayloadTypeWebRTCBinary)
	if err != nil {
		t.Fatal(err)
	}
	var sack []byte
	for deadline := time.Now().Add(10 * time.Second); sack == nil && time.Now().Before(deadline); {
		if _, err := st.Write([]byte("ack me")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		tap.mu.Lock()
		for _, p := range tap.written {
			if len(p) > sctpCommonHeader && p[sctpCommonHeader] == chunkSACK {
				sack = p
			}
		}
		tap.mu.Unlock()
	}
	if sack == nil {
		t.Fatal("the server's association sent no SACK")
	}
	if got, want := sctpChecksum(sack), binary.LittleEndian.Uint32(sack[8:]); got != want {
		t.Fatalf("checksum %08x, pion wrote %08x", got, want)
	}
}
