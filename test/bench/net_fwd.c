// SPDX-License-Identifier: BSD-3-Clause
/*
 * Forwarding between two sim:ixgbe ports wired back to back, at batch 32: what one receive burst
 * and one transmit burst cost per packet in drivers/ixgbe and lib/net. Frames sent on port 1
 * arrive on port 0; each round forwards a full burst from port 0 to port 1, so a seeded train
 * of frames circulates for as long as it runs.
 *
 * Under valgrind the device model and the forwarder share one emulated CPU, so the loop waits,
 * outside the measured code, until the model has filled 32 receive descriptors (it looks at
 * their DD bits), then makes one measured call, fwd_round(). test/bench/callgrind-net.sh runs it
 * under callgrind collecting only inside fwd_round() and sums the instructions by folder.
 * Without valgrind it prints a rate, which measures the model's thread more than the driver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <updk/mem.h>
#include <updk/net.h>
#include <updk/tsc.h>

#include "drivers/ixgbe/ixgbe.h"

#define BATCH 32
#define SEED 256

static unsigned long dropped;

static int open_port(const char *addr, struct updk_net_dev **dev)
{
	struct updk_net_opts o;

	memset(&o, 0, sizeof(o));
	o.opts_size = sizeof(o);
	o.promiscuous = true;
	int rc = updk_net_open(addr, &o, dev);

	if (rc)
		fprintf(stderr, "net_fwd: cannot open %s: %s\n", addr, strerror(-rc));
	return rc;
}

/* The measured code: one receive burst on @rx, one transmit burst of what came on @tx. */
__attribute__((noinline)) unsigned fwd_round(struct updk_net_dev *rx, struct updk_net_dev *tx);

unsigned fwd_round(struct updk_net_dev *rx, struct updk_net_dev *tx)
{
	struct updk_pkt *p[BATCH];
	uint16_t n = updk_net_rx_burst(rx, 0, p, BATCH);
	uint16_t sent = updk_net_tx_burst(tx, 0, p, n);

	if (sent < n) {
		updk_pkt_free_bulk(p + sent, n - sent);
		dropped += n - sent;
	}
	return sent;
}

/* Wait (unmeasured) until @dev's receive queue 0 has a full burst done. */
static void wait_full_burst(struct updk_net_dev *dev)
{
	struct ixgbe_rxq *q = dev->rx[0].queue;
	struct timespec d = { .tv_nsec = 20000 };

	while (!(q->ring[(q->next + BATCH - 1) & q->mask].wb.status_err & IXGBE_RXD_STAT_DD))
		nanosleep(&d, NULL);
}

int main(int argc, char **argv)
{
	unsigned long want = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
	struct updk_mem_opts mo = { .opts_size = sizeof(mo), .backing = UPDK_MEM_4K_PAGES };
	struct updk_net_dev *p0, *p1;
	struct updk_pktpool *pool;
	struct updk_pkt *seed[SEED];

	if (getenv("UPDK_MEM") == NULL && updk_mem_init(&mo))
		return 1;
	if (open_port("sim:ixgbe?name=fwd0,peer=fwd1", &p0) ||
	    open_port("sim:ixgbe?name=fwd1,peer=fwd0", &p1))
		return 1;
	if (strcmp(updk_net_driver_name(p0), "ixgbe")) {
		fprintf(stderr, "net_fwd: expected the ixgbe driver\n");
		return 1;
	}
	pool = updk_pktpool_create("seed", SEED, 0, 0, 0, UPDK_NUMA_ANY);
	if (!pool || updk_pkt_alloc_bulk(pool, seed, SEED)) {
		fprintf(stderr, "net_fwd: no DMA memory for the seed packets\n");
		return 1;
	}
	for (int i = 0; i < SEED; i++) {
		uint8_t *d = updk_pkt_data(seed[i]);

		memset(d, 0, 60);
		memset(d, 0xff, 6); /* broadcast: any port takes it */
		d[6] = 0x02;
		d[12] = 0x88;
		d[13] = 0xb5; /* local experimental EtherType */
		seed[i]->len = 60;
	}
	unsigned seeded = 0;

	while (seeded < SEED)
		seeded += updk_net_tx_burst(p1, 0, seed + seeded, SEED - seeded);

	unsigned long done = 0, rounds = 0;
	uint64_t t0 = updk_tsc();

	while (done < want) {
		wait_full_burst(p0);
		done += fwd_round(p0, p1);
		rounds++;
	}
	uint64_t t1 = updk_tsc();
	double secs = (double)(t1 - t0) / (double)updk_tsc_hz();

	printf("forwarded %lu packets in %lu rounds of batch %d (%lu dropped), %.3f s: "
	       "%.3f Mpps (model-bound)\n",
	       done, rounds, BATCH, dropped, secs, (double)done / secs / 1e6);
	updk_net_close(p0);
	updk_net_close(p1);
	updk_pktpool_free(pool);
	return 0;
}
