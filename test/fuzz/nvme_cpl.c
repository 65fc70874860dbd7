// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: the NVMe completion reaper of the PCIe transport (drivers/nvme/pcie/
 * pcie_poll.c pcie_poll(), and the same reaper inlined into drivers/nvme/qpair.c's
 * updk_nvme_qpair_process_completions(), handing completions to the core) against
 * completion queue entries written by a device that lies: any CID, phase, SQ head and status.
 *
 * Input: the queue size (2..64), how many commands to have outstanding, then completion
 * entries, written into the CQ one ring's worth at a time with a poll after each. Properties:
 * no crash or access outside the rings; a callback runs only for a command that is
 * outstanding, at most once; after the host fails what is left, every command has completed
 * exactly once and no slot is held.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/nvme/pcie/pcie_poll.c"
#include "drivers/nvme/pcie/pcie_qpair.c"
#include "drivers/nvme/qpair.c"
#include "test/fuzz/nvme_qpair_stubs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the qpair files take from lib/mem, prp.c and admin.c, reduced to plain memory. */
void *updk_dma_zalloc(size_t size, size_t align, int numa_node, uint64_t *iova)
{
	void *p = aligned_alloc(align, (size + align - 1) & ~(align - 1));

	if (p) {
		memset(p, 0, size);
		*iova = (uintptr_t)p;
	}
	return p;
}

void updk_dma_free(void *buf)
{
	free(buf);
}

uint32_t nvme_list_qwords(uint32_t max_xfer)
{
	return 2;
}

static uint8_t done[64];

static void cpl_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	uintptr_t cid = (uintptr_t)arg;

	if (cid >= 64 || done[cid] != 1 || cpl->cid != cid)
		abort();
	done[cid] = 2;
}

/* The PCIe transport's qpair operations, the ones a qpair's life here reaches. */
static const struct nvme_transport_ops fuzz_pcie = {
	.name = "PCIe",
	.qpair_release = pcie_qpair_release,
	.qpair_free = pcie_qpair_free,
	.ring = pcie_ring,
	.poll = pcie_poll,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint32_t bar[0x2000 / 4];
	static struct nvme_pcie_ctrlr pc;
	struct updk_nvme_ctrlr *c = &pc.c;
	struct updk_nvme_qpair *qp;
	struct nvme_pcie_qpair *pq;
	uint32_t qsize, n_out, polls = 0;

	if (size < 2)
		return 0;
	memset(&pc, 0, sizeof(pc));
	strcpy(c->name, "fuzz");
	c->ops = &fuzz_pcie;
	c->max_xfer = 4096;
	pc.bar = (uint8_t *)bar;
	pc.bar_len = sizeof(bar);
	pc.numa = -1;
	qsize = 2 + data[0] % 63;
	if (pcie_qpair_create(c, 1, qsize, &qp))
		return 0;
	pq = pcie_qp(qp);
	qsize = pq->qsize; /* the ring: deeper than the qsize - 1 slots asked for */
	n_out = data[1] % (qp->depth + 1u); /* at most depth */
	memset(done, 0, sizeof(done));
	for (uint32_t i = 0; i < n_out; i++) {
		struct nvme_req *req = nvme_slot_get(qp);

		if (!req)
			abort();
		done[req->cid] = 1;
		nvme_req_start(qp, req, cpl_cb, (void *)(uintptr_t)req->cid, UPDK_NVME_OPC_READ);
		pcie_sq_advance(pq);
	}
	data += 2;
	size -= 2;
	while (size) {
		size_t n = size < qsize * 16u ? size : qsize * 16u;

		memcpy((void *)pq->cq, data, n);
		data += n;
		size -= n;
		/* through the transport ops, and through the core's poll entry with its inlined
		 * reaper (pcie_reap_one(), the loop in process_batch()), in turns */
		if (++polls & 1)
			(void)nvme_qpair_poll(qp, 0);
		else
			(void)updk_nvme_qpair_process_completions(qp, 0);
		if (pq->cq_head >= qsize || pq->sq_head >= qsize ||
		    nvme_qp_outstanding(qp) > qp->depth)
			abort();
	}
	nvme_qpair_fail_all(qp, 0, 0x07);
	for (uint32_t i = 0; i < 64; i++)
		if (done[i] == 1)
			abort();
	if (nvme_qp_outstanding(qp) != 0)
		abort();
	nvme_qpair_destroy(qp);
	return 0;
}
