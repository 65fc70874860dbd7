/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PCIe transport of the NVMe driver (NVMe Base 2.0 §3.3 memory-based queues, §3.1.3 BAR0
 * registers and doorbells): its controller and qpair, which embed the core's, and the inline
 * doorbell helpers its files share. The sim: backend of lib/pci is PCIe as far as this
 * transport knows (drivers never know the backend).
 */
#ifndef NVME_PCIE_H
#define NVME_PCIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <updk/mmio.h>
#include <updk/pci.h>

#include "lib/util/hypervisor.h"

#include "drivers/nvme/nvme_int.h"
#include "drivers/nvme/pcie/pcie_regs.h"
#include "drivers/nvme/transport.h"

struct nvme_pcie_ctrlr {
	struct updk_nvme_ctrlr c;
	struct updk_pci_dev *dev;
	uint8_t *bar;
	size_t bar_len;
	int numa;
	uint32_t dstrd; /* CAP.DSTRD, read at open: doorbells 4 << dstrd bytes apart */
	uint32_t aq_max; /* CAP.MQES + 1, read at open: the admin queue's entries at most */
	bool enabled; /* memory space and bus mastering turned on by ctrlr_open */
	/* shadow doorbells (Doorbell Buffer Config, §5.8) */
	bool shadow;
	const char *shadow_why; /* why in use or not (pcie_shadow_choice()) */
	uint32_t *dbbuf;
	uint32_t *dbbuf_ei;
	uint64_t dbbuf_iova;
	uint64_t dbbuf_ei_iova;
	size_t dbbuf_size;
};

/*
 * A PCIe queue pair. Its first line after the core's holds what a submission, the doorbells
 * and the reaper touch on every I/O; the shadow doorbell pointers and the PRP list area in the
 * next; memory addresses after.
 */
struct nvme_pcie_qpair {
	struct updk_nvme_qpair qp;
	/* line: the I/O path */
	struct updk_nvme_cmd *sq;
	volatile struct updk_nvme_cpl *cq;
	uint16_t sq_tail;
	uint16_t sq_db_tail; /* tail last given to the controller */
	uint16_t qsize; /* entries in the SQ and in the CQ */
	uint16_t cq_head;
	/* the phase tag of the current pass where a CQE's last dword has it: bit 16 (pcie_reap.h
	 * CQE_PHASE), so the reaper tests an entry against it with one exclusive or */
	uint32_t cq_phase;
	/* the bits of a CQE's last dword (phase tag taken out) that send it off the reaper's
	 * common path: a status other than success (CQE_SC_SCT), a CID the slots cannot hold
	 * (those above nvme_reqs_span(depth) - 1); one test */
	uint32_t cqe_refuse;
	volatile uint32_t *sq_db;
	volatile uint32_t *cq_db;
	/* shadow doorbells and EventIdx (NULL when not in use) */
	volatile uint32_t *sq_shadow;
	volatile uint32_t *cq_shadow;
	/* line: less often */
	volatile uint32_t *sq_ei;
	volatile uint32_t *cq_ei;
	uint16_t sq_head; /* from the last valid CQE's SQHD */
	uint16_t cq_db_head; /* CQ head last given to the controller */
	/* an I/O qpair's poll writes the SQ tail doorbell when it finds the CQ empty, or, finding
	 * entries, once this many commands wait behind the doorbell (half the slots) */
	uint16_t sq_ring_max;
	void *list_mem; /* each slot's PRP list / SGL segment area, by CID */
	uint64_t list_iova;
	uint32_t list_stride; /* bytes per slot */
	bool sgl;
	bool sgl_dword; /* SGL Data Blocks must be dword aligned, in dwords (SGLS 10b) */
	/* separate metadata through an SGL: the controller's md_sgl, OFF when the slots have no
	 * room for it; each slot's list area ends with that room, md_descs Data Blocks and the
	 * descriptor MPTR points at (pcie_md.c) */
	uint8_t md_sgl;
	uint16_t md_descs;
	/* the SQ head's check (pcie_sq_head_check()): the CQ head it last looked behind, and the
	 * CQ head after the last entry whose CID pcie_cpl_slow() refused */
	uint32_t sq_head_seen_at;
	uint32_t reap_refused_at;
	/* entries of the current batch pcie_cpl_slow() took without completing a command for its
	 * caller (a child, a CID refused): pcie_reap() returns the entries less these */
	uint32_t reap_uncounted;
	/* How many reaped CQ entries the reaper lets pile up before it gives them back
	 * (pcie_reap()), and how many more it reaps before the next CQ head doorbell is due:
	 * cq_ring_at - cq_ring_in are reaped and not given back yet. */
	uint32_t cq_ring_at;
	uint32_t cq_ring_in;
	volatile struct updk_nvme_cpl *cq_end; /* cq + qsize */
	/* memory */
	uint64_t sq_iova;
	uint64_t cq_iova;
} __attribute__((aligned(64)));

