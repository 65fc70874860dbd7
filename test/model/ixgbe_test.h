/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the sim:ixgbe model tests: memory, frames, bursts with a deadline. */
#ifndef UPDK_TEST_MODEL_IXGBE_TEST_H
#define UPDK_TEST_MODEL_IXGBE_TEST_H

#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include <updk/mem.h>
#include <updk/net.h>

#include "sim/ixgbe/ixgbe_sim.h"

static inline void ixt_setup(void)
{
	/* 4 KiB pages: the model ring must not depend on hugepages being reserved. */
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_4K_PAGES };

	cr_assert_eq(updk_mem_init(&o), 0);
}

static inline double ixt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline struct updk_net_opts ixt_opts(void)
{
	struct updk_net_opts o;

	memset(&o, 0, sizeof(o));
	o.opts_size = sizeof(o);
	o.link_wait_ms = 2000;
	return o;
}

static inline struct updk_net_dev *ixt_open(const char *addr, const struct updk_net_opts *o)
{
	struct updk_net_dev *dev = NULL;

	cr_assert_eq(updk_net_open(addr, o, &dev), 0, "open %s", addr);
	cr_assert_not_null(dev);
	return dev;
}

static inline uint16_t ixt_csum(const uint8_t *d, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)d[i] << 8 | d[i + 1];
	if (n & 1)
		s += (uint32_t)d[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * An Ethernet/IPv4/UDP frame of @len bytes (at least 46) from @src to @dst, UDP source port
 * @sport (the flow), sequence number @seq in the first payload bytes and a pattern after it;
 * checksums correct.
 */
static inline void ixt_frame(uint8_t *f, uint16_t len, const uint8_t dst[6], const uint8_t src[6],
			     uint16_t sport, uint32_t seq)
{
	memset(f, 0, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t iplen = (uint16_t)(len - 14), udplen = (uint16_t)(iplen - 20);

	ip[0] = 0x45;
	ip[2] = iplen >> 8;
	ip[3] = iplen & 0xff;
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10, ip[13] = 0, ip[14] = 0, ip[15] = 1;
	ip[16] = 10, ip[17] = 0, ip[18] = 0, ip[19] = 2;
	uint16_t c = ixt_csum(ip, 20, 0);

	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	udp[0] = sport >> 8;
	udp[1] = sport & 0xff;
	udp[2] = 0x12;
	udp[3] = 0x34;
	udp[4] = udplen >> 8;
	udp[5] = udplen & 0xff;
	uint8_t *pl = udp + 8;

	pl[0] = seq >> 24;
	pl[1] = seq >> 16;
	pl[2] = seq >> 8;
	pl[3] = seq;
	for (unsigned i = 4; i < (unsigned)udplen - 8; i++)
		pl[i] = (uint8_t)(seq + i);
	uint32_t pseudo =
		(10u << 8) + 0 + (0u << 8) + 1 + (10u << 8) + 0 + (0u << 8) + 2 + 17 + udplen;

	c = ixt_csum(udp, udplen, pseudo);
	if (!c)
		c = 0xffff;
	udp[6] = c >> 8;
	udp[7] = c & 0xff;
}

/* The sequence number ixt_frame() wrote. */
static inline uint32_t ixt_seq(const uint8_t *f)
{
	const uint8_t *pl = f + 14 + 20 + 8;

	return (uint32_t)pl[0] << 24 | pl[1] << 16 | pl[2] << 8 | pl[3];
}

/* Check a frame against what ixt_frame() would make for it. */
static inline void ixt_check(const uint8_t *f, uint16_t len, const uint8_t dst[6],
			     const uint8_t src[6], uint16_t sport, uint32_t seq)
{
	uint8_t want[SIM_IXGBE_FRAME_MAX];

	ixt_frame(want, len, dst, src, sport, seq);
	cr_assert_eq(memcmp(f, want, len), 0, "frame %u differs from what was sent", seq);
}

/* Transmit all @n packets on @dev queue @q, retrying while the ring is full (2 s at most). */
static inline void ixt_tx_all(struct updk_net_dev *dev, uint16_t q, struct updk_pkt **p, unsigned n)
{
	double end = ixt_now() + 2;
	unsigned done = 0;

	while (done < n) {
		uint16_t chunk = n - done > 32 ? 32 : (uint16_t)(n - done);

		done += updk_net_tx_burst(dev, q, p + done, chunk);
		cr_assert_lt(ixt_now(), end, "transmit stuck after %u of %u packets", done, n);
	}
}

/* Receive until @n packets came or @secs passed; returns how many. */
static inline unsigned ixt_rx(struct updk_net_dev *dev, uint16_t q, struct updk_pkt **p, unsigned n,
			      double secs)
{
	double end = ixt_now() + secs;
	unsigned got = 0;

	while (got < n && ixt_now() < end) {
		uint16_t chunk = n - got > 32 ? 32 : (uint16_t)(n - got);

		got += updk_net_rx_burst(dev, q, p + got, chunk);
	}
	return got;
}

#endif
