/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk-perf --net: the run from the main thread.
 *
 * The run is a list of tasks, each owning one side of a port's queue 0: a generator (txonly)
 * the transmit side, a checker (rxonly) the receive side, a forwarder (fwd) the receive side
 * of one port and the transmit side of its pair (net_run.c). Tasks go round-robin to the poller
 * threads, one per core of -c; a poller runs its tasks in turn with no locks, system calls or
 * allocation other than the packet pools' (net_io.c). The main thread prints a line a second
 * from the pollers' counters.
 *
 * When the time is up the generators and forwarders stop; the checkers keep receiving while
 * the main thread waits (bounded) until every port has sent what it was given and every
 * checked port's receive counter equals what its checker took, so the device counters and the
 * application's agree at the end: on back-to-back ports, what one sent is what the other
 * received plus what it dropped.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <updk/tsc.h>

#include "apps/perf/net_run.h"

#define LOAD(p) __atomic_load_n(&(p), __ATOMIC_RELAXED)

static struct net_run g_net;

/* Every poller has left its timed loop. */
static bool all_stopped(const struct net_run *run)
{
	for (unsigned i = 0; i < run->nworkers; i++) {
		const struct net_worker *w = &run->workers[i];

		if (w->poller.started && !__atomic_load_n(&w->stopped, __ATOMIC_ACQUIRE))
			return false;
	}
	return true;
}

static void sample(const struct net_run *run, uint64_t *tx, uint64_t *rx, uint64_t *fwd,
		   uint64_t *bytes)
{
	*tx = *rx = *fwd = *bytes = 0;
	for (unsigned i = 0; i < run->ntasks; i++) {
		const struct net_task *t = &run->tasks[i];
		uint64_t n = LOAD(t->packets);

		*(t->role == ROLE_GEN ? tx : t->role == ROLE_CHK ? rx : fwd) += n;
		*bytes += LOAD(t->bytes);
	}
}

static void progress(struct net_run *run)
{
	uint64_t ptx = 0, prx = 0, pfwd = 0, pbytes = 0;
	struct perf_ticker tk;

	perf_ticker_start(&tk, run->tsc_hz, run->start_tsc);
	while (!all_stopped(run)) {
		uint64_t tx, rx, fwd, bytes, pkts;
		double dt;

		if (!perf_ticker_wait(&tk) || LOAD(run->stop))
			continue;
		sample(run, &tx, &rx, &fwd, &bytes);
		dt = tk.seconds;
		pkts = (tx - ptx) + (rx - prx) + (fwd - pfwd);
		if (run->args->progress) {
			char line[256];
			int n = snprintf(line, sizeof(line), "[%4u s]", tk.second);

			if (run->args->mode == NET_FWD)
				n += snprintf(line + n, sizeof(line) - (size_t)n, " fwd %8.3f Mpps",
					      (double)(fwd - pfwd) / dt / 1e6);
			else
				n += snprintf(line + n, sizeof(line) - (size_t)n,
					      " tx %8.3f Mpps  rx %8.3f Mpps",
					      (double)(tx - ptx) / dt / 1e6,
					      (double)(rx - prx) / dt / 1e6);
			snprintf(line + n, sizeof(line) - (size_t)n,
				 " %8.3f Gbit/s %10.1f cycles per packet",
				 (double)(bytes - pbytes) * 8 / dt / 1e9,
				 pkts ? (double)tk.cycles * run->nworkers / (double)pkts : 0.0);
			fprintf(stderr, "%s\n", line);
		}
		ptx = tx;
		prx = rx;
		pfwd = fwd;
		pbytes = bytes;
	}
}

/*
 * Whether port @i's frames have all reached its pair, when the wire is known: two sim: ports
 * paired as 0<->1, 2<->3 are cabled to each other (the built-in pair, or peer= addresses), and
 * a frame is on the wire, in the receiver's packet buffer, until its model has received or
 * dropped it. Real ports: unknown, taken as arrived (frames are in flight for microseconds).
 */
static bool wire_empty(const struct net_run *run, unsigned i)
{
	const struct net_port *p = &run->ports[i], *q = &run->ports[i ^ 1u];

	if ((i ^ 1u) >= run->nports || strncmp(p->addr, "sim:", 4) || strncmp(q->addr, "sim:", 4))
		return true;
	/* sim:ixgbe counts a frame it received (even one the driver refuses later) or dropped */
	return q->st.rx_packets + q->st.rx_dropped >= p->st.tx_packets;
}

