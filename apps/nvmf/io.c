// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf: the NVM commands of a host's I/O queue, carried out on the backing namespace
 * through this poller's qpair of its controller (NVM Command Set 1.0 §3). A write is answered
 * once the backing controller has completed it. A command the qpair cannot take now (full,
 * or its controller resetting) is held and submitted again; one a reset aborted is submitted
 * again once the controller is back. Held longer than HOLD_MAX_S, it fails with Namespace Not
 * Ready, which a host retries.
 */
#include <errno.h>
#include <string.h>

#include "apps/nvmf/nvmf.h"

#define HOLD_MAX_S 20

static struct updk_nvme_qpair *qpair_of(const struct nvmf_req *r)
{
	return r->conn->poller->qp[r->ns->dev->index];
}

static void io_done(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct nvmf_req *r = arg;
	struct nvmf_conn *c = r->conn;

	c->inflight--;
	c->poller->st.ios++;
	c->poller->st.io_tsc += c->poller->now - r->held_since;
	if (c->state == CONN_ZOMBIE) {
		nvmf_req_put(r);
		return;
	}
	/* Aborted by a reset of the backing controller: it comes back, try again then. */
	if (updk_nvme_cpl_sct(cpl) == UPDK_NVME_SCT_PATH &&
	    updk_nvme_cpl_sc(cpl) == UPDK_NVME_SC_ABORTED_BY_HOST &&
	    atomic_load_explicit(&r->ns->dev->state, memory_order_relaxed) != NVMF_DEV_FAILED) {
		r->state = REQ_HELD;
		r->held_since = c->poller->now;
		nvmf_poller_hold(c->poller, r);
		return;
	}
	r->cpl.cdw0 = cpl->cdw0;
	r->cpl.status = cpl->status & 0xfffe; /* no phase tag on a fabric */
	nvmf_req_complete(r);
}

/* Submit to the backing controller: 0, or a negative errno from the driver. */
static int submit(struct nvmf_req *r)
{
	struct updk_nvme_qpair *qp = qpair_of(r);
	const struct updk_nvme_cmd *cmd = &r->cmd;
	struct updk_nvme_ns *ns = r->ns->ns;
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	uint32_t nlb = (cmd->cdw12 & 0xffff) + 1;
	uint32_t flags = cmd->cdw12 & (UPDK_NVME_IO_FUA | UPDK_NVME_IO_LIMITED_RETRY);

	switch (cmd->opc) {
	case UPDK_NVME_OPC_READ:
		return updk_nvme_ns_read(ns, qp, r->buf, slba, nlb, io_done, r, flags);
	case UPDK_NVME_OPC_WRITE:
		return updk_nvme_ns_write(ns, qp, r->buf, slba, nlb, io_done, r, flags);
	case UPDK_NVME_OPC_COMPARE:
		return updk_nvme_ns_compare(ns, qp, r->buf, slba, nlb, io_done, r, flags);
	case UPDK_NVME_OPC_FLUSH:
		return updk_nvme_ns_flush(ns, qp, io_done, r);
	case UPDK_NVME_OPC_WRITE_ZEROES:
		flags |= cmd->cdw12 & UPDK_NVME_IO_DEAC;
		return updk_nvme_ns_write_zeroes(ns, qp, slba, nlb, io_done, r, flags);
	case UPDK_NVME_OPC_DATASET_MANAGEMENT:
		return updk_nvme_ns_deallocate(ns, qp, r->buf, (uint16_t)((cmd->cdw10 & 0xff) + 1),
					       io_done, r);
	default:
		return -ENOTSUP;
	}
}

/* The driver's refusal as a status for the host. */
static void refused(struct nvmf_req *r, int rc)
{
	switch (rc) {
	case -ENODEV:
		nvmf_req_fail(r, 0, UPDK_NVME_SC_INVALID_NAMESPACE, true);
		break;
	case -ENOTSUP:
		nvmf_req_fail(r, 0, UPDK_NVME_SC_INVALID_OPCODE, true);
		break;
	case -EINVAL:
		nvmf_req_fail(r, 0, UPDK_NVME_SC_INVALID_FIELD, true);
		break;
	case -ENXIO: /* the controller failed for good */
		nvmf_req_fail(r, 0, UPDK_NVME_SC_INTERNAL_ERROR, false);
		break;
	default:
		nvmf_req_fail(r, 0, UPDK_NVME_SC_INTERNAL_ERROR, false);
	}
}