#define PCIE_LINE(f) (offsetof(struct nvme_pcie_qpair, f) / 64)
_Static_assert(offsetof(struct nvme_pcie_qpair, sq) == sizeof(struct updk_nvme_qpair),
	       "the transport's fields start a line");
_Static_assert(PCIE_LINE(sq) == PCIE_LINE(cq_shadow), "the I/O path's fields share a line");
_Static_assert(PCIE_LINE(sq_ei) == PCIE_LINE(sgl_dword), "the next line");
_Static_assert(offsetof(struct nvme_pcie_qpair, qp) == 0, "the core's qpair comes first");
_Static_assert(offsetof(struct nvme_pcie_ctrlr, c) == 0, "the core's controller comes first");

static inline struct nvme_pcie_qpair *pcie_qp(struct updk_nvme_qpair *qp)
{
	return (struct nvme_pcie_qpair *)qp;
}

/* Where a CQE's last dword (CID, then the status field) has its phase tag (NVMe Base 2.0
 * §4.6, Figure 90: bit 0 of the status field). */
#define CQE_PHASE (1u << 16)
/* The Status Code Type and Status Code in the same dword (Figure 92): zero for success (the
 * CRD, M and DNR bits above say nothing then). */
#define CQE_SC_SCT 0x0ffe0000u

/* The phase tag (0 or 1) the controller writes in the current pass over the CQ. */
static inline uint32_t pcie_cq_phase(const struct nvme_pcie_qpair *pq)
{
	return pq->cq_phase >> 16;
}

static inline struct nvme_pcie_ctrlr *pcie_ctrlr(struct updk_nvme_ctrlr *c)
{
	return (struct nvme_pcie_ctrlr *)c;
}

/* pcie_ctrlr.c */
extern const struct nvme_transport_ops nvme_pcie_ops;

/* pcie_qpair.c */
int pcie_qpair_create(struct updk_nvme_ctrlr *c, uint16_t qid, uint32_t qsize,
		      struct updk_nvme_qpair **qpp);
void pcie_qpair_reset_rings(struct updk_nvme_qpair *qp);
void pcie_qpair_release(struct updk_nvme_qpair *qp);
void pcie_qpair_free(struct updk_nvme_qpair *qp);
int pcie_qpair_connect(struct updk_nvme_qpair *qp);
int pcie_qpair_disconnect(struct updk_nvme_qpair *qp);
/* Point @pq at the controller's shadow doorbell slots, or at none when they are off. */
void pcie_qpair_set_shadow(struct nvme_pcie_qpair *pq);
void pcie_ring(struct updk_nvme_qpair *qp);

/* pcie_dbbuf.c */
/* Whether to use shadow doorbells: @opt the caller's choice, @offered OACS bit 8, @vid:@did the
 * PCI function, @hv where this process runs; *@why says why, for messages. */
bool pcie_shadow_choice(enum updk_nvme_shadow opt, bool offered, uint16_t vid, uint16_t did,
			const struct util_hv_info *hv, const char **why);
int pcie_dbbuf_setup(struct updk_nvme_ctrlr *c);
void pcie_dbbuf_free(struct nvme_pcie_ctrlr *pc);

