package client

import (
	"net"
	"sync"
	"time"

	"godtls/extension/udpsock"
)

// During the handshake an ICMP error report (udpsock.Reported: port, host,
// network or protocol unreachable, fragmentation needed...) ends the attempt
// only unreachableLimit in a row with no datagram from the server between
// them, as port unreachable ends a connection after it (sink.go). Anyone who
// knows the client's port can forge a report; before this rule one ended
// the attempt (pion ends its handshake on any error of its read).
//
// A port where nothing listens must still fail at once rather than at the
// handshake timeout. pion v2 sends its flight again only after a second,
// so after each report it survives the client sends the last datagram pion
// wrote again itself, as it was, probeDelay later: a closed port answers
// it with the next report, and fails in about (unreachableLimit-1) ×
// probeDelay. A server that is there gets a duplicate, which DTLS expects
// of a network (a handshake message it has, or a record its replay window
// drops); a probe is not sent once the server has been heard since.
const probeDelay = 100 * time.Millisecond

// refusalWatch counts one attempt's reports in a row and sends its probes.
type refusalWatch struct {
	mu      sync.Mutex
	inRow   int
	last    []byte      // the last datagram pion wrote, for a probe
	probe   *time.Timer // the probe waiting to be sent; nil: none
	stopped bool        // the handshake returned: no more probes
}

// wrote keeps a copy of datagram b, which pion is writing.
func (w *refusalWatch) wrote(b []byte) {
	w.mu.Lock()
	if !w.stopped {
		w.last = append(w.last[:0], b...)
	}
	w.mu.Unlock()
}

// heard notes a datagram from the server's address: the reports in a row
// start again from none, and a waiting probe is not needed.
func (w *refusalWatch) heard() {
	w.mu.Lock()
	w.inRow = 0
	w.cancelProbeLocked()
	w.mu.Unlock()
}

// survive counts a report and says whether the attempt goes on; if it does,
// a probe goes to sock probeDelay later.
func (w *refusalWatch) survive(sock net.Conn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inRow++
	if w.inRow >= unreachableLimit {
		return false
	}
	if !w.stopped && w.probe == nil && len(w.last) > 0 {
		w.probe = time.AfterFunc(probeDelay, func() { w.sendProbe(sock) })
	}
	return true
}

func (w *refusalWatch) sendProbe(sock net.Conn) {
	w.mu.Lock()
	if w.stopped || w.probe == nil {
		w.mu.Unlock()
		return
	}
	w.probe = nil
	b := append([]byte(nil), w.last...)
	w.mu.Unlock()
	_, _ = udpsock.WriteDialed(sock, b)
}

// stop ends the probes when the handshake returns, and lets the last
// datagram go.
func (w *refusalWatch) stop() {
	w.mu.Lock()
	w.stopped = true
	w.cancelProbeLocked()
	w.last = nil
	w.mu.Unlock()
}

func (w *refusalWatch) cancelProbeLocked() {
	if w.probe != nil {
		w.probe.Stop()
		w.probe = nil
	}
}
