/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * I/O queue pairs as the application sees them: allocation (queue id, the transport's qpair,
 * created on the controller: PCIe's Create I/O CQ and SQ) and release (deleted on the
 * controller: PCIe's Delete I/O SQ and CQ, NVMe Base 2.0 §5.6, §5.7; then what is left is
 * failed).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"
#include "drivers/nvme/transport.h"

int updk_nvme_qpair_alloc(struct updk_nvme_ctrlr *c, const struct updk_nvme_qpair_opts *opts,
			  struct updk_nvme_qpair **qpp)
{
	struct updk_nvme_qpair_opts o = { 0 };
	struct updk_nvme_qpair *qp;
	uint32_t mqes, depth;
	uint16_t qid;
	int rc;

	if (!c || !qpp) {
		log_err("updk_nvme_qpair_alloc: controller and result pointer are required");
		return -EINVAL;
	}
	*qpp = NULL;
	if (opts) {
		if (opts->opts_size == 0 || opts->opts_size > 4096) {
			log_err("%s: qpair opts->opts_size must be sizeof(struct "
				"updk_nvme_qpair_opts)",
				c->name);
			return -EINVAL;
		}
		memcpy(&o, opts, opts->opts_size < sizeof(o) ? opts->opts_size : sizeof(o));
	}
	if (c->failed)
		return -ENXIO;
	mqes = NVME_CAP_MQES(c->cap);
	depth = o.depth ? o.depth : 127;
	if (!o.depth && depth > mqes)
		depth = mqes;
	if (depth > mqes || depth > 65534) {
		log_err("%s: qpair depth %u is above the controller's limit %u (CAP.MQES)", c->name,
			depth, mqes);
		return -EINVAL;
	}
	for (qid = 1; qid <= c->max_qpairs; qid++)
		if (!c->qid_used[qid])
			break;
	if (qid > c->max_qpairs) {
		log_err("%s: all %u I/O queue pairs are in use", c->name, c->max_qpairs);
		return -EBUSY;
	}
	rc = nvme_qpair_create(c, qid, depth + 1, &qp);
	if (rc)
		return rc;
	rc = nvme_intr_assign(qp, o.interrupts);
	if (!rc)
		rc = c->ops->qpair_connect(qp);
	if (rc) {
		nvme_intr_release(qp);
		nvme_qpair_destroy(qp);
		return rc;
	}
	c->qid_used[qid] = 1;
	qp->next = c->qpairs;
	c->qpairs = qp;
	*qpp = qp;
	return 0;
}

void updk_nvme_qpair_free(struct updk_nvme_qpair *qp)
{
	struct updk_nvme_ctrlr *c;
	struct updk_nvme_qpair **pp;

	if (!qp)
		return;
	c = qp->ctrlr;
	if (qp->freed) {
		log_err("%s: updk_nvme_qpair_free: queue %u was freed already", c->name, qp->qid);
		return;
	}
	for (pp = &c->qpairs; *pp && *pp != qp; pp = &(*pp)->next)
		;
	if (!*pp) {
		log_err("%s: updk_nvme_qpair_free: not a qpair of this controller (freed twice?)",
			c->name);
		return;
	}
	*pp = qp->next;
	qp->dead = true;
	nvme_qp_set_inline(qp, false);
	/* Deleting the SQ makes the controller complete or drop what it still holds (§5.7). */
	if (!c->failed) {
		qp->ops->ring(qp);
		c->ops->qpair_disconnect(qp);
		/* completions it posted before the deletion */
		nvme_qpair_poll(qp, 0);
	}
	nvme_qpair_fail_all(qp, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
	c->qid_used[qp->qid] = 0;
	nvme_intr_release(qp);
	nvme_stats_add(&c->freed_stats, &qp->stats);
	nvme_qpair_retire(qp);
}
