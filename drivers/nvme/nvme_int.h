/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * drivers/nvme internals: the controller, namespace, queue pair and request objects, and the
 * functions the files of this folder share. Nothing here is public.
 */
#ifndef NVME_INT_H
#define NVME_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <updk/mmio.h>
#include <updk/nvme.h>
#include <updk/pci.h>

#include "drivers/nvme/regs.h"

#define NVME_LIKELY(x) __builtin_expect(!!(x), 1)
#define NVME_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define NVME_CID_NONE 0xffffu
/* Largest data buffer of one admin command (copied through a DMA bounce buffer). */
#define NVME_ADMIN_MAX_XFER (128u * 1024)

enum nvme_req_state {
	NVME_REQ_FREE = 0,
	NVME_REQ_OUTSTANDING, /* in the SQ, owned by the device until its CQE */
	NVME_REQ_CHILD, /* as OUTSTANDING, and a piece of a split I/O: completes into ->parent */
	NVME_REQ_PARENT, /* an I/O split at MDTS, waiting for its children */
};

/* Flags of a request. */
#define NVME_REQF_NO_TIMEOUT 0x1 /* Asynchronous Event Requests stay outstanding */
#define NVME_REQF_ABORT_SENT 0x2
#define NVME_REQF_TIMED_OUT 0x4

/*
 * One command slot of a qpair; its index is the CID. One cache line: what a submission writes
 * and a completion reads (cb, arg, the state word) comes first; a slot's PRP list area is found
 * from its CID (nvme_req_list()), not stored.
 */
struct nvme_req {
	updk_nvme_cb cb;
	void *arg;
	struct nvme_req *parent; /* set for NVME_REQ_CHILD only */
	/* state, flags and age are written together at submission (nvme_sq_advance) */
	union {
		struct {
			uint8_t state;
			uint8_t flags;
			uint8_t age; /* timeout checks this command has been outstanding through */
			uint8_t opc;
		};
		uint32_t word;
	};
	uint16_t cid;
	uint16_t rsvd;
	union {
		/* a parent: children not yet completed and the first failing completion */
		struct {
			uint32_t children;
			struct updk_nvme_cpl cpl;
		};
		/* the admin queue (which never splits): the bounce buffer, the caller's buffer */
		struct {
			void *bounce;
			void *user_buf;
			uint32_t user_len;
		};
	};
	uint8_t pad[8];
};

_Static_assert(sizeof(struct nvme_req) == 64, "a request slot is one cache line");

/* Freed qpairs kept per controller as refused handles (struct updk_nvme_ctrlr.retired). */
#define NVME_RETIRED_MAX 64

/* A queue pair: the admin queue (qid 0) or an I/O queue pair. Hot fields first. */
struct updk_nvme_qpair {
	struct updk_nvme_cmd *sq;
	volatile struct updk_nvme_cpl *cq;
	struct nvme_req *reqs;
	uint16_t sq_tail;
	uint16_t sq_db_tail; /* tail last given to the controller */
	uint16_t sq_head; /* from the last valid CQE's SQHD */
	uint16_t qsize; /* entries in the SQ and in the CQ */
	uint16_t cq_head;
	uint16_t phase;
	uint16_t free_top; /* free CIDs: free_stack[0 .. free_top) */
	uint16_t depth; /* request slots, qsize - 1 */
	volatile uint32_t *sq_db;
	volatile uint32_t *cq_db;
	/* shadow doorbells and EventIdx (NULL when not in use) */
	volatile uint32_t *sq_shadow;
	volatile uint32_t *sq_ei;
	volatile uint32_t *cq_shadow;
	volatile uint32_t *cq_ei;
	bool dead; /* being freed or freed: submissions refused */
	bool freed; /* updk_nvme_qpair_free() is done: the handle is kept only to refuse it */
	bool warned; /* a use after free has been logged */
	bool sgl;
	bool sgl_dword; /* SGL Data Blocks must be dword aligned, in dwords (SGLS 10b) */
	uint16_t qid;
	uint64_t last_check_tsc; /* last timeout check that aged the commands */
	uint32_t polls;
	struct updk_nvme_ctrlr *ctrlr;
	struct updk_nvme_stats stats;
	/* memory */
	uint64_t sq_iova;
	uint64_t cq_iova;
	void *list_mem;
	uint64_t list_iova;
	uint32_t list_stride; /* bytes per request */
	struct updk_nvme_qpair *next; /* the controller's list of I/O qpairs */
	/* timeouts: CID the owner asks the admin thread to abort, NVME_CID_NONE when none */
	uint32_t abort_cid;
	/* automatic reset: the controller's reset_gen whose commands the owner has failed */
	uint32_t reset_ack;
	/* free request slots as a stack of CIDs: the last freed is reused first, still warm */
	uint16_t free_stack[];
};

