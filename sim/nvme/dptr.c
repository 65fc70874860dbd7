/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme data pointers: a command's PRP entries and lists (NVMe Base 2.0 §4.1.1) or SGL
 * descriptors (§4.1.2) resolved into host memory segments through the IOVA table. Everything
 * is resolved before a byte moves, so a command that touches an unmapped IOVA fails with Data
 * Transfer Error and leaves the namespace and the host buffer as they were.
 */
#include <string.h>

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

/* SGL descriptor, §4.1.2.1: 16 bytes, type in the top nibble of byte 15. */
struct sgl_desc {
	uint64_t addr;
	uint32_t len;
	uint8_t rsvd[3];
	uint8_t id;
};

_Static_assert(sizeof(struct sgl_desc) == 16, "SGL descriptor is 16 bytes");

#define SGL_DATA_BLOCK 0x0
#define SGL_SEGMENT 0x2
#define SGL_LAST_SEGMENT 0x3

/* Where a transfer's pieces go: the data's (c->segs) or the separate metadata's (c->msegs). */
struct seg_list {
	struct nvme_seg *seg;
	unsigned max;
};

static uint16_t add_seg(struct nvme_ctrl *c, const struct seg_list *l, unsigned *n, uint64_t iova,
			uint64_t len)
{
	uint8_t *va;

	if (*n == l->max)
		return NVME_SC_SGL_INVALID_COUNT;
	va = sim_dma_ptr(c->sd, iova, len);
	if (!va) {
		c->st.dma_faults++;
		return NVME_SC_DATA_XFER_ERROR;
	}
	l->seg[*n].va = va;
	l->seg[*n].len = (uint32_t)len;
	(*n)++;
	return 0;
}

/*
 * PRP (§4.1.1): PRP1 may start inside a page (dword aligned); every later entry starts a page.
 * Two pages or less: PRP2 is the second page. More: PRP2 points to a list whose last entry in
 * each page, when more entries follow, points to the next list page.
 */
static uint16_t prp_map(struct nvme_ctrl *c, uint64_t prp1, uint64_t prp2, uint64_t len,
			unsigned *n)
{
	const uint64_t pg = c->mps, mask = pg - 1;
	const struct seg_list l = { c->segs, c->max_segs };
	uint64_t first, rem;
	uint16_t st;

	if (prp1 & 3)
		return NVME_SC_PRP_INVALID_OFFSET;
	first = pg - (prp1 & mask);
	if (first > len)
		first = len;
	st = add_seg(c, &l, n, prp1, first);
	if (st)
		return st;
	rem = len - first;
	if (!rem)
		return 0;
	if (rem <= pg) {
		if (prp2 & mask)
			return NVME_SC_PRP_INVALID_OFFSET;
		return add_seg(c, &l, n, prp2, rem);
	}
	/* A PRP list pointer may carry an offset, qword aligned (§4.1.1). */
	if (prp2 & 7)
		return NVME_SC_PRP_INVALID_OFFSET;
	while (rem) {
		unsigned nent = (unsigned)((pg - (prp2 & mask)) / 8);
		const uint64_t *list = sim_dma_ptr(c->sd, prp2, nent * 8u);

		if (!list) {
			c->st.dma_faults++;
			return NVME_SC_DATA_XFER_ERROR;
		}
		for (unsigned i = 0; i < nent && rem; i++) {
			uint64_t e = __atomic_load_n(&list[i], __ATOMIC_RELAXED);

			/* Every entry, the chain to the next list page too, is page aligned. */
			if (e & mask)
				return NVME_SC_PRP_INVALID_OFFSET;
			if (i == nent - 1 && rem > pg) {
				prp2 = e;
				break;
			}
			st = add_seg(c, &l, n, e, rem < pg ? rem : pg);
			if (st)
				return st;
			rem -= rem < pg ? rem : pg;
		}
	}
	return 0;
}

/*
 * SGL (§4.1.2): SGL1 in the command is a Data Block, a Segment or a Last Segment descriptor.
 * Only the last descriptor of a Segment may point to the next segment; a Last Segment holds
 * data blocks only. The total length must equal the transfer (Identify SGLS bit 18 is clear).
 */
/* A Data Block descriptor: its bytes join the segments unless they overrun the transfer. */
static uint16_t sgl_data(struct nvme_ctrl *c, const struct seg_list *l, const struct sgl_desc *d,
			 uint64_t len, uint64_t *total, unsigned *n)
{
	if (d->len > len - *total)
		return NVME_SC_SGL_INVALID_DATA_LEN;
	/* SGLS 10b: a Data Block's address and length are whole dwords (Figure 275) */
	if (c->sgls == 2 && ((d->addr | d->len) & 3))
		return NVME_SC_SGL_DATA_BLOCK_GRANULARITY;
	if (d->len) {
		uint16_t st = add_seg(c, l, n, d->addr, d->len);

		if (st)
			return st;
	}
	*total += d->len;
	return 0;
}