static void go(struct nvmf_req *r)
{
	struct nvmf_conn *c = r->conn;
	int rc = submit(r);

	if (rc == 0) {
		r->state = REQ_EXEC;
		c->inflight++;
		return;
	}
	if (rc == -EAGAIN ||
	    (rc == -ENXIO &&
	     atomic_load_explicit(&r->ns->dev->state, memory_order_relaxed) != NVMF_DEV_FAILED)) {
		r->state = REQ_HELD;
		nvmf_poller_hold(c->poller, r);
		return;
	}
	refused(r, rc);
}

void nvmf_io_resubmit(struct nvmf_req *r)
{
	struct nvmf_poller *p = r->conn->poller;

	if (p->now - r->held_since > (uint64_t)HOLD_MAX_S * p->tsc_hz) {
		nvmf_log(UPDK_LOG_WARN, "%s: command %u held %d s while %s was unavailable: failed",
			 r->conn->peer, r->cmd.cid, HOLD_MAX_S, r->ns->dev->addr);
		nvmf_req_fail(r, 0, UPDK_NVME_SC_NAMESPACE_NOT_READY, false);
		return;
	}
	go(r);
}

/* Bytes of data the command moves, as the host must have described them in its SGL. */
static uint64_t data_len(const struct nvmf_req *r)
{
	const struct updk_nvme_cmd *cmd = &r->cmd;

	switch (cmd->opc) {
	case UPDK_NVME_OPC_READ:
	case UPDK_NVME_OPC_WRITE:
	case UPDK_NVME_OPC_COMPARE:
		return (uint64_t)((cmd->cdw12 & 0xffff) + 1) * r->ns->sector_size;
	case UPDK_NVME_OPC_DATASET_MANAGEMENT:
		return ((cmd->cdw10 & 0xff) + 1) * sizeof(struct updk_nvme_dsm_range);
	default:
		return 0;
	}
}

void nvmf_io_exec(struct nvmf_req *r)
{
	const struct nvmf_subsys *s = r->conn->ctrlr->subsys;
	const struct updk_nvme_cmd *cmd = &r->cmd;
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	uint32_t nlb = (cmd->cdw12 & 0xffff) + 1;

	if (cmd->nsid < 1 || cmd->nsid > s->nns) {
		nvmf_req_fail(r, 0, UPDK_NVME_SC_INVALID_NAMESPACE, true);
		return;
	}
	r->ns = (struct nvmf_ns *)&s->ns[cmd->nsid - 1];
	switch (cmd->opc) {
	case UPDK_NVME_OPC_READ:
	case UPDK_NVME_OPC_WRITE:
	case UPDK_NVME_OPC_COMPARE:
	case UPDK_NVME_OPC_WRITE_ZEROES:
		if (slba >= r->ns->nsze || nlb > r->ns->nsze - slba) {
			nvmf_req_fail(r, 0, UPDK_NVME_SC_LBA_OUT_OF_RANGE, true);
			return;
		}
		break;
	case UPDK_NVME_OPC_FLUSH:
		break;
	case UPDK_NVME_OPC_DATASET_MANAGEMENT:
		if (!(cmd->cdw11 & (1u << 2))) { /* no AD: the attributes are only hints */
			nvmf_req_complete(r);
			return;
		}
		break;
	default:
		nvmf_req_fail(r, 0, UPDK_NVME_SC_INVALID_OPCODE, true);
		return;
	}
	if (data_len(r) != r->xfer_len) {
		nvmf_req_fail(r, 0, UPDK_NVME_SC_DATA_SGL_LENGTH_INVALID, true);
		return;
	}
	r->held_since = r->conn->poller->now;
	go(r);
}