struct updk_nvme_ns {
	struct updk_nvme_ctrlr *ctrlr;
	uint32_t nsid;
	bool active;
	uint64_t nsze;
	uint32_t sector_size; /* data bytes per block */
	uint32_t md_size;
	bool md_extended;
	uint32_t xfer_block; /* bytes per block in the data buffer: data, plus md when extended */
	uint32_t max_io_sectors;
	bool io_ok; /* active, and no separate metadata buffer needed */
	struct updk_nvme_ctrlr
		*io_ctrlr; /* ctrlr while io_ok, else NULL (one check on the fast path) */
	struct updk_nvme_id_ns id;
	struct updk_nvme_ns_ids ids;
};

struct updk_nvme_ctrlr {
	struct updk_pci_dev *dev;
	char name[64];
	uint8_t *bar;
	size_t bar_len;
	uint64_t cap;
	uint32_t vs;
	uint32_t dstrd;
	uint32_t ready_timeout_ms; /* CAP.TO */
	struct updk_nvme_ctrlr_opts opts;
	struct updk_nvme_id_ctrl id;
	bool failed;
	bool closing;
	uint32_t max_xfer;
	uint32_t max_qpairs;
	uint8_t *qid_used; /* [max_qpairs + 1] */
	struct updk_nvme_qpair *adminq;
	struct updk_nvme_qpair *qpairs;
	/* Freed qpairs, newest first: their rings and DMA memory are gone but the small struct
	 * stays until the controller closes (or NVME_RETIRED_MAX newer ones push it out), so a
	 * handle used after updk_nvme_qpair_free() is refused instead of touching freed memory. */
	struct updk_nvme_qpair *retired;
	uint32_t nretired;
	/* namespaces: active ones, sorted by nsid; pointers stay valid until close */
	struct updk_nvme_ns **ns;
	uint32_t ns_count;
	uint32_t ns_cap;
	/* shadow doorbells */
	bool shadow;
	uint32_t *dbbuf;
	uint32_t *dbbuf_ei;
	uint64_t dbbuf_iova;
	uint64_t dbbuf_ei_iova;
	size_t dbbuf_size;
	bool sgl;
	bool sgl_dword; /* SGLS bits 1:0 = 10b: Data Blocks dword aligned and granular */
	uint64_t admin_timeout_tsc;
	uint64_t io_timeout_tsc; /* 0: no timeout */
	/* asynchronous events */
	uint32_t aer_limit;
	uint32_t aer_outstanding;
	bool ns_rescan;
	/* counters of qpairs freed before */
	struct updk_nvme_stats freed_stats;
	uint64_t resets;
	/*
	 * Automatic reset (reset.c). Any thread may set reset_request (a timeout an Abort did not
	 * resolve); the admin thread then disables the controller and bumps reset_gen, each qpair
	 * owner fails its commands and stores reset_gen in its reset_ack, and the admin thread
	 * brings everything back once all have. resetting lets the admin queue work while failed
	 * keeps the qpairs out.
	 */
	uint32_t reset_request;
	uint32_t reset_gen;
	bool reset_waiting; /* disabled, waiting for the qpair owners */
	bool resetting; /* bring-up after a reset in progress */
};

/* status.c */
void nvme_log_cpl(const struct updk_nvme_ctrlr *ctrlr, const char *what,
		  const struct updk_nvme_cpl *cpl);

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
/* Fill DPTR for a virtually contiguous buffer of @len bytes at @buf, translating as needed;
 * uses SGL when @d->sgl and PRPs cannot describe it. */
