// SPDX-License-Identifier: BSD-3-Clause
/*
 * Interrupts, the core's part (<updk/nvme_intr.h>, docs/interrupts.md): the controller's
 * vectors and which queue has which, the eventfd, acknowledge and arm calls, Interrupt
 * Coalescing (NVMe Base 2.0 §5.27.1.7), and the wake-ups the driver gives a sleeping owner
 * itself (an automatic reset, an Abort to send). The transport enables the vectors and puts a
 * queue's interrupt on its vector (PCIe: IEN and IV of Create I/O Completion Queue, §5.4).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"
#include "drivers/nvme/transport.h"

int nvme_intr_setup(struct updk_nvme_ctrlr *c)
{
	uint32_t want = (c->opts.num_io_queues ? c->opts.num_io_queues : 64) + 1;
	int n;

	c->adminq->iv = -1;
	if (!c->opts.interrupts)
		return 0;
	if (!c->ops->intr_setup) {
		log_err("%s: the %s transport has no interrupts: open it without them (polled)",
			c->name, c->ops->name);
		return -ENOTSUP;
	}
	if (want > 2048)
		want = 2048; /* MSI-X's most */
	n = c->ops->intr_setup(c, want);
	if (n < 0)
		return n;
	c->irq_used = calloc((size_t)n, 1);
	if (!c->irq_used)
		return -ENOMEM;
	c->irq_count = (uint32_t)n;
	/* The admin completion queue always interrupts, on vector 0 (§3.1.3.3). */
	c->irq_used[0] = 1;
	c->adminq->iv = 0;
	return 0;
}

int nvme_intr_assign(struct updk_nvme_qpair *qp, bool want)
{
	struct updk_nvme_ctrlr *c = qp->ctrlr;

	qp->iv = -1;
	if (!want)
		return 0;
	if (!c->irq_count) {
		log_err("%s: a qpair with interrupts on a controller opened without them: set "
			"updk_nvme_ctrlr_opts.interrupts, or allocate the qpair polled",
			c->name);
		return -EINVAL;
	}
	/* One vector only (INTx, a single MSI): every queue shares it, admin queue included. */
	if (c->irq_count == 1) {
		qp->iv = 0;
		return 0;
	}
	for (uint32_t v = 1; v < c->irq_count; v++) {
		if (!c->irq_used[v]) {
			c->irq_used[v] = 1;
			qp->iv = (int32_t)v;
			return 0;
		}
	}
	log_err("%s: no interrupt vector left for I/O queue %u: the %u enabled serve the admin "
		"queue and %u qpairs; allocate it polled, or open the controller with more "
		"(num_io_queues, the function's vectors)",
		c->name, qp->qid, c->irq_count, c->irq_count - 1);
	return -ENOSPC;
}

void nvme_intr_release(struct updk_nvme_qpair *qp)
{
	struct updk_nvme_ctrlr *c = qp->ctrlr;

	if (qp->iv > 0 && (uint32_t)qp->iv < c->irq_count)
		c->irq_used[qp->iv] = 0;
	qp->iv = -1;
}

void nvme_intr_kick(struct updk_nvme_ctrlr *c, int32_t iv)
{
	uint64_t one = 1;
	int fd;

	if (iv < 0 || (uint32_t)iv >= c->irq_count)
		return;
	if (c->ops->intr_kick) {
		c->ops->intr_kick(c, (uint32_t)iv);
		return;
	}
	fd = c->ops->intr_fd(c, (uint32_t)iv);
	/* EAGAIN only when the count is near 2^64: readable then anyway. */
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		return;
}

static int coalescing_set(struct updk_nvme_ctrlr *c)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_SET_FEATURES,
				     .cdw10 = UPDK_NVME_FEAT_INTERRUPT_COALESCING };
	struct updk_nvme_cpl cpl;
	int rc;

	/* CDW11: Aggregation Threshold 7:0 (0's based), Aggregation Time 15:8 (100 µs). */
	cmd.cdw11 = c->opts.intr_coal_threshold | (uint32_t)c->opts.intr_coal_time_100us << 8;
	rc = nvme_admin_sync_quiet(c, &cmd, NULL, 0, &cpl);
	if (rc == -EIO)
		nvme_log_cpl(c, "Set Features Interrupt Coalescing", &cpl);
	return rc;
}

void nvme_intr_coalescing_apply(struct updk_nvme_ctrlr *c)
{
	if (!c->opts.intr_coal_threshold && !c->opts.intr_coal_time_100us)
		return;
	if (coalescing_set(c))
		log_warn("%s: interrupt coalescing not set: every completion interrupts", c->name);
}

int updk_nvme_ctrlr_set_intr_coalescing(struct updk_nvme_ctrlr *c, uint8_t threshold,
					uint8_t time_100us)
{
	uint8_t old_thr, old_time;
	int rc;

	if (!c)
		return -EINVAL;
	if (c->failed)
		return -ENXIO;
	old_thr = c->opts.intr_coal_threshold;
	old_time = c->opts.intr_coal_time_100us;
	c->opts.intr_coal_threshold = threshold;
	c->opts.intr_coal_time_100us = time_100us;
	rc = coalescing_set(c);
	if (rc) {
		c->opts.intr_coal_threshold = old_thr;
		c->opts.intr_coal_time_100us = old_time;
	}
	return rc;
}

unsigned updk_nvme_ctrlr_intr_vectors(const struct updk_nvme_ctrlr *c)
{
	return c->irq_count;
}

