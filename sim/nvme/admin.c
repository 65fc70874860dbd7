/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme admin commands (NVMe Base 2.0 §5): queue creation and deletion, features, Abort,
 * Asynchronous Event Request, Doorbell Buffer Config. Identify and Get Log Page have their
 * own files.
 */
#include <string.h>

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

enum {
	ADM_DELETE_SQ = 0x00,
	ADM_CREATE_SQ = 0x01,
	ADM_GET_LOG = 0x02,
	ADM_DELETE_CQ = 0x04,
	ADM_CREATE_CQ = 0x05,
	ADM_IDENTIFY = 0x06,
	ADM_ABORT = 0x08,
	ADM_SET_FEATURES = 0x09,
	ADM_GET_FEATURES = 0x0a,
	ADM_AER = 0x0c,
	ADM_DBBUF = 0x7c,
};

/* Feature identifiers, §5.27.1 */
enum {
	FEAT_ARB = 0x01,
	FEAT_PM = 0x02,
	FEAT_TEMP = 0x04,
	FEAT_ERR = 0x05,
	FEAT_VWC = 0x06,
	FEAT_NQ = 0x07,
	FEAT_COAL = 0x08,
	FEAT_IVC = 0x09,
	FEAT_WAN = 0x0a,
	FEAT_AEC = 0x0b,
};

/* Create I/O Completion Queue, §5.4: CDW10 QSIZE|QID, CDW11 IV|IEN|PC. */
static uint16_t create_cq(struct nvme_ctrl *c, const struct nvme_sqe *cmd)
{
	uint16_t qid = cmd->cdw10 & 0xffff;
	uint32_t size = (cmd->cdw10 >> 16) + 1;
	bool pc = cmd->cdw11 & 1, ien = cmd->cdw11 & 2;

	if (qid == 0 || qid > c->ncqa + 1u || c->cq[qid].live)
		return NVME_SC_QID_INVALID;
	if (size < 2 || size > c->mqes + 1u)
		return NVME_SC_QUEUE_SIZE;
	if (!pc)
		return NVME_SC_INVALID_FIELD; /* CAP.CQR: queues must be contiguous */
	if (intr_check_vector(c, ien, cmd->cdw11 >> 16))
		return NVME_SC_INVALID_VECTOR; /* beyond the vectors the function offers */
	if (cmd->prp1 & (c->mps - 1))
		return NVME_SC_PRP_INVALID_OFFSET;
	if (queue_make_cq(c, qid, size, cmd->prp1)) {
		c->st.dma_faults++;
		return NVME_SC_DATA_XFER_ERROR;
	}
	c->cq[qid].ien = ien;
	c->cq[qid].iv = ien ? (uint16_t)(cmd->cdw11 >> 16) : 0;
	c->io_queues_made = true;
	return 0;
}

/* Create I/O Submission Queue, §5.5: CDW10 QSIZE|QID, CDW11 CQID|QPRIO|PC. */
static uint16_t create_sq(struct nvme_ctrl *c, const struct nvme_sqe *cmd)
{
	uint16_t qid = cmd->cdw10 & 0xffff, cqid = cmd->cdw11 >> 16;
	uint32_t size = (cmd->cdw10 >> 16) + 1;

	if (qid == 0 || qid > c->nsqa + 1u || c->sq[qid].live)
		return NVME_SC_QID_INVALID;
	if (size < 2 || size > c->mqes + 1u)
		return NVME_SC_QUEUE_SIZE;
	if (!(cmd->cdw11 & 1))
		return NVME_SC_INVALID_FIELD;
	if (cqid == 0 || cqid > c->nqpairs || !c->cq[cqid].live)
		return NVME_SC_CQ_INVALID;
	if (cmd->prp1 & (c->mps - 1))
		return NVME_SC_PRP_INVALID_OFFSET;
	if (queue_make_sq(c, qid, cqid, size, cmd->prp1)) {
		c->st.dma_faults++;
		return NVME_SC_DATA_XFER_ERROR;
	}
	c->io_queues_made = true;
	return 0;
}

