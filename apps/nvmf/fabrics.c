// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf: the Fabrics commands (NVMe Base 2.0 chapter 6). Connect makes or joins a
 * controller; Property Get/Set stand for the PCIe registers (CAP, VS, CC, CSTS);
 * Authentication is not offered (Connect never asks for it) and is refused; Disconnect ends
 * an I/O queue.
 */
#include <string.h>

#include <updk/tsc.h>

#include "apps/nvmf/nvmf.h"

#define CAP_MQES (NVMF_MAX_QUEUE - 1u)
#define CAP_TO 30 /* 15 s, in 500 ms units: how long CC.EN to CSTS.RDY may take */
#define CAP_CSS_NVM (1ull << 37)
#define CAP_CQR (1ull << 16)
#define VS_1_3 0x00010300u

/* CC and CSTS bits (NVMe Base 2.0 §3.1.3.5, §3.1.3.6). */
#define CC_EN 1u
#define CC_SHN_SHIFT 14
#define CSTS_RDY 1u
#define CSTS_SHST_COMPLETE (2u << 2)

static void connect_invalid(struct nvmf_req *r, uint32_t ipo, bool in_data, const char *why)
{
	nvmf_log(UPDK_LOG_WARN, "%s: Connect refused: %s", r->conn->peer, why);
	r->cpl.cdw0 = ipo | (in_data ? UPDK_NVMF_CONNECT_IPO_DATA : 0);
	nvmf_req_fail(r, UPDK_NVME_SCT_CMD_SPECIFIC, UPDK_NVMF_SC_CONNECT_INVALID_PARAMETERS, true);
}

/* The queue is connected: from now on it takes as many commands as it has entries. */
static void queue_live(struct nvmf_conn *c, struct nvmf_ctrlr *ctrlr, uint16_t qid,
		       const struct updk_nvmf_connect_cmd *cc)
{
	c->ctrlr = ctrlr;
	c->qid = qid;
	c->sqsize = cc->sqsize;
	c->sqhd = 1 % (c->sqsize + 1u); /* the Connect took the first entry */
	c->sqflow_off = cc->cattr & UPDK_NVMF_CATTR_DISABLE_SQ_FLOW;
	c->io_gen = atomic_load(&ctrlr->io_gen);
	c->state = CONN_LIVE;
}

