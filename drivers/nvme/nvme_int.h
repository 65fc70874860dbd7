/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * drivers/nvme internals, the transport-independent core: the controller, namespace, queue
 * pair and request objects, the slot helpers every path shares, and the functions the core's
 * files share. A transport (drivers/nvme/pcie/, see transport.h) embeds the core's controller
 * and qpair in its own. Nothing here is public.
 */
#ifndef NVME_INT_H
#define NVME_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <updk/nvme.h>

#include "drivers/nvme/regs.h"

#define NVME_LIKELY(x) __builtin_expect(!!(x), 1)
#define NVME_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define NVME_INLINE static inline __attribute__((always_inline))

#define NVME_CID_NONE 0xffffu
/* Largest data buffer of one admin command. */
#define NVME_ADMIN_MAX_XFER (128u * 1024)

struct nvme_transport_ops;
struct nvme_split;

enum nvme_req_state {
	NVME_REQ_FREE = 0,
	NVME_REQ_OUTSTANDING, /* queued on the transport, owned by the controller until its CQE */
	NVME_REQ_CHILD, /* as OUTSTANDING, and a piece of a split I/O: completes into ->parent */
	NVME_REQ_PARENT, /* an I/O split at MDTS, waiting for its children */
};

/* Flags of a request. */
#define NVME_REQF_NO_TIMEOUT 0x1 /* Asynchronous Event Requests stay outstanding */
#define NVME_REQF_ABORT_SENT 0x2
#define NVME_REQF_TIMED_OUT 0x4
#define NVME_REQF_IN_ORDER 0x8 /* a parent whose children go one at a time (split.c) */

/*
 * One command slot of a qpair; its index is the CID. One cache line: what a submission writes
 * and a completion reads (cb, arg, the state word) comes first. A transport keeps what it needs
 * per slot (PCIe: the PRP list area) in arrays of its own, indexed by the CID.
 */
struct nvme_req {
	updk_nvme_cb cb;
	void *arg;
	struct nvme_req *parent; /* set for NVME_REQ_CHILD only */
	/* state, flags, age and opcode are written together at submission (nvme_req_start) */
	union {
		struct {
			uint8_t state;
			uint8_t flags;
			uint8_t age; /* timeout checks this command has been outstanding through */
			uint8_t opc;
		};
		uint32_t word;
	};
	union {
		struct {
			uint16_t cdw0_low; /* zero */
			uint16_t cid;
		};
		/* cid << 16: the CID where the SQE's CDW0 has it (NVMe Base 2.0 Figure 88), so
		 * that the fast path builds CDW0 and NSID with two ors */
		uint32_t cdw0_cid;
	};
	union {
		/* a parent: children not yet completed and the first failing completion */
		struct {
			uint32_t children;
			struct updk_nvme_cpl cpl;
		};
		/*
		 * An admin command (the admin queue never splits) whose data the transport copied
		 * (NVME_PAYLOAD_COPY): its DMA copy, freed with updk_dma_free() at completion, and
		 * the caller's buffer the copy goes back to when the controller wrote data (NULL:
		 * nothing to copy back, or the caller no longer waits for it).
		 */
		struct {
			void *bounce;
			void *user_buf;
			uint32_t user_len;
		};
	};
	struct nvme_req *next_free; /* a free slot: the next on the qpair's free list */
};

_Static_assert(sizeof(struct nvme_req) == 64, "a request slot is one cache line");
_Static_assert(offsetof(struct nvme_req, word) == 24, "the state word after cb, arg, parent");

/* Freed qpairs kept per controller as refused handles (struct updk_nvme_ctrlr.retired). */
#define NVME_RETIRED_MAX 64

/* Data-path messages per qpair: at most NVME_LOG_BURST a second (nvme_qp_log()). */
#define NVME_LOG_BURST 10

/*
 * The core of a queue pair: the admin queue (qid 0) or an I/O queue pair. A transport's qpair
 * embeds it as its first member (struct nvme_pcie_qpair); the public handle points here.
 * Cache line 0 holds everything the I/O path touches on every submission and completion;
 * the rest is counters read by the stats calls and fields of the control path.
 */
