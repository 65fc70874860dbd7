/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the files of the fio ioengine share (docs/fio.md). fio_engine.c holds the hooks fio calls,
 * ctrlrs.c the controllers every job thread of the process shares, filename.c the file names.
 * Only ctrlrs.c and filename.c are free of fio's headers.
 */
#ifndef UPDK_FIO_ENGINE_H
#define UPDK_FIO_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <updk/nvme.h>

#include "plugins/fio/filename.h"

/* How a controller is opened: every job on one controller must ask for the same. */
struct fu_ctrlr_opts {
	bool shadow_doorbell; /**< use Doorbell Buffer Config where offered */
	bool interrupts; /**< enable the function's interrupt vectors (interrupt_mode=1) */
};

/* One controller, shared by every job of the process that names it. */
struct fu_ctrlr {
	struct fu_ctrlr *next;
	char addr[FU_ADDR_MAX];
	struct updk_nvme_ctrlr *ctrlr;
	struct fu_ctrlr_opts opts;
	int numa_node; /**< of the PCI function; UPDK_NUMA_ANY for sim */
	unsigned refs; /**< files of jobs set up on it and not yet cleaned up */
	unsigned qpairs; /**< qpairs allocated on it and not freed */
	uint64_t admin_next; /**< TSC of the next admin queue poll */
};

/*
 * The admin lock serialises everything updk asks of one controller's admin thread: open, close,
 * qpair alloc and free, admin polling. fu_admin_lock() takes the calling thread offline for
 * updk's memory (QSBR) before it may block, so a holder waiting for a grace period never waits
 * for a thread that waits for the lock.
 */
void fu_admin_lock(void);
void fu_admin_unlock(void);

/**
 * A reference to the controller at @addr, opened with @opts if no job has it open yet. Returns 0,
 * or a negative errno with the reason (updk logs its own) in @err. Takes the admin lock.
 */
int fu_ctrlr_get(const char *addr, const struct fu_ctrlr_opts *opts, struct fu_ctrlr **c, char *err,
		 size_t errlen);

/** Drop a reference; the last one closes the controller (CC.SHN) and frees its memory. */
void fu_ctrlr_put(struct fu_ctrlr *c);

/**
 * Allocate a qpair of @depth on @c (admin lock taken here), with an interrupt vector of its own
 * when @c was opened with interrupts. 0, or a negative errno with the reason in @err.
 */
int fu_qpair_alloc(struct fu_ctrlr *c, uint32_t depth, struct updk_nvme_qpair **qp, char *err,
		   size_t errlen);

/** Free a qpair of @c (admin lock taken here). */
void fu_qpair_free(struct fu_ctrlr *c, struct updk_nvme_qpair *qp);

/**
 * Poll @c's admin queue if its period is up and no other thread holds the admin lock (never
 * blocks). Call from a data-path thread now and then.
 */
void fu_admin_poll(struct fu_ctrlr *c, uint64_t now);

/**
 * True when @c failed for good (failed, and no automatic reset under way), so waiting for its
 * completions is in vain. Waits for the admin lock.
 */
bool fu_ctrlr_dead(struct fu_ctrlr *c);

#endif
