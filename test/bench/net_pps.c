// SPDX-License-Identifier: BSD-3-Clause
/*
 * Transmit-only or receive-only packet rate on one NIC queue, as dpdk-testpmd's
 * --forward-mode=txonly / rxonly do it, for comparing drivers on the same device:
 *
 *   bench-net_pps tx|rx ADDR [SECONDS] [FRAME_BYTES]
 *
 * tx: each round takes a burst of 32 buffers from a pool, writes a UDP/IPv4 frame of
 * FRAME_BYTES (default 60, plus the FCS the device adds: 64 on the wire) into each, and sends
 * them; what the queue does not take goes back to the pool. rx: receive bursts of 32 and free
 * them. Prints packets, Mpps and TSC cycles per packet of the polling thread (idle polls
 * included: the figure is "cycles spent per packet moved", as testpmd's).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <updk/net.h>
#include <updk/tsc.h>

#include "test/common/udp_frame.h"

#define BURST 32

static volatile sig_atomic_t stop;

static void on_sigint(int sig)
{
	(void)sig;
	stop = 1;
}

static void fill(uint8_t *f, unsigned len, const uint8_t src[6])
{
	static const uint8_t dst[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x09 };

	udp_frame_headers(f, len, dst, src);
	f[35] = 9, f[37] = 9; /* discard port to discard port */
}

int main(int argc, char **argv)
{
	struct updk_net_opts o = { .opts_size = sizeof(o), .promiscuous = true };
	struct updk_net_dev *dev;
	struct updk_pktpool *pool = NULL;
	struct updk_pkt *p[BURST];
	uint64_t pkts = 0, t0, t1, end_tsc;
	unsigned secs = argc > 3 ? (unsigned)atoi(argv[3]) : 10;
	unsigned len = argc > 4 ? (unsigned)atoi(argv[4]) : 60;
	bool tx;
	uint8_t mac[6];
	int rc;

	if (argc < 3 || (strcmp(argv[1], "tx") && strcmp(argv[1], "rx")) || len < 60 ||
	    len > 1514 || !secs) {
		fprintf(stderr, "usage: %s tx|rx ADDR [SECONDS] [FRAME_BYTES 60..1514]\n", argv[0]);
		return 2;
	}
	tx = !strcmp(argv[1], "tx");
	rc = updk_net_open(argv[2], &o, &dev);
	if (rc) {
		fprintf(stderr, "net_pps: cannot open %s: %s\n", argv[2], strerror(-rc));
		return 1;
	}
	updk_net_mac(dev, mac);
	if (tx) {
		pool = updk_pktpool_create("pps-tx", 4096, 0, 0, 256, -1);
		if (!pool) {
			updk_net_close(dev);
			return 1;
		}
	}
	signal(SIGINT, on_sigint);
	t0 = updk_tsc();
	end_tsc = t0 + updk_tsc_hz() * secs;
	while (!stop) {
		uint16_t n;

		if (tx) {
			if (updk_pkt_alloc_bulk(pool, p, BURST) == 0) {
				for (unsigned i = 0; i < BURST; i++) {
					fill(updk_pkt_data(p[i]), len, mac);
					p[i]->len = (uint16_t)len;
				}
				n = updk_net_tx_burst(dev, 0, p, BURST);
				if (n < BURST)
					updk_pkt_free_bulk(p + n, BURST - n);
				pkts += n;
			}
		} else {
			n = updk_net_rx_burst(dev, 0, p, BURST);
			updk_pkt_free_bulk(p, n);
			pkts += n;
		}
		if (updk_tsc() > end_tsc)
			break;
	}
	t1 = updk_tsc();
	double s = (double)updk_tsc_to_ns(t1 - t0) / 1e9;

	printf("net_pps %s %s: %llu packets of %u bytes in %.2f s: %.4f Mpps, %.0f cycles/packet\n",
	       argv[1], argv[2], (unsigned long long)pkts, len, s, (double)pkts / s / 1e6,
	       pkts ? (double)(t1 - t0) / (double)pkts : 0.0);
	updk_net_close(dev);
	updk_pktpool_free(pool);
	return 0;
}
