/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The admin queue: submission (the caller's buffer may be any memory: the transport copies it
 * where it must), synchronous helpers for the control path, the admin poller (completions,
 * timeouts, aborts, events), and the admin commands the core itself issues (NVMe Base 2.0 §5:
 * Set Features Number of Queues, Abort, Get Log Page, Get/Set Features). The transport issues
 * its own (PCIe: Create/Delete I/O queues, Doorbell Buffer Config) through the same calls.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <updk/mem.h>
#include <updk/tsc.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"
#include "drivers/nvme/transport.h"

/* Queue and ring an admin command; its CID in *@cidp when that is not NULL. */
static int admin_submit(struct updk_nvme_ctrlr *c, const struct updk_nvme_cmd *cmd, void *buf,
			uint32_t len, updk_nvme_cb cb, void *arg, uint8_t reqflags, uint16_t *cidp)
{
	struct updk_nvme_qpair *qp = c->adminq;
	/* the caller's memory may be any: the transport copies it where it must */
	struct iovec iov = { buf, len };
	struct nvme_payload pl = {
		.iov = &iov, .iovcnt = 1, .len = len, .flags = NVME_PAYLOAD_COPY
	};
	struct nvme_req *req;
	int rc;

	/* While a reset brings the controller up, only the driver's own commands run. */
	if (c->failed && !c->resetting)
		return -ENXIO;
	if (len > NVME_ADMIN_MAX_XFER || (len && !buf)) {
		log_err("%s: admin command 0x%02x: data length %u (at most %u, with a buffer)",
			c->name, cmd->opc, len, NVME_ADMIN_MAX_XFER);
		return -EINVAL;
	}
	req = nvme_slot_get(qp);
	if (!req) {
		qp->stats.queue_full++;
		return -EAGAIN;
	}
	req->bounce = NULL;
	req->user_buf = NULL;
	rc = qp->ops->submit(qp, req, cmd, &pl);
	if (rc) {
		nvme_slot_put(qp, req);
		return rc;
	}
	nvme_req_start(qp, req, cb, arg, cmd->opc);
	req->flags = reqflags;
	if (cidp)
		*cidp = req->cid;
	/* Admin commands are rare: no batching, the doorbell goes now. */
	qp->ops->ring(qp);
	return 0;
}

int nvme_admin_submit(struct updk_nvme_ctrlr *c, const struct updk_nvme_cmd *cmd, void *buf,
		      uint32_t len, updk_nvme_cb cb, void *arg, uint8_t reqflags)
{
	return admin_submit(c, cmd, buf, len, cb, arg, reqflags, NULL);
}

int updk_nvme_admin_raw(struct updk_nvme_ctrlr *c, const struct updk_nvme_cmd *cmd, void *buf,
			uint32_t len, updk_nvme_cb cb, void *arg)
{
	struct updk_nvme_cmd copy;

	if (!c || !cmd || !cb)
		return -EINVAL;
	copy = *cmd;
	memset(&copy.dptr, 0, sizeof(copy.dptr));
	copy.flags &= 0x3f; /* PSDT 00b: admin commands use PRPs (§4.2, Figure 87) */
	return nvme_admin_submit(c, &copy, buf, len, cb, arg, 0);
}

struct sync_ctx {
	bool done;
	struct updk_nvme_cpl cpl;
};

static void sync_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct sync_ctx *s = arg;

	s->cpl = *cpl;
	s->done = true;
}

/* Find the request of a sync command still outstanding: it must forget our stack. */
static void sync_forget(struct updk_nvme_ctrlr *c, struct sync_ctx *s)
{
	struct updk_nvme_qpair *qp = c->adminq;

	for (uint16_t i = 0; i < qp->depth; i++) {
		struct nvme_req *req = &qp->reqs[i];

		if (req->state == NVME_REQ_OUTSTANDING && req->arg == s) {
			req->cb = NULL;
			req->arg = NULL;
			req->user_buf = NULL;
		}
	}
}

static int sync_wait(struct updk_nvme_ctrlr *c, struct sync_ctx *s, uint64_t limit)
{
	uint64_t start = updk_tsc();
	uint32_t spins = 0;

	while (!s->done) {
		nvme_qpair_poll(c->adminq, 0);
		if (s->done)
			break;
		if ((++spins & 0x3ff) == 0) {
			if (nvme_ctrlr_check_fatal(c))
				return -ENXIO;
			if (updk_tsc() - start > limit)
				return -ETIMEDOUT;
		}
	}
	return 0;
}

