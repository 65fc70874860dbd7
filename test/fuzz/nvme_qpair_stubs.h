/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stand-ins for what drivers/nvme/qpair.c calls in the rest of the core, for the fuzz targets
 * that include it to drive one I/O qpair by itself (nvme_cpl, nvme_tcp_host): no admin queue,
 * no reset, no split I/O, no interrupts. What such a target never reaches aborts, so a path
 * that starts reaching it is seen.
 */
#ifndef FUZZ_NVME_QPAIR_STUBS_H
#define FUZZ_NVME_QPAIR_STUBS_H

#include <stdlib.h>

void updk_mem_quiescent(void)
{
}

/* lib/util's TSC rate, for the log's one-second window */
uint64_t updk_tsc_hz(void)
{
	return 1000000000;
}

/* admin.c and status.c: the queue's creation on a controller, which these targets have not. */
int nvme_admin_sync_quiet(struct updk_nvme_ctrlr *ctrlr, const struct updk_nvme_cmd *cmd, void *buf,
			  uint32_t len, struct updk_nvme_cpl *cpl)
{
	abort();
}

void nvme_log_cpl(const struct updk_nvme_ctrlr *ctrlr, const char *what,
		  const struct updk_nvme_cpl *cpl)
{
	abort();
}

/* reset.c: reached only from timeouts and a failed controller, which these targets never have. */
bool nvme_reset_request(struct updk_nvme_ctrlr *ctrlr)
{
	abort();
}

void nvme_qpair_reset_ack(struct updk_nvme_qpair *qp)
{
	abort();
}

void nvme_ctrlr_mark_failed(struct updk_nvme_ctrlr *ctrlr)
{
	abort();
}

/* split.c: these targets submit single commands, so no I/O is split and no child waits. */
int nvme_split_init(struct updk_nvme_qpair *qp, uint32_t n)
{
	return 0;
}

void nvme_split_fini(struct updk_nvme_qpair *qp)
{
}

void nvme_split_pump(struct updk_nvme_qpair *qp)
{
}

void nvme_split_fail_waiting(struct updk_nvme_qpair *qp, uint8_t sct, uint8_t sc)
{
}

void nvme_split_parent_done(struct updk_nvme_qpair *qp, struct nvme_req *parent)
{
	abort();
}

int nvme_split_next(struct updk_nvme_qpair *qp, struct nvme_req *parent,
		    const struct updk_nvme_cpl *cpl)
{
	abort();
}

/* intr.c: wakes a sleeping owner after a timeout's Abort; these targets' qpairs poll. */
void nvme_intr_kick(struct updk_nvme_ctrlr *ctrlr, int32_t iv)
{
	abort();
}

#endif
