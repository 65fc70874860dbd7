/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk-perf --net: the engine and its report.
 *
 * The run is a list of tasks, each owning one side of a port's queue 0: a generator (txonly)
 * the transmit side, a checker (rxonly) the receive side, a forwarder (fwd) the receive side
 * of one port and the transmit side of its pair. Tasks go round-robin to the poller threads,
 * one per core of -c; a poller runs its tasks in turn with no locks, system calls or
 * allocation other than the packet pools'. The main thread prints a line a second from the
 * pollers' counters.
 *
 * When the time is up the generators and forwarders stop; the checkers keep receiving while
 * the main thread waits (bounded) until every port has sent what it was given and every
 * checked port's receive counter equals what its checker took, so the device counters and the
 * application's agree at the end: on back-to-back ports, what one sent is what the other
 * received plus what it dropped.
 *
 * A frame is an Ethernet header with the local experimental EtherType 0x88b5 (IEEE 802), then
 * a magic word, the stream id (the generator's task index), the frame length and a 64-bit
 * sequence number; the rest is zero. A checker trusts nothing in it: a frame that is not ours
 * is counted as foreign, one of ours with a bad stream or length as malformed.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <updk/mem.h>
#include <updk/net.h>
#include <updk/tsc.h>

#include "apps/perf/net.h"

#define NET_ETHERTYPE 0x88b5 /* IEEE 802 local experimental */
#define NET_MAGIC 0x4b445055u /* "UPDK" */
#define NET_HDR_LEN 30 /* Ethernet 14 + magic 4 + stream 2 + length 2 + sequence 8 */
#define NET_WIRE_EXTRA 20 /* preamble and start delimiter 8, inter-frame gap 12 */
#define NET_FCS 4
#define NET_MAX_TASKS (2 * NET_MAX_PORTS)
#define NET_DRAIN_MS 3000

#define STORE(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELAXED)
#define LOAD(p) __atomic_load_n(&(p), __ATOMIC_RELAXED)

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
	struct net_run *run;
	unsigned core;
	pthread_t thread;
	bool started;
	struct net_task *tasks[NET_MAX_TASKS];
	unsigned ntasks;
	uint64_t cycles; /* TSC cycles of the timed loop */
	/* Cycles of the rounds that moved at least one packet: what the driver and the tool spend
	 * on the packets themselves, not on polling an empty ring or a full one. testpmd's
	 * --record-core-cycles counts its rxonly bursts the same way. */
	uint64_t busy_cycles;
	int running; /* the thread runs and waits for go (atomic) */
	int stopped; /* the timed loop is over (atomic) */
	int done; /* the thread has finished (atomic) */
};

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

static struct net_run g_net;
static volatile sig_atomic_t g_net_signals;

/* ---------------------------------------------------------------------------------------------
 * The data path
 */

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void fill_frame(struct net_task *t, struct updk_pkt *p, uint16_t len)
{
	uint8_t *d = updk_pkt_data(p);
	uint32_t magic = NET_MAGIC;
	uint16_t stream = (uint16_t)t->index;

	memcpy(d, t->hdr, 14);
	memcpy(d + 14, &magic, 4);
	memcpy(d + 18, &stream, 2);
	memcpy(d + 20, &len, 2);
	memcpy(d + 22, &t->seq, 8);
	t->seq++;
	p->len = len;
}

/* Build frames up to a burst (buffers are reused as they are: the padding stays zero). */
static unsigned gen_burst(struct net_task *t, uint16_t burst, uint16_t len)
{
	unsigned want = burst - t->npend, sent;

	if (want && !updk_pkt_alloc_bulk(t->pool, t->pend + t->npend, want)) {
		for (unsigned i = t->npend; i < burst; i++)
			fill_frame(t, t->pend[i], len);
		t->npend = burst;
	}
	/* With nothing built the call still cleans the ring, which gives buffers back. */
	sent = updk_net_tx_burst(t->tx->dev, 0, t->pend, (uint16_t)t->npend);
	if (sent < t->npend) {
		/* The rest keep their sequence numbers and go first next time. */
		memmove(t->pend, t->pend + sent, (t->npend - sent) * sizeof(t->pend[0]));
		t->queue_full++;
	}
	t->npend -= sent;
	STORE(t->packets, t->packets + sent);
	STORE(t->bytes, t->bytes + (uint64_t)sent * (len + NET_FCS + NET_WIRE_EXTRA));
	return sent;
}

