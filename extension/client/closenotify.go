package client

import (
	"github.com/pion/dtls/v2/pkg/protocol"

	"godtls/extension/record"
	"godtls/extension/suites"
	"godtls/extension/udpsock"
)

// The client sends its own close_notify. pion v2's Conn.Close cancels its
// read loop before it writes the alert, and the read loop, waking with the
// cancellation, may close pion's side of the socket first: the alert is then
// never written (link's TestReadLoopDeliversAndCloses watches a pion client's
// socket and sees it: 2 closes in about 400 under load). The server would
// keep the peer until its idle timeout. On one of our suites the client
// seals the alert itself, from the suite's one write-sequence counter, the
// one pion's records number from too; pion's own is then dropped. On pion's
// CBC fallback there is no sealing of ours, and pion's is all there is.

// sendCloseNotify writes a sealed close_notify to the socket under guard,
// and reports whether it did.
func (c *Client) sendCloseNotify(guard *guardConn) bool {
	c.mu.Lock()
	sealer := c.sealer
	c.mu.Unlock()
	return closeNotify(sealer, guard)
}

// closeNotify seals a close_notify with sealer and writes it to the socket
// under guard.
func closeNotify(sealer *suites.ChaCha20Poly1305, guard *guardConn) bool {
	if sealer == nil || guard == nil {
		return false
	}
	rec, err := sealer.SealRecord(nil, protocol.ContentTypeAlert, record.Epoch, []byte{record.LevelWarning, record.CloseNotify})
	if err != nil {
		return false
	}
	_, err = udpsock.WriteDialed(guard.Conn, rec)
	return err == nil
}
