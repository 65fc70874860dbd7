/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme Get Log Page (NVMe Base 2.0 §5.16): Error Information, SMART / Health Information,
 * Firmware Slot Information and Changed Namespace List, with offsets (LPA bit 2).
 */
#include <string.h>

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

#define LID_ERROR 0x01
#define LID_SMART 0x02
#define LID_FW_SLOT 0x03
#define LID_CHANGED_NS 0x04

void errlog_add(struct nvme_ctrl *c, uint16_t sqid, const struct nvme_sqe *cmd, uint16_t status)
{
	struct nvme_err_entry *e = &c->errlog[++c->err_count % (SIM_NVME_ELPE + 1)];
	bool rw = sqid != 0 &&
		  (cmd->opc == 0x01 || cmd->opc == 0x02 || cmd->opc == 0x05 || cmd->opc == 0x08);

	memset(e, 0, sizeof(*e));
	e->count = c->err_count;
	e->sqid = sqid;
	e->cid = cmd->cid;
	e->status = (uint16_t)(status << 1);
	e->param = 0xffff;
	e->lba = rw ? (cmd->cdw10 | (uint64_t)cmd->cdw11 << 32) : 0;
	e->nsid = cmd->nsid;
}

static void put128(uint8_t *p, uint64_t v)
{
	memset(p, 0, 16);
	memcpy(p, &v, 8);
}

/* SMART / Health Information, §5.16.1.3. */
static void smart_log(struct nvme_ctrl *c, uint8_t *d)
{
	uint16_t temp = 313; /* composite temperature, kelvin */

	memcpy(d + 1, &temp, 2);
	d[3] = 100; /* available spare, % */
	d[4] = 10; /* available spare threshold */
	/* Data units are thousands of 512-byte units, rounded up. */
	put128(d + 32, (c->units_read + 999) / 1000);
	put128(d + 48, (c->units_written + 999) / 1000);
	put128(d + 64, c->host_reads);
	put128(d + 80, c->host_writes);
	put128(d + 112, 1); /* power cycles */
	put128(d + 176, c->err_count);
}

/* Build log @lid into c->page; its size in *@size, or a status. */
static uint16_t build_log(struct nvme_ctrl *c, const struct nvme_sqe *cmd, uint8_t lid,
			  uint32_t *size)
{
	uint8_t *d = c->page;

	memset(d, 0, 4096);
	switch (lid) {
	case LID_ERROR: /* newest first; count 0 marks an unused entry */
		for (unsigned i = 0; i <= SIM_NVME_ELPE && i < c->err_count; i++)
			memcpy(d + 64 * i, &c->errlog[(c->err_count - i) % (SIM_NVME_ELPE + 1)],
			       64);
		*size = 64 * (SIM_NVME_ELPE + 1);
		return 0;
	case LID_SMART:
		/* LPA bit 0 is clear: controller-wide only (§5.16.1.3). */
		if (cmd->nsid != 0 && cmd->nsid != 0xffffffff)
			return NVME_SC_INVALID_FIELD;
		smart_log(c, d);
		*size = 512;
		return 0;
	case LID_FW_SLOT: /* §5.16.1.4: slot 1 active, revision as in Identify FR */
		d[0] = 1;
		memcpy(d + 8, "1.0     ", 8);
		*size = 512;
		return 0;
	case LID_CHANGED_NS: /* §5.16.1.5: up to 1024 NSIDs, or FFFFFFFFh first on overflow */
		if (c->nchanged > 1024)
			memset(d, 0xff, 4);
		else
			memcpy(d, c->changed_ns, 4 * c->nchanged);
		*size = 4096;
		return 0;
	default:
		return NVME_SC_INVALID_LOG_PAGE;
	}
}

uint16_t admin_get_log(struct nvme_ctrl *c, const struct nvme_sqe *cmd)
{
	uint8_t lid = cmd->cdw10 & 0xff;
	bool rae = cmd->cdw10 & (1u << 15);
	uint64_t numd = ((uint64_t)(cmd->cdw11 & 0xffff) << 16 | cmd->cdw10 >> 16) + 1;
	uint64_t len = numd * 4, off = cmd->cdw12 | (uint64_t)cmd->cdw13 << 32, copy;
	uint32_t size;
	unsigned nseg;
	uint16_t st;

	st = build_log(c, cmd, lid, &size);
	if (st)
		return st;
	/* MDTS applies; with no MDTS, the longest transfer the segment table holds. */
	if ((off & 3) || off > size || len > c->max_xfer || len > (c->max_segs - 2) * 4096ull)
		return NVME_SC_INVALID_FIELD;
	st = dptr_map(c, cmd, len, true, &nseg);
	if (st)
		return st;
	/* Past the end of the log the host reads zeroes. */
	copy = size - off;
	for (unsigned i = 0; i < nseg; i++) {
		uint32_t l = c->segs[i].len, k = copy < l ? (uint32_t)copy : l;

		memcpy(c->segs[i].va, c->page + off, k);
		memset(c->segs[i].va + k, 0, l - k);
		off += k;
		copy -= k;
	}
	/* Reading the log (without Retain Asynchronous Event) re-arms its event (§5.2). */
	if (!rae && lid == LID_ERROR)
		c->aen_err_masked = false;
	if (!rae && lid == LID_CHANGED_NS) {
		c->nchanged = 0;
		c->aen_ns_masked = false;
	}
	return 0;
}
