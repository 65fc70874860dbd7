// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-perf --net's poller: the loop each core runs over its tasks, a burst each in turn, with
 * no locks, system calls or allocation other than the packet pools'. A generator builds frames
 * and sends them, a checker receives and checks them, a forwarder sends what it receives out
 * of the paired port; when the time is up the checkers keep receiving until the main thread
 * has seen everything arrive.
 *
 * A frame is an Ethernet header with the local experimental EtherType 0x88b5 (IEEE 802), then
 * a magic word, the stream id (the generator's task index), the frame length and a 64-bit
 * sequence number; the rest is zero. A checker trusts nothing in it: a frame that is not ours
 * is counted as foreign, one of ours with a bad stream or length as malformed.
 *
 * --rate paces the generators (a frame every period each, those due sent as one burst);
 * --interrupt-mode runs the rounds in the hybrid loop (lib/loop), the receiving tasks' queues
 * in it, asleep until a receive interrupt or the next paced frame. The plain loop stays as
 * it was.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <updk/tsc.h>

#include "apps/perf/net_run.h"

#define NET_MAGIC 0x4b445055u /* "UPDK" */
#define NET_HDR_LEN 30 /* Ethernet 14 + magic 4 + stream 2 + length 2 + sequence 8 */

#define STORE(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELAXED)
#define LOAD(p) __atomic_load_n(&(p), __ATOMIC_RELAXED)

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
	unsigned want = burst > t->npend ? burst - t->npend : 0, sent;

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

/* A task's round: its burst, by role. */
static inline unsigned task_round(struct net_task *t, uint16_t burst, uint16_t len)
{
	if (t->role == ROLE_GEN)
		return gen_burst(t, burst, len);
	if (t->role == ROLE_CHK)
		return chk_burst(t, burst);
	return fwd_burst(t, burst, len);
}

/* The plain loop: every task a burst in turn, as fast as it goes. Returns when it ended. */
static uint64_t run_plain(struct net_worker *w, uint16_t burst, uint16_t len, uint64_t *busy)
{
	struct net_run *run = w->run;
	uint64_t now, prev = updk_tsc();

	for (;;) {
		unsigned moved = 0;

		for (unsigned i = 0; i < w->ntasks; i++)
			moved += task_round(w->tasks[i], burst, len);
		/* One clock read a round, as before: the round's cycles go to busy if it moved any. */
		now = updk_tsc();
		if (moved)
			*busy += now - prev;
		prev = now;
		if (now >= run->end_tsc || LOAD(run->stop))
			break;
	}
	return now;
}

/* A paced generator: the frames due by @now (a burst at most), sent; when the next is due
 * in *@wake if earlier. */
static unsigned gen_paced(struct net_task *t, uint64_t now, uint16_t burst, uint16_t len,
			  uint64_t *wake)
{
	uint64_t due;
	unsigned sent;

	/* A full transmit queue held it back: start afresh rather than burst to catch up. */
	if (now > t->next_due + (uint64_t)burst * t->period)
		t->next_due = now;
	if (now >= t->next_due) {
		due = (now - t->next_due) / t->period + 1;
		sent = gen_burst(t, (uint16_t)(due < burst ? due : burst), len);
		t->next_due += sent * t->period;
	} else {
		sent = 0;
	}
	if (t->next_due < *wake)
		*wake = t->next_due;
	return sent;
}

/* A receiving task's round, as the loop's poll. */
static int lq_poll(void *arg)
{
	struct net_task *t = arg;
	const struct net_args *a = t->w->run->args;

	return (int)task_round(t, (uint16_t)a->burst, (uint16_t)(a->frame_size - NET_FCS));
}

int net_worker_loop_setup(struct net_worker *w)
{
	int rc = perf_poller_loop_create(&w->poller, &w->loop);

	if (rc)
		return rc;
	for (unsigned i = 0; i < w->ntasks; i++) {
		struct net_task *t = w->tasks[i];
		struct updk_loop_queue q;

		if (t->role == ROLE_GEN)
			continue; /* paced: the loop wakes for its next frame */
		q = updk_net_rx_loop_queue(t->rx->dev, 0, lq_poll, t);
		rc = q.fd < 0 ? q.fd : updk_loop_add(w->loop, &q);
		if (rc) {
			fprintf(stderr, "updk-perf: core %u: cannot sleep on port %s: %s\n",
				w->poller.core, t->rx->addr, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* --rate and/or --interrupt-mode: paced generators, rounds in the hybrid loop. */
static uint64_t run_paced(struct net_worker *w, uint16_t burst, uint16_t len, uint64_t *busy)
{
	struct net_run *run = w->run;
	uint64_t now = updk_tsc(), prev = now;

	for (unsigned i = 0; i < w->ntasks; i++)
		w->tasks[i]->next_due = now;
	for (;;) {
		uint64_t wake = run->end_tsc;
		unsigned moved = 0;

		for (unsigned i = 0; i < w->ntasks; i++) {
			struct net_task *t = w->tasks[i];

			if (t->role == ROLE_GEN)
				moved += gen_paced(t, now, burst, len, &wake);
			else if (!w->loop)
				moved += task_round(t, burst, len);
		}
		if (w->loop) {
			int rc;

			updk_loop_wake_at(w->loop, wake);
			rc = updk_loop_run_once(w->loop);
			if (rc < 0) {
				fprintf(stderr, "updk-perf: core %u: %s\n", w->poller.core,
					strerror(-rc));
				__atomic_store_n(&run->stop, 1, __ATOMIC_RELAXED);
			} else {
				moved += (unsigned)rc;
			}
		}
		now = updk_tsc();
		if (moved)
			*busy += now - prev;
		prev = now;
		if (now >= run->end_tsc || LOAD(run->stop))
			break;
	}
	return now;
}

void *net_worker_main(void *arg)
{
	struct net_worker *w = arg;
	struct net_run *run = w->run;
	uint16_t burst = (uint16_t)run->args->burst;
	uint16_t len = (uint16_t)(run->args->frame_size - NET_FCS);
	uint64_t start, now, busy = 0, cpu;
	struct updk_loop_stats ls0 = { 0 }, ls1 = { 0 };

	perf_poller_wait_go(&w->poller, &run->go);
	cpu = perf_thread_cpu_ns();
	if (w->loop)
		updk_loop_stats(w->loop, &ls0);
	start = updk_tsc();
	if (run->args->rate || w->loop)
		now = run_paced(w, burst, len, &busy);
	else
		now = run_plain(w, burst, len, &busy);
	w->cpu_ns = perf_thread_cpu_ns() - cpu;
	if (w->loop)
		updk_loop_stats(w->loop, &ls1);
	w->sleeps = ls1.sleeps - ls0.sleeps;
	w->wakeups = ls1.wakeups - ls0.wakeups;
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
	perf_poller_exit(&w->poller);
	return NULL;
}
