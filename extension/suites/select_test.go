package suites

import (
	"testing"

	"github.com/pion/dtls/v2"
)

// wrapped stands for a caller's wrapper around a suite (the server's panic
// guard).
type wrapped struct{ dtls.CipherSuite }

func (w wrapped) Unwrap() dtls.CipherSuite { return w.CipherSuite }

// Initialized finds the suite pion initialised, through a wrapper, and
// nothing before the keys exist.
func TestInitializedLooksThroughWrappers(t *testing.T) {
	idle := New(ECDHEECDSAChaCha20Poly1305)
	if got := Initialized([]dtls.CipherSuite{idle, wrapped{idle}}); got != nil {
		t.Fatalf("no suite initialised, got %p", got)
	}
	keyed, _ := pair(t)
	for name, offered := range map[string][]dtls.CipherSuite{
		"bare":    {idle, keyed},
		"wrapped": {wrapped{idle}, wrapped{keyed}},
	} {
		if got := Initialized(offered); got != keyed {
			t.Errorf("%s: got %p, want the initialised suite %p", name, got, keyed)
		}
	}
}
