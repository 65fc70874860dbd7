/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme Read, Write and Compare on a namespace formatted with metadata (NVM Command Set 1.0
 * §5.1): in the data buffer after each block's data (extended LBA) or in the buffer MPTR
 * describes; and end-to-end protection (§5.2): the controller generates the protection
 * information when PRACT is set, and checks the Guard, Application Tag and Reference Tag that
 * PRCHK asks for, as a controller does on the way to and from its medium. Everything is
 * checked before a byte of the namespace changes.
 */
#include <string.h>

#include <updk/crc.h>

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/be.h"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

/* PRINFO: CDW12 bits 29:26 of Read, Write and Compare (NVM Command Set 1.0 §3.2, §5.2) */
#define PRINFO_PRACT 0x8
#define PRCHK_GUARD 0x4
#define PRCHK_APP 0x2
#define PRCHK_REF 0x1

struct pi_cmd {
	unsigned pract;
	unsigned prchk;
	uint64_t ilbrt; /* CDW14, and CDW3 above it with the 32b and 64b Guards */
	uint16_t lbat; /* CDW15 15:0 */
	uint16_t lbatm; /* CDW15 31:16 */
};

struct pi_tuple {
	uint64_t guard;
	uint16_t app;
	uint64_t ref;
};

/*
 * The Reference Tag's bits: 32 (16b Guard), 48 (64b Guard), and with the 32b Guard the 80 bits
 * of the Storage and Reference Space less the 16-bit Storage Tag this model reports (STS 16):
 * 64, what the driver and lib/pi carry.
 */
static uint64_t ref_mask(const struct nvme_fmt *f)
{
	return f->pif == 2 ? (1ull << 48) - 1 : f->pif == 1 ? UINT64_MAX : UINT32_MAX;
}

/* Bytes of the Guard and of the (Storage and) Reference Tag field, by PIF (§5.2.1.1-3). */
static const struct {
	unsigned guard, ref;
} pi_widths[3] = { { 2, 4 }, { 4, 10 }, { 8, 6 } };

/* Where the PI sits in a block's metadata: first bytes (DPS bit 3) or last. */
static size_t pi_off(const struct nvme_fmt *f)
{
	return f->pi_first ? 0 : f->ms - f->pi_size;
}

/*
 * 16b Guard PI (§5.2.1.1): Guard 2, Application Tag 2, Reference Tag 4 bytes; 32b Guard PI
 * (§5.2.1.2): Guard 4, Application Tag 2, Storage and Reference Space 10 (the Storage Tag in
 * its top 16 bits, here always 0; the Reference Tag below); 64b Guard PI (§5.2.1.3, Storage
 * Tag size 0): Guard 8, Application Tag 2, Reference Tag 6. Big endian.
 */
static void pi_get(const struct nvme_fmt *f, const uint8_t *p, struct pi_tuple *t)
{
	unsigned g = pi_widths[f->pif].guard;

	t->guard = be_get(p, g);
	t->app = (uint16_t)be_get(p + g, 2);
	/* the 32b Guard's 10 bytes: the top 2 (the Storage Tag) shift out */
	t->ref = be_get(p + g + 2, pi_widths[f->pif].ref);
}

static void pi_put(const struct nvme_fmt *f, uint8_t *p, const struct pi_tuple *t)
{
	unsigned g = pi_widths[f->pif].guard;

	be_put(p, g, t->guard);
	be_put(p + g, 2, t->app);
	be_put(p + g + 2, pi_widths[f->pif].ref, t->ref);
}

/* The Guard covers the block's data, and the metadata bytes before the PI when it is last. */
static uint64_t pi_guard(const struct nvme_ctrl *c, const uint8_t *data, const uint8_t *md)
{
	const struct nvme_fmt *f = &c->fmt;
	size_t bs = (size_t)1 << c->lbads, off = pi_off(f);

	if (f->pif == 2)
		return updk_crc64_nvme(updk_crc64_nvme(0, data, bs), md, off);
	if (f->pif == 1)
		return updk_crc32c(updk_crc32c(0, data, bs), md, off);
	return updk_crc16_t10dif(updk_crc16_t10dif(0, data, bs), md, off);
}

/* PRINFO and the tags of the command; the Reference Tag rules of types 1 and 3 (§5.2.1). */
static uint16_t pi_cmd_get(const struct nvme_ctrl *c, const struct nvme_sqe *cmd, uint64_t slba,
			   struct pi_cmd *pc)
{
	const struct nvme_fmt *f = &c->fmt;
	unsigned prinfo = (cmd->cdw12 >> 26) & 0xf;