static inline void check_frame(struct net_task *t, const struct updk_pkt *p)
{
	const uint8_t *d = updk_pkt_data((struct updk_pkt *)p);
	uint32_t magic;
	uint16_t stream, len;
	uint64_t seq;
	struct net_stream *s;

	if (p->len < NET_HDR_LEN || get_be16(d + 12) != NET_ETHERTYPE) {
		t->foreign++;
		return;
	}
	memcpy(&magic, d + 14, 4);
	memcpy(&stream, d + 18, 2);
	memcpy(&len, d + 20, 2);
	memcpy(&seq, d + 22, 8);
	if (magic != NET_MAGIC) {
		t->foreign++;
		return;
	}
	if (stream >= NET_MAX_TASKS || len != p->len) {
		t->malformed++;
		return;
	}
	s = &t->streams[stream];
	if (!s->seen) {
		/* A stream is checked from the first frame seen of it. */
		s->seen = true;
		s->next = seq + 1;
	} else if (seq == s->next) {
		s->next++;
	} else if (seq > s->next) {
		t->gaps++;
		t->lost += seq - s->next;
		s->next = seq + 1;
	} else {
		/* Older than expected: reordered or duplicated. */
		t->late++;
		if (t->lost)
			t->lost--;
	}
}

static unsigned chk_burst(struct net_task *t, uint16_t burst)
{
	struct updk_pkt *pkts[NET_BURST_MAX];
	uint16_t n = updk_net_rx_burst(t->rx->dev, 0, pkts, burst);
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++) {
		check_frame(t, pkts[i]);
		bytes += pkts[i]->len + NET_FCS + NET_WIRE_EXTRA;
	}
	if (n)
		updk_pkt_free_bulk(pkts, n);
	STORE(t->packets, t->packets + n);
	STORE(t->bytes, t->bytes + bytes);
	return n;
}

static inline void swap_mac(struct updk_pkt *p)
{
	uint8_t *d = updk_pkt_data(p), tmp[6];

	if (p->len < 12)
		return;
	memcpy(tmp, d, 6);
	memcpy(d, d + 6, 6);
	memcpy(d + 6, tmp, 6);
}

static unsigned fwd_burst(struct net_task *t, uint16_t burst, uint16_t len)
{
	struct updk_pkt *pkts[NET_BURST_MAX];
	uint16_t n, sent;
	uint64_t bytes = 0;

	if (__builtin_expect(t->primed < t->w->run->args->prime, 0)) {
		/* The train this forwarder feeds its loop with, a burst at a time. */
		unsigned k = t->w->run->args->prime - t->primed;

		if (k > burst)
			k = burst;
		if (!updk_pkt_alloc_bulk(t->pool, pkts, k)) {
			for (unsigned i = 0; i < k; i++)
				fill_frame(t, pkts[i], len);
			sent = updk_net_tx_burst(t->tx->dev, 0, pkts, (uint16_t)k);
			if (sent < k)
				updk_pkt_free_bulk(pkts + sent, k - sent);
			t->primed += sent;
		}
	}
	n = updk_net_rx_burst(t->rx->dev, 0, pkts, burst);
	if (!n)
		return 0;
	for (uint16_t i = 0; i < n; i++) {
		swap_mac(pkts[i]);
		bytes += pkts[i]->len;
	}
	sent = updk_net_tx_burst(t->tx->dev, 0, pkts, n);
	if (sent < n) {
		for (uint16_t i = sent; i < n; i++)
			bytes -= pkts[i]->len;
		updk_pkt_free_bulk(pkts + sent, n - sent);
		t->dropped += n - sent;
	}
	STORE(t->packets, t->packets + sent);
	STORE(t->bytes, t->bytes + bytes + (uint64_t)sent * (NET_FCS + NET_WIRE_EXTRA));
	return sent;
}