static void do_connect(struct nvmf_req *r)
{
	struct nvmf_conn *c = r->conn;
	const struct updk_nvmf_connect_cmd *cc = (const void *)&r->cmd;
	struct updk_nvmf_connect_data *d = r->buf;
	struct nvmf_subsys *s;
	struct nvmf_ctrlr *ctrlr;
	char why[256];

	if (c->state != CONN_WAIT_CONNECT) {
		nvmf_req_fail(r, 0, UPDK_NVME_SC_COMMAND_SEQUENCE_ERROR, true);
		return;
	}
	if (cc->recfmt != 0) {
		r->cpl.cdw0 = __builtin_offsetof(struct updk_nvmf_connect_cmd, recfmt);
		nvmf_req_fail(r, UPDK_NVME_SCT_CMD_SPECIFIC,
			      UPDK_NVMF_SC_CONNECT_INCOMPATIBLE_FORMAT, true);
		return;
	}
	if (!d || r->xfer_len != sizeof(*d)) {
		nvmf_req_fail(r, 0, UPDK_NVME_SC_DATA_SGL_LENGTH_INVALID, true);
		return;
	}
	d->subnqn[UPDK_NVMF_NQN_FIELD - 1] = 0;
	d->hostnqn[UPDK_NVMF_NQN_FIELD - 1] = 0;
	s = nvmf_subsys_find(d->subnqn);
	if (!s) {
		snprintf(why, sizeof(why), "no subsystem %.100s here", d->subnqn);
		connect_invalid(r, __builtin_offsetof(struct updk_nvmf_connect_data, subnqn), true,
				why);
		return;
	}
	if (!nvmf_subsys_host_allowed(s, d->hostnqn)) {
		nvmf_log(UPDK_LOG_WARN, "%s: Connect refused: host %.100s is not allowed in %s",
			 c->peer, d->hostnqn, s->nqn);
		r->cpl.cdw0 = __builtin_offsetof(struct updk_nvmf_connect_data, hostnqn) |
			      UPDK_NVMF_CONNECT_IPO_DATA;
		nvmf_req_fail(r, UPDK_NVME_SCT_CMD_SPECIFIC, UPDK_NVMF_SC_CONNECT_INVALID_HOST,
			      true);
		return;
	}
	if (cc->qid == 0) {
		if (d->cntlid != UPDK_NVMF_CNTLID_DYNAMIC) {
			connect_invalid(
				r, __builtin_offsetof(struct updk_nvmf_connect_data, cntlid), true,
				"controller ID not FFFFh on an admin queue (this "
				"target has dynamic controllers)");
			return;
		}
		if (cc->sqsize < 1 || cc->sqsize >= NVMF_ADMIN_QUEUE) {
			connect_invalid(r, __builtin_offsetof(struct updk_nvmf_connect_cmd, sqsize),
					false, "admin queue size outside 2..32");
			return;
		}
		ctrlr = nvmf_ctrlr_create(s, d->hostnqn, d->hostid, cc->kato);
		if (!ctrlr) {
			nvmf_req_fail(r, UPDK_NVME_SCT_CMD_SPECIFIC,
				      UPDK_NVMF_SC_CONNECT_CONTROLLER_BUSY, false);
			return;
		}
		ctrlr->admin = c; /* keep-alive starts when the host enables the controller */
		queue_live(c, ctrlr, 0, cc);
		r->cpl.cdw0 = ctrlr->cntlid;
		nvmf_log(UPDK_LOG_INFO, "%s: host %s: controller %u of %s (keep-alive %u ms)",
			 c->peer, d->hostnqn, ctrlr->cntlid, s->nqn, cc->kato);
		nvmf_req_complete(r);
		return;
	}
	if (s->discovery) {
		connect_invalid(r, __builtin_offsetof(struct updk_nvmf_connect_cmd, qid), false,
				"an I/O queue on the Discovery controller");
		return;
	}
	ctrlr = nvmf_ctrlr_get(s, d->cntlid, d->hostnqn, d->hostid);
	if (!ctrlr) {
		snprintf(why, sizeof(why), "no controller %u of %.100s for host %.100s", d->cntlid,
			 s->nqn, d->hostnqn);
		connect_invalid(r, __builtin_offsetof(struct updk_nvmf_connect_data, cntlid), true,
				why);
		return;
	}
	if (!atomic_load(&ctrlr->ready)) {
		nvmf_ctrlr_put(ctrlr);
		nvmf_req_fail(r, 0, UPDK_NVME_SC_COMMAND_SEQUENCE_ERROR, true);
		return;
	}
	if (cc->qid > atomic_load(&ctrlr->nr_io_queues) || !nvmf_ctrlr_claim_qid(ctrlr, cc->qid)) {
		nvmf_ctrlr_put(ctrlr);
		connect_invalid(r, __builtin_offsetof(struct updk_nvmf_connect_cmd, qid), false,
				"queue ID not granted or already connected");
		return;
	}
	if (cc->sqsize < 1 || cc->sqsize > CAP_MQES) {
		nvmf_ctrlr_release_qid(ctrlr, cc->qid);
		nvmf_ctrlr_put(ctrlr);
		connect_invalid(r, __builtin_offsetof(struct updk_nvmf_connect_cmd, sqsize), false,
				"I/O queue size outside 2..CAP.MQES+1");
		return;
	}
	queue_live(c, ctrlr, cc->qid, cc);
	r->cpl.cdw0 = ctrlr->cntlid;
	nvmf_req_complete(r);
}

static uint64_t cap(void)
{
	return CAP_MQES | CAP_CQR | (uint64_t)CAP_TO << 24 | CAP_CSS_NVM;
}

