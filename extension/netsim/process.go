package netsim

import (
	"os"
	"sync"
)

// EnvVar simulates a bad network for every socket of the process, in
// Parse's form: GODTLS_SIMULATE="loss=0.05,latency=80,jitter=20".
const EnvVar = "GODTLS_SIMULATE"

var (
	processOnce     sync.Once
	processSettings Settings
	processErr      error
)

// Process is what GODTLS_SIMULATE asks of every socket (the zero Settings
// when it is unset), or why it was refused. Read once per process.
func Process() (Settings, error) {
	processOnce.Do(func() {
		if text := os.Getenv(EnvVar); text != "" {
			processSettings, processErr = Parse(text)
			if processErr != nil {
				processSettings = Settings{}
			}
		}
	})
	return processSettings, processErr
}

// NewProcessLink is a link set as GODTLS_SIMULATE says (off without it).
func NewProcessLink() *Link {
	l := NewLink()
	if s, err := Process(); err == nil {
		_ = l.Set(s)
	}
	return l
}
