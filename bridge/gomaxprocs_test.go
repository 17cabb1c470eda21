package main

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The library keeps Go's own GOMAXPROCS: a game (or its launcher) that sets
// the GOMAXPROCS environment variable gets exactly that, and nothing in the
// package's initialization raises it. The child process is this test binary,
// so every init() of the library runs in it.
func TestGOMAXPROCSIsRespected(t *testing.T) {
	if os.Getenv("GODTLS_REPORT_GOMAXPROCS") != "" {
		os.Stdout.WriteString("GOMAXPROCS=" + strconv.Itoa(runtime.GOMAXPROCS(0)) + "\n")
		return
	}
	for _, want := range []string{"1", "3"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestGOMAXPROCSIsRespected$")
		cmd.Env = append(os.Environ(), "GODTLS_REPORT_GOMAXPROCS=1", "GOMAXPROCS="+want)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "GOMAXPROCS="+want+"\n") {
			t.Errorf("with GOMAXPROCS=%s in the environment the library runs with %q", want, out)
		}
	}
}