static void *worker_main(void *arg)
{
	struct net_worker *w = arg;
	struct net_run *run = w->run;
	uint16_t burst = (uint16_t)run->args->burst;
	uint16_t len = (uint16_t)(run->args->frame_size - NET_FCS);
	uint64_t start, now, prev, busy = 0;

	__atomic_store_n(&w->running, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&run->go, __ATOMIC_ACQUIRE))
		sched_yield();
	start = prev = updk_tsc();
	for (;;) {
		unsigned moved = 0;

		for (unsigned i = 0; i < w->ntasks; i++) {
			struct net_task *t = w->tasks[i];

			if (t->role == ROLE_GEN)
				moved += gen_burst(t, burst, len);
			else if (t->role == ROLE_CHK)
				moved += chk_burst(t, burst);
			else
				moved += fwd_burst(t, burst, len);
		}
		/* One clock read a round, as before: the round's cycles go to busy if it moved any. */
		now = updk_tsc();
		if (moved)
			busy += now - prev;
		prev = now;
		if (now >= run->end_tsc || LOAD(run->stop))
			break;
	}
	w->cycles = now - start;
	w->busy_cycles = busy;
	for (unsigned i = 0; i < w->ntasks; i++) {
		w->tasks[i]->m_packets = w->tasks[i]->packets;
		w->tasks[i]->m_bytes = w->tasks[i]->bytes;
	}
	__atomic_store_n(&w->stopped, 1, __ATOMIC_RELEASE);

	/* Checkers take what is still on its way until the main thread has seen it all arrive. */
	while (!__atomic_load_n(&run->drained, __ATOMIC_ACQUIRE)) {
		bool any = false;

		for (unsigned i = 0; i < w->ntasks; i++)
			if (w->tasks[i]->role == ROLE_CHK) {
				chk_burst(w->tasks[i], burst);
				any = true;
			}
		if (!any)
			break;
	}
	for (unsigned i = 0; i < w->ntasks; i++) {
		struct net_task *t = w->tasks[i];

		if (t->npend)
			updk_pkt_free_bulk(t->pend, t->npend);
		t->npend = 0;
	}
	updk_mem_thread_exit();
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Set-up
 */

static void fmt_mac(const uint8_t m[6], char *buf)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static struct net_task *add_task(struct net_run *run, enum net_role role, struct net_port *rx,
				 struct net_port *tx)
{
	struct net_task *t = &run->tasks[run->ntasks];

	memset(t, 0, sizeof(*t));
	t->role = role;
	t->index = run->ntasks++;
	t->rx = rx;
	t->tx = tx;
	return t;
}

/* Which tasks the mode makes of the ports. */
static void plan_tasks(struct net_run *run)
{
	const struct net_args *a = run->args;
	struct net_port *p = run->ports;

	if (a->sim_pair && a->mode != NET_FWD) {
		/* One run shows both ends: port 0 sends, port 1 receives and checks. */
		add_task(run, ROLE_GEN, NULL, &p[0]);
		add_task(run, ROLE_CHK, &p[1], NULL);
		return;
	}
	for (unsigned i = 0; i < run->nports; i++) {
		unsigned pair = (i ^ 1u) < run->nports ? i ^ 1u : i;

		if (a->mode == NET_TXONLY)
			add_task(run, ROLE_GEN, NULL, &p[i]);
		else if (a->mode == NET_RXONLY)
			add_task(run, ROLE_CHK, &p[i], NULL);
		else
			add_task(run, ROLE_FWD, &p[i], &p[pair]);
	}
}

static int make_pools(struct net_run *run)
{
	const struct net_args *a = run->args;
	unsigned ring = a->ring_size ? a->ring_size : 512;
	unsigned room = (a->frame_size + 63) & ~63u;

	for (unsigned i = 0; i < run->ntasks; i++) {
		struct net_task *t = &run->tasks[i];
		unsigned count;
		char name[32];

		if (t->role == ROLE_CHK || (t->role == ROLE_FWD && !a->prime))
			continue;
		/* A generator's ring, its pending burst and a per-thread cache, twice over. */
		count = t->role == ROLE_GEN ? 2 * (ring + a->burst + 256) : a->prime + 256;
		snprintf(name, sizeof(name), "%s%u", t->role == ROLE_GEN ? "gen" : "prime", i);
		t->pool = updk_pktpool_create(name, count, room, 0, 256, UPDK_NUMA_ANY);
		if (!t->pool) {
			fprintf(stderr, "updk-perf: no DMA memory for %u packet buffers: %s\n",
				count, strerror(errno));
			return -ENOMEM;
		}
	}
	return 0;
}

