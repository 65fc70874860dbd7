/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk-perf: NVMe benchmark with spdk_nvme_perf's flags. The main thread parses the arguments,
 * sets up the run (run.c), prints a progress line a second from the pollers' counters, polls
 * the admin queues, and at the end (or on SIGINT/SIGTERM) drains, shuts the controllers down
 * and prints the report (report.c).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <updk/nvme.h>
#include <updk/tsc.h>

#include "apps/perf/net.h"
#include "apps/perf/perf.h"
#include "apps/perf/run.h"

static struct perf_args g_args;
static struct perf_run g_run;
static volatile sig_atomic_t g_signals;

static void on_signal(int sig)
{
	static const char msg[] = "\nupdk-perf: stopping, draining outstanding I/O (again to exit "
				  "at once)\n";

	(void)sig;
	if (g_signals++)
		_exit(130);
	__atomic_store_n(&g_run.stop, 1, __ATOMIC_RELAXED);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do about it in a signal handler */
	}
}

static int install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	return 0;
}

/* The sum of the pollers' counters, read while they run (a close snapshot, no locks). */
static void sample(const struct perf_run *run, uint64_t *ios, uint64_t *lat)
{
	*ios = *lat = 0;
	for (unsigned i = 0; i < run->nctxs; i++) {
		*ios += __atomic_load_n(&run->ctxs[i].s.ios, __ATOMIC_RELAXED);
		*lat += __atomic_load_n(&run->ctxs[i].s.lat_sum, __ATOMIC_RELAXED);
	}
}

static bool all_done(const struct perf_run *run)
{
	for (unsigned i = 0; i < run->nworkers; i++)
		if (run->workers[i].started &&
		    !__atomic_load_n(&run->workers[i].done, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

/* Until the pollers finish: admin queues every 10 ms, progress every second. */
static void supervise(struct perf_run *run)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	uint64_t hz = run->tsc_hz, next = run->start_tsc + hz, prev_tsc = run->start_tsc;
	uint64_t prev_ios = 0, prev_lat = 0, ios, lat;
	unsigned second = 0;

	while (!all_done(run)) {
		uint64_t now;

		nanosleep(&tick, NULL);
		perf_admin_poll(run);
		now = updk_tsc();
		if (now < next || __atomic_load_n(&run->stop, __ATOMIC_RELAXED))
			continue;
		sample(run, &ios, &lat);
		/* The pollers zero their counters when warm-up ends. */
		if (ios < prev_ios)
			prev_ios = prev_lat = 0;
		second++;
		if (run->args->progress) {
			double dt = (double)(now - prev_tsc) / (double)hz;
			double iops = (double)(ios - prev_ios) / dt;
			double avg = ios > prev_ios ? (double)(lat - prev_lat) * 1e6 / (double)hz /
							      (double)(ios - prev_ios) :
						      0.0;

			fprintf(stderr, "[%4u s] %12.2f IOPS %10.2f MiB/s %10.2f us avg%s\n",
				second, iops, iops * run->args->io_size / (1024.0 * 1024.0), avg,
				now < run->warmup_end ? " (warm-up)" : "");
		}
		prev_ios = ios;
		prev_lat = lat;
		prev_tsc = now;
		next += hz;
		if (next < now)
			next = now + hz;
	}
}

static int report(struct perf_run *run, bool interrupted)
{
	struct perf_row *rows = calloc(run->nctxs ? run->nctxs : 1, sizeof(*rows));
	struct perf_core_result *cores = calloc(run->nworkers ? run->nworkers : 1, sizeof(*cores));
	struct perf_hist *th = calloc(1, sizeof(*th));
	struct perf_report r;
	uint64_t mismatches = 0;
	int status;

	if (!rows || !cores || !th) {
		fprintf(stderr, "updk-perf: out of memory for the report\n");
		free(rows);
		free(cores);
		free(th);
		return 1;
	}
	memset(&r, 0, sizeof(r));
	/* what the drain left outstanding is failed now, so the report counts it */
	perf_release_qpairs(run);
	perf_collect(run, rows, cores, &r.first_mismatch, &r.has_mismatch, &r.failed,
		     &r.pass_complete, &r.controller_resets);
	/* Everything the device touched goes before the report: the run is over. */
	perf_teardown(run);
	r.args = run->args;
	r.tsc_hz = run->tsc_hz;
	r.seed = run->seed;
	r.interrupted = interrupted;
	r.nrows = run->nctxs;
	r.rows = rows;
	r.ncores = run->nworkers;
	r.cores = cores;
	r.total_hist = th;
	if (run->args->json)
		perf_report_json(stdout, &r);
	else
		perf_report_text(stdout, &r);
	fflush(stdout);
	for (unsigned i = 0; i < r.nrows; i++)
		mismatches += rows[i].s.mismatches;
	status = mismatches ? 3 : r.failed ? 1 : 0;
	if (mismatches)
		fprintf(stderr,
			"updk-perf: %llu blocks read back differently from what was written\n",
			(unsigned long long)mismatches);
	free(rows);
	free(cores);
	free(th);
	return status;
}

int main(int argc, char **argv)
{
	char err[PERF_ERR_MAX];
	sigset_t block, old;
	int rc, status;

	if (perf_net_wanted(argc, argv))
		return perf_net_main(argc, argv);
	if (perf_args_parse(argc, argv, &g_args, err)) {
		fprintf(stderr, "updk-perf: %s\n", err);
		return 2;
	}
	if (g_args.help) {
		perf_usage(stdout);
		return 0;
	}
	if (perf_resolve_cores(g_args.cores, &g_args.ncores, g_args.cores_given))
		return 2;
	if (!g_args.ntargets) {
		snprintf(g_args.targets[0].addr, sizeof(g_args.targets[0].addr), "%s",
			 PERF_DEFAULT_ADDR);
		g_args.ntargets = 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (install_signals()) {
		fprintf(stderr, "updk-perf: cannot install signal handlers: %s\n", strerror(errno));
		return 1;
	}

	rc = perf_setup(&g_run, &g_args);
	if (rc) {
		perf_teardown(&g_run);
		perf_free(&g_run);
		return 1;
	}
	if (!g_args.json) {
		printf("Initialization complete. Launching workers.\n");
		fflush(stdout);
	}
	/* The pollers take no signals: the main thread handles them and tells them to stop. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = perf_start(&g_run);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	supervise(&g_run);
	perf_join(&g_run);
	perf_settle_resets(&g_run);
	status = report(&g_run, g_signals > 0);
	perf_free(&g_run);
	if (rc && !status)
		status = 1;
	return status;
}