static uint16_t delete_sq(struct nvme_ctrl *c, const struct nvme_sqe *cmd)
{
	uint16_t qid = cmd->cdw10 & 0xffff;

	if (qid == 0 || qid > c->nqpairs || !c->sq[qid].live)
		return NVME_SC_QID_INVALID;
	queue_delete_sq(c, qid);
	return 0;
}

static uint16_t delete_cq(struct nvme_ctrl *c, const struct nvme_sqe *cmd)
{
	uint16_t qid = cmd->cdw10 & 0xffff;

	if (qid == 0 || qid > c->nqpairs || !c->cq[qid].live)
		return NVME_SC_QID_INVALID;
	if (c->cq[qid].nsq)
		return NVME_SC_INVALID_QUEUE_DELETION; /* an SQ still completes into it (§5.7) */
	queue_delete_cq(c, qid);
	return 0;
}

/* Feature values after a controller reset (§5.27.1: no feature is saveable here). */
static uint32_t feat_default(const struct nvme_ctrl *c, uint8_t fid)
{
	switch (fid) {
	case FEAT_ARB:
		return 3;
	case FEAT_TEMP:
		return 343;
	case FEAT_VWC:
		return 1;
	case FEAT_NQ:
		return (c->nqpairs - 1u) | (uint32_t)(c->nqpairs - 1u) << 16;
	default:
		return 0;
	}
}

static uint32_t *feat_slot(struct nvme_ctrl *c, uint8_t fid)
{
	switch (fid) {
	case FEAT_ARB:
		return &c->feat_arb;
	case FEAT_PM:
		return &c->feat_pm;
	case FEAT_TEMP:
		return &c->feat_temp;
	case FEAT_ERR:
		return &c->feat_err;
	case FEAT_VWC:
		return &c->feat_vwc;
	case FEAT_COAL:
		return &c->feat_coal;
	case FEAT_WAN:
		return &c->feat_wan;
	case FEAT_AEC:
		return &c->feat_aec;
	default:
		return NULL;
	}
}

static uint16_t set_features(struct nvme_ctrl *c, const struct nvme_sqe *cmd, uint32_t *dw0)
{
	uint8_t fid = cmd->cdw10 & 0xff;
	uint32_t v = cmd->cdw11, *slot;

	if (cmd->cdw10 >> 31)
		return NVME_SC_FEAT_NOT_SAVEABLE; /* SV: ONCS "save" is not supported */
	switch (fid) {
	case FEAT_NQ: { /* §5.27.1.5: 0-based counts, granted up to what the model has */
		uint32_t nsqr = v & 0xffff, ncqr = v >> 16;

		if (nsqr == 0xffff || ncqr == 0xffff)
			return NVME_SC_INVALID_FIELD;
		if (c->io_queues_made)
			return NVME_SC_CMD_SEQ_ERROR;
		c->nsqa = nsqr < c->nqpairs - 1u ? (uint16_t)nsqr : c->nqpairs - 1u;
		c->ncqa = ncqr < c->nqpairs - 1u ? (uint16_t)ncqr : c->nqpairs - 1u;
		*dw0 = c->nsqa | (uint32_t)c->ncqa << 16;
		return 0;
	}
	case FEAT_PM:
		if (v & 0x1f) /* NPSS 0: power state 0 only */
			return NVME_SC_INVALID_FIELD;
		break;
	case FEAT_TEMP:
		if (v & 0x003f0000) /* composite temperature, over-temperature threshold only */
			return NVME_SC_INVALID_FIELD;
		v &= 0xffff;
		break;
	case FEAT_IVC: /* §5.27.1.8: Coalescing Disable of one vector */
		return intr_set_ivc(c, v);
	case FEAT_VWC:
		v &= 1;
		break;
	default:
		break;
	}
	slot = feat_slot(c, fid);
	if (!slot)
		return NVME_SC_INVALID_FIELD;
	*slot = v;
	return 0;
}

