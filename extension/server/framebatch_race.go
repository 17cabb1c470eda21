//go:build race

package server

// frameBatch: under the race detector x/net's batched read tells the
// detector about every byte of every buffer it offers (udpsock/race.go),
// so a frame read offers one buffer per call, as the race build's reader
// goroutine does; 32 made a flood's drain slower than that goroutine's
// and a flood test's socket overflow.
const frameBatch = 1
