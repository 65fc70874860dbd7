/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the NVMe run and the --net run of updk-perf do alike around their pollers: one thread
 * per core, pinned, all let go together once every one of them runs; the main thread's
 * once-a-second tick for the progress line; SIGINT/SIGTERM asking the run to stop.
 */
#ifndef UPDK_APPS_PERF_POLLERS_H
#define UPDK_APPS_PERF_POLLERS_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A poller thread. It is the first member of each run's worker struct, so the functions below
 * walk an array of workers by its element size.
 */
struct perf_poller {
	unsigned core;
	pthread_t thread;
	bool started; /* the thread was created */
	int running; /* set (atomically) by the thread when it runs and waits for go */
	int done; /* set (atomically) by the thread when it has finished */
};

/*
 * Start @n pollers, @fn(worker) each pinned to its poller's core: @workers is an array of @n
 * structs of @size bytes, each beginning with its struct perf_poller. Returns once every
 * poller that started runs (a new thread on a busy core can wait long to be scheduled, and the
 * run's clock must not start before it). A thread that cannot be created is reported on
 * stderr, *@stop is set so the ones already started stop at once, and its -errno returned.
 */
int perf_pollers_start(void *workers, size_t size, unsigned n, void *(*fn)(void *), int *stop);

/* Wait for every poller of the array that started to end (pthread_join). */
void perf_pollers_join(void *workers, size_t size, unsigned n);

/* True when every poller of the array that started has finished (perf_poller_exit()). */
bool perf_pollers_done(const void *workers, size_t size, unsigned n);

/* In the poller: say it runs, then wait until *@go is set (the run's deadlines are). */
void perf_poller_wait_go(struct perf_poller *p, const int *go);

/* In the poller, last: leave lib/mem's thread registry and say it has finished. */
void perf_poller_exit(struct perf_poller *p);

/* The main thread's clock for the progress line. */
struct perf_ticker {
	uint64_t hz;
	uint64_t next; /* TSC of the next line */
	uint64_t now; /* when the last line was due */
	uint64_t cycles; /* TSC cycles since the line before (or the start) */
	double seconds; /* the same in seconds */
	unsigned second; /* lines so far */
};

/* Start the clock at @start_tsc: the first line is due a second later. */
void perf_ticker_start(struct perf_ticker *t, uint64_t hz, uint64_t start_tsc);

/*
 * Sleep 10 ms, then true when a line is due: now, cycles, seconds and second describe it. A
 * line that comes late does not make the next one early.
 */
bool perf_ticker_wait(struct perf_ticker *t);

/*
 * SIGINT and SIGTERM: the first sets *@stop (atomically) and writes @msg to stderr, a second
 * exits at once with status 130. SIGPIPE is ignored. 0, or -errno from sigaction() after a
 * message.
 */
int perf_signals_install(int *stop, const char *msg);

/* --interrupt-mode: the hybrid loop of poller @p, whose longest sleep is short enough for the
 * end of the run and a Ctrl-C to be noticed. 0, or -errno after a message naming the core. */
struct updk_loop;
int perf_poller_loop_create(const struct perf_poller *p, struct updk_loop **loop);

/* The calling thread's CPU time, user and system, in ns (getrusage(RUSAGE_THREAD)). */
uint64_t perf_thread_cpu_ns(void);

/* Whether SIGINT or SIGTERM has arrived (the run was interrupted). */
bool perf_signals_seen(void);

/* Block SIGINT and SIGTERM in the caller (*@old gets the mask to put back): pollers created
 * meanwhile inherit the mask, so the main thread takes the signals. */
void perf_signals_block(sigset_t *old);

#endif
