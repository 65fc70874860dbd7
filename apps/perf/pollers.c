// SPDX-License-Identifier: BSD-3-Clause
/* updk-perf: poller threads, the progress clock and the stop signals of both runs (pollers.h). */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <updk/loop.h>
#include <updk/mem.h>
#include <updk/tsc.h>

#include "apps/perf/pollers.h"

static struct perf_poller *poller_at(void *workers, size_t size, unsigned i)
{
	return (struct perf_poller *)((char *)workers + size * i);
}

int perf_pollers_start(void *workers, size_t size, unsigned n, void *(*fn)(void *), int *stop)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int rc = 0;

	for (unsigned i = 0; i < n; i++) {
		struct perf_poller *p = poller_at(workers, size, i);

		pthread_attr_init(&attr);
		CPU_ZERO(&set);
		CPU_SET(p->core, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		rc = pthread_create(&p->thread, &attr, fn, p);
		pthread_attr_destroy(&attr);
		if (rc) {
			fprintf(stderr, "updk-perf: cannot start the poller on core %u: %s\n",
				p->core, strerror(rc));
			/* The pollers already started stop at once and drain. */
			__atomic_store_n(stop, 1, __ATOMIC_RELAXED);
			break;
		}
		p->started = true;
	}
	/* One that first ran after the run's end would make a run of a single pass. */
	for (unsigned i = 0; i < n; i++) {
		struct perf_poller *p = poller_at(workers, size, i);

		while (p->started && !__atomic_load_n(&p->running, __ATOMIC_ACQUIRE))
			sched_yield();
	}
	return -rc;
}

void perf_pollers_join(void *workers, size_t size, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct perf_poller *p = poller_at(workers, size, i);

		if (p->started)
			pthread_join(p->thread, NULL);
	}
}

bool perf_pollers_done(const void *workers, size_t size, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct perf_poller *p = poller_at((void *)workers, size, i);

		if (p->started && !__atomic_load_n(&p->done, __ATOMIC_ACQUIRE))
			return false;
	}
	return true;
}

void perf_poller_wait_go(struct perf_poller *p, const int *go)
{
	__atomic_store_n(&p->running, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(go, __ATOMIC_ACQUIRE))
		sched_yield();
}

void perf_poller_exit(struct perf_poller *p)
{
	updk_mem_thread_exit();
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
}

void perf_ticker_start(struct perf_ticker *t, uint64_t hz, uint64_t start_tsc)
{
	memset(t, 0, sizeof(*t));
	t->hz = hz;
	t->now = start_tsc;
	t->next = start_tsc + hz;
}

bool perf_ticker_wait(struct perf_ticker *t)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	uint64_t now;

	nanosleep(&tick, NULL);
	now = updk_tsc();
	if (now < t->next)
		return false;
	t->cycles = now - t->now;
	t->seconds = (double)t->cycles / (double)t->hz;
	t->now = now;
	t->second++;
	t->next += t->hz;
	if (t->next < now)
		t->next = now + t->hz;
	return true;
}

static int *g_stop;
static const char *g_stop_msg;
static size_t g_stop_len;
static volatile sig_atomic_t g_signals;

static void on_signal(int sig)
{
	(void)sig;
	if (g_signals++)
		_exit(130);
	__atomic_store_n(g_stop, 1, __ATOMIC_RELAXED);
	if (write(STDERR_FILENO, g_stop_msg, g_stop_len) < 0) {
		/* nothing to do about it in a signal handler */
	}
}

int perf_signals_install(int *stop, const char *msg)
{
	struct sigaction sa;

	g_stop = stop;
	g_stop_msg = msg;
	g_stop_len = strlen(msg);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	signal(SIGPIPE, SIG_IGN);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL)) {
		int err = errno;

		fprintf(stderr, "updk-perf: cannot install signal handlers: %s\n", strerror(err));
		return -err;
	}
	return 0;
}

bool perf_signals_seen(void)
{
	return g_signals > 0;
}

void perf_signals_block(sigset_t *old)
{
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, old);
}

uint64_t perf_thread_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

int perf_poller_loop_create(const struct perf_poller *p, struct updk_loop **loop)
{
	struct updk_loop_opts lo = { .opts_size = sizeof(lo), .max_sleep_ms = 100 };
	int rc = updk_loop_create(&lo, loop);

	if (rc)
		fprintf(stderr, "updk-perf: cannot create the loop of core %u: %s\n", p->core,
			strerror(-rc));
	return rc;
}
