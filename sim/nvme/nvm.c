/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme NVM command set I/O commands (NVM Command Set 1.0 §3): Flush, Write, Read,
 * Compare, Write Zeroes, Dataset Management; with the namespace, LBA range and MDTS checks
 * before any data moves. Metadata and protection information are meta.c's, zones zns.c's
 * (Zone Append is a Write at the zone's write pointer).
 */
#include <string.h>

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

enum {
	NVM_FLUSH = 0x00,
	NVM_WRITE = 0x01,
	NVM_READ = 0x02,
	NVM_COMPARE = 0x05,
	NVM_WRITE_ZEROES = 0x08,
	NVM_DSM = 0x09,
	ZNS_MGMT_SEND = 0x79, /* ZNS 1.1 §3.4 */
	ZNS_MGMT_RECV = 0x7a,
	ZNS_APPEND = 0x7d,
};

/* Valid NSID but not attached: Invalid Field; outside 1..NN: Invalid Namespace (§3.2.1). */
static uint16_t ns_check(struct nvme_ctrl *c, uint32_t nsid, struct nvme_ns **ns)
{
	if (nsid == 0 || nsid > c->nns)
		return NVME_SC_INVALID_NS;
	*ns = ns_get(c, nsid);
	return *ns ? 0 : NVME_SC_INVALID_FIELD;
}

static bool lba_range_ok(const struct nvme_ns *ns, uint64_t slba, uint64_t nlb)
{
	return slba < ns->nsze && nlb <= ns->nsze - slba;
}

/* Read, Write, Compare: SLBA in CDW10-11, NLB (0-based) in CDW12 15:0, FUA in bit 30. */
static uint16_t rw(struct nvme_ctrl *c, const struct nvme_sqe *cmd, struct nvme_ns *ns)
{
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	uint64_t nlb = (cmd->cdw12 & 0xffff) + 1, len = nlb << c->lbads;
	uint8_t *data;
	unsigned nseg;
	uint16_t st;

	if (!c->fmt.ms && len > c->max_xfer)
		return NVME_SC_INVALID_FIELD;
	if (!lba_range_ok(ns, slba, nlb))
		return NVME_SC_LBA_RANGE;
	if (c->fmt.zoned) {
		st = cmd->opc == NVM_WRITE ? zns_write_check(c, ns, slba, nlb, false) :
					     zns_read_check(c, ns, slba, nlb);
		if (st)
			return st;
	}
	if (c->fmt.ms) {
		st = meta_rw(c, cmd, ns);
		if (!st && c->fmt.zoned && cmd->opc == NVM_WRITE)
			zns_write_done(c, ns, slba, nlb);
		return st;
	}
	st = dptr_map(c, cmd, len, false, &nseg);
	if (st)
		return st;
	data = ns->data + (slba << c->lbads);
	switch (cmd->opc) {
	case NVM_WRITE: /* FUA needs nothing more: RAM is the medium */
		dptr_from_host(c, nseg, data);
		c->units_written += len >> 9;
		c->host_writes++;
		if (c->fmt.zoned)
			zns_write_done(c, ns, slba, nlb);
		return 0;
	case NVM_READ:
		dptr_to_host(c, nseg, data);
		c->units_read += len >> 9;
		c->host_reads++;
		return 0;
	default: /* Compare */
		c->units_read += len >> 9;
		c->host_reads++;
		for (unsigned i = 0; i < nseg; i++) {
			if (memcmp(c->segs[i].va, data, c->segs[i].len))
				return NVME_SC_COMPARE_FAILED;
			data += c->segs[i].len;
		}
		return 0;
	}
}

/* Write Zeroes: SLBA, NLB as Write; DEAC (CDW12 bit 25) changes nothing visible here. */
static uint16_t write_zeroes(struct nvme_ctrl *c, const struct nvme_sqe *cmd, struct nvme_ns *ns)
{
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	uint64_t nlb = (cmd->cdw12 & 0xffff) + 1;

	uint16_t st;

	if (!lba_range_ok(ns, slba, nlb))
		return NVME_SC_LBA_RANGE;
	if (c->fmt.zoned) {
		st = zns_write_check(c, ns, slba, nlb, false);
		if (st)
			return st;
	}
	/* Zeroes, and metadata as never written (its PI switches the checks off) */
	ns_zero_blocks(c, ns, slba, nlb);
	if (c->fmt.zoned)
		zns_write_done(c, ns, slba, nlb);
	return 0;
}

/* Zone Append: a Write into the zone CDW10-11 names, at its write pointer; DW0-1 the LBA. */
static uint16_t zone_append(struct nvme_ctrl *c, const struct nvme_sqe *cmd, struct nvme_ns *ns,
			    uint64_t *dw)
{
	uint64_t zslba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	uint64_t nlb = (cmd->cdw12 & 0xffff) + 1;
	uint64_t limit = c->fmt.zasl ? 4096ull << c->fmt.zasl : c->max_xfer;
	struct nvme_sqe w = *cmd;
	uint16_t st;

	if (nlb << c->lbads > limit) /* ZASL, ZNS 1.1 Identify Controller */
		return NVME_SC_INVALID_FIELD;
	st = zns_write_check(c, ns, zslba, nlb, true);
	if (st)
		return st;
	*dw = zns_zone(c, ns, zslba)->wp;
	w.opc = NVM_WRITE;
	w.cdw10 = (uint32_t)*dw;
	w.cdw11 = (uint32_t)(*dw >> 32);
	return rw(c, &w, ns);
}

/* Dataset Management: NR (0-based) ranges of 16 bytes; AD (CDW11 bit 2) deallocates. */
static uint16_t dsm(struct nvme_ctrl *c, const struct nvme_sqe *cmd, struct nvme_ns *ns)
{
	struct dsm_range {
		uint32_t attr;
		uint32_t nlb;
		uint64_t slba;
	} r[256];
	unsigned nr = (cmd->cdw10 & 0xff) + 1, nseg;
	uint16_t st;

	st = dptr_map(c, cmd, nr * sizeof(r[0]), false, &nseg);
	if (st)
		return st;
	dptr_from_host(c, nseg, (uint8_t *)r);
	for (unsigned i = 0; i < nr; i++)
		if (r[i].nlb && !lba_range_ok(ns, r[i].slba, r[i].nlb))
			return NVME_SC_LBA_RANGE;
	if (cmd->cdw11 & (1u << 2))
		for (unsigned i = 0; i < nr; i++)
			if (r[i].nlb)
				ns_zero_blocks(c, ns, r[i].slba, r[i].nlb);
	return 0;
}

static uint16_t nvm_cmd(struct nvme_ctrl *c, const struct nvme_sqe *cmd, uint64_t *dw)
{
	struct nvme_ns *ns = NULL;
	uint16_t st;

	switch (cmd->opc) {
	case NVM_FLUSH:
	case NVM_WRITE:
	case NVM_READ:
	case NVM_COMPARE:
	case NVM_WRITE_ZEROES:
	case NVM_DSM:
		break;
	case ZNS_MGMT_SEND:
	case ZNS_MGMT_RECV:
	case ZNS_APPEND:
		/* the Zoned Namespace set's commands, once CC.CSS enabled every set */
		if (c->fmt.zoned && NVME_CC_CSS(c->cc) == NVME_CC_CSS_ALL)
			break;
		return NVME_SC_INVALID_OPCODE;
	default:
		return NVME_SC_INVALID_OPCODE;
	}
	if (cmd->flags & 3) /* fused operations: FUSES is 0 */
		return NVME_SC_INVALID_FIELD;
	/* Flush to FFFFFFFFh covers every namespace (Identify VWC bits 2:1 = 11b). */
	if (cmd->opc == NVM_FLUSH && cmd->nsid == 0xffffffff)
		return 0;
	st = ns_check(c, cmd->nsid, &ns);
	if (st)
		return st;
	switch (cmd->opc) {
	case NVM_FLUSH:
		return 0;
	case NVM_WRITE_ZEROES:
		return write_zeroes(c, cmd, ns);
	case NVM_DSM:
		return dsm(c, cmd, ns);
	case ZNS_MGMT_SEND:
		return zns_mgmt_send(c, cmd, ns);
	case ZNS_MGMT_RECV:
		return zns_mgmt_recv(c, cmd, ns);
	case ZNS_APPEND:
		return zone_append(c, cmd, ns, dw);
	default:
		return rw(c, cmd, ns);
	}
}

void nvm_exec(struct nvme_ctrl *c, struct nvme_sq *sq, const struct nvme_sqe *cmd)
{
	uint64_t dw = 0;
	uint16_t st = nvm_cmd(c, cmd, &dw);

	c->st.io_cmds[cmd->opc]++;
	if (st)
		errlog_add(c, sq->qid, cmd, st);
	queue_complete(c, sq, cmd->cid, st, st ? 0 : dw);
}