int nvme_admin_sync_quiet(struct updk_nvme_ctrlr *c, const struct updk_nvme_cmd *cmd, void *buf,
			  uint32_t len, struct updk_nvme_cpl *cpl)
{
	struct sync_ctx s = { 0 };
	uint16_t cid;
	int rc;

	rc = admin_submit(c, cmd, buf, len, sync_cb, &s, 0, &cid);
	if (rc)
		return rc;
	rc = sync_wait(c, &s, c->admin_timeout_tsc);
	if (rc == -ETIMEDOUT) {
		struct updk_nvme_cmd abort = { .opc = UPDK_NVME_OPC_ABORT };
		struct sync_ctx as = { 0 };

		log_err("%s: admin command 0x%02x (cid %u) timed out: aborting it", c->name,
			cmd->opc, cid);
		c->adminq->stats.timeouts++;
		abort.cdw10 = ((uint32_t)cid << 16) | 0;
		if (nvme_admin_submit(c, &abort, NULL, 0, sync_cb, &as, 0) == 0) {
			c->adminq->stats.aborts_sent++;
			sync_wait(c, &as, c->admin_timeout_tsc);
			if (!as.done)
				sync_forget(c, &as);
		}
		if (!s.done) {
			sync_forget(c, &s);
			if (nvme_reset_request(c)) {
				log_err("%s: admin command 0x%02x not completed after its abort: the "
					"controller will be reset",
					c->name, cmd->opc);
			} else {
				log_err("%s: admin command 0x%02x not completed after its abort: "
					"controller marked failed, reset it",
					c->name, cmd->opc);
				nvme_ctrlr_mark_failed(c);
			}
			return -ETIMEDOUT;
		}
		rc = 0;
	}
	if (rc) {
		sync_forget(c, &s);
		return rc;
	}
	if (cpl)
		*cpl = s.cpl;
	return updk_nvme_cpl_is_error(&s.cpl) ? -EIO : 0;
}

int updk_nvme_admin_sync(struct updk_nvme_ctrlr *c, const struct updk_nvme_cmd *cmd, void *buf,
			 uint32_t len, struct updk_nvme_cpl *cpl)
{
	struct updk_nvme_cmd copy;
	struct updk_nvme_cpl local;
	int rc;

	if (!c || !cmd)
		return -EINVAL;
	copy = *cmd;
	memset(&copy.dptr, 0, sizeof(copy.dptr));
	copy.flags &= 0x3f;
	rc = nvme_admin_sync_quiet(c, &copy, buf, len, &local);
	if (rc == -EIO) {
		char what[48];

		snprintf(what, sizeof(what), "admin command 0x%02x", cmd->opc);
		nvme_log_cpl(c, what, &local);
	}
	if (cpl && (rc == 0 || rc == -EIO))
		*cpl = local;
	return rc;
}

int nvme_identify(struct updk_nvme_ctrlr *c, uint8_t cns, uint32_t nsid, void *buf)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_IDENTIFY, .nsid = nsid, .cdw10 = cns };
	struct updk_nvme_cpl cpl;
	int rc = nvme_admin_sync_quiet(c, &cmd, buf, 4096, &cpl);

	if (rc == -EIO) {
		char what[48];

		snprintf(what, sizeof(what), "Identify CNS %u nsid %u", cns, nsid);
		nvme_log_cpl(c, what, &cpl);
	}
	return rc;
}

int updk_nvme_ctrlr_get_log_page(struct updk_nvme_ctrlr *c, uint8_t lid, uint32_t nsid, void *buf,
				 uint32_t len, uint64_t offset, updk_nvme_cb cb, void *arg)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_GET_LOG_PAGE, .nsid = nsid };
	uint32_t numd;

	if (!c || !buf || !cb || len < 4 || (len & 3) || (offset & 3)) {
		log_err("%s: get log page 0x%02x: length %u and offset %llu must be non-zero "
			"multiples of 4, with a buffer and a callback",
			c ? c->name : "nvme", lid, len, (unsigned long long)offset);
		return -EINVAL;
	}
	/* NUMD is 0's based dwords, split NUMDL (CDW10 31:16) / NUMDU (CDW11 15:0) (§5.16) */
	numd = len / 4 - 1;
	cmd.cdw10 = ((numd & 0xffff) << 16) | lid;
	cmd.cdw11 = numd >> 16;
	cmd.cdw12 = (uint32_t)offset;
	cmd.cdw13 = (uint32_t)(offset >> 32);
	return nvme_admin_submit(c, &cmd, buf, len, cb, arg, 0);
}

