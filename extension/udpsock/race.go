//go:build race

package udpsock

// raceBuild: under the race detector, x/net's ReadBatch tells the detector
// about every byte of every buffer it offers the kernel (32 × 8 KiB per
// call, whatever arrives), which makes a batched reader many times slower
// than one reading a datagram per call, and a test's socket overflow. The
// race build reads one datagram per call; TestBatch covers batched reads.
const raceBuild = true