static void set_headers(struct net_run *run)
{
	const struct net_args *a = run->args;

	for (unsigned i = 0; i < run->ntasks; i++) {
		struct net_task *t = &run->tasks[i];
		struct net_port *dst;
		unsigned pi;

		if (!t->pool)
			continue;
		pi = (unsigned)(t->tx - run->ports);
		/* The frame goes to the port that receives what tx sends: its pair. */
		dst = (pi ^ 1u) < run->nports ? &run->ports[pi ^ 1u] : NULL;
		if (a->dst_mac_given)
			memcpy(t->hdr, a->dst_mac, 6);
		else if (dst && dst != t->tx)
			memcpy(t->hdr, dst->mac, 6);
		else
			memset(t->hdr, 0xff, 6);
		memcpy(t->hdr + 6, t->tx->mac, 6);
		put_be16(t->hdr + 12, NET_ETHERTYPE);
	}
}

static int open_ports(struct net_run *run)
{
	const struct net_args *a = run->args;

	for (unsigned i = 0; i < a->nports; i++) {
		struct net_port *p = &run->ports[i];
		struct updk_net_opts o;
		int rc;

		snprintf(p->addr, sizeof(p->addr), "%s", a->ports[i]);
		memset(&o, 0, sizeof(o));
		o.opts_size = sizeof(o);
		o.promiscuous = true;
		o.rx_ring_size = (uint16_t)a->ring_size;
		o.tx_ring_size = (uint16_t)a->ring_size;
		rc = updk_net_open(p->addr, &o, &p->dev);
		if (rc) {
			fprintf(stderr, "updk-perf: cannot open port %s: %s\n", p->addr,
				strerror(-rc));
			return rc;
		}
		run->nports++;
		updk_net_mac(p->dev, p->mac);
		if (updk_net_link(p->dev, &p->link) == 0 && !p->link.up)
			fprintf(stderr, "updk-perf: warning: port %s has no link\n", p->addr);
		updk_net_stats_reset(p->dev);
	}
	return 0;
}

static void teardown(struct net_run *run)
{
	/* Ports first: generator buffers may still sit in their transmit rings. */
	for (unsigned i = 0; i < run->nports; i++)
		updk_net_close(run->ports[i].dev);
	run->nports = 0;
	for (unsigned i = 0; i < run->ntasks; i++) {
		updk_pktpool_free(run->tasks[i].pool);
		run->tasks[i].pool = NULL;
	}
}