struct updk_nvme_qpair {
	/* line 0: the I/O path */
	struct nvme_req *reqs; /* depth slots, cache-line aligned */
	struct nvme_req *free_head; /* the free slots, through next_free, the last freed first */
	struct updk_nvme_ctrlr *ctrlr;
	/* ctrlr while the inlined PCIe paths take this qpair (inline_pcie), else
	 * nvme_ctrlr_stopped, whose failed flag is set: the I/O paths' first load and test say
	 * "inlined, and the controller not failed" at once */
	const struct updk_nvme_ctrlr *fast_ctrlr;
	uint16_t free_count; /* slots on the free list */
	uint16_t depth; /* request slots */
	uint16_t qid;
	bool inline_pcie; /* alive, on the PCIe transport: io.c may take its inlined fast path */
	bool dead; /* being freed or freed: submissions refused */
	/* polls so far (an I/O qpair counts them NVME_TICK_POLLS at a time, at each tick) */
	uint32_t polls;
	bool freed; /* updk_nvme_qpair_free() is done: the handle is kept only to refuse it */
	uint8_t tick_in; /* an I/O qpair's polls before its next tick (qpair.c), counted down */
	struct updk_nvme_stats stats; /* cmds_submitted and cmds_completed in line 0 */
	/* the control path */
	uint64_t last_check_tsc; /* last timeout check that aged the commands */
	struct updk_nvme_qpair *next; /* the controller's list of I/O qpairs, or of retired ones */
	/* timeouts: CID the owner asks the admin thread to abort, NVME_CID_NONE when none */
	uint32_t abort_cid;
	/* automatic reset: the controller's reset_gen whose commands the owner has failed */
	uint32_t reset_ack;
	/* bytes of caller memory one I/O command can carry by copy (NVME_PAYLOAD_COPY) */
	uint32_t copy_max;
	/* interrupt vector of its completion queue (intr.c), -1: polled only */
	int32_t iv;
	bool warned; /* a use after free has been logged */
	/* nvme_qp_log(): the current one-second window, lines logged in it, lines dropped */
	uint64_t log_window_tsc;
	uint32_t log_lines;
	uint32_t log_dropped;
	/* split I/Os (split.c): the pool, its free list, the FIFO of those waiting for slots */
	struct nvme_split *split_pool;
	struct nvme_split *split_free;
	struct nvme_split *split_head;
	struct nvme_split *split_tail;
	const struct nvme_transport_ops *ops;
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct updk_nvme_qpair, free_count) == 32, "I/O fields in line 0");
_Static_assert(offsetof(struct updk_nvme_qpair, polls) == 40, "I/O fields in line 0");
_Static_assert(offsetof(struct updk_nvme_qpair, tick_in) < 48, "I/O fields in line 0");
_Static_assert(offsetof(struct updk_nvme_qpair, stats.cmds_submitted) == 48, "line 0");
_Static_assert(offsetof(struct updk_nvme_qpair, stats.cmds_completed) == 56, "line 0");
_Static_assert(offsetof(struct updk_nvme_qpair, stats.cmds_failed) == 64, "line 1 starts");
_Static_assert(sizeof(struct updk_nvme_qpair) % 64 == 0, "a transport's fields start a line");

struct updk_nvme_ns {
	struct updk_nvme_ctrlr *ctrlr;
	uint32_t nsid;
	uint64_t sqe_nsid; /* nsid << 32: the NSID where an SQE's first qword has it */
	bool active;
	uint64_t nsze;
	uint32_t sector_size; /* data bytes per block */
	uint32_t md_size;
	bool md_extended;
	uint32_t xfer_block; /* bytes per block in the data buffer: data, plus md when extended */
	uint32_t max_io_sectors;
	/* max_io_sectors, but at most nsze: the fast path's bound on NLB, under which
	 * nsze - nlb does not wrap (io.c io_rw_try()) */
	uint32_t fast_max_nlb;
	/* ctrlr while the one-buffer calls take I/O (active, no separate metadata), else NULL:
	 * one check on the fast path */
	struct updk_nvme_ctrlr *io_ctrlr;
	/* ctrlr while the _ext calls take I/O (active), else NULL */
	struct updk_nvme_ctrlr *ext_ctrlr;
	/* protection information (ns_fmt.c): DPS type (0 none), PI first in the metadata, the
	 * Guard format (PIF), the Storage Tag Size and the PI's bytes */
	uint8_t pi_type;
	bool pi_first;
	uint8_t pif;
	uint8_t sts;
	uint8_t pi_size;
	struct updk_nvme_id_ns id;
	struct updk_nvme_ns_ids ids;
	struct nvme_zns *zns; /* zns.c: the zone geometry of a zoned namespace, else NULL */
};

