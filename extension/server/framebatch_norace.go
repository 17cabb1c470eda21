//go:build !race

package server

// frameBatch is the most datagrams a frame read takes per system call.
const frameBatch = readBatch