static int start_workers(struct net_run *run)
{
	const struct net_args *a = run->args;
	unsigned n = a->ncores < run->ntasks ? a->ncores : run->ntasks;
	int rc = 0;

	run->nworkers = n;
	for (unsigned i = 0; i < n; i++) {
		run->workers[i].run = run;
		run->workers[i].core = a->cores[i];
	}
	for (unsigned i = 0; i < run->ntasks; i++) {
		struct net_worker *w = &run->workers[i % n];

		run->tasks[i].w = w;
		w->tasks[w->ntasks++] = &run->tasks[i];
	}
	for (unsigned i = 0; i < n; i++) {
		struct net_worker *w = &run->workers[i];
		pthread_attr_t attr;
		cpu_set_t set;

		pthread_attr_init(&attr);
		CPU_ZERO(&set);
		CPU_SET(w->core, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		rc = pthread_create(&w->thread, &attr, worker_main, w);
		pthread_attr_destroy(&attr);
		if (rc) {
			fprintf(stderr, "updk-perf: cannot start the poller on core %u: %s\n",
				w->core, strerror(rc));
			__atomic_store_n(&run->stop, 1, __ATOMIC_RELAXED);
			break;
		}
		w->started = true;
	}
	/*
	 * The clock starts once every poller runs: a new thread on a busy core can wait long to
	 * be scheduled, and one that first ran after end_tsc would make a run of one pass.
	 */
	for (unsigned i = 0; i < n; i++)
		while (run->workers[i].started &&
		       !__atomic_load_n(&run->workers[i].running, __ATOMIC_ACQUIRE))
			sched_yield();
	run->start_tsc = updk_tsc();
	run->end_tsc = run->start_tsc + (uint64_t)a->time_s * run->tsc_hz;
	__atomic_store_n(&run->go, 1, __ATOMIC_RELEASE);
	return -rc;
}

/* ---------------------------------------------------------------------------------------------
 * Supervision: progress, the drain, the report
 */

static bool all_flag(const struct net_run *run, bool done)
{
	for (unsigned i = 0; i < run->nworkers; i++) {
		const struct net_worker *w = &run->workers[i];

		if (w->started && !__atomic_load_n(done ? &w->done : &w->stopped, __ATOMIC_ACQUIRE))
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
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	uint64_t hz = run->tsc_hz, next = run->start_tsc + hz, prev_tsc = run->start_tsc;
	uint64_t ptx = 0, prx = 0, pfwd = 0, pbytes = 0;
	unsigned second = 0;

	while (!all_flag(run, false)) {
		uint64_t now, tx, rx, fwd, bytes, pkts;
		double dt;

		nanosleep(&tick, NULL);
		now = updk_tsc();
		if (now < next || LOAD(run->stop))
			continue;
		sample(run, &tx, &rx, &fwd, &bytes);
		second++;
		dt = (double)(now - prev_tsc) / (double)hz;
		pkts = (tx - ptx) + (rx - prx) + (fwd - pfwd);
		if (run->args->progress) {
			char line[256];
			int n = snprintf(line, sizeof(line), "[%4u s]", second);

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
				 pkts ? (double)(now - prev_tsc) * run->nworkers / (double)pkts :
					0.0);
			fprintf(stderr, "%s\n", line);
		}
		ptx = tx;
		prx = rx;
		pfwd = fwd;
		pbytes = bytes;
		prev_tsc = now;
		next += hz;
		if (next < now)
			next = now + hz;
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
	while (!all_flag(run, true))
		nanosleep(&tick, NULL);
	for (unsigned i = 0; i < run->nports; i++)
		updk_net_stats(run->ports[i].dev, &run->ports[i].st);
}

static const char *role_name(enum net_role r)
{
	return r == ROLE_GEN ? "txonly" : r == ROLE_CHK ? "rxonly" : "fwd";
}

static double per_s(uint64_t n, double s)
{
	return s > 0 ? (double)n / s : 0.0;
}

struct net_totals {
	uint64_t n[3]; /* packets per role: sent, received, forwarded */
	uint64_t m_n[3], m_bytes[3]; /* in the timed interval */
	uint64_t primed, queue_full, dropped, lost, late, malformed, foreign, gaps;
	uint64_t m_packets, cycles, busy_cycles;
	double seconds;
};

static void totals(const struct net_run *run, struct net_totals *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < run->ntasks; i++) {
		const struct net_task *t = &run->tasks[i];

		s->n[t->role] += t->packets;
		s->m_n[t->role] += t->m_packets;
		s->m_bytes[t->role] += t->m_bytes;
		s->primed += t->primed;
		s->queue_full += t->queue_full;
		s->dropped += t->dropped;
		s->lost += t->lost;
		s->late += t->late;
		s->malformed += t->malformed;
		s->foreign += t->foreign;
		s->gaps += t->gaps;
		s->m_packets += t->m_packets;
	}
	for (unsigned i = 0; i < run->nworkers; i++) {
		double sec = (double)run->workers[i].cycles / (double)run->tsc_hz;

		s->cycles += run->workers[i].cycles;
		s->busy_cycles += run->workers[i].busy_cycles;
		if (sec > s->seconds)
			s->seconds = sec;
	}
}

static double task_seconds(const struct net_run *run, const struct net_task *t)
{
	return (double)t->w->cycles / (double)run->tsc_hz;
}

static void report_text(FILE *out, const struct net_run *run, bool interrupted)
{
	const struct net_args *a = run->args;
	struct net_totals s;
	char mac[24];

	totals(run, &s);
	fprintf(out, "updk-perf --net %s: %u-byte frames, burst %u, %u poller%s%s\n",
		perf_net_mode_name(a->mode), a->frame_size, a->burst, run->nworkers,
		run->nworkers > 1 ? "s" : "", interrupted ? ", interrupted" : "");
	for (unsigned i = 0; i < run->nports; i++) {
		const struct net_port *p = &run->ports[i];

		fmt_mac(p->mac, mac);
		fprintf(out, "Port %u: %s (%s, %s, link %s %u Mb/s)\n", i, p->addr,
			updk_net_driver_name(p->dev), mac, p->link.up ? "up" : "down",
			p->link.speed_mbps);
	}
	fprintf(out, "\n%-36s %14s %10s %10s\n", "Task", "Packets", "Mpps", "Gbit/s");
	for (unsigned i = 0; i < run->ntasks; i++) {
		const struct net_task *t = &run->tasks[i];
		char name[64];
		double sec = task_seconds(run, t);

		if (t->role == ROLE_FWD)
			snprintf(name, sizeof(name), "fwd port %u to port %u, core %u",
				 (unsigned)(t->rx - run->ports), (unsigned)(t->tx - run->ports),
				 t->w->core);
		else
			snprintf(name, sizeof(name), "%s port %u, core %u", role_name(t->role),
				 (unsigned)((t->rx ? t->rx : t->tx) - run->ports), t->w->core);
		fprintf(out, "%-36s %14" PRIu64 " %10.3f %10.3f\n", name, t->packets,
			per_s(t->m_packets, sec) / 1e6, per_s(t->m_bytes, sec) * 8 / 1e9);
	}
	for (int r = ROLE_GEN; r <= ROLE_FWD; r++)
		if (s.n[r])
			fprintf(out, "%-36s %14" PRIu64 " %10.3f %10.3f\n",
				r == ROLE_GEN ? "Total sent" :
				r == ROLE_CHK ? "Total received" :
						"Total forwarded",
				s.n[r], per_s(s.m_n[r], s.seconds) / 1e6,
				per_s(s.m_bytes[r], s.seconds) * 8 / 1e9);
	if (s.n[ROLE_CHK])
		fprintf(out,
			"Sequence: %" PRIu64 " lost in %" PRIu64 " gaps, %" PRIu64
			" late (reordered or duplicated), %" PRIu64 " malformed, %" PRIu64
			" foreign frames\n",
			s.lost, s.gaps, s.late, s.malformed, s.foreign);
	if (s.queue_full)
		fprintf(out, "Transmit queue full: %" PRIu64 " bursts not taken whole (retried)\n",
			s.queue_full);
	if (s.dropped)
		fprintf(out, "Transmit queue full: %" PRIu64 " forwarded packets dropped\n",
			s.dropped);
	for (unsigned i = 0; i < run->nports; i++) {
		const struct updk_net_stats *st = &run->ports[i].st;

		fprintf(out,
			"Port %u counters: tx %" PRIu64 ", rx %" PRIu64 ", rx dropped %" PRIu64
			", rx errors %" PRIu64 ", tx errors %" PRIu64 "\n",
			i, st->tx_packets, st->rx_packets, st->rx_dropped, st->rx_errors,
			st->tx_errors);
	}
	fprintf(out, "Pollers together: %.1f TSC cycles per packet (%.1f busy)\n",
		s.m_packets ? (double)s.cycles / (double)s.m_packets : 0.0,
		s.m_packets ? (double)s.busy_cycles / (double)s.m_packets : 0.0);
	if (run->drain_timeout)
		fprintf(out, "Note: traffic was still arriving %u ms after the end\n",
			NET_DRAIN_MS);
}

static void report_json(FILE *out, const struct net_run *run, bool interrupted)
{
	const struct net_args *a = run->args;
	struct net_totals s;
	char mac[24];

	totals(run, &s);
	fprintf(out,
		"{\n  \"tool\": \"updk-perf\",\n  \"config\": {\"net\": \"%s\", \"frame_size\": %u, "
		"\"burst\": %u, \"time_s\": %u, \"ring_size\": %u, \"prime\": %u, \"cores\": [",
		perf_net_mode_name(a->mode), a->frame_size, a->burst, a->time_s, a->ring_size,
		a->mode == NET_FWD ? a->prime : 0);
	for (unsigned i = 0; i < run->nworkers; i++)
		fprintf(out, "%s%u", i ? ", " : "", run->workers[i].core);
	fprintf(out,
		"]},\n  \"tsc_hz\": %" PRIu64
		",\n  \"interrupted\": %s,\n  \"drain_timeout\": %s,\n"
		"  \"ports\": [",
		run->tsc_hz, interrupted ? "true" : "false", run->drain_timeout ? "true" : "false");
	for (unsigned i = 0; i < run->nports; i++) {
		const struct net_port *p = &run->ports[i];
		const struct updk_net_stats *st = &p->st;

		fmt_mac(p->mac, mac);
		fprintf(out,
			"%s\n    {\"index\": %u, \"address\": \"%s\", \"driver\": \"%s\", \"mac\": "
			"\"%s\", \"link_up\": %s, \"speed_mbps\": %u, \"tx_packets\": %" PRIu64
			", \"tx_bytes\": %" PRIu64 ", \"tx_errors\": %" PRIu64
			", \"rx_packets\": %" PRIu64 ", \"rx_bytes\": %" PRIu64
			", \"rx_dropped\": %" PRIu64 ", \"rx_errors\": %" PRIu64
			", \"rx_nobuf\": %" PRIu64 "}",
			i ? "," : "", i, p->addr, updk_net_driver_name(p->dev), mac,
			p->link.up ? "true" : "false", p->link.speed_mbps, st->tx_packets,
			st->tx_bytes, st->tx_errors, st->rx_packets, st->rx_bytes, st->rx_dropped,
			st->rx_errors, st->rx_nobuf);
	}
	fputs("\n  ],\n  \"tasks\": [", out);
	for (unsigned i = 0; i < run->ntasks; i++) {
		const struct net_task *t = &run->tasks[i];
		double sec = task_seconds(run, t);

		fprintf(out,
			"%s\n    {\"task\": %u, \"role\": \"%s\", \"rx_port\": %d, \"tx_port\": %d, "
			"\"core\": %u, \"packets\": %" PRIu64 ", \"timed_packets\": %" PRIu64
			", \"seconds\": %.6f, \"mpps\": %.6f, \"gbit_per_s\": %.6f, \"queue_full\": %" PRIu64
			", \"dropped\": %" PRIu64 ", \"primed\": %u, \"lost\": %" PRIu64
			", \"gaps\": %" PRIu64 ", \"late\": %" PRIu64 ", \"malformed\": %" PRIu64
			", \"foreign\": %" PRIu64 "}",
			i ? "," : "", i, role_name(t->role), t->rx ? (int)(t->rx - run->ports) : -1,
			t->tx ? (int)(t->tx - run->ports) : -1, t->w->core, t->packets,
			t->m_packets, sec, per_s(t->m_packets, sec) / 1e6,
			per_s(t->m_bytes, sec) * 8 / 1e9, t->queue_full, t->dropped, t->primed,
			t->lost, t->gaps, t->late, t->malformed, t->foreign);
	}
	fputs("\n  ],\n  \"pollers\": [", out);
	for (unsigned i = 0; i < run->nworkers; i++) {
		const struct net_worker *w = &run->workers[i];
		uint64_t pk = 0;

		for (unsigned k = 0; k < w->ntasks; k++)
			pk += w->tasks[k]->m_packets;
		fprintf(out,
			"%s{\"core\": %u, \"cycles\": %" PRIu64 ", \"busy_cycles\": %" PRIu64
			", \"packets\": %" PRIu64
			", \"cycles_per_packet\": %.2f, \"busy_cycles_per_packet\": %.2f}",
			i ? ", " : "", w->core, w->cycles, w->busy_cycles, pk,
			pk ? (double)w->cycles / (double)pk : 0.0,
			pk ? (double)w->busy_cycles / (double)pk : 0.0);
	}
	fprintf(out,
		"],\n  \"total\": {\"seconds\": %.6f, \"tx_packets\": %" PRIu64
		", \"rx_packets\": %" PRIu64 ", \"fwd_packets\": %" PRIu64 ", \"primed\": %" PRIu64
		", \"queue_full\": %" PRIu64 ", \"dropped\": %" PRIu64 ", \"lost\": %" PRIu64
		", \"gaps\": %" PRIu64 ", \"late\": %" PRIu64 ", \"malformed\": %" PRIu64
		", \"foreign\": %" PRIu64 ", \"sequence_errors\": %" PRIu64
		", \"tx_mpps\": %.6f, \"rx_mpps\": %.6f"
		", \"fwd_mpps\": %.6f, \"tx_gbit_per_s\": %.6f, \"rx_gbit_per_s\": %.6f"
		", \"fwd_gbit_per_s\": %.6f, \"cycles_per_packet\": %.2f"
		", \"busy_cycles_per_packet\": %.2f}\n}\n",
		s.seconds, s.n[ROLE_GEN], s.n[ROLE_CHK], s.n[ROLE_FWD], s.primed, s.queue_full,
		s.dropped, s.lost, s.gaps, s.late, s.malformed, s.foreign, s.late + s.malformed,
		per_s(s.m_n[ROLE_GEN], s.seconds) / 1e6, per_s(s.m_n[ROLE_CHK], s.seconds) / 1e6,
		per_s(s.m_n[ROLE_FWD], s.seconds) / 1e6,
		per_s(s.m_bytes[ROLE_GEN], s.seconds) * 8 / 1e9,
		per_s(s.m_bytes[ROLE_CHK], s.seconds) * 8 / 1e9,
		per_s(s.m_bytes[ROLE_FWD], s.seconds) * 8 / 1e9,
		s.m_packets ? (double)s.cycles / (double)s.m_packets : 0.0,
		s.m_packets ? (double)s.busy_cycles / (double)s.m_packets : 0.0);
}

static void on_signal(int sig)
{
	static const char msg[] = "\nupdk-perf: stopping (again to exit at once)\n";

	(void)sig;
	if (g_net_signals++)
		_exit(130);
	__atomic_store_n(&g_net.stop, 1, __ATOMIC_RELAXED);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do about it in a signal handler */
	}
}

