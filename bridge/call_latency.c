// call_latency.c: how long each call from Godot into the library takes,
// timed on the C side of the boundary. A call from a C thread into Go first
// needs a Go processor; if every one is busy (handshake crypto, socket
// readers) it waits for the scheduler, and only a clock read before Go is
// entered sees that wait. Log2 buckets in microseconds, lock-free: calls
// come from any of Godot's threads.
#include "gdx.h"

#ifdef _WIN32
#include <windows.h>
static uint64_t now_ns(void) {
	static LARGE_INTEGER freq; // set once; a race writes the same value
	LARGE_INTEGER t;
	if (freq.QuadPart == 0) {
		QueryPerformanceFrequency(&freq);
	}
	QueryPerformanceCounter(&t);
	return (uint64_t)((double)t.QuadPart * 1e9 / (double)freq.QuadPart);
}
#else
#include <time.h>
static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

static uint64_t counts[GDX_CALL_BUCKETS];
static uint64_t total_ns, worst_ns, worst_since_read_ns;

uint64_t gdx_call_begin(void) { return now_ns(); }

static void raise_to(uint64_t *worst, uint64_t d) {
	uint64_t w = __atomic_load_n(worst, __ATOMIC_RELAXED);
	while (d > w && !__atomic_compare_exchange_n(worst, &w, d, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
	}
}

void gdx_call_end(uint64_t began) {
	uint64_t d = now_ns() - began;
	uint64_t us = d / 1000;
	int b = 0; // bucket 0: under 1 us; bucket b: [2^(b-1), 2^b) us
	while (us > 0 && b < GDX_CALL_BUCKETS - 1) {
		us >>= 1;
		b++;
	}
	__atomic_fetch_add(&counts[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&total_ns, d, __ATOMIC_RELAXED);
	raise_to(&worst_ns, d);
	raise_to(&worst_since_read_ns, d);
}

void gdx_call_latency(uint64_t *out_counts, uint64_t *out_total_ns, uint64_t *out_worst_ns) {
	for (int i = 0; i < GDX_CALL_BUCKETS; i++) {
		out_counts[i] = __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
	}
	*out_total_ns = __atomic_load_n(&total_ns, __ATOMIC_RELAXED);
	*out_worst_ns = __atomic_load_n(&worst_ns, __ATOMIC_RELAXED);
}

uint64_t gdx_call_worst_since_read(void) {
	return __atomic_exchange_n(&worst_since_read_ns, 0, __ATOMIC_RELAXED);
}