/*
 * The core of a controller. A transport's controller embeds it as its first member (struct
 * nvme_pcie_ctrlr). Line 0 is what qpair threads read on every submission and poll (failed)
 * and never write: it stays shared in every core's cache.
 */
struct updk_nvme_ctrlr {
	bool failed;
	bool closing;
	bool resetting; /* bring-up after a reset in progress */
	bool reset_waiting; /* disabled, waiting for the qpair owners */
	uint32_t max_xfer;
	const struct nvme_transport_ops *ops;
	uint64_t io_timeout_tsc; /* 0: no timeout */
	uint64_t admin_timeout_tsc;
	uint64_t cap;
	uint32_t vs;
	uint32_t ready_timeout_ms; /* CAP.TO */
	/* end of line 0 */
	char name[64] __attribute__((aligned(64)));
	struct updk_nvme_ctrlr_opts opts;
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
	bool sgl; /* SGLs in use for I/O (Identify Controller SGLS, opts.no_sgl) */
	bool sgl_dword; /* SGLS bits 1:0 = 10b: Data Blocks dword aligned and granular */
	/* separate metadata through an SGL: OFF never, AUTO where MPTR cannot point at the
	 * buffer, ON always (opts.md_sgl, SGLS bit 19) */
	uint8_t md_sgl;
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
	/* Odd while a reset runs: from before failed is set until after it is cleared (or left
	 * set by a reset that failed). Only the admin thread writes it; any thread reads it
	 * (nvme_reset_transient()). */
	uint32_t reset_seq;
	uint8_t fail_sc; /* the Path Related Status the owners fail reset_gen's commands with */
	/* interrupts (intr.c): vectors enabled (0: none), which are given to a queue */
	uint32_t irq_count;
	uint8_t *irq_used;
	struct updk_nvme_id_ctrl id;
};

_Static_assert(offsetof(struct updk_nvme_ctrlr, failed) == 0, "failed in line 0");

/* qpair.c: what a qpair's fast_ctrlr points at when the inlined paths do not take it; never
 * written, its failed flag set. */
extern const struct updk_nvme_ctrlr nvme_ctrlr_stopped;

/* The inlined PCIe paths take @qp from now on (true), or no longer (false). */
static inline void nvme_qp_set_inline(struct updk_nvme_qpair *qp, bool on)
{
	qp->inline_pcie = on;
	qp->fast_ctrlr = on ? qp->ctrlr : &nvme_ctrlr_stopped;
}
_Static_assert(offsetof(struct updk_nvme_ctrlr, name) == 64, "line 0 is the read-mostly part");

/*
 * What a read, write or compare carries besides the data of its next command (io_md.c fills
 * it, split.c moves it on child by child): the CDW12 flags, the separate metadata, the PI
 * fields.
 */
struct nvme_io_md {
	uint8_t *md; /* separate metadata of the next command; NULL: none crosses the bus */
	uint32_t md_block; /* its bytes per block */
	uint32_t xfer_block; /* bytes per block in the data buffer */
	uint32_t cdw12; /* FUA, LR, PRINFO (the NLB is the command's) */
	uint32_t cdw15; /* LBATM << 16 | LBAT */
	uint64_t ref; /* Reference Tag of the next command's first block */
	uint64_t ref_mask; /* the format's Reference Tag bits */
	uint8_t ref_step; /* 1: the tag counts blocks (types 1 and 2); 0: it stays (type 3) */
	uint8_t pif; /* PIF: where the tag's bits above 31 go (CDW3) */
};

/* io_md.c: check the flags, options (NULL: none) and metadata buffer of an I/O of @nlb blocks
 * at @lba and fill *@x; 0, or -EINVAL with the reason logged. */
int nvme_io_md_prep(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint64_t lba, uint32_t nlb,
		    uint32_t io_flags, const struct updk_nvme_io_opts *opts, struct nvme_io_md *x);
/* The fields of @x into @cmd (CDW12's flags, CDW3, CDW14, CDW15) */
void nvme_cmd_md(struct updk_nvme_cmd *cmd, const struct nvme_io_md *x);
/* Move @x on by @nlb blocks: the metadata pointer and the Reference Tag. */
void nvme_io_md_advance(struct nvme_io_md *x, uint32_t nlb);

