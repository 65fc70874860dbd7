// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: the NVMe completion reaper (drivers/nvme/qpair.c nvme_qpair_poll) against
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

#include "drivers/nvme/qpair.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What qpair.c takes from lib/mem, lib/pci and prp.c, reduced to plain memory. */
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

int updk_pci_numa_node(const struct updk_pci_dev *dev)
{
	return -1;
}

void updk_mem_quiescent(void)
{
}

uint32_t nvme_list_qwords(uint32_t max_xfer)
{
	return 2;
}

/* reset.c: reached only from timeouts and a failed controller, which this target never has. */
bool nvme_reset_request(struct updk_nvme_ctrlr *ctrlr)
{
	abort();
}

void nvme_qpair_reset_ack(struct updk_nvme_qpair *qp)
{
	abort();
}

static uint8_t done[64];

static void cpl_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	uintptr_t cid = (uintptr_t)arg;

	if (cid >= 64 || done[cid] != 1 || cpl->cid != cid)
		abort();
	done[cid] = 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint32_t bar[0x2000 / 4];
	struct updk_nvme_ctrlr c;
	struct updk_nvme_qpair *qp;
	uint32_t qsize, n_out;

	if (size < 2)
		return 0;
	memset(&c, 0, sizeof(c));
	strcpy(c.name, "fuzz");
	c.bar = (uint8_t *)bar;
	c.bar_len = sizeof(bar);
	c.max_xfer = 4096;
	qsize = 2 + data[0] % 63;
	if (nvme_qpair_create(&c, 1, qsize, &qp))
		return 0;
	n_out = data[1] % qsize; /* at most depth = qsize - 1 */
	memset(done, 0, sizeof(done));
	for (uint32_t i = 0; i < n_out; i++) {
		struct nvme_req *req = nvme_req_get(qp);

		if (!req)
			abort();
		req->cb = cpl_cb;
		req->arg = (void *)(uintptr_t)req->cid;
		req->parent = NULL;
		done[req->cid] = 1;
		nvme_sq_advance(qp, req);
	}
	data += 2;
	size -= 2;
	while (size) {
		size_t n = size < qsize * 16u ? size : qsize * 16u;

		memcpy((void *)qp->cq, data, n);
		data += n;
		size -= n;
		(void)nvme_qpair_poll(qp, 0);
		if (qp->cq_head >= qsize || qp->sq_head >= qsize ||
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
