/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk-perf: NVMe benchmark with spdk_nvme_perf's flags (--net: the network benchmark, net.c).
 * The main thread parses the arguments, sets up the run (run.c) and starts one poller per core
 * (io.c), prints a progress line a second from the pollers' counters, polls the admin queues,
 * and at the end (or on SIGINT/SIGTERM) drains, shuts the controllers down and prints the
 * report (report.c). What both benchmarks do alike around their pollers is in pollers.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/perf/net.h"
#include "apps/perf/perf.h"
#include "apps/perf/run.h"

static struct perf_args g_args;
static struct perf_run g_run;

/* The sum of the pollers' counters, read while they run (a close snapshot, no locks). */
static void sample(const struct perf_run *run, uint64_t *ios, uint64_t *lat)
{
	*ios = *lat = 0;
	for (unsigned i = 0; i < run->nctxs; i++) {
		*ios += __atomic_load_n(&run->ctxs[i].s.ios, __ATOMIC_RELAXED);
		*lat += __atomic_load_n(&run->ctxs[i].s.lat_sum, __ATOMIC_RELAXED);
	}
}

/* Until the pollers finish: admin queues every 10 ms, progress every second. */
static void supervise(struct perf_run *run)
{
	uint64_t prev_ios = 0, prev_lat = 0, ios, lat;
	struct perf_ticker t;

	perf_ticker_start(&t, run->tsc_hz, run->start_tsc);
	while (!perf_pollers_done(run->workers, sizeof(*run->workers), run->nworkers)) {
		bool due = perf_ticker_wait(&t);

		perf_admin_poll(run);
		if (!due || __atomic_load_n(&run->stop, __ATOMIC_RELAXED))
			continue;
		sample(run, &ios, &lat);
		/* The pollers zero their counters when warm-up ends. */
		if (ios < prev_ios)
			prev_ios = prev_lat = 0;
		if (run->args->progress) {
			double iops = (double)(ios - prev_ios) / t.seconds;
			double avg = ios > prev_ios ?
					     (double)(lat - prev_lat) * 1e6 / (double)run->tsc_hz /
						     (double)(ios - prev_ios) :
					     0.0;

			fprintf(stderr, "[%4u s] %12.2f IOPS %10.2f MiB/s %10.2f us avg%s\n",
				t.second, iops, iops * run->args->io_size / (1024.0 * 1024.0), avg,
				t.now < run->warmup_end ? " (warm-up)" : "");
		}
		prev_ios = ios;
		prev_lat = lat;
	}
}

static int report(struct perf_run *run, bool interrupted)
{
	struct perf_row *rows = calloc(run->nctxs ? run->nctxs : 1, sizeof(*rows));
	struct perf_core_result *cores = calloc(run->nworkers ? run->nworkers : 1, sizeof(*cores));
	struct perf_hist *th = calloc(1, sizeof(*th));
	struct perf_report r;
	uint64_t mismatches = 0, zone_resets = 0, zone_finishes = 0;
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
	for (unsigned i = 0; i < run->nctxs; i++)
		perf_zoned_counts(&run->ctxs[i], &zone_resets, &zone_finishes);
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
	if (run->args->zone_append && !run->args->json)
		printf("Zones: %llu reset, %llu finished before they were full\n",
		       (unsigned long long)zone_resets, (unsigned long long)zone_finishes);
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
	sigset_t old;
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
	if (perf_signals_install(&g_run.stop, "\nupdk-perf: stopping, draining outstanding I/O "
					      "(again to exit at once)\n"))
		return 1;

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
	perf_signals_block(&old);
	rc = perf_start(&g_run);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	supervise(&g_run);
	perf_join(&g_run);
	perf_settle_resets(&g_run);
	status = report(&g_run, perf_signals_seen());
	perf_free(&g_run);
	if (rc && !status)
		status = 1;
	return status;
}
