// SPDX-License-Identifier: BSD-3-Clause
/*
 * drivers/ixgbe against sim:ixgbe: frames through two ports wired back to back, or between a
 * port and the test (inject/capture): content, order, ring wrap, full rings, drops under
 * DROP_EN, statistics.
 */
#include <errno.h>
#include <stdlib.h>

#include "test/common/log_capture.h"
#include "test/common/perf_util.h"
#include "test/model/ixgbe_test.h"

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0xa };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0xb };

TestSuite(ixgbe_traffic, .init = ixt_setup, .timeout = 60);

static void check_no_model_errors(void)
{
	cr_assert_eq(sim_ixgbe_errors(), 0, "the model saw accesses or descriptors it rejects");
}

Test(ixgbe_traffic, train_back_to_back)
{
	struct updk_net_opts o = ixt_opts();
	struct updk_net_dev *a = ixt_open("sim:ixgbe?name=a,peer=b,mac=02:00:00:00:00:0a", &o);
	struct updk_net_dev *b = ixt_open("sim:ixgbe?name=b,peer=a,mac=02:00:00:00:00:0b", &o);
	struct updk_pktpool *pool = updk_pktpool_create("tx", 1024, 0, 0, 0, UPDK_NUMA_ANY);
	enum { N = 5000 };
	uint16_t lens[N];
	unsigned sent = 0, got = 0;
	uint64_t bytes = 0;
	struct updk_pkt *p[32];
	double end = ixt_now() + 20;

	cr_assert_not_null(pool);
	srand(1);
	for (unsigned i = 0; i < N; i++) {
		lens[i] = (uint16_t)(60 + rand() % (1514 - 60 + 1));
		bytes += lens[i];
	}
	/* Send and receive at once: more than the rings hold, so both wrap many times. */
	while (got < N) {
		cr_assert_lt(ixt_now(), end, "only %u of %u frames arrived", got, N);
		/* Keep fewer frames in flight than b's ring holds: under DROP_EN more would be
		 * dropped, as they are on hardware when the receiver falls behind. */
		if (sent < N && sent - got <= 511 - 32) {
			unsigned n = N - sent < 32 ? N - sent : 32;

			if (updk_pkt_alloc_bulk(pool, p, n) == 0) {
				for (unsigned i = 0; i < n; i++) {
					ixt_frame(updk_pkt_data(p[i]), lens[sent + i], mac_b, mac_a,
						  1000, sent + i);
					p[i]->len = lens[sent + i];
				}
				uint16_t t = updk_net_tx_burst(a, 0, p, (uint16_t)n);

				updk_pkt_free_bulk(p + t, n - t);
				sent += t;
			}
		}
		uint16_t r = updk_net_rx_burst(b, 0, p, 32);

		for (uint16_t i = 0; i < r; i++) {
			cr_assert_eq(p[i]->len, lens[got], "frame %u length", got);
			ixt_check(updk_pkt_data(p[i]), p[i]->len, mac_b, mac_a, 1000, got);
			cr_assert_eq(p[i]->flags & (UPDK_PKT_RX_IP_CKSUM_GOOD |
						    UPDK_PKT_RX_L4_CKSUM_GOOD),
				     UPDK_PKT_RX_IP_CKSUM_GOOD | UPDK_PKT_RX_L4_CKSUM_GOOD);
			got++;
		}
		updk_pkt_free_bulk(p, r);
	}
	struct updk_net_stats sa, sb;

	cr_assert_eq(updk_net_stats(a, &sa), 0);
	cr_assert_eq(updk_net_stats(b, &sb), 0);
	cr_assert_eq(sa.tx_packets, N);
	cr_assert_eq(sa.tx_bytes, bytes);
	cr_assert_eq(sb.rx_packets, N);
	cr_assert_eq(sb.rx_bytes, bytes);
	cr_assert_eq(sb.rx_dropped, 0);
	cr_assert_eq(sb.q[0].rx_packets, N);
	cr_assert_eq(sb.q[0].rx_bytes, bytes);
	cr_assert_eq(sa.q[0].tx_packets, N);
	cr_assert_eq(sa.q[0].tx_bytes, bytes);
	/* Counters were read: the next read starts from the totals, not twice them. */
	cr_assert_eq(updk_net_stats(b, &sb), 0);
	cr_assert_eq(sb.rx_packets, N);
	updk_net_close(a);
	updk_net_close(b);
	cr_assert_eq(updk_pktpool_avail(pool), 1024, "every transmitted buffer came back");
	updk_pktpool_free(pool);
	check_no_model_errors();
}