int perf_net_main(int argc, char **argv)
{
	static struct net_args args;
	struct net_run *run = &g_net;
	char err[PERF_ERR_MAX];
	struct sigaction sa;
	sigset_t block, old;
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
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	signal(SIGPIPE, SIG_IGN);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL)) {
		fprintf(stderr, "updk-perf: cannot install signal handlers: %s\n", strerror(errno));
		return 1;
	}

	memset(run, 0, sizeof(*run));
	run->args = &args;
	run->tsc_hz = updk_tsc_hz();
	rc = open_ports(run);
	if (!rc) {
		plan_tasks(run);
		rc = make_pools(run);
	}
	if (rc) {
		teardown(run);
		return 1;
	}
	set_headers(run);
	if (!args.json) {
		printf("Launching %u task%s on %u poller%s.\n", run->ntasks,
		       run->ntasks > 1 ? "s" : "",
		       args.ncores < run->ntasks ? args.ncores : run->ntasks,
		       (args.ncores < run->ntasks ? args.ncores : run->ntasks) > 1 ? "s" : "");
		fflush(stdout);
	}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = start_workers(run);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	progress(run);
	drain(run);
	for (unsigned i = 0; i < run->nworkers; i++)
		if (run->workers[i].started)
			pthread_join(run->workers[i].thread, NULL);
	if (args.json)
		report_json(stdout, run, g_net_signals > 0);
	else
		report_text(stdout, run, g_net_signals > 0);
	fflush(stdout);
	totals(run, &s);
	if (s.late + s.malformed) {
		fprintf(stderr,
			"updk-perf: %" PRIu64 " frames out of sequence and %" PRIu64
			" malformed frames\n",
			s.late, s.malformed);
		status = 3;
	}
	teardown(run);
	if (rc && !status)
		status = 1;
	return status;
}
