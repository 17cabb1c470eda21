//go:build race

package server

// frameBatch: under the race detector x/net's batched read tells the
// detector about every byte of every buffer it offers (udpsock/race.go),
// 32 × 8 KiB per call whatever arrives, so a frame read offers one buffer
// per call, as the race build's reader goroutine reads.
const frameBatch = 1
