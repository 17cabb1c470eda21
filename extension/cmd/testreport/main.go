// Command testreport reads `go test -json` on its standard input and prints
// what `go test` prints without it (an "ok" line for each package that
// passed, everything a failing package printed, build errors), then every
// test that was skipped, with its reason, under a banner: without -v,
// `go test` shows a skipped test nowhere, and a skip read as a pass is how
// a check that did not run passes unnoticed. It exits with 1 when a
// package failed or the input holds no result at all, else 0; build.sh
// runs it after `go test`, whose own status counts too.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail
	Test       string
	Elapsed    float64
	Output     string
}

// skip is a test that was skipped, and the last line it printed.
type skip struct{ pkg, test, reason string }

func main() {
	failed, err := report(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

// report prints in's events to out and says whether anything failed.
func report(in io.Reader, out io.Writer) (failed bool, err error) {
	outputs := map[string]*strings.Builder{} // each package's output, for a failure
	lastLine := map[[2]string]string{}       // each test's last line printed
	var skips []skip
	results := 0
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			fmt.Fprintln(out, sc.Text()) // not an event: go's own message
			continue
		}
		switch e.Action {
		case "build-output":
			fmt.Fprint(out, e.Output)
		case "build-fail":
			failed = true
		case "output":
			b := outputs[e.Package]
			if b == nil {
				b = &strings.Builder{}
				outputs[e.Package] = b
			}
			b.WriteString(e.Output)
			if line := strings.TrimSpace(e.Output); e.Test != "" && line != "" && !strings.HasPrefix(line, "---") && !strings.HasPrefix(line, "===") {
				lastLine[[2]string{e.Package, e.Test}] = line
			}
		case "skip":
			if e.Test == "" {
				fmt.Fprintf(out, "?   \t%s\t[no test files]\n", e.Package)
				results++
				continue
			}
			skips = append(skips, skip{e.Package, e.Test, lastLine[[2]string{e.Package, e.Test}]})
		case "pass":
			if e.Test == "" {
				fmt.Fprintf(out, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
				results++
			}
		case "fail":
			if e.Test == "" {
				if b := outputs[e.Package]; b != nil {
					fmt.Fprint(out, b.String()) // ends with go test's own FAIL line
				} else {
					fmt.Fprintf(out, "FAIL\t%s\n", e.Package)
				}
				failed = true
				results++
			}
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	if len(skips) > 0 {
		fmt.Fprintln(out, "############################################################")
		for _, s := range skips {
			fmt.Fprintf(out, "# SKIPPED %s %s: %s\n", s.pkg, s.test, s.reason)
		}
		fmt.Fprintf(out, "# %d Go tests SKIPPED (not counted as passed)\n", len(skips))
		fmt.Fprintln(out, "############################################################")
	}
	if results == 0 {
		return true, fmt.Errorf("no package result in the input")
	}
	return failed, nil
}
