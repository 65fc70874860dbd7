/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk NVMe interrupts: how a thread sleeps while its queues are idle and is woken by the
 * controller (docs/interrupts.md). Included by <updk/nvme.h>.
 *
 * A controller opened with updk_nvme_ctrlr_opts.interrupts has interrupt vectors, each an
 * eventfd: vector 0 for the admin queue, one for each qpair allocated with
 * updk_nvme_qpair_opts.interrupts (their completion queues are created with IEN and that IV,
 * NVMe Base 2.0 §5.4). The data path does not change: completions are still reaped by
 * updk_nvme_qpair_process_completions(), and interrupts that arrive while a thread polls are
 * only counted in the eventfd. To sleep:
 *
 *   1. updk_nvme_qpair_intr_ack() for each vector (once for queues that share one): consume
 *      what it counted;
 *   2. updk_nvme_qpair_intr_arm() for each queue: ring what was queued, then look at the
 *      completion queue once more; > 0 means completions are waiting: poll, do not sleep;
 *   3. wait for the fds in poll(2)/epoll(7).
 *
 * A completion posted before step 2 looked is found by it; one posted after step 1 makes the
 * fd readable: nothing is slept through. updk_loop (<updk/loop.h>) does these steps, with
 * updk_nvme_qpair_loop_queue() and updk_nvme_admin_loop_queue(). A vector and its queues
 * belong to one thread, as the qpair does.
 */
#ifndef UPDK_NVME_INTR_H
#define UPDK_NVME_INTR_H

#include <stdint.h>

#include <updk/loop.h>

struct updk_nvme_ctrlr;
struct updk_nvme_qpair;

/** Interrupt vectors the controller has enabled (0: opened without interrupts). */
unsigned updk_nvme_ctrlr_intr_vectors(const struct updk_nvme_ctrlr *ctrlr);

/** The eventfd of @qp's vector, or -EINVAL when the qpair has none (logged). */
int updk_nvme_qpair_intr_fd(const struct updk_nvme_qpair *qp);

/** Consume what @qp's vector counted (and unmask INTx, which each interrupt masks): the
 * count, or a negative errno. */
int updk_nvme_qpair_intr_ack(struct updk_nvme_qpair *qp);

/**
 * Ready @qp for sleeping, after updk_nvme_qpair_intr_ack(): write its pending doorbell, check
 * its timeouts, then look at its completion queue. Returns 0 when it is empty (sleep), 1 when
 * a completion waits or the controller has failed or is being reset (poll:
 * updk_nvme_qpair_process_completions() has something to do or to report), or a negative
 * errno (-EINVAL: a qpair without a vector, or freed).
 */
int updk_nvme_qpair_intr_arm(struct updk_nvme_qpair *qp);

/** The same three for the admin queue, on vector 0: for the thread that calls
 * updk_nvme_admin_process_completions(). Its arm also reports an Abort or a reset another
 * thread asked for (their requests also make the fd readable). */
int updk_nvme_admin_intr_fd(const struct updk_nvme_ctrlr *ctrlr);
int updk_nvme_admin_intr_ack(struct updk_nvme_ctrlr *ctrlr);
int updk_nvme_admin_intr_arm(struct updk_nvme_ctrlr *ctrlr);

/**
 * Set Interrupt Coalescing (NVMe Base 2.0 §5.27.1.7) now and after every reset: raise a
 * vector once @threshold + 1 completions wait or @time_100us x 100 µs after the first. The
 * admin queue is never coalesced. 0 or a negative errno (the controller's refusal logged).
 */
int updk_nvme_ctrlr_set_intr_coalescing(struct updk_nvme_ctrlr *ctrlr, uint8_t threshold,
					uint8_t time_100us);

/**
 * @qp as a queue of the hybrid loop: poll is updk_nvme_qpair_process_completions(qp, 0),
 * which counts as idle (0) while an automatic reset is under way; ack and arm the calls above.
 * The fd is negative when the qpair has no vector, and updk_loop_add() refuses it.
 */
struct updk_loop_queue updk_nvme_qpair_loop_queue(struct updk_nvme_qpair *qp);

/** The admin queue as a loop queue: poll is updk_nvme_admin_process_completions(). */
struct updk_loop_queue updk_nvme_admin_loop_queue(struct updk_nvme_ctrlr *ctrlr);

#endif