	memset(pc, 0, sizeof(*pc));
	if (!f->pi)
		return 0; /* PRINFO means nothing on a namespace without protection */
	pc->pract = prinfo & PRINFO_PRACT;
	pc->prchk = prinfo & 0x7;
	/* ILBRT: CDW14, and above it CDW3 15:0 (64b Guard) or all of CDW3 (32b Guard, whose
	 * Storage Tag would follow in CDW2 15:0) */
	pc->ilbrt = cmd->cdw14 | (f->pif == 2 ? (uint64_t)(cmd->cdw3 & 0xffff) << 32 :
				  f->pif == 1 ? (uint64_t)cmd->cdw3 << 32 :
						0);
	pc->lbat = (uint16_t)cmd->cdw15;
	pc->lbatm = (uint16_t)(cmd->cdw15 >> 16);
	/* Type 1: the Reference Tag is the LBA; type 3 has none to check. */
	if (f->pi == 1 && (pc->prchk & PRCHK_REF) && pc->ilbrt != (slba & ref_mask(f)))
		return NVME_SC_INVALID_PI;
	if (f->pi == 3 && (pc->prchk & PRCHK_REF))
		return NVME_SC_INVALID_PI;
	return 0;
}

/* Block @i's PI against the checks PRCHK asks for; FFFFh tags switch them off (§5.2). */
static uint16_t pi_check(const struct nvme_ctrl *c, const struct pi_cmd *pc, const uint8_t *data,
			 const uint8_t *md, uint64_t i)
{
	const struct nvme_fmt *f = &c->fmt;
	struct pi_tuple t;

	pi_get(f, md + pi_off(f), &t);
	if (t.app == 0xffff && (f->pi != 3 || t.ref == ref_mask(f)))
		return 0;
	if ((pc->prchk & PRCHK_GUARD) && t.guard != pi_guard(c, data, md))
		return NVME_SC_GUARD_CHECK;
	if ((pc->prchk & PRCHK_APP) && (t.app & pc->lbatm) != (pc->lbat & pc->lbatm))
		return NVME_SC_APPTAG_CHECK;
	if ((pc->prchk & PRCHK_REF) && t.ref != ((pc->ilbrt + i) & ref_mask(f)))
		return NVME_SC_REFTAG_CHECK;
	return 0;
}

/* PRACT=1 on a write: the controller makes the PI (types 1 and 2 count the tag up). */
static void pi_generate(const struct nvme_ctrl *c, const struct pi_cmd *pc, const uint8_t *data,
			uint8_t *md, uint64_t i)
{
	const struct nvme_fmt *f = &c->fmt;
	struct pi_tuple t = { .app = pc->lbat };

	t.guard = pi_guard(c, data, md);
	t.ref = (pc->ilbrt + (f->pi == 3 ? 0 : i)) & ref_mask(f);
	pi_put(f, md + pi_off(f), &t);
}

/* Metadata as stored is inverted, so blocks never written read as all FFh. */
static void md_copy_inv(uint8_t *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = (uint8_t)~src[i];
}

struct xfer {
	uint64_t slba, nlb;
	size_t bs, hbs; /* block size; bytes per block in the data buffer */
	bool md_xfer; /* metadata crosses the bus (not with PRACT when ms is the PI size) */
	uint8_t *h; /* the data buffer's image */
	uint8_t *m; /* metadata of every block, ms bytes each */
	uint8_t *mva; /* the separate metadata buffer's image, when one is transferred */
	unsigned nseg;
};

/* Stored blocks → the image the host would receive, and their metadata. */
static void image_of_stored(struct nvme_ctrl *c, struct nvme_ns *ns, struct xfer *x)
{
	const struct nvme_fmt *f = &c->fmt;

	md_copy_inv(x->m, ns->md + x->slba * f->ms, x->nlb * f->ms);
	for (uint64_t i = 0; i < x->nlb; i++) {
		uint8_t *h = x->h + i * x->hbs;

		memcpy(h, ns->data + ((x->slba + i) << c->lbads), x->bs);
		if (f->ext && x->md_xfer)
			memcpy(h + x->bs, x->m + i * f->ms, f->ms);
	}
}