static uint16_t get_features(struct nvme_ctrl *c, const struct nvme_sqe *cmd, uint32_t *dw0)
{
	uint8_t fid = cmd->cdw10 & 0xff;
	unsigned sel = (cmd->cdw10 >> 8) & 7;
	uint32_t *slot = feat_slot(c, fid);

	if (!slot && fid != FEAT_NQ && fid != FEAT_IVC)
		return NVME_SC_INVALID_FIELD;
	switch (sel) {
	case 0: /* current */
		if (fid == FEAT_NQ)
			*dw0 = c->nsqa | (uint32_t)c->ncqa << 16;
		else if (fid == FEAT_IVC)
			*dw0 = intr_get_ivc(c, cmd->cdw11);
		else
			*dw0 = *slot;
		return 0;
	case 1: /* default */
	case 2: /* saved: nothing is saveable, so the default (§5.15.1) */
		*dw0 = fid == FEAT_IVC ? (cmd->cdw11 & 0xffff) : feat_default(c, fid);
		return 0;
	case 3: /* supported capabilities: changeable, not saveable, not per namespace */
		*dw0 = 1u << 2;
		return 0;
	default:
		return NVME_SC_INVALID_FIELD;
	}
}

/* Doorbell Buffer Config, §5.8: PRP1 shadow doorbells, PRP2 EventIdx, a page each. */
static uint16_t dbbuf_config(struct nvme_ctrl *c, const struct nvme_sqe *cmd)
{
	uint32_t *shadow, *ei;

	if (!cmd->prp1 || !cmd->prp2 || (cmd->prp1 & (c->mps - 1)) || (cmd->prp2 & (c->mps - 1)))
		return NVME_SC_INVALID_FIELD;
	shadow = sim_dma_ptr(c->sd, cmd->prp1, c->mps);
	ei = sim_dma_ptr(c->sd, cmd->prp2, c->mps);
	if (!shadow || !ei) {
		c->st.dma_faults++;
		return NVME_SC_DATA_XFER_ERROR;
	}
	queue_dbbuf_enable(c, shadow, ei);
	return 0;
}

void admin_exec(struct nvme_ctrl *c, struct nvme_sq *sq, const struct nvme_sqe *cmd)
{
	uint32_t dw0 = 0;
	uint16_t st;

	c->st.admin_cmds[cmd->opc]++;
	if (cmd->flags & 3) { /* fused operations: FUSES is 0 */
		st = NVME_SC_INVALID_FIELD;
		goto out;
	}
	switch (cmd->opc) {
	case ADM_DELETE_SQ:
		st = delete_sq(c, cmd);
		break;
	case ADM_CREATE_SQ:
		st = create_sq(c, cmd);
		break;
	case ADM_GET_LOG:
		st = admin_get_log(c, cmd);
		break;
	case ADM_DELETE_CQ:
		st = delete_cq(c, cmd);
		break;
	case ADM_CREATE_CQ:
		st = create_cq(c, cmd);
		break;
	case ADM_IDENTIFY:
		st = admin_identify(c, cmd);
		break;
	case ADM_ABORT: /* §5.1: DW0 bit 0 set when the command was not aborted */
		dw0 = queue_abort(c, cmd->cdw10 & 0xffff, cmd->cdw10 >> 16) ? 0 : 1;
		st = 0;
		break;
	case ADM_SET_FEATURES:
		st = set_features(c, cmd, &dw0);
		break;
	case ADM_GET_FEATURES:
		st = get_features(c, cmd, &dw0);
		break;
	case ADM_AER: /* §5.2: held until an event; AERL + 1 at most */
		if (c->naer == SIM_NVME_AERL + 1) {
			st = NVME_SC_AER_LIMIT;
			break;
		}
		c->aer_cid[c->naer++] = cmd->cid;
		queue_aen_kick(c);
		return;
	case ADM_DBBUF:
		/* not offered (OACS bit 8 clear): an opcode the controller does not have */
		st = c->no_dbbuf ? NVME_SC_INVALID_OPCODE : dbbuf_config(c, cmd);
		break;
	default:
		st = NVME_SC_INVALID_OPCODE;
		break;
	}
out:
	if (st)
		errlog_add(c, 0, cmd, st);
	queue_complete(c, sq, cmd->cid, st, dw0);
}
