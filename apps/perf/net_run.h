/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk-perf --net's run: its ports, the tasks on them (net_run.c), the pollers that run the
 * tasks (net_io.c) and the figures the report prints (net_report.c). The main thread
 * (net.c) reads the pollers' counters while they run.
 */
#ifndef UPDK_APPS_PERF_NET_RUN_H
#define UPDK_APPS_PERF_NET_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <updk/loop.h>
#include <updk/net.h>

#include "apps/perf/net.h"
#include "apps/perf/pollers.h"

#define NET_ETHERTYPE 0x88b5 /* IEEE 802 local experimental */
#define NET_WIRE_EXTRA 20 /* preamble and start delimiter 8, inter-frame gap 12 */
#define NET_FCS 4
#define NET_MAX_TASKS (2 * NET_MAX_PORTS)
#define NET_DRAIN_MS 3000

enum net_role { ROLE_GEN, ROLE_CHK, ROLE_FWD };

struct net_port {
	char addr[PERF_ADDR_MAX];
	struct updk_net_dev *dev;
	uint8_t mac[6];
	struct updk_net_link link;
	struct updk_net_stats st;
	uint64_t app_tx; /* packets the tasks handed to its transmit queue (after the run) */
};

/* Per-stream sequence state of a checker. */
struct net_stream {
	uint64_t next; /* the sequence number expected next */
	bool seen;
};

struct net_task {
	enum net_role role;
	unsigned index; /* in the run: the stream id of a generator */
	struct net_port *rx, *tx;
	struct net_worker *w;
	struct updk_pktpool *pool; /* generator frames, or a forwarder's prime train */
	uint8_t hdr[14]; /* generator: the Ethernet header */
	uint64_t seq;
	unsigned npend; /* generator: built frames the queue has not taken yet */
	struct updk_pkt *pend[NET_BURST_MAX];
	uint32_t primed; /* forwarder: prime frames sent so far */
	uint64_t period, next_due; /* generator with --rate: TSC ticks a frame, the next one due */

	/* Written by the poller only; packets (and bytes) read by the main thread as it runs. */
	uint64_t packets; /* sent, received or forwarded */
	uint64_t bytes; /* on the wire: frame, FCS, preamble and gap */
	uint64_t queue_full; /* generator: bursts the transmit queue did not take whole */
	uint64_t dropped; /* forwarder: received packets the transmit queue did not take */
	uint64_t lost, late, malformed, foreign, gaps; /* checker */
	uint64_t m_packets, m_bytes; /* at the end of the timed interval */
	struct net_stream streams[NET_MAX_TASKS];
};

struct net_worker {
	struct perf_poller poller; /* first: the thread, its core and its flags */
	struct net_run *run;
	struct net_task *tasks[NET_MAX_TASKS];
	unsigned ntasks;
	uint64_t cycles; /* TSC cycles of the timed loop */
	/* Cycles of the rounds that moved at least one packet: what the driver and the tool spend
	 * on the packets themselves, not on polling an empty ring or a full one. testpmd's
	 * --record-core-cycles counts its rxonly bursts the same way. */
	uint64_t busy_cycles;
	int stopped; /* the timed loop is over (atomic) */
	struct updk_loop *loop; /* --interrupt-mode: the receive queues of its tasks */
	uint64_t cpu_ns; /* the thread's CPU time in the timed loop (getrusage) */
	uint64_t sleeps,
		wakeups; /* --interrupt-mode: the loop's sleeps, those an interrupt ended */
};

/* pollers.h walks the workers by their first member. */
_Static_assert(offsetof(struct net_worker, poller) == 0, "the poller comes first");

struct net_run {
	const struct net_args *args;
	uint64_t tsc_hz, start_tsc, end_tsc;
	int go, stop, drained;
	struct net_port ports[NET_MAX_PORTS];
	unsigned nports;
	struct net_task tasks[NET_MAX_TASKS];
	unsigned ntasks;
	struct net_worker workers[PERF_MAX_CORES];
	unsigned nworkers;
	bool drain_timeout;
};

struct net_totals {
	uint64_t n[3]; /* packets per role: sent, received, forwarded */
	uint64_t m_n[3], m_bytes[3]; /* in the timed interval */
	uint64_t primed, queue_full, dropped, lost, late, malformed, foreign, gaps;
	uint64_t m_packets, cycles, busy_cycles;
	double seconds;
};

/** Open the ports, make the mode's tasks and their packet pools, and build the generators'
 * Ethernet headers. 0, or -errno after a message; net_teardown() either way. */
int net_setup(struct net_run *run);
/** Give the tasks to the pollers round-robin and start them (pollers.h), then the clock. */
int net_start_workers(struct net_run *run);
/** Close the ports, then free the packet pools. */
void net_teardown(struct net_run *run);

/** A poller's thread (net_io.c): the timed loop over its tasks, then the checkers' drain. */
void *net_worker_main(void *arg);
/** --interrupt-mode (net_io.c): the poller's hybrid loop with its receiving tasks' queues.
 * 0 or -errno, printed; net_teardown() destroys it. */
int net_worker_loop_setup(struct net_worker *w);

/** The run's figures, summed over tasks and pollers. */
void net_totals(const struct net_run *run, struct net_totals *s);
/** Print the report as text, or as one JSON object, to @out. */
void net_report_text(FILE *out, const struct net_run *run, bool interrupted);
void net_report_json(FILE *out, const struct net_run *run, bool interrupted);

#endif