/* Inject @n frames into port @port (retrying while its packet buffer is full). */
static void inject(const char *port, unsigned n, uint16_t len, const uint8_t *dst, uint16_t sport,
		   uint32_t seq0)
{
	uint8_t f[SIM_IXGBE_FRAME_MAX];
	double end = ixt_now() + 5;

	for (unsigned i = 0; i < n; i++) {
		ixt_frame(f, len, dst, mac_a, sport, seq0 + i);
		int rc;

		while ((rc = sim_ixgbe_inject(port, f, len)) == -ENOSPC)
			cr_assert_lt(ixt_now(), end, "port %s takes no frames", port);
		cr_assert_eq(rc, 0);
	}
}

/* Wait until @dev has counted @n frames as received or dropped; its totals go to @s. */
static void settle(struct updk_net_dev *dev, uint64_t n, struct updk_net_stats *s)
{
	double end = ixt_now() + 10;

	for (;;) {
		cr_assert_eq(updk_net_stats(dev, s), 0);
		if (s->rx_packets + s->rx_dropped >= n)
			return;
		cr_assert_lt(ixt_now(), end, "the model handled only %llu of %llu frames",
			     (unsigned long long)(s->rx_packets + s->rx_dropped),
			     (unsigned long long)n);
	}
}

Test(ixgbe_traffic, full_ring_drops_counted_under_drop_en)
{
	struct updk_net_opts o = ixt_opts();

	o.rx_ring_size = 64;
	struct updk_net_dev *b = ixt_open("sim:ixgbe?name=sink_b,mac=02:00:00:00:00:0b", &o);
	struct updk_pkt *p[64];

	/* Nobody receives: the ring (63 usable descriptors) fills, the rest is dropped. */
	inject("sink_b", 200, 128, mac_b, 7, 0);
	struct updk_net_stats s;

	settle(b, 200, &s);
	cr_assert_eq(s.rx_packets, 63);
	cr_assert_eq(s.rx_dropped, 200 - 63);
	cr_assert_eq(s.q[0].rx_dropped, 200 - 63);
	/* The 63 that made it are the first 63, in order. */
	cr_assert_eq(ixt_rx(b, 0, p, 64, 1), 63);
	for (unsigned i = 0; i < 63; i++)
		ixt_check(updk_pkt_data(p[i]), p[i]->len, mac_b, mac_a, 7, i);
	updk_pkt_free_bulk(p, 63);
	/* Refilled: traffic flows again. */
	inject("sink_b", 10, 128, mac_b, 7, 1000);
	cr_assert_eq(ixt_rx(b, 0, p, 10, 2), 10);
	cr_assert_eq(ixt_seq(updk_pkt_data(p[0])), 1000);
	updk_pkt_free_bulk(p, 10);
	updk_net_close(b);
	check_no_model_errors();
}

/*
 * Frames the peer sends into a full receive packet buffer are missed packets (MPC, §8.2.3.23),
 * counted by the receiving port: sent = received + dropped.
 */
