package client

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"godtls/extension/internal/testcert"
	"godtls/extension/netsim"
)

// The client's socket asks for a receive buffer of readBuffer: the
// system's default lost one burst of 200 unreliable messages in a test.
// Linux reports twice what was set (its bookkeeping), capped by
// net.core.rmem_max.
func TestTheSocketsReceiveBuffer(t *testing.T) {
	s := ourServer(t, testcert.ECDSA(t), nil)
	c := connect(t, s.LocalPort(), Config{Insecure: true})
	defer c.Close()
	mustConnect(t, c)
	c.mu.Lock()
	sock := c.guard.Conn.(*netsim.Conn).Conn.(syscall.Conn)
	c.mu.Unlock()
	raw, err := sock.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var sockErr error
	if err := raw.Control(func(fd uintptr) {
		got, sockErr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	}); err != nil || sockErr != nil {
		t.Fatal(err, sockErr)
	}
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	want := 2 * min(readBuffer, rmemMax)
	t.Logf("receive buffer %d bytes (net.core.rmem_max %d)", got, rmemMax)
	if got < want {
		t.Fatalf("receive buffer %d bytes, want %d", got, want)
	}
}