static uint16_t do_write(struct nvme_ctrl *c, struct nvme_ns *ns, const struct pi_cmd *pc,
			 struct xfer *x)
{
	const struct nvme_fmt *f = &c->fmt;
	uint16_t st;

	dptr_from_host(c, x->nseg, x->h);
	if (x->mva)
		dptr_md_from_host(c, x->mva);
	for (uint64_t i = 0; i < x->nlb; i++) {
		const uint8_t *data = x->h + i * x->hbs;
		uint8_t *md = x->m + i * f->ms;

		if (!x->md_xfer)
			memset(md, 0, f->ms);
		else if (f->ext)
			memcpy(md, data + x->bs, f->ms);
		else
			memcpy(md, x->mva + i * f->ms, f->ms);
		if (pc->pract)
			pi_generate(c, pc, data, md, i);
		else if (f->pi && (st = pi_check(c, pc, data, md, i)))
			return st;
	}
	for (uint64_t i = 0; i < x->nlb; i++)
		memcpy(ns->data + ((x->slba + i) << c->lbads), x->h + i * x->hbs, x->bs);
	md_copy_inv(ns->md + x->slba * f->ms, x->m, x->nlb * f->ms);
	return 0;
}

static uint16_t do_read(struct nvme_ctrl *c, struct nvme_ns *ns, const struct pi_cmd *pc,
			struct xfer *x, bool compare)
{
	const struct nvme_fmt *f = &c->fmt;
	uint16_t st;

	image_of_stored(c, ns, x);
	if (f->pi && !compare)
		for (uint64_t i = 0; i < x->nlb; i++) {
			st = pi_check(c, pc, x->h + i * x->hbs, x->m + i * f->ms, i);
			if (st)
				return st;
		}
	if (!compare) {
		dptr_to_host(c, x->nseg, x->h);
		if (x->mva)
			dptr_md_to_host(c, x->m);
		return 0;
	}
	for (unsigned i = 0, off = 0; i < x->nseg; off += c->segs[i++].len)
		if (memcmp(c->segs[i].va, x->h + off, c->segs[i].len))
			return NVME_SC_COMPARE_FAILED;
	if (x->mva) {
		dptr_md_from_host(c, x->mva);
		if (memcmp(x->mva, x->m, x->nlb * f->ms))
			return NVME_SC_COMPARE_FAILED;
	}
	return 0;
}

uint16_t meta_rw(struct nvme_ctrl *c, const struct nvme_sqe *cmd, struct nvme_ns *ns)
{
	const struct nvme_fmt *f = &c->fmt;
	struct xfer x = { .slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32 };
	struct pi_cmd pc;
	uint64_t mlen;
	uint16_t st;

	x.nlb = (cmd->cdw12 & 0xffff) + 1;
	x.bs = (size_t)1 << c->lbads;
	st = pi_cmd_get(c, cmd, x.slba, &pc);
	if (st)
		return st;
	x.md_xfer = !(pc.pract && f->ms == f->pi_size);
	mlen = x.md_xfer ? x.nlb * f->ms : 0;
	x.hbs = x.bs + (f->ext && x.md_xfer ? f->ms : 0);
	/* MDTS counts the metadata when it is interleaved with the data (§5.17.2.1 MDTS) */
	if (x.nlb * x.hbs > c->max_xfer)
		return NVME_SC_INVALID_FIELD;
	st = dptr_map(c, cmd, x.nlb * x.hbs, false, &x.nseg);
	if (!st && !f->ext && mlen)
		st = dptr_map_md(c, cmd, mlen);
	if (st)
		return st;
	x.h = ns_scratch(&c->xfer, &c->xfer_len, x.nlb * x.hbs);
	x.m = ns_scratch(&c->mdbuf, &c->mdbuf_len, x.nlb * f->ms);
	if (!f->ext && mlen) {
		x.mva = ns_scratch(&c->mdhost, &c->mdhost_len, mlen);
		if (!x.mva)
			return NVME_SC_INTERNAL;
	}
	if (!x.h || !x.m)
		return NVME_SC_INTERNAL;
	c->units_read += cmd->opc == 0x01 ? 0 : (x.nlb * x.bs) >> 9;
	c->units_written += cmd->opc == 0x01 ? (x.nlb * x.bs) >> 9 : 0;
	if (cmd->opc == 0x01) {
		c->host_writes++;
		return do_write(c, ns, &pc, &x);
	}
	c->host_reads++;
	return do_read(c, ns, &pc, &x, cmd->opc == 0x05);
}
