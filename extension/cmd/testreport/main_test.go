package main

import (
	"strings"
	"testing"
)

// Events as `go test -json` writes them: a package that passed with a
// skipped subtest, one that failed, one without tests.
const events = `{"Action":"start","Package":"a"}
{"Action":"run","Package":"a","Test":"TestNet"}
{"Action":"output","Package":"a","Test":"TestNet","Output":"=== RUN   TestNet\n"}
{"Action":"run","Package":"a","Test":"TestNet/IPv6"}
{"Action":"output","Package":"a","Test":"TestNet/IPv6","Output":"    net_test.go:9: SKIPPED: no loopback ::1 here\n"}
{"Action":"output","Package":"a","Test":"TestNet/IPv6","Output":"--- SKIP: TestNet/IPv6 (0.00s)\n"}
{"Action":"skip","Package":"a","Test":"TestNet/IPv6","Elapsed":0}
{"Action":"pass","Package":"a","Test":"TestNet","Elapsed":0.1}
{"Action":"pass","Package":"a","Elapsed":0.2}
{"Action":"output","Package":"b","Test":"TestOdd","Output":"    odd_test.go:3: want 1, got 2\n"}
{"Action":"fail","Package":"b","Test":"TestOdd","Elapsed":0}
{"Action":"output","Package":"b","Output":"FAIL\tb\t0.300s\n"}
{"Action":"fail","Package":"b","Elapsed":0.3}
{"Action":"skip","Package":"c"}
`

func TestReport(t *testing.T) {
	var out strings.Builder
	failed, err := report(strings.NewReader(events), &out)
	if err != nil || !failed {
		t.Fatalf("failed %v, err %v, want a failure and no error", failed, err)
	}
	for _, want := range []string{
		"ok  \ta\t0.200s\n",
		"odd_test.go:3: want 1, got 2\n", // a failing package's output, whole
		"FAIL\tb\t0.300s\n",
		"?   \tc\t[no test files]\n",
		"# SKIPPED a TestNet/IPv6: net_test.go:9: SKIPPED: no loopback ::1 here\n",
		"# 1 Go tests SKIPPED (not counted as passed)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "=== RUN") {
		t.Errorf("a passing package's output was printed:\n%s", out.String())
	}
}

func TestReportWithoutResults(t *testing.T) {
	var out strings.Builder
	if failed, err := report(strings.NewReader("go: no Go files\n"), &out); err == nil || !failed {
		t.Fatalf("failed %v, err %v: input without a result must fail", failed, err)
	}
	if !strings.Contains(out.String(), "go: no Go files") {
		t.Errorf("go's own message was not passed on: %q", out.String())
	}
}