/* The vector of @qp for @fn, or -EINVAL (logged) for a qpair without one or freed. */
static int vector_of(const struct updk_nvme_qpair *qp, const char *fn)
{
	if (qp->freed)
		return nvme_qpair_use_after_free((struct updk_nvme_qpair *)qp, fn);
	if (qp->iv < 0) {
		log_err("%s: %s: queue %u has no interrupt vector (allocate it with interrupts, on "
			"a controller opened with them)",
			qp->ctrlr->name, fn, qp->qid);
		return -EINVAL;
	}
	return qp->iv;
}

int updk_nvme_qpair_intr_fd(const struct updk_nvme_qpair *qp)
{
	int v = vector_of(qp, "updk_nvme_qpair_intr_fd");

	return v < 0 ? v : qp->ctrlr->ops->intr_fd(qp->ctrlr, (uint32_t)v);
}

int updk_nvme_qpair_intr_ack(struct updk_nvme_qpair *qp)
{
	int v = vector_of(qp, "updk_nvme_qpair_intr_ack");
	int64_t n;

	if (v < 0)
		return v;
	n = qp->ctrlr->ops->intr_ack(qp->ctrlr, (uint32_t)v);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

/* The controller failed, or a reset is under way: the owner must poll to see it through. */
static bool ctrlr_needs_poll(struct updk_nvme_ctrlr *c)
{
	return __atomic_load_n(&c->failed, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&c->reset_request, __ATOMIC_ACQUIRE);
}

int updk_nvme_qpair_intr_arm(struct updk_nvme_qpair *qp)
{
	int v = vector_of(qp, "updk_nvme_qpair_intr_arm");

	if (v < 0)
		return v;
	if (ctrlr_needs_poll(qp->ctrlr))
		return 1;
	/* Commands queued and not rung would never complete while the owner sleeps. */
	qp->ops->ring(qp);
	/* Polls are rare in interrupt mode: age outstanding commands here, before each sleep
	 * (a timed-out command's Abort request wakes the admin thread). */
	nvme_qpair_check_timeouts(qp);
	return qp->ops->intr_pending(qp) ? 1 : 0;
}

int updk_nvme_admin_intr_fd(const struct updk_nvme_ctrlr *c)
{
	return updk_nvme_qpair_intr_fd(c->adminq);
}

int updk_nvme_admin_intr_ack(struct updk_nvme_ctrlr *c)
{
	return updk_nvme_qpair_intr_ack(c->adminq);
}

/* True when some qpair asked the admin thread for an Abort. */
static bool abort_asked(struct updk_nvme_ctrlr *c)
{
	for (struct updk_nvme_qpair *qp = c->qpairs; qp; qp = qp->next)
		if (__atomic_load_n(&qp->abort_cid, __ATOMIC_ACQUIRE) != NVME_CID_NONE)
			return true;
	return false;
}

int updk_nvme_admin_intr_arm(struct updk_nvme_ctrlr *c)
{
	int v = vector_of(c->adminq, "updk_nvme_admin_intr_arm");

	if (v < 0)
		return v;
	if (ctrlr_needs_poll(c) || abort_asked(c))
		return 1;
	c->adminq->ops->ring(c->adminq);
	nvme_qpair_check_timeouts(c->adminq);
	return c->ops->intr_pending(c->adminq) ? 1 : 0;
}

/*
 * Loop queues: a reset is idle time for the loop, not an error that ends it. The qpair's loop
 * runs on its owner's thread, not the admin thread, so it asks the reset sequence (read before
 * the poll) and not updk_nvme_ctrlr_is_resetting(): a reset that began while the admin thread
 * was still disabling the controller, or that ended between the poll and the look, would
 * otherwise reach the owner as an error.
 */
static int loop_qpair_poll(void *arg)
{
	struct updk_nvme_qpair *qp = arg;
	uint32_t seq = nvme_reset_seq(qp->ctrlr);
	int n = updk_nvme_qpair_process_completions(qp, 0);

	return n == -ENXIO && nvme_reset_transient(qp->ctrlr, seq) ? 0 : n;
}

static int loop_qpair_ack(void *arg)
{
	int n = updk_nvme_qpair_intr_ack(arg);

	return n < 0 ? n : 0;
}

static int loop_qpair_arm(void *arg)
{
	return updk_nvme_qpair_intr_arm(arg);
}

struct updk_loop_queue updk_nvme_qpair_loop_queue(struct updk_nvme_qpair *qp)
{
	return (struct updk_loop_queue){ .fd = updk_nvme_qpair_intr_fd(qp),
					 .poll = loop_qpair_poll,
					 .ack = loop_qpair_ack,
					 .arm = loop_qpair_arm,
					 .arg = qp };
}

static int loop_admin_poll(void *arg)
{
	struct updk_nvme_ctrlr *c = arg;
	uint32_t seq = nvme_reset_seq(c);
	int n = updk_nvme_admin_process_completions(c);

	return n == -ENXIO && nvme_reset_transient(c, seq) ? 0 : n;
}

static int loop_admin_ack(void *arg)
{
	int n = updk_nvme_admin_intr_ack(arg);

	return n < 0 ? n : 0;
}

static int loop_admin_arm(void *arg)
{
	return updk_nvme_admin_intr_arm(arg);
}

struct updk_loop_queue updk_nvme_admin_loop_queue(struct updk_nvme_ctrlr *c)
{
	return (struct updk_loop_queue){ .fd = updk_nvme_admin_intr_fd(c),
					 .poll = loop_admin_poll,
					 .ack = loop_admin_ack,
					 .arm = loop_admin_arm,
					 .arg = c };
}
