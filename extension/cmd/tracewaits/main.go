// Command tracewaits reads a Go execution trace of the library running in
// Godot (GODTLS_TRACE=file, bridge/profiling.go) and reports the times the
// goroutine of Godot's calls waited for a Go processor: how long, and what
// ran on the processors meanwhile; and the times it ran long without
// stopping, with how much of that was the garbage collector's mark assist
// (work a goroutine that allocates during a collection is made to do).
//
//	GODTLS_TRACE=/tmp/storm.trace go run ./extension/cmd/benchrun -only "join storm ECDSA P-256, 1000" -modes go_listen_bulk -runs 1 ...
//	go run ./extension/cmd/tracewaits /tmp/storm.trace
//
// The goroutine of Godot's calls is the first one seen running a cgo export
// of the bridge (goMethodCall, goMethodPtrcall, goCallVirtual): the main
// thread's, in a game that calls the library from there.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

var (
	atLeast = flag.Duration("min", time.Millisecond, "report waits at least this long")
	top     = flag.Int("top", 6, "how many of the longest waits to detail")
)

// slice is one stretch a goroutine ran on a processor.
type slice struct {
	g          trace.GoID
	proc       trace.ProcID
	start, end trace.Time
}

type span struct{ start, end trace.Time }

func (s span) dur() time.Duration { return s.end.Sub(s.start) }

func main() {
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: tracewaits [-min 1ms] [-top 6] trace.out")
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	a, err := analyze(f, "main.goMethod", *atLeast)
	if err != nil {
		log.Fatal(err)
	}
	a.print(os.Stdout, *top)
}

// wait is one time the caller's goroutine waited for a processor, and
// what ran meanwhile.
type wait struct {
	span
	perProc map[trace.ProcID]float64 // ms of goroutines run on each processor
	perKind map[string]float64       // ms, by the outermost frame of ours on their stacks
	inGC    []time.Duration          // GC phases it overlapped
}

type analysis struct {
	caller   trace.GoID
	runnable int
	min      time.Duration
	first    trace.Time
	waits    []wait    // longest first
	runs     []stretch // the caller's own runs of at least min, longest first
}

// stretch is one time the caller ran on a processor without stopping, and
// what of it was the garbage collector's: a goroutine that allocates while
// the GC marks pays for it in "mark assist" work, inside Godot's call.
type stretch struct {
	span
	assist time.Duration
	stop   string // where it stopped running: our outermost frame
}

