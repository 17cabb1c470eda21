//go:build !linux

package udpsock

// dontWait is never used off Linux: batched reads exist only there.
const dontWait = 0