/* ns_fmt.c: the protection information of @ns from Identify Namespace @id (and, for the
 * Guard format, the I/O Command Set specific Identify Namespace); 0 or -ENOMEM */
int nvme_ns_fmt_read(struct updk_nvme_ctrlr *c, struct updk_nvme_ns *ns,
		     const struct updk_nvme_id_ns *id);

/* split.c: I/O above the transfer limit, its parent in a bounded pool, children waiting in
 * order for free slots (nvme_split_submit() and nvme_split_pump() in transport.h) */
int nvme_split_init(struct updk_nvme_qpair *qp, uint32_t n);
void nvme_split_fini(struct updk_nvme_qpair *qp);
/* A split I/O's last child completed: its record goes back to the pool. */
void nvme_split_parent_done(struct updk_nvme_qpair *qp, struct nvme_req *parent);
/* Send the children waiting for slots, while slots are free (a child's completion, the
 * poll's tick). */
void nvme_split_pump(struct updk_nvme_qpair *qp);
/* Fail the split I/Os whose children wait: each completes with (@sct, @sc) once its
 * outstanding children have (fail-all). */
void nvme_split_fail_waiting(struct updk_nvme_qpair *qp, uint8_t sct, uint8_t sc);
/* A child of an in-order parent (NVME_REQF_IN_ORDER) completed and others remain: send the
 * next, or after a failure complete the parent without them (then 1). */
int nvme_split_next(struct updk_nvme_qpair *qp, struct nvme_req *parent,
		    const struct updk_nvme_cpl *cpl);
/* A command of the NVM command set with its LBA (CDW10-11) and CDW12; no CID, no data. */
void nvme_cmd_fill(struct updk_nvme_cmd *cmd, uint8_t opc, uint32_t nsid, uint64_t lba,
		   uint32_t cdw12);

/* status.c */
void nvme_log_cpl(const struct updk_nvme_ctrlr *ctrlr, const char *what,
		  const struct updk_nvme_cpl *cpl);

/* zns.c: the zone geometry of @ns when its CSI is 02h (kept in ns->zns; NULL, logged, when
 * it cannot be read); 0 or -ENOMEM. Freed with nvme_zns_ns_free(). */
int nvme_zns_ns_read(struct updk_nvme_ctrlr *ctrlr, struct updk_nvme_ns *ns);
void nvme_zns_ns_free(struct updk_nvme_ns *ns);
/* split.c: a write to a zoned namespace above the transfer limit, split in order, stays in one
 * zone: 0, or logged and -EINVAL. */
int nvme_zns_split_check(struct updk_nvme_qpair *qp, struct updk_nvme_ns *ns, uint64_t lba,
			 uint32_t nlb);

/* ctrlr.c: controller registers (NVMe Base 2.0 §3.1.3) through the transport; a read that
 * fails reads all ones, as a removed PCIe function does. */
uint32_t nvme_reg_read4(struct updk_nvme_ctrlr *ctrlr, uint32_t off);
void nvme_reg_write4(struct updk_nvme_ctrlr *ctrlr, uint32_t off, uint32_t val);
void nvme_reg_write8(struct updk_nvme_ctrlr *ctrlr, uint32_t off, uint64_t val);

/* qpair.c */
/* Set up the core of a qpair the transport allocated (slots, counters); 0 or -ENOMEM. */
int nvme_qpair_init(struct updk_nvme_qpair *qp, struct updk_nvme_ctrlr *ctrlr, uint16_t qid,
		    uint32_t depth);
/* Free what nvme_qpair_init() allocated; the struct is the transport's. */
void nvme_qpair_fini(struct updk_nvme_qpair *qp);
/* Every slot free, the last CID at the bottom of the stack: after creation and a reset. */
void nvme_qpair_reset_slots(struct updk_nvme_qpair *qp);
/* A new qpair of the controller's transport with empty rings: 0 or -errno (logged). */
int nvme_qpair_create(struct updk_nvme_ctrlr *ctrlr, uint16_t qid, uint32_t qsize,
		      struct updk_nvme_qpair **qpp);