/* Property Set (§6.6): CC only. EN 0→1 readies the controller; SHN shuts it down. */
static void prop_set(struct nvmf_req *r)
{
	const struct updk_nvmf_property_cmd *p = (const void *)&r->cmd;
	struct nvmf_ctrlr *c = r->conn->ctrlr;
	uint32_t cc = (uint32_t)p->value;

	if (p->ofst != UPDK_NVMF_PROP_CC || (p->attrib & 7) != 0) {
		nvmf_req_fail(r, 0, UPDK_NVME_SC_INVALID_FIELD, true);
		return;
	}
	if ((cc & CC_EN) && !(c->cc & CC_EN)) {
		c->csts = CSTS_RDY;
		atomic_store(&c->ready, true);
		nvmf_ctrlr_keep_alive(c, r->conn->poller);
	} else if (!(cc & CC_EN) && (c->cc & CC_EN)) {
		/* A Controller Reset (NVMe Base 2.0 §3.7.2): its I/O queues go; the admin queue stays for the host to
		 * read CSTS, until it closes it and connects anew. */
		c->csts = 0;
		atomic_store(&c->ready, false);
		atomic_fetch_add(&c->io_gen, 1);
		c->ka_deadline = 0;
		nvmf_log(UPDK_LOG_INFO, "%s: controller %u reset by the host (CC.EN cleared)",
			 r->conn->peer, c->cntlid);
	}
	if ((cc >> CC_SHN_SHIFT) & 3) {
		/* Writes are acknowledged only once on media (or in the device's cache, which a
		 * Flush empties): nothing is left to do before shutdown is complete. */
		c->csts |= CSTS_SHST_COMPLETE;
		nvmf_log(UPDK_LOG_INFO, "%s: controller %u shut down by the host", r->conn->peer,
			 c->cntlid);
	}
	c->cc = cc;
	nvmf_req_complete(r);
}

/* Property Get (§6.5). */
static void prop_get(struct nvmf_req *r)
{
	const struct updk_nvmf_property_cmd *p = (const void *)&r->cmd;
	struct nvmf_ctrlr *c = r->conn->ctrlr;
	bool wide = (p->attrib & 7) == UPDK_NVMF_PROP_SIZE_8;
	uint64_t v;

	switch (p->ofst) {
	case UPDK_NVMF_PROP_CAP:
		v = cap();
		break;
	case UPDK_NVMF_PROP_VS:
		v = VS_1_3;
		break;
	case UPDK_NVMF_PROP_CC:
		v = c->cc;
		break;
	case UPDK_NVMF_PROP_CSTS:
		v = c->csts;
		break;
	default:
		nvmf_req_fail(r, 0, UPDK_NVME_SC_INVALID_FIELD, true);
		return;
	}
	r->cpl.cdw0 = (uint32_t)v;
	r->cpl.cdw1 = wide ? (uint32_t)(v >> 32) : 0;
	nvmf_req_complete(r);
}

void nvmf_fabrics_exec(struct nvmf_req *r)
{
	const struct updk_nvmf_cmd *f = (const void *)&r->cmd;
	struct nvmf_conn *c = r->conn;

	if (f->fctype == UPDK_NVMF_FCTYPE_CONNECT) {
		do_connect(r);
		return;
	}
	if (c->state != CONN_LIVE) {
		nvmf_req_fail(r, 0, UPDK_NVME_SC_COMMAND_SEQUENCE_ERROR, true);
		return;
	}
	switch (f->fctype) {
	case UPDK_NVMF_FCTYPE_PROPERTY_GET:
		if (c->qid)
			break;
		prop_get(r);
		return;
	case UPDK_NVMF_FCTYPE_PROPERTY_SET:
		if (c->qid)
			break;
		prop_set(r);
		return;
	case UPDK_NVMF_FCTYPE_AUTH_SEND:
	case UPDK_NVMF_FCTYPE_AUTH_RECV:
		/* Connect's response never asked for authentication (AUTHREQ 0): refuse it */
		nvmf_log(UPDK_LOG_INFO, "%s: Authentication refused: this target does not offer it",
			 c->peer);
		break;
	case UPDK_NVMF_FCTYPE_DISCONNECT:
		if (!c->qid)
			break;
		nvmf_req_complete(r);
		nvmf_conn_drain(c);
		return;
	default:
		break;
	}
	nvmf_req_fail(r, 0, UPDK_NVME_SC_INVALID_OPCODE, true);
}

void nvmf_exec(struct nvmf_req *r)
{
	struct nvmf_conn *c = r->conn;

	if (r->cmd.opc == UPDK_NVMF_OPC_FABRICS) {
		nvmf_fabrics_exec(r);
		return;
	}
	if (c->state != CONN_LIVE) {
		nvmf_req_fail(r, 0, UPDK_NVME_SC_COMMAND_SEQUENCE_ERROR, true);
		return;
	}
	if (c->qid)
		nvmf_io_exec(r);
	else
		nvmf_admin_exec(r);
}