/* pcie_poll.c */
int pcie_poll(struct updk_nvme_qpair *qp, uint32_t max);
bool pcie_intr_pending(struct updk_nvme_qpair *qp);

/* pcie_submit.c */
int pcie_check_payload(struct updk_nvme_qpair *qp, const struct iovec *iov, int iovcnt,
		       const char *what, uint32_t id);
int pcie_submit(struct updk_nvme_qpair *qp, struct nvme_req *req, const struct updk_nvme_cmd *cmd,
		const struct nvme_payload *pl);
uint16_t pcie_cancel_last(struct updk_nvme_qpair *qp);

/* prp.c: data pointers. A builder adds IOVA segments in order and fills cmd's DPTR. */
struct nvme_dptr {
	struct updk_nvme_cmd *cmd;
	uint64_t *list;
	uint64_t list_iova;
	uint32_t list_cap; /* qwords in the list area */
	uint32_t pos; /* qwords used */
	uint32_t n; /* PRP entries (incl. PRP1) or SGL descriptors */
	uint64_t total;
	bool sgl;
	bool sgl_dword; /* SGL: refuse Data Blocks not dword aligned or sized (SGLS 10b) */
	bool end_aligned; /* the last segment ended on a page boundary */
};
void nvme_dptr_init(struct nvme_dptr *d, struct updk_nvme_cmd *cmd, uint64_t *list,
		    uint64_t list_iova, uint32_t list_cap, bool sgl);
/* -EINVAL when the segment breaks PRP rules (alignment), SGL rules (alignment when
 * @d->sgl_dword, which nvme_dptr_init clears) or the list is full. */
int nvme_dptr_add(struct nvme_dptr *d, uint64_t iova, uint64_t len);
void nvme_dptr_finish(struct nvme_dptr *d);
/* Qwords of list area a request needs for @max_xfer bytes (PRP entries with chain pointers,
 * or SGL descriptors of at least a page each, whichever is more). */
uint32_t nvme_list_qwords(uint32_t max_xfer);

/* pcie_md.c: the separate metadata buffer, by MPTR or by an SGL for metadata. check_md op;
 * and at submission: MPTR of @sqe, an SGL for the metadata in slot @cid's list area when *@sgl
 * comes back true (the caller then sets PSDT 10b and an SGL for the data). */
int pcie_check_md(struct updk_nvme_qpair *qp, const void *md, uint32_t len, uint32_t nsid);
int pcie_md_ptr(struct nvme_pcie_qpair *pq, uint16_t cid, struct updk_nvme_cmd *sqe, const void *md,
		uint32_t len, bool *sgl);

/* Metadata SGL Data Blocks a slot holds when the controller's commands move at most @max_xfer
 * bytes: metadata of up to 16 bytes a 512-byte block in 4 KiB pieces, and the ends; 16 at least.
 * A buffer in more pieces is refused (pcie_md_ptr()). */
static inline uint16_t pcie_md_sgl_descs(uint32_t max_xfer)
{
	uint32_t n = max_xfer / (32 * NVME_PAGE_SIZE) + 2;

	return (uint16_t)(n < 16 ? 16 : n > 1024 ? 1024 : n);
}

/* Bytes at the end of each slot's list area for the metadata SGL: its Data Blocks and the
 * descriptor MPTR points at. */
static inline uint32_t pcie_md_area_bytes(const struct nvme_pcie_qpair *pq)
{
	return pq->md_descs ? (pq->md_descs + 1u) * (uint32_t)sizeof(struct nvme_sgl_desc) : 0;
}

/* The slot's PRP list / SGL segment area (list_stride bytes, IOVA contiguous with the rest). */
static inline uint64_t *pcie_req_list(const struct nvme_pcie_qpair *pq, uint32_t cid)
{
	return (uint64_t *)((uint8_t *)pq->list_mem + (size_t)cid * pq->list_stride);
}

