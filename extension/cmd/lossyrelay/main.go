// Command lossyrelay forwards UDP between clients and a server while
// losing and reordering datagrams, for the multiplayer tests in a real
// engine. It prints "RELAY <port>" when ready and runs until stdin closes
// or it is killed.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"godtls/extension/internal/lossy"
)

func main() {
	target := flag.String("to", "127.0.0.1:4433", "server address")
	loss := flag.Float64("loss", 0.05, "share of datagrams lost each way")
	reorder := flag.Float64("reorder", 0.02, "share of datagrams reordered")
	delay := flag.Duration("delay", 0, "added delay each way")
	flag.Parse()
	// Shares, not percentages: -loss 5 would silently drop everything.
	for name, v := range map[string]float64{"-loss": *loss, "-reorder": *reorder} {
		if !(v >= 0 && v < 1) {
			fmt.Fprintf(os.Stderr, "lossyrelay: %s is a share of datagrams, from 0 to below 1 (0.05 is 5 %%), got %v\n", name, v)
			os.Exit(2)
		}
	}
	addr, err := net.ResolveUDPAddr("udp", *target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lossyrelay:", err)
		os.Exit(2)
	}
	r, err := lossy.New(addr, lossy.Config{Loss: *loss, Reorder: *reorder, Delay: *delay})
	if err != nil {
		fmt.Fprintln(os.Stderr, "lossyrelay:", err)
		os.Exit(1)
	}
	fmt.Printf("RELAY %d\n", r.Addr().Port)
	_, _ = io.Copy(io.Discard, os.Stdin)
	time.Sleep(100 * time.Millisecond)
	fmt.Printf("forwarded %d dropped %d reordered %d\n", r.Forwarded.Load(), r.Dropped.Load(), r.Reordered.Load())
	r.Close()
}