// analyze reads a trace and finds the waits of the first goroutine seen
// with a frame containing callerFrame on its stack.
func analyze(in io.Reader, callerFrame string, atLeast time.Duration) (*analysis, error) {
	r, err := trace.NewReader(in)
	if err != nil {
		return nil, err
	}
	a := &analysis{caller: trace.NoGoroutine, min: atLeast}
	var (
		runningFrom = map[trace.GoID]trace.Time{}
		procOf      = map[trace.GoID]trace.ProcID{}
		kind        = map[trace.GoID]string{}
		slices      []slice
		waitFrom    trace.Time
		waits       []span
		gcFrom      = map[string]trace.Time{}
		gc          []span
		assistFrom  trace.Time
		assists     []span // the caller's mark assists
		callerRuns  []stretch
	)
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if a.first == 0 {
			a.first = ev.Time()
		}
		switch ev.Kind() {
		case trace.EventRangeBegin:
			if r := ev.Range(); r.Scope.Kind == trace.ResourceGoroutine {
				if r.Scope.Goroutine() == a.caller && a.caller != trace.NoGoroutine {
					assistFrom = ev.Time()
				}
				continue
			}
			gcFrom[ev.Range().Name] = ev.Time()
		case trace.EventRangeEnd:
			if r := ev.Range(); r.Scope.Kind == trace.ResourceGoroutine {
				if r.Scope.Goroutine() == a.caller && assistFrom != 0 {
					assists = append(assists, span{assistFrom, ev.Time()})
					assistFrom = 0
				}
				continue
			}
			name := ev.Range().Name
			if from, ok := gcFrom[name]; ok && (strings.Contains(name, "stop-the-world") || strings.Contains(name, "mark phase")) {
				gc = append(gc, span{from, ev.Time()})
			}
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			g := st.Resource.Goroutine()
			from, to := st.Goroutine()
			var frames []string
			for fr := range st.Stack.Frames() {
				frames = append(frames, fr.Func)
			}
			if a.caller == trace.NoGoroutine && strings.Contains(strings.Join(frames, ";"), callerFrame) {
				a.caller = g
			}
			if from == trace.GoRunning {
				// the goroutine's own stack as it stops running
				for i := len(frames) - 1; i >= 0; i-- {
					if !strings.HasPrefix(frames[i], "runtime.") {
						kind[g] = frames[i]
						break
					}
				}
				slices = append(slices, slice{g, procOf[g], runningFrom[g], ev.Time()})
				if g == a.caller {
					if r := (span{runningFrom[g], ev.Time()}); r.dur() >= atLeast {
						callerRuns = append(callerRuns, stretch{span: r, stop: kind[g]})
					}
				}
			}
			if to == trace.GoRunning {
				runningFrom[g], procOf[g] = ev.Time(), ev.Proc()
			}
			if g == a.caller {
				switch {
				case to == trace.GoRunnable:
					waitFrom = ev.Time()
				case from == trace.GoRunnable && to == trace.GoRunning:
					a.runnable++
					if w := (span{waitFrom, ev.Time()}); w.dur() >= atLeast {
						waits = append(waits, w)
					}
				}
			}
		}
	}
	if a.caller == trace.NoGoroutine {
		return nil, fmt.Errorf("no goroutine ran %s: was the trace taken with GODTLS_TRACE in a game calling the library?", callerFrame)
	}
	for _, r := range callerRuns {
		for _, as := range assists {
			if lo, hi := max(as.start, r.start), min(as.end, r.end); hi > lo {
				r.assist += time.Duration(hi - lo)
			}
		}
		a.runs = append(a.runs, r)
	}
	sort.Slice(a.runs, func(i, j int) bool { return a.runs[i].dur() > a.runs[j].dur() })
	sort.Slice(waits, func(i, j int) bool { return waits[i].dur() > waits[j].dur() })
	for _, w := range waits {
		d := wait{span: w, perProc: map[trace.ProcID]float64{}, perKind: map[string]float64{}}
		for _, s := range slices {
			if s.g == a.caller {
				continue
			}
			if lo, hi := max(s.start, w.start), min(s.end, w.end); hi > lo {
				ms := float64(hi-lo) / 1e6
				d.perProc[s.proc] += ms
				d.perKind[kind[s.g]] += ms
			}
		}
		for _, g := range gc {
			if g.end > w.start && g.start < w.end {
				d.inGC = append(d.inGC, g.dur())
			}
		}
		a.waits = append(a.waits, d)
	}
	return a, nil
}

func (a *analysis) print(out io.Writer, top int) {
	fmt.Fprintf(out, "goroutine %d (Godot's calls): %d times runnable, %d waits for a processor of %v or more\n", a.caller, a.runnable, len(a.waits), a.min)
	fmt.Fprintf(out, "%d times it ran %v or more without stopping\n", len(a.runs), a.min)
	for i, r := range a.runs {
		if i == top {
			break
		}
		fmt.Fprintf(out, "   at %.3f s for %.2f ms, of it %.2f ms of GC mark assist; it stopped in %s\n", float64(r.start-a.first)/1e9, float64(r.dur())/1e6, float64(r.assist)/1e6, r.stop)
	}
	for i, w := range a.waits {
		if i == top {
			break
		}
		fmt.Fprintf(out, "\nwait at %.3f s for %.2f ms; what ran meanwhile:\n", float64(w.start-a.first)/1e9, float64(w.dur())/1e6)
		for _, p := range sortedKeys(w.perProc) {
			fmt.Fprintf(out, "   processor %v: goroutines ran %.2f ms\n", p, w.perProc[p])
		}
		for _, k := range sortedKeys(w.perKind) {
			label := k
			if label == "" {
				label = "(the runtime's own: GC workers and the like)"
			}
			fmt.Fprintf(out, "   %.2f ms  %s\n", w.perKind[k], label)
		}
		for _, d := range w.inGC {
			fmt.Fprintf(out, "   during a GC phase of %.2f ms\n", float64(d)/1e6)
		}
	}
}

// sortedKeys orders a map's keys by value, largest first.
func sortedKeys[K comparable](m map[K]float64) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	return keys
}
