// Command exitprobe is a Go DLL for exit.c: it opens UDP sockets through
// extension/udpsock (the path an exported game takes under Wine), each
// with a goroutine blocked reading it and a goroutine sending to it, the
// shape of a server with live connections when the engine quits. It is
// built by exit.sh only; it is not part of the addon.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../../..
// Pinned as the addon's DLL is: a Go runtime cannot be unloaded.
#include "pin_self.h"
*/
import "C"

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"godtls/extension/udpsock"
)

var (
	mu      sync.Mutex
	sockets []udpsock.PacketConn
	stop    = make(chan struct{})
	wg      sync.WaitGroup
)

// probe_start opens n sockets, each read by one goroutine and fed every
// millisecond by another. It returns how many it opened.
//
//export probe_start
func probe_start(n C.int) C.int {
	mu.Lock()
	defer mu.Unlock()
	for i := 0; i < int(n); i++ {
		c, err := udpsock.Listen(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			break
		}
		sockets = append(sockets, c)
		to := c.LocalAddr().(*net.UDPAddr).AddrPort()
		to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
		wg.Add(2)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2048)
			for {
				if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
					_, _ = c.WriteToUDPAddrPort([]byte("probe"), to)
				}
			}
		}()
	}
	return C.int(len(sockets))
}

// probe_stop closes every socket and waits for the goroutines, as the
// addon's deinitialization does.
//
//export probe_stop
func probe_stop() {
	mu.Lock()
	defer mu.Unlock()
	close(stop)
	for _, c := range sockets {
		_ = c.Close()
	}
	wg.Wait()
}

func main() {}
