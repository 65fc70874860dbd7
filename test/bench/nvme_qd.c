// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench-nvme_qd: 4 KiB random reads at a fixed queue depth on one qpair, printing IOPS and the
 * driver's doorbell counters. A tool for looking at the driver's hot path, not a test: it polls
 * only once the device has posted a completion (it peeks at the CQ's phase tag), so under
 * `valgrind --tool=callgrind` the driver's own functions show the cost of submitting and
 * completing, without idle polls:
 *   bench-nvme_qd [ADDR [QD [IOS]]]    default sim:nvme?size=64M 32 200000
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <updk/mem.h>
#include <updk/nvme.h>

#include "drivers/nvme/pcie/pcie.h"

struct ctx {
	struct updk_nvme_ns *ns;
	struct updk_nvme_qpair *qp;
	uint64_t nblocks, seed, done, submitted, total, errors;
	uint32_t bs_blocks;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void submit(struct ctx *c, void *buf);

static void io_done(void *arg, const struct updk_nvme_cpl *cpl)
{
	void **slot = arg;
	struct ctx *c = slot[0];

	c->done++;
	c->errors += updk_nvme_cpl_is_error(cpl);
	if (c->submitted < c->total)
		submit(c, slot);
}

static void submit(struct ctx *c, void *slot)
{
	void **s = slot;
	uint64_t lba = (rnd(&c->seed) % (c->nblocks / c->bs_blocks)) * c->bs_blocks;

	if (updk_nvme_ns_read(c->ns, c->qp, s[1], lba, c->bs_blocks, io_done, slot, 0) == 0)
		c->submitted++;
}

int main(int argc, char **argv)
{
	const char *addr = argc > 1 ? argv[1] : "sim:nvme?size=64M";
	uint32_t qd = argc > 2 ? (uint32_t)atoi(argv[2]) : 32;
	uint64_t ios = argc > 3 ? strtoull(argv[3], NULL, 0) : 200000;
	struct updk_nvme_ctrlr *ctrlr;
	struct updk_nvme_qpair_opts qo = { .opts_size = sizeof(qo), .depth = qd };
	struct updk_nvme_stats st;
	struct ctx c = { .seed = 88172645463325252ull, .total = ios };
	struct timespec t0, t1;
	void **slots;
	double secs;

	if (updk_nvme_ctrlr_open(addr, NULL, &ctrlr))
		return 1;
	c.ns = updk_nvme_ns_get(ctrlr, updk_nvme_ctrlr_first_active_ns(ctrlr));
	if (!c.ns || updk_nvme_qpair_alloc(ctrlr, &qo, &c.qp))
		return 1;
	c.nblocks = updk_nvme_ns_num_sectors(c.ns);
	c.bs_blocks = 4096 / updk_nvme_ns_sector_size(c.ns);
	slots = calloc(qd, 2 * sizeof(void *));
	for (uint32_t i = 0; i < qd; i++) {
		slots[2 * i] = &c;
		slots[2 * i + 1] = updk_dma_alloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < qd && c.submitted < c.total; i++)
		submit(&c, &slots[2 * i]);
	while (c.done < c.submitted) {
		volatile struct updk_nvme_cpl *e = &pcie_qp(c.qp)->cq[pcie_qp(c.qp)->cq_head];

		if ((e->status & 1) != pcie_cq_phase(pcie_qp(c.qp))) {
			updk_nvme_qpair_flush(c.qp);
			continue;
		}
		updk_nvme_qpair_process_completions(c.qp, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	updk_nvme_qpair_get_stats(c.qp, &st);
	printf("%s qd %u: %llu I/Os in %.3f s, %.0f IOPS, %llu errors\n", addr, qd,
	       (unsigned long long)c.done, secs, (double)c.done / secs,
	       (unsigned long long)c.errors);
	printf("doorbells: %llu MMIO (%.3f per I/O), %llu shadow updates\n",
	       (unsigned long long)st.mmio_doorbell_writes,
	       (double)st.mmio_doorbell_writes / (double)c.done,
	       (unsigned long long)st.shadow_doorbell_updates);
	updk_nvme_qpair_free(c.qp);
	updk_nvme_ctrlr_close(ctrlr);
	for (uint32_t i = 0; i < qd; i++)
		updk_dma_free(slots[2 * i + 1]);
	free(slots);
	return c.errors ? 1 : 0;
}
