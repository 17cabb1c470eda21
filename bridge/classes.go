package main

// classList is every class the addon registers, parents before children.
// Adding a class: write its file (one classDef, see godtls_peer.go for the
// shape) and add its constructor here; docs/ARCHITECTURE.md has the list.
var classList = []func() *classDef{
	serverClass,
	peerClass,
	clientClass,
	multiplayerClass,
	monitorsClass,
}
