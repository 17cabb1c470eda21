module godtls

go 1.26.8

require (
	github.com/pion/dtls/v2 v2.2.12
	github.com/pion/logging v0.2.3
	github.com/pion/sctp v1.8.39
	github.com/pion/transport/v2 v2.2.4
	golang.org/x/crypto v0.58.0
	golang.org/x/exp v0.0.0-20261113113407-e3970619a1a4
	golang.org/x/net v0.60.0
	golang.org/x/sys v0.49.0
)

require (
	github.com/pion/randutil v0.1.0 // indirect
	github.com/pion/transport/v3 v3.0.7 // indirect
)
