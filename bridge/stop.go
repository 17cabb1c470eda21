package main

import (
	"fmt"
	"runtime"
	"time"
)

// stopWait bounds how long freeing an object or quitting the engine waits
// for an engine to stop (close_notify out, sockets closed, goroutines
// ended). Stopping takes milliseconds; a stop that hangs must not keep the
// game from quitting. (The exported Windows server that did not exit under
// Wine was not one: Godot's console wrapper waited for Wine's desktop
// process, docs/reliability.md.) The engine goroutines never call into
// Godot, so one that is still running when the object is gone touches
// nothing of the game.
const stopWait = 5 * time.Second

// stopBounded runs stop, waiting at most stopWait; past that it reports
// the stop that hangs, with every goroutine's stack (so that the hang can
// be found), and returns.
func stopBounded(what string, stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		stop()
	}()
	t := time.NewTimer(stopWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		buf := make([]byte, 256<<10)
		buf = buf[:runtime.Stack(buf, true)]
		pushError(what, fmt.Sprintf("did not stop within %v; going on without waiting. Goroutines:\n%s", stopWait, buf))
	}
}