Test(ixgbe_traffic, packet_buffer_overflow_counted_as_missed)
{
	struct updk_net_opts o = ixt_opts();

	o.link_wait_ms = 20;
	struct updk_net_dev *a = ixt_open("sim:ixgbe?name=ov_a,peer=ov_b", &o);
	/* b's link is down: its receive engine takes nothing, its 8-frame buffer fills. */
	struct updk_net_dev *b = ixt_open("sim:ixgbe?name=ov_b,peer=ov_a,fifo=8,link=down,"
					  "mac=02:00:00:00:00:0b",
					  &o);
	struct updk_pktpool *pool = updk_pktpool_create("tx", 64, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_pkt *p[32];
	struct updk_net_stats sa, sb;
	enum { N = 20 };

	cr_assert_eq(updk_pkt_alloc_bulk(pool, p, N), 0);
	for (unsigned i = 0; i < N; i++) {
		ixt_frame(updk_pkt_data(p[i]), 128, mac_b, mac_a, 4, i);
		p[i]->len = 128;
	}
	ixt_tx_all(a, 0, p, N);
	double end = ixt_now() + 5;

	do {
		cr_assert_eq(updk_net_stats(a, &sa), 0);
		cr_assert_lt(ixt_now(), end, "a sent %llu of %u frames",
			     (unsigned long long)sa.tx_packets, N);
	} while (sa.tx_packets < N);
	cr_assert_eq(updk_net_stats(b, &sb), 0);
	cr_assert_eq(sb.rx_dropped, N - 8, "the buffer holds 8 of %u frames", N);
	/* Link up: the 8 it held arrive, the first 8, and nothing more is counted. */
	cr_assert_eq(sim_ixgbe_set_link("ov_b", true), 0);
	cr_assert_eq(ixt_rx(b, 0, p, 8, 2), 8);
	for (unsigned i = 0; i < 8; i++)
		ixt_check(updk_pkt_data(p[i]), p[i]->len, mac_b, mac_a, 4, i);
	updk_pkt_free_bulk(p, 8);
	cr_assert_eq(updk_net_stats(b, &sb), 0);
	cr_assert_eq(sb.rx_packets, 8);
	cr_assert_eq(sb.rx_dropped, N - 8);
	updk_net_close(a);
	updk_net_close(b);
	cr_assert_eq(updk_pktpool_avail(pool), 64);
	updk_pktpool_free(pool);
	check_no_model_errors();
}

Test(ixgbe_traffic, tx_full_ring_and_capture)
{
	struct updk_net_opts o = ixt_opts();

	o.tx_ring_size = 64;
	o.link_wait_ms = 20;
	struct updk_net_dev *a = ixt_open("sim:ixgbe?name=src_a,link=down", &o);
	struct updk_pktpool *pool = updk_pktpool_create("tx", 128, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_pkt *p[128];
	uint8_t f[SIM_IXGBE_FRAME_MAX];

	cr_assert_eq(updk_pkt_alloc_bulk(pool, p, 128), 0);
	for (unsigned i = 0; i < 128; i++) {
		ixt_frame(updk_pkt_data(p[i]), 100, mac_b, mac_a, 9, i);
		p[i]->len = 100;
	}
	/* Link down: nothing leaves, the ring fills at 63 and takes no more. */
	unsigned took = 0;

	for (int k = 0; k < 4; k++)
		took += updk_net_tx_burst(a, 0, p + took, 32);
	cr_assert_eq(took, 63);
	cr_assert_eq(updk_net_tx_burst(a, 0, p + took, 32), 0);
	cr_assert_eq(sim_ixgbe_capture("src_a", f, sizeof(f)), 0, "nothing sent with link down");
	cr_assert_eq(sim_ixgbe_set_link("src_a", true), 0);
	/* Link up: the 63 go out in order; the ring takes the rest as it drains. */
	ixt_tx_all(a, 0, p + took, 128 - took);
	for (unsigned i = 0; i < 128; i++) {
		double end = ixt_now() + 2;
		int len;

		while ((len = sim_ixgbe_capture("src_a", f, sizeof(f))) == 0)
			cr_assert_lt(ixt_now(), end, "frame %u never left", i);
		cr_assert_eq(len, 100);
		ixt_check(f, 100, mac_b, mac_a, 9, i);
	}
	updk_net_close(a);
	cr_assert_eq(updk_pktpool_avail(pool), 128);
	updk_pktpool_free(pool);
	check_no_model_errors();
}

/*
 * A device that sends but never writes back a descriptor (DD never set, wb=off): the ring fills
 * and takes no more, one log line after a second says so and names the queue, the link and
 * what is queued; nothing is ever received either; closing the port gives every queued packet back.
 */
Test(ixgbe_traffic, dd_never_set_logged_and_closable)
{
	struct updk_net_opts o = ixt_opts();

	o.tx_ring_size = 64;
	struct updk_net_dev *a = ixt_open("sim:ixgbe?name=nowb_a,wb=off", &o);
	struct updk_pktpool *pool = updk_pktpool_create("tx", 128, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_pkt *p[128], *rx[32];
	uint8_t f[SIM_IXGBE_FRAME_MAX];
	struct log_capture lc;
	unsigned took = 0;
	char *log;
	double end;

	cr_assert_eq(updk_pkt_alloc_bulk(pool, p, 128), 0);
	for (unsigned i = 0; i < 128; i++) {
		ixt_frame(updk_pkt_data(p[i]), 100, mac_b, mac_a, 9, i);
		p[i]->len = 100;
	}
	for (int k = 0; k < 4; k++)
		took += updk_net_tx_burst(a, 0, p + took, 32);
	cr_assert_eq(took, 63, "the ring takes 63 and, with no write-back, frees none");
	/* the device did send them: only the write-backs are missing */
	end = ixt_now() + 2;
	while (sim_ixgbe_capture("nowb_a", f, sizeof(f)) == 0)
		cr_assert_lt(ixt_now(), end, "the model sent nothing");
	log_capture_start(&lc);
	end = ixt_now() + 1.5;
	while (ixt_now() < end)
		cr_assert_eq(updk_net_tx_burst(a, 0, p + took, 32), 0);
	log = log_capture_stop(&lc);
	cr_assert_eq(perf_test_count(log,
				     "transmit queue 0: ring full and no descriptor written back "
				     "for 1 s (link up)"),
		     1, "one log line for the stall:\n%s", log);
	cr_assert(strstr(log, "63 queued packets stay queued"), "%s", log);
	free(log);
	/* frames come in and are placed, but never reported */
	for (unsigned i = 0; i < 8; i++) {
		ixt_frame(f, 80, mac_a, mac_b, 3, i);
		cr_assert_eq(sim_ixgbe_inject("nowb_a", f, 80), 0);
	}
	end = ixt_now() + 0.2;
	while (ixt_now() < end)
		cr_assert_eq(updk_net_rx_burst(a, 0, rx, 32), 0);
	updk_net_close(a);
	cr_assert_eq(updk_pktpool_avail(pool), took, "the 63 queued came back at close");
	updk_pkt_free_bulk(p + took, 128 - took);
	cr_assert_eq(updk_pktpool_avail(pool), 128);
	updk_pktpool_free(pool);
	check_no_model_errors();
}

Test(ixgbe_traffic, short_frames_padded_and_counted)
{
	struct updk_net_opts o = ixt_opts();
	struct updk_net_dev *a = ixt_open("sim:ixgbe?name=pad_a", &o);
	struct updk_pkt *p;
	struct updk_pktpool *pool = updk_pktpool_create("tx", 8, 0, 0, 0, UPDK_NUMA_ANY);
	uint8_t f[SIM_IXGBE_FRAME_MAX];

	p = updk_pkt_alloc(pool);
	memset(updk_pkt_data(p), 0xab, 42);
	p->len = 42;
	ixt_tx_all(a, 0, &p, 1);
	double end = ixt_now() + 2;
	int len;

	while ((len = sim_ixgbe_capture("pad_a", f, sizeof(f))) == 0)
		cr_assert_lt(ixt_now(), end);
	cr_assert_eq(len, 60, "padded to the 60-byte minimum (HLREG0.TXPADEN)");
	cr_assert_eq(f[41], 0xab);
	cr_assert_eq(f[42], 0);
	struct updk_net_stats s;

	cr_assert_eq(updk_net_stats(a, &s), 0);
	cr_assert_eq(s.tx_packets, 1);
	cr_assert_eq(s.tx_bytes, 60);
	updk_net_close(a);
	updk_pktpool_free(pool);
	check_no_model_errors();
}

Test(ixgbe_traffic, filtering_and_promiscuous)
{
	struct updk_net_opts o = ixt_opts();
	struct updk_net_dev *b = ixt_open("sim:ixgbe?name=flt_b,mac=02:00:00:00:00:0b", &o);
	static const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x77 };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };
	struct updk_pkt *p[8];

	inject("flt_b", 1, 64, other, 1, 1); /* not ours: filtered */
	inject("flt_b", 1, 64, mcast, 1, 2); /* multicast, no MPE: filtered */
	inject("flt_b", 1, 64, bcast, 1, 3); /* broadcast: BAM accepts */
	inject("flt_b", 1, 64, mac_b, 1, 4); /* ours */
	/* Frames are handled in order: once the two arrive, the two before them were refused. */
	cr_assert_eq(ixt_rx(b, 0, p, 2, 5), 2);
	cr_assert_eq(ixt_seq(updk_pkt_data(p[0])), 3);
	cr_assert_eq(ixt_seq(updk_pkt_data(p[1])), 4);
	updk_pkt_free_bulk(p, 2);
	cr_assert_eq(updk_net_set_promiscuous(b, true), 0);
	inject("flt_b", 1, 64, other, 1, 5);
	inject("flt_b", 1, 64, mcast, 1, 6);
	cr_assert_eq(ixt_rx(b, 0, p, 2, 5), 2);
	cr_assert_eq(ixt_seq(updk_pkt_data(p[0])), 5);
	cr_assert_eq(ixt_seq(updk_pkt_data(p[1])), 6);
	updk_pkt_free_bulk(p, 2);
	updk_net_close(b);
	check_no_model_errors();
}

Test(ixgbe_traffic, rx_checksum_flags)
{
	struct updk_net_opts o = ixt_opts();
	struct updk_net_dev *b = ixt_open("sim:ixgbe?name=ck_b,mac=02:00:00:00:00:0b", &o);
	uint8_t f[128];
	struct updk_pkt *p[4];

	ixt_frame(f, 128, mac_b, mac_a, 1, 1);
	cr_assert_eq(sim_ixgbe_inject("ck_b", f, 128), 0);
	f[14 + 10] ^= 0xff; /* IPv4 header checksum broken */
	cr_assert_eq(sim_ixgbe_inject("ck_b", f, 128), 0);
	f[14 + 10] ^= 0xff;
	f[100] ^= 1; /* payload changed: UDP checksum broken */
	cr_assert_eq(sim_ixgbe_inject("ck_b", f, 128), 0);
	cr_assert_eq(ixt_rx(b, 0, p, 3, 2), 3);
	const uint16_t ck = UPDK_PKT_RX_IP_CKSUM_GOOD | UPDK_PKT_RX_IP_CKSUM_BAD |
			    UPDK_PKT_RX_L4_CKSUM_GOOD | UPDK_PKT_RX_L4_CKSUM_BAD;

	cr_assert_eq(p[0]->flags & ck, UPDK_PKT_RX_IP_CKSUM_GOOD | UPDK_PKT_RX_L4_CKSUM_GOOD);
	cr_assert_eq(p[1]->flags & ck, UPDK_PKT_RX_IP_CKSUM_BAD | UPDK_PKT_RX_L4_CKSUM_GOOD);
	cr_assert_eq(p[2]->flags & ck, UPDK_PKT_RX_IP_CKSUM_GOOD | UPDK_PKT_RX_L4_CKSUM_BAD);
	updk_pkt_free_bulk(p, 3);
	updk_net_close(b);
	check_no_model_errors();
}

Test(ixgbe_traffic, delayed_write_backs_keep_order)
{
	struct updk_net_opts o = ixt_opts();
	struct updk_net_dev *a =
		ixt_open("sim:ixgbe?name=wa,peer=wb,mac=02:00:00:00:00:0a,wb_delay_us=300000", &o);
	struct updk_net_dev *b =
		ixt_open("sim:ixgbe?name=wb,peer=wa,mac=02:00:00:00:00:0b,wb_delay_us=300000", &o);
	struct updk_pktpool *pool = updk_pktpool_create("tx", 256, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_pkt *p[200];
	enum { N = 200 };

	cr_assert_eq(updk_pkt_alloc_bulk(pool, p, N), 0);
	for (unsigned i = 0; i < N; i++) {
		ixt_frame(updk_pkt_data(p[i]), 200, mac_b, mac_a, 3, i);
		p[i]->len = 200;
	}
	double t0 = ixt_now();

	ixt_tx_all(a, 0, p, N);
	/* Right after sending, nothing has been written back yet (if we were quick enough to
	 * look within the delay on a busy machine). */
	uint16_t early = updk_net_rx_burst(b, 0, p, 32);

	if (ixt_now() - t0 < 0.25)
		cr_assert_eq(early, 0, "a write-back landed before its delay");
	cr_assert_eq(early + ixt_rx(b, 0, p + early, N - early, 5), N);
	for (unsigned i = 0; i < N; i++)
		ixt_check(updk_pkt_data(p[i]), 200, mac_b, mac_a, 3, i);
	updk_pkt_free_bulk(p, N);
	updk_net_close(a);
	updk_net_close(b);
	cr_assert_eq(updk_pktpool_avail(pool), 256);
	updk_pktpool_free(pool);
	check_no_model_errors();
}

Test(ixgbe_traffic, several_transmit_queues_counted_per_queue)
{
	enum { QUEUES = 4 };
	struct updk_net_opts o = ixt_opts();

	o.tx_queues = QUEUES;
	struct updk_net_dev *a = ixt_open("sim:ixgbe?name=mq", &o);
	struct updk_pktpool *pool = updk_pktpool_create("tx", 256, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_pkt *p[40];
	uint8_t f[SIM_IXGBE_FRAME_MAX];
	unsigned captured = 0;

	for (uint16_t q = 0; q < QUEUES; q++) {
		unsigned n = 10 * (q + 1u);

		cr_assert_eq(updk_pkt_alloc_bulk(pool, p, n), 0);
		for (unsigned i = 0; i < n; i++) {
			ixt_frame(updk_pkt_data(p[i]), 100, mac_b, mac_a, q, i);
			p[i]->len = 100;
		}
		ixt_tx_all(a, q, p, n);
	}
	double end = ixt_now() + 5;

	while (captured < 100) {
		int len = sim_ixgbe_capture("mq", f, sizeof(f));

		if (len > 0)
			captured++;
		else
			cr_assert_lt(ixt_now(), end, "%u of 100 frames left", captured);
	}
	struct updk_net_stats s;

	cr_assert_eq(updk_net_stats(a, &s), 0);
	cr_assert_eq(s.tx_packets, 100);
	for (unsigned q = 0; q < QUEUES; q++) {
		cr_assert_eq(s.q[q].tx_packets, 10 * (q + 1), "queue %u", q);
		cr_assert_eq(s.q[q].tx_bytes, 100 * 10 * (q + 1), "queue %u", q);
	}
	updk_net_close(a);
	cr_assert_eq(updk_pktpool_avail(pool), 256);
	updk_pktpool_free(pool);
	check_no_model_errors();
}
