package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// Profiling the running library, for the benchmarks and for developers
// chasing a cost inside a game: GODTLS_CPUPROFILE=file writes a CPU
// profile of every goroutine (go tool pprof), GODTLS_TRACE=file a Go
// execution trace (go tool trace; its scheduler-latency profile shows a
// call from Godot's thread waiting for a Go processor), GODTLS_ALLOCPROFILE=
// file a profile of the heap allocations (go tool pprof -sample_index=
// alloc_space: who allocates, and so what the collector works for; one
// allocation in 4 KiB is sampled). All run from the library's
// initialization to its deinitialization (the engine quitting).

var (
	profileFiles []*os.File
	allocProfile *os.File // written at deinitialization
)

func startProfiling() {
	if path := os.Getenv("GODTLS_CPUPROFILE"); path != "" {
		if f := createProfile("GODTLS_CPUPROFILE", path); f != nil {
			if err := pprof.StartCPUProfile(f); err != nil {
				pushWarning("GoDTLS", "GODTLS_CPUPROFILE: "+err.Error())
			}
		}
	}
	if path := os.Getenv("GODTLS_ALLOCPROFILE"); path != "" {
		if allocProfile = createProfile("GODTLS_ALLOCPROFILE", path); allocProfile != nil {
			runtime.MemProfileRate = 4096
		}
	}
	if path := os.Getenv("GODTLS_TRACE"); path != "" {
		if f := createProfile("GODTLS_TRACE", path); f != nil {
			if err := trace.Start(f); err != nil {
				pushWarning("GoDTLS", "GODTLS_TRACE: "+err.Error())
			}
		}
	}
}

func createProfile(env, path string) *os.File {
	f, err := os.Create(path)
	if err != nil {
		pushWarning("GoDTLS", env+": "+err.Error())
		return nil
	}
	profileFiles = append(profileFiles, f)
	return f
}

func stopProfiling() {
	if len(profileFiles) == 0 {
		return
	}
	pprof.StopCPUProfile()
	trace.Stop()
	if allocProfile != nil {
		if err := pprof.Lookup("allocs").WriteTo(allocProfile, 0); err != nil {
			pushWarning("GoDTLS", "GODTLS_ALLOCPROFILE: "+err.Error())
		}
		allocProfile = nil
	}
	for _, f := range profileFiles {
		_ = f.Close()
	}
	profileFiles = nil
}