int updk_nvme_ctrlr_get_feature(struct updk_nvme_ctrlr *c, uint8_t fid, uint32_t cdw11, void *buf,
				uint32_t len, updk_nvme_cb cb, void *arg)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_GET_FEATURES,
				     .cdw10 = fid,
				     .cdw11 = cdw11 };

	if (!c || !cb)
		return -EINVAL;
	return nvme_admin_submit(c, &cmd, buf, len, cb, arg, 0);
}

int updk_nvme_ctrlr_set_feature(struct updk_nvme_ctrlr *c, uint8_t fid, uint32_t cdw11,
				uint32_t cdw12, void *buf, uint32_t len, updk_nvme_cb cb, void *arg)
{
	struct updk_nvme_cmd cmd = {
		.opc = UPDK_NVME_OPC_SET_FEATURES, .cdw10 = fid, .cdw11 = cdw11, .cdw12 = cdw12
	};

	if (!c || !cb)
		return -EINVAL;
	return nvme_admin_submit(c, &cmd, buf, len, cb, arg, 0);
}

/* Set Features Number of Queues (§5.27.1.5): CDW11 NCQR 31:16, NSQR 15:0, 0's based. */
int nvme_set_num_queues(struct updk_nvme_ctrlr *c)
{
	uint32_t want = c->opts.num_io_queues ? c->opts.num_io_queues : 64;
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_SET_FEATURES,
				     .cdw10 = UPDK_NVME_FEAT_NUMBER_OF_QUEUES };
	struct updk_nvme_cpl cpl;
	uint32_t nsq, ncq, got;
	int rc;

	if (want > 65535)
		want = 65535;
	cmd.cdw11 = ((want - 1) << 16) | (want - 1);
	rc = nvme_admin_sync_quiet(c, &cmd, NULL, 0, &cpl);
	if (rc) {
		if (rc == -EIO)
			nvme_log_cpl(c, "Set Features Number of Queues", &cpl);
		return rc;
	}
	nsq = (cpl.cdw0 & 0xffff) + 1;
	ncq = (cpl.cdw0 >> 16) + 1;
	got = nsq < ncq ? nsq : ncq;
	if (got > want)
		got = want;
	c->max_qpairs = got;
	return 0;
}

static void abort_done(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct updk_nvme_ctrlr *c = arg;

	/* CDW0 bit 0 set: the command was not aborted (§5.1, Figure 142) */
	log_warn("%s: Abort: %s%s", c->name,
		 updk_nvme_cpl_is_error(cpl) ?
			 updk_nvme_status_str(updk_nvme_cpl_sct(cpl), updk_nvme_cpl_sc(cpl)) :
			 "completed",
		 !updk_nvme_cpl_is_error(cpl) && (cpl->cdw0 & 1) ? " (command not aborted)" : "");
}

/* Send the Abort commands the qpairs' owners asked for (§5.1: CDW10 CID 31:16, SQID 15:0). */
void nvme_abort_timed_out(struct updk_nvme_ctrlr *c)
{
	for (struct updk_nvme_qpair *qp = c->adminq; qp;
	     qp = qp == c->adminq ? c->qpairs : qp->next) {
		uint32_t cid = __atomic_exchange_n(&qp->abort_cid, NVME_CID_NONE, __ATOMIC_ACQUIRE);
		struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_ABORT };

		if (cid == NVME_CID_NONE)
			continue;
		cmd.cdw10 = (cid << 16) | qp->qid;
		if (nvme_admin_submit(c, &cmd, NULL, 0, abort_done, c, 0) == 0) {
			c->adminq->stats.aborts_sent++;
		} else {
			uint32_t none = NVME_CID_NONE;

			/* admin queue full: ask again at the next poll, unless the slot was
			 * taken meanwhile (that command then goes on to the reset) */
			__atomic_compare_exchange_n(&qp->abort_cid, &none, cid, false,
						    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
		}
	}
}

int updk_nvme_admin_process_completions(struct updk_nvme_ctrlr *c)
{
	int n;

	/* failed, or an automatic reset waiting for the qpairs' threads */
	if (c->failed)
		return nvme_reset_poll(c);
	n = nvme_qpair_poll(c->adminq, 0);
	if ((++c->adminq->polls & 0x3f) == 0 && nvme_ctrlr_check_fatal(c))
		return -ENXIO;
	nvme_qpair_check_timeouts(c->adminq);
	nvme_abort_timed_out(c);
	nvme_aer_handle(c);
	if (NVME_UNLIKELY(__atomic_load_n(&c->reset_request, __ATOMIC_RELAXED)) && !c->failed) {
		int rc = nvme_reset_poll(c);

		return rc ? rc : n;
	}
	return c->failed ? -ENXIO : n;
}
