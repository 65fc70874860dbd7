/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Data pointers: PRP entries and PRP lists (NVMe Base 2.0 §4.1.1), SGL descriptors (§4.1.2).
 *
 * SGL Data Blocks may start at any byte unless the controller asks for dword alignment and
 * granularity (Identify Controller SGLS bits 1:0 = 10b); the caller says which.
 *
 * PRP rules the builder enforces: the first entry may start at any dword offset in a page;
 * every later entry starts a page, so a buffer made of several IOVA segments is describable
 * only when each segment but the first starts on a page boundary and each but the last ends
 * on one. PRP2 is a second entry when the transfer touches two pages, else a pointer to a PRP
 * list. A list entry that would land past the last qword of a list page is preceded by a
 * pointer to the next list page in that last qword (§4.1.1: "the last entry ... shall contain
 * a PRP List pointer"). The request's list area is IOVA contiguous, so the next page follows.
 */
#include <errno.h>
#include <string.h>

#include "drivers/nvme/pcie/pcie.h"

void nvme_dptr_init(struct nvme_dptr *d, struct updk_nvme_cmd *cmd, uint64_t *list,
		    uint64_t list_iova, uint32_t list_cap, bool sgl)
{
	d->cmd = cmd;
	d->list = list;
	d->list_iova = list_iova;
	d->list_cap = list_cap;
	d->pos = 0;
	d->n = 0;
	d->total = 0;
	d->sgl = sgl;
	d->sgl_dword = false;
	d->end_aligned = false;
}

uint32_t nvme_list_qwords(uint32_t max_xfer)
{
	/* a transfer at a dword offset touches max_xfer / page + 1 pages, PRP1 takes one */
	uint32_t entries = (max_xfer >> NVME_PAGE_SHIFT) + 1;
	/* one chain pointer per 511 entries, and a spare for a list starting mid page */
	uint32_t prp = entries + entries / 511 + 2;
	/* SGL: two qwords per descriptor, at least as many descriptors as pages */
	uint32_t sgl = 2 * (entries + 1);

	return prp > sgl ? prp : sgl;
}

static int prp_list_put(struct nvme_dptr *d, uint64_t entry)
{
	/* the previous entry sat in the last qword of a list page: turn it into a chain */
	if (d->pos != 0 && ((d->list_iova + (uint64_t)d->pos * 8) & NVME_PAGE_MASK) == 0) {
		if (d->pos + 1 >= d->list_cap)
			return -EINVAL;
		d->list[d->pos] = d->list[d->pos - 1];
		d->list[d->pos - 1] = d->list_iova + (uint64_t)d->pos * 8;
		d->pos++;
	}
	if (d->pos >= d->list_cap)
		return -EINVAL;
	d->list[d->pos++] = entry;
	return 0;
}

static int prp_add(struct nvme_dptr *d, uint64_t iova, uint64_t len)
{
	uint64_t end = iova + len;
	int rc;

	if (d->n == 0) {
		if (iova & 3)
			return -EINVAL; /* PRP1 offset must be dword aligned (§4.1.1) */
		d->cmd->dptr.prp.prp1 = iova;
		d->n = 1;
		iova = (iova & ~(uint64_t)NVME_PAGE_MASK) + NVME_PAGE_SIZE;
	} else if (!d->end_aligned || (iova & NVME_PAGE_MASK)) {
		return -EINVAL; /* a hole inside a page: PRPs cannot say it */
	}
	for (; iova < end; iova += NVME_PAGE_SIZE) {
		rc = prp_list_put(d, iova);
		if (rc)
			return rc;
		d->n++;
	}
	d->end_aligned = (end & NVME_PAGE_MASK) == 0;
	return 0;
}

static int sgl_add(struct nvme_dptr *d, uint64_t iova, uint64_t len)
{
	struct nvme_sgl_desc *desc;

	if (len > UINT32_MAX || d->pos + 2 > d->list_cap)
		return -EINVAL;
	/* SGLS 10b: Data Blocks dword aligned and a whole number of dwords (Figure 275) */
	if (d->sgl_dword && ((iova | len) & 3))
		return -EINVAL;
	desc = (struct nvme_sgl_desc *)&d->list[d->pos];
	desc->addr = iova;
	desc->len = (uint32_t)len;
	memset(desc->rsvd, 0, sizeof(desc->rsvd));
	desc->id = NVME_SGL_DATA_BLOCK;
	d->pos += 2;
	d->n++;
	return 0;
}

int nvme_dptr_add(struct nvme_dptr *d, uint64_t iova, uint64_t len)
{
	if (len == 0)
		return 0;
	d->total += len;
	return d->sgl ? sgl_add(d, iova, len) : prp_add(d, iova, len);
}

void nvme_dptr_finish(struct nvme_dptr *d)
{
	struct updk_nvme_cmd *cmd = d->cmd;

	if (d->sgl) {
		struct nvme_sgl_desc *sgl1 = (struct nvme_sgl_desc *)cmd->dptr.sgl1;

		cmd->flags = (cmd->flags & 0x3f) | NVME_PSDT_SGL_MPTR_CONTIG;
		if (d->n == 1) {
			memcpy(sgl1, d->list, sizeof(*sgl1));
		} else {
			/* one Last Segment descriptor pointing at the data block descriptors */
			sgl1->addr = d->list_iova;
			sgl1->len = d->n * (uint32_t)sizeof(struct nvme_sgl_desc);
			memset(sgl1->rsvd, 0, sizeof(sgl1->rsvd));
			sgl1->id = NVME_SGL_LAST_SEGMENT;
		}
		return;
	}
	cmd->flags &= 0x3f;
	if (d->n <= 1)
		cmd->dptr.prp.prp2 = 0;
	else if (d->n == 2)
		cmd->dptr.prp.prp2 = d->list[0]; /* the second page itself, no list */
	else
		cmd->dptr.prp.prp2 = d->list_iova;
}
