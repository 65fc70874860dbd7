/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Controller reset (NVMe Base 2.0 §3.7.2 Controller Reset: CC.EN 1 -> 0 deletes every queue
 * and loses the controller's state). The driver disables the controller first, so it writes no
 * more into our memory, then completes every outstanding command with Command Aborted By Host,
 * brings the controller up again and recreates each qpair with the same id and depth.
 *
 * Two ways in. updk_nvme_ctrlr_reset() is called by the application while its qpair threads
 * are quiet, and does everything at once. The automatic reset follows a timeout that an Abort
 * did not resolve (§5.1: the controller may ignore an Abort; the host's recourse is a reset).
 * It runs from the admin poller while other threads may own the qpairs, so it goes in steps:
 * disable the controller and fail the admin commands; each qpair's owner, at its next poll,
 * fails its own commands (their callbacks run on the thread they belong to) and says so; once
 * all have, the admin poller brings the controller and the qpairs back.
 */
#include <errno.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"
#include "drivers/nvme/transport.h"

static void fail_qpair(struct updk_nvme_qpair *qp, uint8_t sc)
{
	nvme_qpair_fail_all(qp, UPDK_NVME_SCT_PATH, sc);
}

/*
 * Mark a reset running (reset_seq odd) or over (even). Running is stored before failed is set
 * and over after failed is cleared, both with release: a qpair thread whose poll saw failed
 * sees the sequence odd or moved on (nvme_reset_transient()). Only the admin thread writes it.
 */
static void reset_running(struct updk_nvme_ctrlr *c, bool on)
{
	uint32_t seq = c->reset_seq;

	if ((seq & 1u) != (uint32_t)on)
		__atomic_store_n(&c->reset_seq, seq + 1, __ATOMIC_RELEASE);
}

static int reset_disable(struct updk_nvme_ctrlr *c)
{
	int rc = nvme_ctrlr_disable(c);

	if (rc)
		log_err("%s: reset: the controller does not become disabled: %s", c->name,
			rc == -ETIMEDOUT ? "timed out" : "gone");
	/* Asynchronous Event Requests die with the queues; the bring-up sends new ones. */
	c->aer_limit = 0;
	return rc;
}

/*
 * Enable, set up and recreate the qpairs of a disabled controller whose commands have all been
 * completed. The controller stays marked failed (qpair threads keep out) until the end;
 * resetting lets the admin queue work meanwhile.
 */
static int reset_bring_up(struct updk_nvme_ctrlr *c)
{
	int rc;

	c->resetting = true;
	/* (The transport's admin_queue_attach drops what the disabled controller forgot, PCIe's
	 * shadow doorbells, before CC.EN=1.) */
	rc = nvme_ctrlr_enable(c);
	if (rc == 0)
		rc = nvme_ctrlr_setup(c);
	for (struct updk_nvme_qpair *qp = c->qpairs; qp && rc == 0; qp = qp->next) {
		nvme_qpair_reset(qp);
		rc = c->ops->qpair_connect(qp);
	}
	c->resetting = false;
	c->reset_waiting = false;
	__atomic_store_n(&c->reset_request, 0, __ATOMIC_RELAXED);
	if (rc) {
		log_err("%s: reset failed (%d): the controller is unusable; close it", c->name, rc);
		nvme_ctrlr_disable(c);
		reset_running(c, false);
		return rc;
	}
	/* Release: a qpair thread that sees failed clear sees its recreated rings. */
	__atomic_store_n(&c->failed, false, __ATOMIC_RELEASE);
	reset_running(c, false);
	log_info("%s: reset complete", c->name);
	return 0;
}

int updk_nvme_ctrlr_reset(struct updk_nvme_ctrlr *c)
{
	int rc;

	if (!c)
		return -EINVAL;
	c->resets++;
	log_info("%s: resetting the controller", c->name);
	reset_running(c, true);
	/* callbacks that submit again get -ENXIO, not a lost slot */
	__atomic_store_n(&c->failed, true, __ATOMIC_RELEASE);
	rc = reset_disable(c);
	/* If the controller did not stop, its memory may still be in use by the device: the
	 * commands are failed all the same, the memory is kept until close. */
	fail_qpair(c->adminq, UPDK_NVME_SC_ABORTED_BY_HOST);
	for (struct updk_nvme_qpair *qp = c->qpairs; qp; qp = qp->next)
		fail_qpair(qp, UPDK_NVME_SC_ABORTED_BY_HOST);
	if (rc) {
		c->reset_waiting = false;
		__atomic_store_n(&c->reset_request, 0, __ATOMIC_RELAXED);
		reset_running(c, false);
		return rc;
	}
	return reset_bring_up(c);
}

bool nvme_reset_request(struct updk_nvme_ctrlr *c)
{
	if (c->opts.no_auto_reset)
		return false;
	__atomic_store_n(&c->reset_request, 1, __ATOMIC_RELEASE);
	/* the admin thread resets: wake it if it sleeps on its vector */
	nvme_intr_kick(c, 0);
	return true;
}

/* True once every qpair's owner has failed its commands for the current reset. */
static bool owners_done(struct updk_nvme_ctrlr *c)
{
	uint32_t gen = c->reset_gen;
	unsigned waiting = 0;

	for (struct updk_nvme_qpair *qp = c->qpairs; qp; qp = qp->next)
		waiting += __atomic_load_n(&qp->reset_ack, __ATOMIC_ACQUIRE) != gen;
	return waiting == 0;
}

int nvme_reset_poll(struct updk_nvme_ctrlr *c)
{
	int rc;

	if (!c->reset_waiting) {
		if (c->failed) {
			/* failed for good (nvme_ctrlr_mark_failed()): the admin queue's too */
			if (c->ops->qpair_abort_queued)
				nvme_qpair_reset_ack(c->adminq);
			return -ENXIO;
		}
		if (!__atomic_load_n(&c->reset_request, __ATOMIC_ACQUIRE))
			return 0;
		c->resets++;
		log_warn("%s: resetting the controller (why: logged above)", c->name);
		reset_running(c, true);
		__atomic_store_n(&c->failed, true, __ATOMIC_RELEASE);
		rc = reset_disable(c);
		fail_qpair(c->adminq, UPDK_NVME_SC_ABORTED_BY_HOST);
		c->fail_sc = UPDK_NVME_SC_ABORTED_BY_HOST;
		/* The controller is disabled and writes nothing more into the qpairs' memory: their
		 * owners may now complete what they have outstanding (nvme_qpair_reset_ack). */
		__atomic_store_n(&c->reset_gen, c->reset_gen + 1, __ATOMIC_RELEASE);
		if (rc) {
			__atomic_store_n(&c->reset_request, 0, __ATOMIC_RELAXED);
			reset_running(c, false);
			return -ENXIO;
		}
		c->reset_waiting = true;
		/* Owners asleep on their vectors would not see it before their next timeout. */
		for (struct updk_nvme_qpair *qp = c->qpairs; qp; qp = qp->next)
			nvme_intr_kick(c, qp->iv);
		if (!owners_done(c))
			log_info("%s: controller disabled; its qpairs' commands complete with "
				 "Command Aborted By Host at their threads' next poll",
				 c->name);
	}
	if (!owners_done(c))
		return -ENXIO;
	return reset_bring_up(c) ? -ENXIO : 0;
}

void nvme_qpair_reset_ack(struct updk_nvme_qpair *qp)
{
	uint32_t gen = __atomic_load_n(&qp->ctrlr->reset_gen, __ATOMIC_ACQUIRE);

	if (__atomic_load_n(&qp->reset_ack, __ATOMIC_RELAXED) == gen)
		return;
	fail_qpair(qp, qp->ctrlr->fail_sc);
	/* Release: the admin thread resets the rings only after our last touch of them. */
	__atomic_store_n(&qp->reset_ack, gen, __ATOMIC_RELEASE);
}

/*
 * No reset is coming (opts.no_auto_reset, or a controller fatal or gone): the commands
 * outstanding would wait for one. A transport that can stop a queue from the host
 * side (qpair_abort_queued: NVMe/TCP closes the connection, after which no data moves) lets
 * each owner fail them at its next poll, as in a reset, with Host Pathing Error (NVMe Base 2.0
 * §4.6.1.2.4, Figure 98: the host can no longer reach the controller on this path). PCIe's
 * wait for updk_nvme_ctrlr_reset(): until the controller is disabled it may still write into
 * their buffers.
 */
void nvme_ctrlr_mark_failed(struct updk_nvme_ctrlr *c)
{
	__atomic_store_n(&c->failed, true, __ATOMIC_RELEASE);
	if (!c->ops->qpair_abort_queued)
		return;
	c->fail_sc = UPDK_NVME_SC_HOST_PATHING_ERROR;
	/* Release: an owner that sees the new generation sees fail_sc. */
	__atomic_add_fetch(&c->reset_gen, 1, __ATOMIC_RELEASE);
	nvme_intr_kick(c, 0);
	for (struct updk_nvme_qpair *qp = c->qpairs; qp; qp = qp->next)
		nvme_intr_kick(c, qp->iv);
}