/* The SGL whose first descriptor is @first, for @len bytes, into @l. */
static uint16_t sgl_map(struct nvme_ctrl *c, const struct sgl_desc *first, uint64_t len,
			const struct seg_list *l, unsigned *n)
{
	struct sgl_desc d = *first;
	uint64_t total = 0;
	unsigned hops = 0;
	uint16_t st;

	for (;;) {
		unsigned type = d.id >> 4, sub = d.id & 0xf, cnt;
		const struct sgl_desc *seg;
		bool last;

		if (sub != 0)
			return NVME_SC_SGL_INVALID_TYPE; /* only the "address" subtype */
		if (type == SGL_DATA_BLOCK) {
			st = sgl_data(c, l, &d, len, &total, n);
			if (st)
				return st;
			break;
		}
		if (type != SGL_SEGMENT && type != SGL_LAST_SEGMENT)
			return NVME_SC_SGL_INVALID_TYPE;
		if (!d.len || d.len % sizeof(d))
			return NVME_SC_SGL_INVALID_SEG;
		if (++hops > l->max)
			return NVME_SC_SGL_INVALID_COUNT;
		cnt = d.len / sizeof(d);
		last = type == SGL_LAST_SEGMENT;
		seg = sim_dma_ptr(c->sd, d.addr, d.len);
		if (!seg) {
			c->st.dma_faults++;
			return NVME_SC_DATA_XFER_ERROR;
		}
		for (unsigned i = 0; i < cnt; i++) {
			memcpy(&d, &seg[i], sizeof(d));
			type = d.id >> 4;
			if ((d.id & 0xf) != 0)
				return NVME_SC_SGL_INVALID_TYPE;
			if (type == SGL_SEGMENT || type == SGL_LAST_SEGMENT) {
				if (last || i != cnt - 1)
					return NVME_SC_SGL_INVALID_SEG;
				goto next_segment;
			}
			if (type != SGL_DATA_BLOCK)
				return NVME_SC_SGL_INVALID_TYPE;
			st = sgl_data(c, l, &d, len, &total, n);
			if (st)
				return st;
		}
		break;
next_segment:;
	}
	return total == len ? 0 : NVME_SC_SGL_INVALID_DATA_LEN;
}

uint16_t dptr_map(struct nvme_ctrl *c, const struct nvme_sqe *cmd, uint64_t len, bool admin,
		  unsigned *nseg)
{
	unsigned psdt = cmd->flags >> 6;
	struct sgl_desc sgl1;

	*nseg = 0;
	if (!len)
		return 0;
	if (psdt == 0)
		return prp_map(c, cmd->prp1, cmd->prp2, len, nseg);
	/* SGLs are for I/O commands only on PCIe (§4.1.2); PSDT 11b is reserved. */
	if (admin || psdt == 3 || !c->sgls)
		return NVME_SC_INVALID_FIELD;
	memcpy(&sgl1, &cmd->prp1, sizeof(sgl1));
	return sgl_map(c, &sgl1, len, &(struct seg_list){ c->segs, c->max_segs }, nseg);
}

void dptr_to_host(struct nvme_ctrl *c, unsigned nseg, const uint8_t *src)
{
	for (unsigned i = 0; i < nseg; i++) {
		memcpy(c->segs[i].va, src, c->segs[i].len);
		src += c->segs[i].len;
	}
}

void dptr_from_host(struct nvme_ctrl *c, unsigned nseg, uint8_t *dst)
{
	for (unsigned i = 0; i < nseg; i++) {
		memcpy(dst, c->segs[i].va, c->segs[i].len);
		dst += c->segs[i].len;
	}
}

/*
 * The metadata pointer (MPTR, NVMe Base 2.0 §4.2 Figure 92): with PSDT 00b or 01b, the dword
 * aligned address of one contiguous buffer; with PSDT 10b, the qword aligned address of an SGL
 * segment of exactly one descriptor (a Data Block, or a Segment or Last Segment leading on to
 * more), offered with Identify SGLS bit 19 (msgl=1; msgl=2, the default, takes it unreported;
 * msgl=0 refuses it). A length the SGL gets wrong is Metadata SGL Length Invalid.
 */
uint16_t dptr_map_md(struct nvme_ctrl *c, const struct nvme_sqe *cmd, uint64_t len)
{
	const struct seg_list l = { c->msegs, SIM_NVME_MD_SEGS };
	uint64_t addr = cmd->mptr;
	uint16_t st;

	c->nmseg = 0;
	if (cmd->flags >> 6 == 2) {
		const struct sgl_desc *d;

		if (!c->msgl || (addr & 7))
			return NVME_SC_INVALID_FIELD;
		d = sim_dma_ptr(c->sd, addr, sizeof(*d));
		if (!d) {
			c->st.dma_faults++;
			return NVME_SC_DATA_XFER_ERROR;
		}
		st = sgl_map(c, d, len, &l, &c->nmseg);
		if (!st)
			c->st.md_sgls++;
		return st == NVME_SC_SGL_INVALID_DATA_LEN ? NVME_SC_MD_SGL_INVALID_LEN : st;
	}
	if (addr & 3)
		return NVME_SC_INVALID_FIELD;
	return add_seg(c, &l, &c->nmseg, addr, len);
}

void dptr_md_from_host(struct nvme_ctrl *c, uint8_t *dst)
{
	for (unsigned i = 0; i < c->nmseg; dst += c->msegs[i++].len)
		memcpy(dst, c->msegs[i].va, c->msegs[i].len);
}

void dptr_md_to_host(struct nvme_ctrl *c, const uint8_t *src)
{
	for (unsigned i = 0; i < c->nmseg; src += c->msegs[i++].len)
		memcpy(c->msegs[i].va, src, c->msegs[i].len);
}
