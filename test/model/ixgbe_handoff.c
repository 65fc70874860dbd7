// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim:ixgbe hands a descriptor to the driver once: the driver may re-arm a receive descriptor
 * (or reuse a transmit one) the moment it sees DD, and nothing the model stores afterwards may
 * undo that. The sim core's copy hook runs the driver between the two stores a memcpy() may
 * make of every byte the model copies, so a write-back that lands DD with a copy tears a
 * descriptor every time instead of once in a few hundred thousand frames: the driver then sees
 * DD on a re-armed descriptor with length 0, or frees buffers the device has not sent yet.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <criterion/criterion.h>

#include <updk/net.h>

#include "sim/sim.h"
#include "test/model/ixgbe_test.h"

TestSuite(ixgbe_handoff, .init = ixt_setup, .timeout = 60);

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };

enum { RING = 64, N = 3 * RING + 7, LEN = 100 };

/* What the driver handed up, in order; filled on the model's thread, checked on the test's. */
static struct {
	struct updk_net_dev *dev;
	unsigned got;
	uint32_t seq[N];
	uint16_t len[N];
	bool same[N]; /* the bytes are those of the frame with that sequence number */
} rx;

static void take(struct updk_pkt **p, unsigned n)
{
	uint8_t want[LEN];

	for (unsigned i = 0; i < n; i++) {
		const uint8_t *d = updk_pkt_data(p[i]);

		if (rx.got < N) {
			rx.len[rx.got] = p[i]->len;
			rx.seq[rx.got] = p[i]->len == LEN ? ixt_seq(d) : UINT32_MAX;
			ixt_frame(want, LEN, mac_b, mac_a, 5, rx.seq[rx.got]);
			rx.same[rx.got] = p[i]->len == LEN && !memcmp(d, want, LEN);
		}
		rx.got++;
	}
	updk_pkt_free_bulk(p, n);
}

/* The driver's receive path, run between the two stores of each model copy. */
static void receive_between_stores(void *arg)
{
	struct updk_pkt *p[32];

	(void)arg;
	take(p, updk_net_rx_burst(rx.dev, 0, p, 32));
}

Test(ixgbe_handoff, rx_descriptor_rearmed_between_model_stores)
{
	struct updk_net_opts o = ixt_opts();
	struct updk_net_stats s;
	uint8_t f[LEN];
	double end;

	o.rx_ring_size = RING;
	rx.dev = ixt_open("sim:ixgbe?name=hand_b,mac=02:00:00:00:00:0b", &o);
	sim_dma_set_copy_hook(receive_between_stores, NULL);
	/* Three laps and more: a stale DD left in a lap is met by the driver in the next. */
	for (uint32_t i = 0; i < N; i++) {
		ixt_frame(f, LEN, mac_b, mac_a, 5, i);
		cr_assert_eq(sim_ixgbe_inject("hand_b", f, LEN), 0, "frame %u", i);
	}
	end = ixt_now() + 10;
	do {
		/* The statistics read takes the device lock: no poll (and no hook) runs meanwhile. */
		cr_assert_eq(updk_net_stats(rx.dev, &s), 0);
		cr_assert_lt(ixt_now(), end, "the model took %llu of %u frames",
			     (unsigned long long)(s.rx_packets + s.rx_dropped), N);
	} while (s.rx_packets + s.rx_dropped < N);
	sim_dma_set_copy_hook(NULL, NULL);
	/* The last write-backs have no copy after them: those frames are still in the ring. */
	end = ixt_now() + 2;
	while (rx.got < N && ixt_now() < end) {
		struct updk_pkt *p[32];

		take(p, updk_net_rx_burst(rx.dev, 0, p, 32));
	}
	cr_assert_eq(updk_net_stats(rx.dev, &s), 0);
	cr_assert_eq(s.rx_errors, 0, "the driver refused %llu descriptors (torn write-backs)",
		     (unsigned long long)s.rx_errors);
	cr_assert_eq(s.rx_dropped, 0, "the driver kept up: the ring never filled");
	cr_assert_eq(sim_ixgbe_errors(), 0, "the model read a descriptor that was not re-armed");
	cr_assert_eq(rx.got, N, "received %u of %u frames", rx.got, N);
	for (unsigned i = 0; i < N; i++) {
		cr_assert_eq(rx.len[i], LEN, "frame %u: length %u", i, rx.len[i]);
		cr_assert_eq(rx.seq[i], i, "frame %u came as sequence %u", i, rx.seq[i]);
		cr_assert(rx.same[i], "frame %u: its bytes differ from what was sent", i);
	}
	updk_net_close(rx.dev);
}
