// SPDX-License-Identifier: BSD-3-Clause
/* drivers/ixgbe RSS against sim:ixgbe: flows spread over queues, each flow on one queue. */
#include "test/model/ixgbe_test.h"

TestSuite(ixgbe_rss, .init = ixt_setup, .timeout = 60);

Test(ixgbe_rss, flows_spread_over_queues)
{
	enum { QUEUES = 4, FLOWS = 64, PER_FLOW = 4 };
	struct updk_net_opts o = ixt_opts();

	o.rx_queues = QUEUES;
	struct updk_net_dev *b = ixt_open("sim:ixgbe?name=rss,mac=02:00:00:00:00:0b", &o);
	static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0xa };
	static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0xb };
	uint8_t f[128];
	int queue_of_flow[FLOWS];
	unsigned per_queue[QUEUES] = { 0 };
	uint32_t hash_of_flow[FLOWS];

	for (int i = 0; i < FLOWS; i++)
		queue_of_flow[i] = -1;
	for (uint32_t k = 0; k < PER_FLOW; k++)
		for (uint32_t fl = 0; fl < FLOWS; fl++) {
			ixt_frame(f, 128, mac_b, mac_a, (uint16_t)(2000 + fl), k * FLOWS + fl);
			cr_assert_eq(sim_ixgbe_inject("rss", f, 128), 0);
		}
	unsigned total = 0;
	double end = ixt_now() + 3;

	while (total < FLOWS * PER_FLOW && ixt_now() < end)
		for (uint16_t q = 0; q < QUEUES; q++) {
			struct updk_pkt *p[32];
			uint16_t n = updk_net_rx_burst(b, q, p, 32);

			for (uint16_t i = 0; i < n; i++) {
				uint32_t seq = ixt_seq(updk_pkt_data(p[i]));
				uint32_t fl = seq % FLOWS;

				cr_assert(p[i]->flags & UPDK_PKT_RX_RSS_HASH);
				if (queue_of_flow[fl] < 0) {
					queue_of_flow[fl] = q;
					hash_of_flow[fl] = p[i]->rss_hash;
				}
				cr_assert_eq(queue_of_flow[fl], q, "flow %u on one queue", fl);
				cr_assert_eq(hash_of_flow[fl], p[i]->rss_hash);
				/* RETA is round robin: hash bits 6:0 pick the queue */
				cr_assert_eq((p[i]->rss_hash & 0x7f) % QUEUES, q);
				per_queue[q]++;
			}
			total += n;
			updk_pkt_free_bulk(p, n);
		}
	cr_assert_eq(total, FLOWS * PER_FLOW);
	struct updk_net_stats s;

	cr_assert_eq(updk_net_stats(b, &s), 0);
	cr_assert_eq(s.n_queues, QUEUES);
	for (int q = 0; q < QUEUES; q++) {
		cr_assert_gt(per_queue[q], 0, "queue %d got no flow", q);
		cr_assert_eq(s.q[q].rx_packets, per_queue[q], "per-queue counter of queue %d", q);
	}
	cr_assert_eq(s.rx_packets, FLOWS * PER_FLOW);
	updk_net_close(b);
	cr_assert_eq(sim_ixgbe_errors(), 0);
}

/*
 * The model's hash against the worked example of the Microsoft RSS verification suite (the
 * key the driver programs): IPv4 source 66.9.149.187:2794, destination 161.142.100.80:1766,
 * hash with ports 0x51ccc178, without 0x323e8fc2.
 */
Test(ixgbe_rss, known_hash)
{
	struct updk_net_opts o = ixt_opts();

	o.rx_queues = 2;
	struct updk_net_dev *b = ixt_open("sim:ixgbe?name=rssk,mac=02:00:00:00:00:0b", &o);
	static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0xb };
	static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0xa };
	uint8_t f[128];

	ixt_frame(f, 128, mac_b, mac_a, 2794, 0);
	uint8_t *ip = f + 14;

	ip[9] = 6; /* TCP: the checksum no longer matters for the hash */
	ip[10] = ip[11] = 0;
	memcpy(ip + 12, (uint8_t[]){ 66, 9, 149, 187 }, 4);
	memcpy(ip + 16, (uint8_t[]){ 161, 142, 100, 80 }, 4);
	uint16_t c = ixt_csum(ip, 20, 0);

	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	ip[20 + 0] = 2794 >> 8;
	ip[20 + 1] = 2794 & 0xff;
	ip[20 + 2] = 1766 >> 8;
	ip[20 + 3] = 1766 & 0xff;
	ip[20 + 12] = 5 << 4; /* TCP data offset */
	cr_assert_eq(sim_ixgbe_inject("rssk", f, 128), 0);
	struct updk_pkt *p[4];
	unsigned got = 0;
	double end = ixt_now() + 2;

	while (!got && ixt_now() < end)
		for (uint16_t q = 0; q < 2 && !got; q++)
			got = updk_net_rx_burst(b, q, p, 4);
	cr_assert_eq(got, 1);
	cr_assert_eq(p[0]->rss_hash, 0x51ccc178, "hash 0x%08x", p[0]->rss_hash);
	updk_pkt_free(p[0]);
	updk_net_close(b);
}
