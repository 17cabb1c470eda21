package server

import (
	"testing"
	"time"

	"godtls/extension/suites"

	"github.com/pion/dtls/v2"
)

// A handshake that pion has just finished, its peer not listed yet, when
// the server stops: the client has the server's Finished and is connected,
// so it gets a close_notify as a listed peer does. The engine suite's "stop
// with live peers" once saw a client that never heard of the stop.
func TestStopTellsAPeerItWasAboutToList(t *testing.T) {
	s, _ := startServer(t, suites.ECDSAKey, Config{})
	reached, release := holdAfterPion(t)
	defer release()
	dialed := make(chan *dtls.Conn, 1)
	go func() {
		c, err := dialFrom(s, clientConfig(suites.ECDSAKey), "127.0.0.1:0")
		if err != nil {
			t.Errorf("dial: %v", err)
		}
		dialed <- c
	}()
	select {
	case <-reached:
	case <-time.After(20 * time.Second):
		t.Fatal("the handshake never finished")
	}
	c := <-dialed
	if c == nil {
		return
	}
	stopped := make(chan struct{})
	go func() {
		s.Stop()
		close(stopped)
	}()
	for deadline := time.Now().Add(10 * time.Second); s.Listening(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Stop did not begin")
		}
	}
	release() // the handshake goroutine goes on, and finds the server stopped
	<-stopped
	expectGoodbyesThenClose(t, c, 0)
	_ = c.Close()
}
