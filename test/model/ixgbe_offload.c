// SPDX-License-Identifier: BSD-3-Clause
/*
 * drivers/ixgbe transmit checksum offload (context descriptors) against sim:ixgbe: the far port
 * checks the checksums the near port's device filled in, and the frames come out byte-exact.
 */
#include "test/model/ixgbe_test.h"

TestSuite(ixgbe_offload, .init = ixt_setup, .timeout = 60);

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0xa };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0xb };

static uint16_t fold16(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/*
 * Make frame @seq in @want (checksums right) and @send (what an application hands over with
 * offload: IPv4 checksum zero, L4 field holding the pseudo-header sum). Kind 0: UDP without
 * offload, 1: UDP with, 2: TCP with, 3: IPv4 checksum only.
 */
static void make(uint8_t *want, uint8_t *send, uint16_t len, int kind, uint32_t seq)
{
	ixt_frame(want, len, mac_b, mac_a, 4000, seq);
	uint8_t *ip = want + 14, *l4 = ip + 20;
	uint16_t l4len = (uint16_t)(len - 34);

	if (kind == 2) { /* turn it into TCP: 20-byte header, checksum at 16 */
		ip[9] = 6;
		ip[10] = ip[11] = 0;
		uint16_t c = ixt_csum(ip, 20, 0);

		ip[10] = c >> 8;
		ip[11] = c & 0xff;
		l4[12] = 5 << 4;
		l4[13] = 0x18;
		l4[6] = l4[7] = 0; /* no UDP checksum field any more */
		l4[16] = l4[17] = 0;
		uint32_t pseudo = (10u << 8) + 1 + (10u << 8) + 2 + 6 + l4len;

		c = ixt_csum(l4, l4len, pseudo);
		l4[16] = c >> 8;
		l4[17] = c & 0xff;
	}
	memcpy(send, want, len);
	if (kind == 0)
		return;
	send[14 + 10] = send[14 + 11] = 0;
	if (kind == 3)
		return;
	unsigned off = kind == 2 ? 16 : 6;
	uint16_t ps = fold16((10u << 8) + 1 + (10u << 8) + 2 + (kind == 2 ? 6 : 17) + l4len);

	send[34 + off] = ps >> 8;
	send[34 + off + 1] = ps & 0xff;
}

Test(ixgbe_offload, checksums_filled_in_across_rs_batches)
{
	struct updk_net_opts o = ixt_opts();

	o.tx_offload = true;
	o.tx_ring_size = 128;
	struct updk_net_dev *a = ixt_open("sim:ixgbe?name=oa,peer=ob,mac=02:00:00:00:00:0a", &o);

	o.tx_offload = false;
	struct updk_net_dev *b = ixt_open("sim:ixgbe?name=ob,peer=oa,mac=02:00:00:00:00:0b", &o);
	struct updk_pktpool *pool = updk_pktpool_create("tx", 512, 0, 0, 0, UPDK_NUMA_ANY);
	enum { N = 3000 };
	uint8_t want[256];
	unsigned sent = 0, got = 0;
	double end = ixt_now() + 20;

	cr_assert_not_null(pool);
	/* Kinds change in runs of 1 to 5 so that contexts fall on every ring position. */
	while (got < N) {
		cr_assert_lt(ixt_now(), end, "%u of %u frames arrived", got, N);
		struct updk_pkt *p[16];

		if (sent < N && sent - got < 400) {
			unsigned n = N - sent < 16 ? N - sent : 16;

			cr_assert_eq(updk_pkt_alloc_bulk(pool, p, n), 0);
			for (unsigned i = 0; i < n; i++) {
				uint32_t s = sent + i;
				int kind = (int)((s / (1 + s % 5)) % 4);
				uint16_t len = (uint16_t)(80 + s % 150);

				make(want, updk_pkt_data(p[i]), len, kind, s);
				p[i]->len = len;
				p[i]->l2_len = 14;
				p[i]->l3_len = 20;
				p[i]->flags =
					kind == 1 ? UPDK_PKT_TX_IP_CKSUM | UPDK_PKT_TX_UDP_CKSUM :
					kind == 2 ? UPDK_PKT_TX_IP_CKSUM | UPDK_PKT_TX_TCP_CKSUM :
					kind == 3 ? UPDK_PKT_TX_IP_CKSUM :
						    0;
			}
			uint16_t t = updk_net_tx_burst(a, 0, p, (uint16_t)n);

			updk_pkt_free_bulk(p + t, n - t);
			sent += t;
		}
		uint16_t r = updk_net_rx_burst(b, 0, p, 16);

		for (uint16_t i = 0; i < r; i++, got++) {
			int kind = (int)((got / (1 + got % 5)) % 4);
			uint16_t len = (uint16_t)(80 + got % 150);
			uint8_t dummy[256];

			make(want, dummy, len, kind, got);
			cr_assert_eq(p[i]->len, len);
			cr_assert_eq(memcmp(updk_pkt_data(p[i]), want, len), 0,
				     "frame %u (kind %d) not as the checksums make it", got, kind);
			cr_assert_eq(p[i]->flags & (UPDK_PKT_RX_IP_CKSUM_GOOD |
						    UPDK_PKT_RX_L4_CKSUM_GOOD),
				     UPDK_PKT_RX_IP_CKSUM_GOOD | UPDK_PKT_RX_L4_CKSUM_GOOD);
		}
		updk_pkt_free_bulk(p, r);
	}
	struct updk_net_stats s;

	cr_assert_eq(updk_net_stats(a, &s), 0);
	cr_assert_eq(s.tx_packets, N);
	cr_assert_eq(s.tx_errors, 0);
	updk_net_close(a);
	updk_net_close(b);
	cr_assert_eq(updk_pktpool_avail(pool), 512, "every buffer back, contexts or not");
	updk_pktpool_free(pool);
	cr_assert_eq(sim_ixgbe_errors(), 0);
}

Test(ixgbe_offload, impossible_lengths_refused)
{
	struct updk_net_opts o = ixt_opts();

	o.tx_offload = true;
	struct updk_net_dev *a = ixt_open("sim:ixgbe?name=obad", &o);
	struct updk_pktpool *pool = updk_pktpool_create("tx", 8, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_pkt *p[2];

	cr_assert_eq(updk_pkt_alloc_bulk(pool, p, 2), 0);
	for (int i = 0; i < 2; i++) {
		p[i]->len = 60;
		p[i]->l2_len = 14;
		p[i]->l3_len = 20;
		p[i]->flags = UPDK_PKT_TX_UDP_CKSUM;
	}
	p[1]->l3_len = 8;
	cr_assert_eq(updk_net_tx_burst(a, 0, p, 2), 1, "the first is fine, the second is not");
	struct updk_net_stats s;

	cr_assert_eq(updk_net_stats(a, &s), 0);
	cr_assert_eq(s.tx_errors, 1);
	updk_pkt_free(p[1]);
	updk_net_close(a);
	updk_pktpool_free(pool);
	cr_assert_eq(sim_ixgbe_errors(), 0);
}
