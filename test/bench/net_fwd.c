// SPDX-License-Identifier: BSD-3-Clause
/*
 * Forwarding between two sim:ixgbe ports wired back to back, at batch 32: what rx_burst +
 * tx_burst cost per packet in the driver and lib/net. Frames sent on port 1 arrive on port 0;
 * the loop forwards port 0 -> port 1 and port 1 -> port 0, so a seeded train circulates.
 *
 * Run under callgrind to count instructions in the data path only (docs/benchmarks.md):
 *   valgrind --tool=callgrind --collect-atstart=no \
 *     --toggle-collect=ixgbe_rx_burst --toggle-collect=ixgbe_tx_burst \
 *     build/test/bench-net_fwd 200000
 * and divide the Ir total by the packets it prints. Without valgrind it prints the rate, which
 * measures the model's thread more than the driver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <updk/mem.h>
#include <updk/net.h>
#include <updk/tsc.h>

#define BATCH 32
#define SEED 256

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

static unsigned long bursts, empty, partial;

/* Forward one burst from @rx to @tx; packets the ring does not take are dropped. */
static unsigned forward(struct updk_net_dev *rx, struct updk_net_dev *tx)
{
	struct updk_pkt *p[BATCH];
	uint16_t n = updk_net_rx_burst(rx, 0, p, BATCH);

	bursts++;
	if (n < BATCH) {
		/*
		 * The model is slower than the driver (much slower under valgrind): let its thread
		 * fill the ring rather than spin, so that the count is of full bursts as on a
		 * loaded port. Empty and partial bursts are counted and printed.
		 */
		struct timespec d = { .tv_nsec = 200000 };

		n ? partial++ : empty++;
		nanosleep(&d, NULL);
	}
	if (!n)
		return 0;
	uint16_t sent = updk_net_tx_burst(tx, 0, p, n);

	if (sent < n)
		updk_pkt_free_bulk(p + sent, n - sent);
	return sent;
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

	unsigned long done = 0;
	uint64_t t0 = updk_tsc();

	while (done < want) {
		done += forward(p0, p1);
		done += forward(p1, p0);
	}
	uint64_t t1 = updk_tsc();
	double secs = (double)(t1 - t0) / (double)updk_tsc_hz();

	printf("forwarded %lu packets at batch %d in %.3f s: %.3f Mpps (model-bound)\n", done,
	       BATCH, secs, (double)done / secs / 1e6);
	printf("receive bursts %lu: %lu empty, %lu partial\n", bursts, empty, partial);
	updk_net_close(p0);
	updk_net_close(p1);
	updk_pktpool_free(pool);
	return 0;
}