static inline uint64_t pcie_req_list_iova(const struct nvme_pcie_qpair *pq, uint32_t cid)
{
	return pq->list_iova + (uint64_t)cid * pq->list_stride;
}

/* The SQ slot at the tail taken: the command built there is queued (not yet rung). */
NVME_INLINE void pcie_sq_advance(struct nvme_pcie_qpair *pq)
{
	if (NVME_UNLIKELY(++pq->sq_tail == pq->qsize))
		pq->sq_tail = 0;
}

/*
 * The shadow doorbell update with the EventIdx rule (NVMe Base 2.0 §5.8 Doorbell Buffer
 * Config): the controller asks for an MMIO write only when the new value passes the EventIdx
 * it published, i.e. when event_idx lies in [old, new) modulo 2^16: its distance from old is
 * less than new's. (The same test as Linux's new - event_idx - 1 < new - old, one subtraction
 * fewer; test/unit/nvme_prp.c compares the two.)
 */
static inline bool nvme_dbbuf_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(event_idx - old) < (uint16_t)(new_idx - old);
}

/*
 * Give the controller a new doorbell value @val (@old the last it had) of the SQ (@sq) or the
 * CQ: through the shadow doorbell when in use, and to the MMIO register only when the EventIdx
 * rule asks for it (or without shadow doorbells). The register's and EventIdx's addresses are
 * read where they are used, not before the shadow store (which, for all the compiler knows,
 * could change them): a poll that does not write the register does not load its address.
 */
NVME_INLINE void pcie_doorbell(struct nvme_pcie_qpair *pq, const bool sq, uint32_t val,
			       uint32_t old)
{
	volatile uint32_t *shadow = sq ? pq->sq_shadow : pq->cq_shadow, *ei;

	if (shadow) {
		*shadow = val;
		pq->qp.stats.shadow_doorbell_updates++;
		/* The shadow value must be visible before EventIdx is read (§5.8: a full barrier,
		 * a store then a load). */
		updk_mb();
		ei = sq ? pq->sq_ei : pq->cq_ei;
		if (!nvme_dbbuf_need_event((uint16_t)*ei, (uint16_t)val, (uint16_t)old))
			return;
	}
	updk_mmio_write32(sq ? pq->sq_db : pq->cq_db, val);
	if (sq)
		pq->qp.stats.sq_doorbell_mmio++;
	else
		pq->qp.stats.cq_doorbell_mmio++;
	pq->qp.stats.mmio_doorbell_writes++;
}

/* Slots from index @from forward to index @to in a ring of @qsize slots (both below qsize). */
static inline uint32_t pcie_ring_dist(uint32_t qsize, uint32_t from, uint32_t to)
{
	int32_t n = (int32_t)to - (int32_t)from;

	return (uint32_t)(n < 0 ? n + (int32_t)qsize : n);
}

/* Commands queued in the SQ since the last tail doorbell. */
static inline uint32_t pcie_sq_waiting(const struct nvme_pcie_qpair *pq)
{
	return pcie_ring_dist(pq->qsize, pq->sq_db_tail, pq->sq_tail);
}

/* The SQ tail doorbell, when commands were queued since the last. */
NVME_INLINE void pcie_sq_ring(struct nvme_pcie_qpair *pq)
{
	uint32_t tail = pq->sq_tail;
	uint32_t old = pq->sq_db_tail;

	if (tail == old)
		return;
	pq->sq_db_tail = (uint16_t)tail;
	/* The device must see the SQ entries before the new tail (docs/architecture.md, "MMIO
	 * is explicit": a write barrier before a doorbell). */
	updk_wmb();
	pcie_doorbell(pq, true, tail, old);
}

/* The CQ head doorbell: the controller may post into the entries reaped since the last. */
NVME_INLINE void pcie_cq_ring(struct nvme_pcie_qpair *pq)
{
	uint32_t old = pq->cq_db_head, head = pq->cq_head;

	pq->cq_db_head = (uint16_t)head;
	pq->cq_ring_in = pq->cq_ring_at;
	pcie_doorbell(pq, false, head, old);
}

#endif