int nvme_dptr_buf(struct nvme_dptr *d, const void *buf, uint64_t len);

/* qpair.c */
int nvme_qpair_create(struct updk_nvme_ctrlr *ctrlr, uint16_t qid, uint32_t qsize,
		      struct updk_nvme_qpair **qpp);
void nvme_qpair_destroy(struct updk_nvme_qpair *qp);
/* Free @qp's rings and memory but keep the struct as a refused handle on the controller's
 * retired list; frees the oldest retired beyond NVME_RETIRED_MAX. */
void nvme_qpair_retire(struct updk_nvme_qpair *qp);
/* Free every retired qpair (controller close). */
void nvme_qpair_free_retired(struct updk_nvme_ctrlr *ctrlr);
/* A call on a freed qpair: logged once per handle; returns -EINVAL. */
int nvme_qpair_use_after_free(struct updk_nvme_qpair *qp, const char *fn);
void nvme_qpair_reset_rings(struct updk_nvme_qpair *qp);
void nvme_qpair_set_shadow(struct updk_nvme_qpair *qp);
int nvme_qpair_poll(struct updk_nvme_qpair *qp, uint32_t max);
void nvme_qpair_fail_all(struct updk_nvme_qpair *qp, uint8_t sct, uint8_t sc);
void nvme_qpair_check_timeouts(struct updk_nvme_qpair *qp);

/* Timeouts without a clock read per command: every quarter of the timeout, each outstanding
 * command ages by one; at NVME_AGE_TIMEOUT it has been outstanding for 3/4 to 4/4 of the
 * timeout and more, and is aborted; at twice that, the controller is reset (or, with
 * opts.no_auto_reset, marked failed). */
#define NVME_AGE_STEPS 4
#define NVME_AGE_TIMEOUT 4
void nvme_stats_add(struct updk_nvme_stats *to, const struct updk_nvme_stats *from);

/* Commands submitted and not completed (children of a split I/O apiece, and their parent). */
static inline uint32_t nvme_qp_outstanding(const struct updk_nvme_qpair *qp)
{
	return (uint32_t)qp->depth - qp->free_top;
}

static inline struct nvme_req *nvme_req_get(struct updk_nvme_qpair *qp)
{
	uint32_t top = qp->free_top;

	if (NVME_UNLIKELY(top == 0))
		return NULL;
	qp->free_top = (uint16_t)--top;
	return &qp->reqs[qp->free_stack[top]];
}

static inline void nvme_req_put(struct updk_nvme_qpair *qp, struct nvme_req *req)
{
	req->state = NVME_REQ_FREE;
	qp->free_stack[qp->free_top++] = req->cid;
}

/* The slot's PRP list / SGL segment area (list_stride bytes, IOVA contiguous with the rest). */
static inline uint64_t *nvme_req_list(const struct updk_nvme_qpair *qp, const struct nvme_req *req)
{
	return (uint64_t *)((uint8_t *)qp->list_mem + (size_t)req->cid * qp->list_stride);
}

static inline uint64_t nvme_req_list_iova(const struct updk_nvme_qpair *qp,
					  const struct nvme_req *req)
{
	return qp->list_iova + (uint64_t)req->cid * qp->list_stride;
}

/* Place @req's command (already built in the SQ slot at the tail) in the queue. */
static inline void nvme_sq_advance(struct updk_nvme_qpair *qp, struct nvme_req *req)
{
	/* state OUTSTANDING, no flags, age 0, opcode kept: one store */
	req->word = NVME_REQ_OUTSTANDING | (req->word & 0xff000000u);
	if (NVME_UNLIKELY(++qp->sq_tail == qp->qsize))
		qp->sq_tail = 0;
	qp->stats.cmds_submitted++;
}

/*
 * The shadow doorbell update with the EventIdx rule (NVMe Base 2.0 §5.8 Doorbell Buffer
 * Config): the controller asks for an MMIO write only when the new value passes the EventIdx
 * it published, i.e. when event_idx lies in [old, new) modulo 2^16.
 */
static inline bool nvme_dbbuf_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

