package link

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v2"

	"godtls/extension/internal/testsock"
	"godtls/extension/queue"
)

// alertWatch is the client's socket: it notes whether an alert record
// left it (pion v2's Close sometimes writes no close_notify: its read loop,
// woken by Close's cancellation, closes the socket under it first).
type alertWatch struct {
	net.Conn
	alerts atomic.Int32
}

func (w *alertWatch) Write(b []byte) (int, error) {
	n, err := w.Conn.Write(b)
	if err == nil && len(b) > 0 && b[0] == 21 { // ContentType alert
		w.alerts.Add(1)
	}
	return n, err
}

// pskPair is an established pion association over loopback UDP: the
// server's Conn and the client's.
func pskPair(t *testing.T) (srv, cli *dtls.Conn) {
	srv, cli, _ = pskPairWatched(t)
	return srv, cli
}

// pskPairWatched is pskPair, with the client's socket watched for alerts.
func pskPairWatched(t *testing.T) (srv, cli *dtls.Conn, sent *alertWatch) {
	t.Helper()
	key := []byte("records test key")
	cfg := &dtls.Config{
		PSK:             func([]byte) ([]byte, error) { return key, nil },
		PSKIdentityHint: []byte("h"),
		CipherSuites:    []dtls.CipherSuiteID{dtls.TLS_PSK_WITH_AES_128_GCM_SHA256},
		LoggerFactory:   Quiet,
	}
	a, err := testsock.ListenAt("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := testsock.Dial("", a.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	// the server side: a UDP socket connected to the client's address,
	// once the client's first datagram says where it is
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var serr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		_, from, err := a.ReadFrom(buf)
		a.Close()
		if err != nil {
			serr = err
			return
		}
		c, err := testsock.Dial(a.LocalAddr().String(), from.String())
		if err != nil {
			serr = err
			return
		}
		srv, serr = dtls.ServerWithContext(ctx, c, cfg)
	}()
	sent = &alertWatch{Conn: b}
	cli, err = dtls.ClientWithContext(ctx, sent, cfg)
	wg.Wait()
	if err != nil || serr != nil {
		t.Fatalf("handshake: client %v, server %v", err, serr)
	}
	t.Cleanup(func() { _ = cli.Close(); _ = srv.Close() })
	return srv, cli, sent
}

// recordingSink counts what the loop reports.
type recordingSink struct {
	mu       sync.Mutex
	received int
	queued   int
	closed   bool
	failed   string
}

func (r *recordingSink) Admit(int) bool     { return true }
func (r *recordingSink) Received(int)       { r.mu.Lock(); r.received++; r.mu.Unlock() }
func (r *recordingSink) Queued()            { r.mu.Lock(); r.queued++; r.mu.Unlock() }
func (r *recordingSink) Dropped()           {}
func (r *recordingSink) Trouble(error) bool { return false }
func (r *recordingSink) Closed()            { r.mu.Lock(); r.closed = true; r.mu.Unlock() }
func (r *recordingSink) Failed(s string)    { r.mu.Lock(); r.failed = s; r.mu.Unlock() }
func (r *recordingSink) Ours() bool         { return false }

// The fields ReadLoop reaches for exist in the pion this module builds
// with: an upgrade that drops them fails here instead of quietly costing
// every idle peer its 8 KiB again.
func TestRecordsFound(t *testing.T) {
	srv, _ := pskPair(t)
	if records(srv) == nil {
		t.Fatal("pion's Conn has no decrypted chan interface{} field: ReadLoop falls back to Read and its buffer")
	}
}

// Both ways of reading deliver every record whole, in order, each in its
// own memory, and report the peer's close_notify as Closed. A pair whose
// client wrote no close_notify (pion's Close, see alertWatch) tests nothing
// about that and is tried again, up to five pairs.
func TestReadLoopDeliversAndCloses(t *testing.T) {
	for _, direct := range []bool{true, false} {
		name := map[bool]string{true: "pion's channel", false: "Conn.Read"}[direct]
		t.Run(name, func(t *testing.T) {
			for pair := 1; ; pair++ {
				if readLoopClosesOnNotify(t, direct) {
					return
				}
				t.Logf("pair %d: pion's Close wrote no close_notify; another pair", pair)
				if pair == 5 {
					t.Fatal("5 pairs in a row without a close_notify from pion's Close")
				}
			}
		})
	}
}

// readLoopClosesOnNotify runs one pair; it reports false when the client
// wrote no close_notify.
func readLoopClosesOnNotify(t *testing.T, direct bool) bool {
	t.Helper()
	srv, cli, watch := pskPairWatched(t)
	q := queue.NewPackets(64, 1<<20)
	sink := &recordingSink{}
	var ch <-chan interface{}
	if direct {
		ch = records(srv)
	}
	done := make(chan struct{})
	go func() { defer close(done); readLoop(srv, ch, q, sink) }()
	sent := [][]byte{[]byte("one"), make([]byte, 1200), []byte("three")}
	sent[1][0], sent[1][1199] = 7, 9
	for _, b := range sent {
		if _, err := cli.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	var got [][]byte
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < len(sent) && time.Now().Before(deadline) {
		if b, ok := q.Pop(); ok {
			got = append(got, b)
		} else {
			time.Sleep(time.Millisecond)
		}
	}
	if len(got) != len(sent) {
		t.Fatalf("got %d records, want %d", len(got), len(sent))
	}
	for i := range sent {
		if string(got[i]) != string(sent[i]) {
			t.Fatalf("record %d: got %d bytes %.8q, want %d bytes %.8q", i, len(got[i]), got[i], len(sent[i]), sent[i])
		}
	}
	if &got[0][0] == &got[2][0] {
		t.Fatal("two records share memory")
	}
	_ = cli.Close() // close_notify
	if watch.alerts.Load() == 0 {
		_ = srv.Close()
		<-done
		return false
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not end after the peer's close_notify")
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if !sink.closed || sink.failed != "" || sink.queued != len(sent) || sink.received != len(sent) {
		t.Fatalf("sink: closed %v failed %q queued %d received %d", sink.closed, sink.failed, sink.queued, sink.received)
	}
	return true
}
