//go:build !race

package udpsock

// raceBuild: see race.go.
const raceBuild = false
