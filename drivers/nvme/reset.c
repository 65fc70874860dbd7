/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Controller reset (NVMe Base 2.0 §3.7.2 Controller Reset: CC.EN 1 -> 0 deletes every queue
 * and loses the controller's state). The driver disables the controller first, so it writes no
 * more into our memory, then completes every outstanding command with Command Aborted By Host,
 * brings the controller up again and recreates each qpair with the same id and depth.
 */
#include <errno.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"

int updk_nvme_ctrlr_reset(struct updk_nvme_ctrlr *c)
{
	int rc;

	if (!c)
		return -EINVAL;
	c->resets++;
	log_info("%s: resetting the controller", c->name);
	rc = nvme_ctrlr_disable(c);
	if (rc) {
		log_err("%s: reset: the controller does not become disabled: %s", c->name,
			rc == -ETIMEDOUT ? "timed out" : "gone");
		c->failed = true;
		/* its memory may still be in use by the device: fail commands, keep memory */
		nvme_qpair_fail_all(c->adminq, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
		for (struct updk_nvme_qpair *qp = c->qpairs; qp; qp = qp->next)
			nvme_qpair_fail_all(qp, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
		return rc;
	}
	/* From here the controller holds no queue: complete everything from the host side. */
	c->aer_limit = 0;
	c->failed = true; /* callbacks that submit again get -ENXIO, not a lost slot */
	nvme_qpair_fail_all(c->adminq, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
	for (struct updk_nvme_qpair *qp = c->qpairs; qp; qp = qp->next)
		nvme_qpair_fail_all(qp, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
	c->failed = false;
	c->shadow = false;
	rc = nvme_ctrlr_enable(c);
	if (rc == 0)
		rc = nvme_ctrlr_setup(c);
	for (struct updk_nvme_qpair *qp = c->qpairs; qp && rc == 0; qp = qp->next) {
		nvme_qpair_set_shadow(qp);
		qp->sgl = c->sgl;
		qp->sgl_dword = c->sgl_dword;
		nvme_qpair_reset_rings(qp);
		rc = nvme_create_io_queues(qp);
	}
	if (rc) {
		log_err("%s: reset failed (%d): the controller is unusable; close it", c->name, rc);
		nvme_ctrlr_disable(c);
		c->failed = true;
		return rc;
	}
	log_info("%s: reset complete", c->name);
	return 0;
}
