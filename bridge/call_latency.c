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

// GODTLS_CALL_SCHED=1 (Linux) tells where a call over 1 ms spent its time:
// for each, a line on stderr with the thread's voluntary and involuntary
// context switches during the call and its wait on the kernel's run queue
// (/proc/thread-self/schedstat). A voluntary switch with no run-queue wait
// is a sleep inside the call: Go's runtime parking the thread until a Go
// processor is handed to it. A run-queue wait is the kernel's scheduling.
// It reads /proc twice per call, so it is off unless asked for.
#ifdef __linux__
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#ifndef RUSAGE_THREAD
#define RUSAGE_THREAD 1 // Linux's value; glibc declares it under _GNU_SOURCE only
#endif

static int sched_diagnosis = -1; // -1: GODTLS_CALL_SCHED not read yet
static __thread int call_depth;  // a signal handler in GDScript can call back in
static __thread struct rusage usage_at_begin;
static __thread unsigned long long run_queue_ns_at_begin;

static unsigned long long run_queue_ns(void) {
	unsigned long long on_cpu = 0, waited = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	if (f != NULL) {
		if (fscanf(f, "%llu %llu", &on_cpu, &waited) != 2) {
			waited = 0;
		}
		fclose(f);
	}
	return waited;
}

static long usec_of(struct timeval t) { return (long)t.tv_sec * 1000000 + (long)t.tv_usec; }

static void diagnose_begin(void) {
	if (sched_diagnosis < 0) {
		sched_diagnosis = getenv("GODTLS_CALL_SCHED") != NULL;
	}
	if (sched_diagnosis && call_depth++ == 0) {
		getrusage(RUSAGE_THREAD, &usage_at_begin);
		run_queue_ns_at_begin = run_queue_ns();
	}
}

static void diagnose_end(uint64_t took_ns) {
	if (!sched_diagnosis || --call_depth != 0 || took_ns < 1000000) {
		return;
	}
	struct rusage u;
	getrusage(RUSAGE_THREAD, &u);
	long cpu = usec_of(u.ru_utime) - usec_of(usage_at_begin.ru_utime) + usec_of(u.ru_stime) - usec_of(usage_at_begin.ru_stime);
	fprintf(stderr, "GODTLS_CALL_SCHED: a call took %llu us: %ld voluntary and %ld involuntary context switches, %llu us on the run queue, %ld us of CPU\n",
			(unsigned long long)(took_ns / 1000), u.ru_nvcsw - usage_at_begin.ru_nvcsw, u.ru_nivcsw - usage_at_begin.ru_nivcsw,
			(run_queue_ns() - run_queue_ns_at_begin) / 1000, cpu);
}
#else
static void diagnose_begin(void) {}
static void diagnose_end(uint64_t took_ns) { (void)took_ns; }
#endif

uint64_t gdx_call_begin(void) {
	diagnose_begin();
	return now_ns();
}

static void raise_to(uint64_t *worst, uint64_t d) {
	uint64_t w = __atomic_load_n(worst, __ATOMIC_RELAXED);
	while (d > w && !__atomic_compare_exchange_n(worst, &w, d, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
	}
}

void gdx_call_end(uint64_t began) {
	uint64_t d = now_ns() - began;
	diagnose_end(d);
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