/*
 * After the timed loop: wait until each port has sent what it was handed, its pair (sim ports)
 * has received or dropped all of it, and each checked port's frames have all been taken,
 * reading the device counters every 10 ms (bounded). Counters alike twice are not enough on
 * their own: a model thread may not run for 10 ms on a loaded machine.
 */
static void drain(struct net_run *run)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	uint64_t prev_sum = UINT64_MAX;

	for (unsigned i = 0; i < run->ntasks; i++) {
		const struct net_task *t = &run->tasks[i];

		if (t->role == ROLE_GEN)
			t->tx->app_tx += t->packets;
		else if (t->role == ROLE_FWD)
			t->tx->app_tx += t->packets + t->primed;
	}
	for (unsigned ms = 0; ms < NET_DRAIN_MS; ms += 10) {
		bool settled = true;
		uint64_t sum = 0;

		nanosleep(&tick, NULL);
		for (unsigned i = 0; i < run->nports; i++) {
			struct net_port *p = &run->ports[i];

			if (updk_net_stats(p->dev, &p->st))
				continue;
			sum += p->st.tx_packets + p->st.rx_packets + p->st.rx_dropped;
			if (p->st.tx_packets < p->app_tx)
				settled = false;
		}
		for (unsigned i = 0; i < run->nports; i++)
			if (!wire_empty(run, i))
				settled = false;
		for (unsigned i = 0; i < run->ntasks; i++) {
			const struct net_task *t = &run->tasks[i];

			/* Frames the driver refused as bad were delivered but never handed over. */
			if (t->role == ROLE_CHK &&
			    LOAD(t->packets) + t->rx->st.rx_errors < t->rx->st.rx_packets)
				settled = false;
		}
		/* Two reads alike: nothing more is on its way (for the ports we drive). */
		if (settled && sum == prev_sum)
			break;
		prev_sum = sum;
		if (ms + 10 >= NET_DRAIN_MS)
			run->drain_timeout = true;
	}
	__atomic_store_n(&run->drained, 1, __ATOMIC_RELEASE);
	while (!perf_pollers_done(run->workers, sizeof(run->workers[0]), run->nworkers))
		nanosleep(&tick, NULL);
	for (unsigned i = 0; i < run->nports; i++)
		updk_net_stats(run->ports[i].dev, &run->ports[i].st);
}

int perf_net_main(int argc, char **argv)
{
	static struct net_args args;
	struct net_run *run = &g_net;
	char err[PERF_ERR_MAX];
	sigset_t old;
	struct net_totals s;
	int rc, status = 0;

	if (perf_net_args_parse(argc, argv, &args, err)) {
		fprintf(stderr, "updk-perf: %s\n", err);
		return 2;
	}
	if (args.help) {
		perf_net_usage(stdout);
		return 0;
	}
	if (perf_resolve_cores(args.cores, &args.ncores, args.cores_given))
		return 2;
	if (perf_signals_install(&g_net.stop, "\nupdk-perf: stopping (again to exit at once)\n"))
		return 1;

	memset(run, 0, sizeof(*run));
	run->args = &args;
	run->tsc_hz = updk_tsc_hz();
	rc = net_setup(run);
	if (rc) {
		net_teardown(run);
		return 1;
	}
	if (!args.json) {
		printf("Launching %u task%s on %u poller%s.\n", run->ntasks,
		       run->ntasks > 1 ? "s" : "",
		       args.ncores < run->ntasks ? args.ncores : run->ntasks,
		       (args.ncores < run->ntasks ? args.ncores : run->ntasks) > 1 ? "s" : "");
		fflush(stdout);
	}
	/* The pollers take no signals: the main thread handles them and tells them to stop. */
	perf_signals_block(&old);
	rc = net_start_workers(run);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	progress(run);
	drain(run);
	perf_pollers_join(run->workers, sizeof(run->workers[0]), run->nworkers);
	if (args.json)
		net_report_json(stdout, run, perf_signals_seen());
	else
		net_report_text(stdout, run, perf_signals_seen());
	fflush(stdout);
	net_totals(run, &s);
	if (s.late + s.malformed) {
		fprintf(stderr,
			"updk-perf: %" PRIu64 " frames out of sequence and %" PRIu64
			" malformed frames\n",
			s.late, s.malformed);
		status = 3;
	}
	net_teardown(run);
	if (rc && !status)
		status = 1;
	return status;
}