/* Empty the transport's rings and the slots (after a controller reset). */
void nvme_qpair_reset(struct updk_nvme_qpair *qp);
void nvme_qpair_destroy(struct updk_nvme_qpair *qp);
/* Free @qp's rings and memory but keep the struct as a refused handle on the controller's
 * retired list; frees the oldest retired beyond NVME_RETIRED_MAX. */
void nvme_qpair_retire(struct updk_nvme_qpair *qp);
/* Free every retired qpair (controller close). */
void nvme_qpair_free_retired(struct updk_nvme_ctrlr *ctrlr);
/* A call on a freed qpair: logged once per handle; returns -EINVAL. */
int nvme_qpair_use_after_free(struct updk_nvme_qpair *qp, const char *fn);
int nvme_qpair_poll(struct updk_nvme_qpair *qp, uint32_t max);
/* Complete every outstanding command of @qp from the host side (reset, free, close). Called
 * only once the transport moves no more data for them: queue deleted, controller disabled. */
void nvme_qpair_fail_all(struct updk_nvme_qpair *qp, uint8_t sct, uint8_t sc);
void nvme_qpair_check_timeouts(struct updk_nvme_qpair *qp);
/*
 * The completion routine every completion of every transport goes to, the controller's and
 * the host's own (fail-all): a child completes into its parent, an admin command's data copy
 * goes back to the caller, then the slot is freed and the callback runs (if the command still
 * has one). Returns 1 when a command completed for its caller (a parent counts once).
 */
int nvme_complete(struct updk_nvme_qpair *qp, struct nvme_req *req,
		  const struct updk_nvme_cpl *cpl);
/*
 * Log a data-path error of @qp (a refused argument, a completion the driver does not believe):
 * at most NVME_LOG_BURST lines a second per qpair, the rest counted and reported with the next
 * line logged. The qpair's thread only.
 */
void nvme_qp_log(struct updk_nvme_qpair *qp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), cold));

/* An I/O qpair's poll does the work of nvme_qpair_tick() once every NVME_TICK_POLLS polls. */
#define NVME_TICK_POLLS 32

/* Timeouts without a clock read per command: every quarter of the timeout, each outstanding
 * command ages by one; at NVME_AGE_TIMEOUT it has been outstanding for 3/4 to 4/4 of the
 * timeout and more, and is aborted; at twice that, the controller is reset (or, with
 * opts.no_auto_reset, marked failed). */
#define NVME_AGE_STEPS 4
#define NVME_AGE_TIMEOUT 4
void nvme_stats_add(struct updk_nvme_stats *to, const struct updk_nvme_stats *from);

/*
 * Request slots, written once here for every path: the fast read/write path, the general
 * path, the admin queue and the transports' reapers. A free slot always means room in the
 * transport's queue (PCIe: depth slots, at least depth + 1 ring entries).
 */

/*
 * The slots a qpair of @depth allocates: the next power of two, so a reaper tests a CID from
 * the controller with one mask (pcie.h cqe_refuse); those from @depth on stay free for good
 * (never on the free list), so a CID among them fails the outstanding test.
 */
static inline uint32_t nvme_reqs_span(uint32_t depth)
{
	uint32_t n = 1;

	while (n < depth)
		n <<= 1;
	return n;
}

/* Commands submitted and not completed (children of a split I/O apiece, and their parent). */
static inline uint32_t nvme_qp_outstanding(const struct updk_nvme_qpair *qp)
{
	return (uint32_t)qp->depth - qp->free_count;
}

/* A free slot (one pop of the free list), or NULL when every one is outstanding. */
NVME_INLINE struct nvme_req *nvme_slot_get(struct updk_nvme_qpair *qp)
{
	struct nvme_req *req = qp->free_head;

	if (NVME_UNLIKELY(!req))
		return NULL;
	qp->free_head = req->next_free;
	qp->free_count--;
	return req;
}

/* Give slot @req back: it is reused first, still warm in the cache. */
NVME_INLINE void nvme_slot_put(struct updk_nvme_qpair *qp, struct nvme_req *req)
{
	req->state = NVME_REQ_FREE;
	req->next_free = qp->free_head;
	qp->free_head = req;
	qp->free_count++;
}

/*
 * @req's command is in the transport's queue: the slot is outstanding (no flags, age 0, the
 * opcode, in one store) with its callback. A free slot's parent is NULL already (put back that
 * way): only a child sets it, after this.
 */
