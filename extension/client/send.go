package client

import (
	"errors"
	"fmt"
	"godtls/extension/link"
)

// Send queues one packet for encryption and sending and returns at once.
func (c *Client) Send(b []byte) error {
	if c.Status() != link.StatusConnected {
		return ErrNotConnected
	}
	c.mu.Lock()
	w, maxPayload := c.writers, c.maxPayload
	c.mu.Unlock()
	if len(b) > maxPayload {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooBig, len(b), maxPayload)
	}
	if err := w.Enqueue(0, (*clientWriter)(c), b); err != nil {
		if errors.Is(err, link.ErrStopped) {
			return ErrNotConnected
		}
		return err
	}
	return nil
}

// clientWriter is what the writer goroutine sends for.
type clientWriter Client

func (cw *clientWriter) Write(b []byte) {
	c := (*Client)(cw)
	c.mu.Lock()
	conn, out := c.conn, c.out
	c.mu.Unlock()
	var err error
	switch {
	case out != nil:
		err = out.send(b)
	case conn != nil:
		_, err = conn.Write(b)
	default:
		return
	}
	if err == nil {
		c.counts.PacketsOut.Add(1)
		c.counts.BytesOut.Add(uint64(len(b)))
	}
}