static inline void nvme_sq_ring(struct updk_nvme_qpair *qp)
{
	uint16_t tail = qp->sq_tail;
	uint16_t old = qp->sq_db_tail;

	if (tail == old)
		return;
	qp->sq_db_tail = tail;
	/* The device must see the SQ entries before the new tail (design.md "MMIO is explicit"). */
	updk_wmb();
	if (qp->sq_shadow) {
		*qp->sq_shadow = tail;
		qp->stats.shadow_doorbell_updates++;
		/* The shadow value must be visible before EventIdx is read. */
		updk_mb();
		if (!nvme_dbbuf_need_event((uint16_t)*qp->sq_ei, tail, old))
			return;
	}
	updk_mmio_write32(qp->sq_db, tail);
	qp->stats.sq_doorbell_mmio++;
	qp->stats.mmio_doorbell_writes++;
}

static inline void nvme_cq_ring(struct updk_nvme_qpair *qp, uint16_t old)
{
	uint16_t head = qp->cq_head;

	if (qp->cq_shadow) {
		*qp->cq_shadow = head;
		qp->stats.shadow_doorbell_updates++;
		updk_mb();
		if (!nvme_dbbuf_need_event((uint16_t)*qp->cq_ei, head, old))
			return;
	}
	updk_mmio_write32(qp->cq_db, head);
	qp->stats.cq_doorbell_mmio++;
	qp->stats.mmio_doorbell_writes++;
}

/* ctrlr.c */
int nvme_ctrlr_enable(struct updk_nvme_ctrlr *ctrlr);
int nvme_ctrlr_disable(struct updk_nvme_ctrlr *ctrlr);
void nvme_ctrlr_shutdown(struct updk_nvme_ctrlr *ctrlr);
bool nvme_ctrlr_check_fatal(struct updk_nvme_ctrlr *ctrlr);
int nvme_ctrlr_setup(struct updk_nvme_ctrlr *ctrlr);

/* setup.c: take in the Identify Controller page @id (device-written, untrusted): keep a copy
 * in ctrlr->id and derive the transfer limit and SGL use from it. 0 or -EINVAL (a
 * max_xfer_size option below one page). */
int nvme_ctrlr_apply_id(struct updk_nvme_ctrlr *ctrlr, const struct updk_nvme_id_ctrl *id);

/* admin.c */
int nvme_admin_submit(struct updk_nvme_ctrlr *ctrlr, const struct updk_nvme_cmd *cmd, void *buf,
		      uint32_t len, updk_nvme_cb cb, void *arg, uint8_t reqflags);
int nvme_identify(struct updk_nvme_ctrlr *ctrlr, uint8_t cns, uint32_t nsid, void *buf);
int nvme_admin_sync_quiet(struct updk_nvme_ctrlr *ctrlr, const struct updk_nvme_cmd *cmd, void *buf,
			  uint32_t len, struct updk_nvme_cpl *cpl);
int nvme_set_num_queues(struct updk_nvme_ctrlr *ctrlr);
int nvme_create_io_queues(struct updk_nvme_qpair *qp);
int nvme_delete_io_queues(struct updk_nvme_qpair *qp);
int nvme_dbbuf_setup(struct updk_nvme_ctrlr *ctrlr);
void nvme_dbbuf_free(struct updk_nvme_ctrlr *ctrlr);
void nvme_abort_timed_out(struct updk_nvme_ctrlr *ctrlr);

/* ns.c */
int nvme_ns_scan(struct updk_nvme_ctrlr *ctrlr);
void nvme_ns_free_all(struct updk_nvme_ctrlr *ctrlr);

/* aer.c */
int nvme_aer_start(struct updk_nvme_ctrlr *ctrlr);
void nvme_aer_handle(struct updk_nvme_ctrlr *ctrlr);

/* reset.c */
/* Ask the admin thread for an automatic reset (any thread); false when it is disabled. */
bool nvme_reset_request(struct updk_nvme_ctrlr *ctrlr);
/* The admin poller's part of an automatic reset: -ENXIO while it waits or failed, else 0. */
int nvme_reset_poll(struct updk_nvme_ctrlr *ctrlr);
/* A qpair owner's part: fail what is outstanding once the controller is disabled. */
void nvme_qpair_reset_ack(struct updk_nvme_qpair *qp);

#endif