NVME_INLINE void nvme_req_start(struct updk_nvme_qpair *qp, struct nvme_req *req, updk_nvme_cb cb,
				void *arg, uint8_t opc)
{
	req->cb = cb;
	req->arg = arg;
	req->word = NVME_REQ_OUTSTANDING | (uint32_t)opc << 24;
	qp->stats.cmds_submitted++;
}

/* The slot @cid if it names a command the controller may complete, else NULL. */
NVME_INLINE struct nvme_req *nvme_req_outstanding(struct updk_nvme_qpair *qp, uint32_t cid)
{
	struct nvme_req *req = &qp->reqs[cid];

	if (cid >= qp->depth ||
	    (req->state != NVME_REQ_OUTSTANDING && req->state != NVME_REQ_CHILD))
		return NULL;
	return req;
}

/*
 * The common completion, inlined into a transport's reaper: a successful command of an I/O
 * qpair that is no child (the caller checked). Its slot is freed before the callback, so the
 * callback may submit again; anything else goes to nvme_complete().
 */
NVME_INLINE void nvme_complete_io(struct updk_nvme_qpair *qp, struct nvme_req *req,
				  const struct updk_nvme_cpl *cpl)
{
	updk_nvme_cb cb = req->cb;
	void *arg = req->arg;

	nvme_slot_put(qp, req);
	cb(arg, cpl);
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
void nvme_abort_timed_out(struct updk_nvme_ctrlr *ctrlr);

/* ns.c */
int nvme_ns_scan(struct updk_nvme_ctrlr *ctrlr);
void nvme_ns_free_all(struct updk_nvme_ctrlr *ctrlr);

/* aer.c */
int nvme_aer_start(struct updk_nvme_ctrlr *ctrlr);
void nvme_aer_handle(struct updk_nvme_ctrlr *ctrlr);

/* intr.c */
/* Enable the controller's vectors when opts.interrupts asks (vector 0 to the admin queue). */
int nvme_intr_setup(struct updk_nvme_ctrlr *ctrlr);
/* Give @qp a vector when @want (its own, or vector 0 when that is the only one): 0 or -errno,
 * logged; qp->iv -1 without. */
int nvme_intr_assign(struct updk_nvme_qpair *qp, bool want);
void nvme_intr_release(struct updk_nvme_qpair *qp);
/* Make vector @iv's fd readable (a wake-up without the device): a sleeping owner then polls. */
void nvme_intr_kick(struct updk_nvme_ctrlr *ctrlr, int32_t iv);
/* Interrupt Coalescing from opts (nvme_ctrlr_setup(): open and every reset). */
void nvme_intr_coalescing_apply(struct updk_nvme_ctrlr *ctrlr);

/* reset.c */
/* Ask the admin thread for an automatic reset (any thread); false when it is disabled. */
bool nvme_reset_request(struct updk_nvme_ctrlr *ctrlr);
/* The admin poller's part of an automatic reset: -ENXIO while it waits or failed, else 0. */
int nvme_reset_poll(struct updk_nvme_ctrlr *ctrlr);
/* A qpair owner's part: fail what is outstanding once the controller is disabled. */
void nvme_qpair_reset_ack(struct updk_nvme_qpair *qp);
/* Mark the controller failed until the application resets it (any thread). Where the
 * transport can stop a queue's data from the host side, every owner then fails its commands. */
void nvme_ctrlr_mark_failed(struct updk_nvme_ctrlr *ctrlr);

/* The reset sequence (any thread), read before a poll for nvme_reset_transient(). */
static inline uint32_t nvme_reset_seq(const struct updk_nvme_ctrlr *ctrlr)
{
	return __atomic_load_n(&ctrlr->reset_seq, __ATOMIC_ACQUIRE);
}

/*
 * Any thread, after a poll that began at reset sequence @seq returned -ENXIO: true when a
 * reset runs now or began or ended since @seq (poll again: it sees the controller back or the
 * reset through), false when the controller failed with no reset running (failed for good). The
 * admin thread's flags (reset_waiting, updk_nvme_ctrlr_is_resetting()) cannot tell a qpair's
 * thread this: a reset can begin, or end, between its poll and its look at them.
 */
static inline bool nvme_reset_transient(const struct updk_nvme_ctrlr *ctrlr, uint32_t seq)
{
	uint32_t now = nvme_reset_seq(ctrlr);

	return (now & 1) || now != seq;
}

#endif
