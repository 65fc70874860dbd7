/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Controller bring-up and shutdown (NVMe Base 2.0 §3.5.1 "Memory-based Controller
 * Initialization", §3.6.1 "Memory-based Controller Shutdown"), as a polled state machine: each
 * step either finishes, or says "again" until its deadline (CAP.TO) passes. CSTS is read at
 * every wait: all ones means the function is gone, CFS means the controller failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <updk/tsc.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"
#include "drivers/nvme/transport.h"

enum init_state {
	INIT_CHECK, /* read CC/CSTS: is the controller enabled? */
	INIT_WAIT_RDY1_BEFORE_DISABLE, /* CC.EN=1, CSTS.RDY=0: wait for RDY=1 before clearing EN */
	INIT_WAIT_RDY0, /* CC.EN cleared: wait for CSTS.RDY=0 */
	INIT_CONFIGURE, /* admin queues, CC, then CC.EN=1 */
	INIT_WAIT_RDY1, /* wait for CSTS.RDY=1 */
	INIT_DONE,
};

static const char *const init_state_name[] = {
	[INIT_CHECK] = "check",
	[INIT_WAIT_RDY1_BEFORE_DISABLE] = "wait for CSTS.RDY=1 before disabling",
	[INIT_WAIT_RDY0] = "wait for CSTS.RDY=0 after CC.EN=0",
	[INIT_CONFIGURE] = "configure",
	[INIT_WAIT_RDY1] = "wait for CSTS.RDY=1 after CC.EN=1",
	[INIT_DONE] = "done",
};

struct init_sm {
	enum init_state state;
	enum init_state stop; /* INIT_CONFIGURE: only disable; INIT_DONE: full bring-up */
	uint64_t deadline_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint32_t nvme_reg_read4(struct updk_nvme_ctrlr *c, uint32_t off)
{
	uint32_t val;

	return c->ops->reg_read4(c, off, &val) ? NVME_REG_GONE : val;
}

void nvme_reg_write4(struct updk_nvme_ctrlr *c, uint32_t off, uint32_t val)
{
	c->ops->reg_write4(c, off, val);
}

void nvme_reg_write8(struct updk_nvme_ctrlr *c, uint32_t off, uint64_t val)
{
	c->ops->reg_write8(c, off, val);
}

static void sm_goto(struct updk_nvme_ctrlr *c, struct init_sm *sm, enum init_state s)
{
	sm->state = s;
	sm->deadline_ns = now_ns() + (uint64_t)c->ready_timeout_ms * 1000000ull;
}

bool nvme_ctrlr_check_fatal(struct updk_nvme_ctrlr *c)
{
	uint32_t csts = nvme_reg_read4(c, NVME_REG_CSTS);

	if (csts == NVME_REG_GONE) {
		if (!c->failed)
			log_err("%s: registers read all ones: the device is gone or not responding",
				c->name);
		nvme_ctrlr_mark_failed(c);
		return true;
	}
	if (csts & NVME_CSTS_CFS) {
		if (!c->failed)
			log_err("%s: controller fatal status (CSTS.CFS): reset it", c->name);
		nvme_ctrlr_mark_failed(c);
		return true;
	}
	return false;
}

/* What the state does with @csts: 0 when sm->stop is reached, -EAGAIN to wait, or an error. */
static int init_act(struct updk_nvme_ctrlr *c, struct init_sm *sm, uint32_t csts)
{
	struct updk_nvme_qpair *aq = c->adminq;
	uint32_t cc;
	int rc;

	switch (sm->state) {
	case INIT_CHECK:
		cc = nvme_reg_read4(c, NVME_REG_CC);
		if (!(cc & NVME_CC_EN)) {
			sm_goto(c, sm, INIT_WAIT_RDY0);
		} else if (!(csts & NVME_CSTS_RDY) && !(csts & NVME_CSTS_CFS)) {
			/* §3.5.1: EN=1 and RDY=0: let it become ready before disabling it */
			sm_goto(c, sm, INIT_WAIT_RDY1_BEFORE_DISABLE);
		} else {
			nvme_reg_write4(c, NVME_REG_CC, cc & ~NVME_CC_EN);
			sm_goto(c, sm, INIT_WAIT_RDY0);
		}
		return -EAGAIN;
	case INIT_WAIT_RDY1_BEFORE_DISABLE:
		if (!(csts & NVME_CSTS_RDY) && !(csts & NVME_CSTS_CFS))
			return -EAGAIN;
		cc = nvme_reg_read4(c, NVME_REG_CC);
		nvme_reg_write4(c, NVME_REG_CC, cc & ~NVME_CC_EN);
		sm_goto(c, sm, INIT_WAIT_RDY0);
		return -EAGAIN;
	case INIT_WAIT_RDY0:
		/* A fatal status here is what the reset clears: keep waiting for RDY=0. */
		if (csts & NVME_CSTS_RDY)
			return -EAGAIN;
		sm->state = INIT_CONFIGURE;
		return sm->stop == INIT_CONFIGURE ? 0 : -EAGAIN;
	case INIT_CONFIGURE:
		/* §3.5.1 steps 3-5: the admin queue (the transport's part: PCIe's AQA, ASQ,
		 * ACQ) with empty rings, then CC, then CC.EN=1 */
		rc = c->ops->admin_queue_attach(c);
		if (rc)
			return rc;
		nvme_qpair_reset(aq);
		/* CC.CSS (§3.1.3.5): every I/O Command Set the controller has (the Zoned
		 * Namespace one among them, ZNS 1.1 §5.1) when CAP.CSS says it can choose,
		 * as Linux does; else the NVM command set alone */
		cc = (NVME_CAP_CSS_IOCS(c->cap) ? NVME_CC_CSS_ALL : NVME_CC_CSS_NVM) |
		     NVME_CC_MPS(NVME_PAGE_SHIFT) | NVME_CC_AMS_RR | NVME_CC_IOSQES(6) |
		     NVME_CC_IOCQES(4);
		nvme_reg_write4(c, NVME_REG_CC, cc);
		nvme_reg_write4(c, NVME_REG_CC, cc | NVME_CC_EN);
		sm_goto(c, sm, INIT_WAIT_RDY1);
		return -EAGAIN;
	case INIT_WAIT_RDY1:
		if (csts & NVME_CSTS_CFS) {
			log_err("%s: controller fatal status (CSTS.CFS) while enabling", c->name);
			return -EIO;
		}
		if (!(csts & NVME_CSTS_RDY))
			return -EAGAIN;
		sm->state = INIT_DONE;
		return 0;
	case INIT_DONE:
		return 0;
	}
	return -EINVAL;
}

/*
 * One step. Returns 0 when sm->stop is reached, -EAGAIN to be called again, or an error. The
 * deadline is checked after the state has looked at CSTS, as Linux's NVMe driver does: a
 * controller found ready (or not ready) by a read made after CAP.TO ran out, because this
 * thread was off its CPU meanwhile, is taken, not timed out.
 */
static int init_step(struct updk_nvme_ctrlr *c, struct init_sm *sm)
{
	enum init_state was = sm->state;
	uint32_t csts;
	int rc;

	if (sm->state == sm->stop)
		return 0;
	csts = nvme_reg_read4(c, NVME_REG_CSTS);
	if (csts == NVME_REG_GONE) {
		log_err("%s: CSTS reads all ones during '%s': the device is gone", c->name,
			init_state_name[sm->state]);
		return -ENODEV;
	}
	rc = init_act(c, sm, csts);
	if (rc == -EAGAIN && sm->state == was && was != INIT_CHECK && now_ns() > sm->deadline_ns) {
		log_err("%s: timed out after %u ms (CAP.TO) in '%s' (CSTS 0x%08x)", c->name,
			c->ready_timeout_ms, init_state_name[was], csts);
		return -ETIMEDOUT;
	}
	return rc;
}

static int init_run(struct updk_nvme_ctrlr *c, enum init_state stop)
{
	struct init_sm sm = { .state = INIT_CHECK, .stop = stop };
	struct timespec pause = { 0, 20000 };
	int rc;

	while ((rc = init_step(c, &sm)) == -EAGAIN)
		nanosleep(&pause, NULL);
	return rc;
}

int nvme_ctrlr_enable(struct updk_nvme_ctrlr *c)
{
	return init_run(c, INIT_DONE);
}

int nvme_ctrlr_disable(struct updk_nvme_ctrlr *c)
{
	return init_run(c, INIT_CONFIGURE);
}

/* §3.6.1: CC.SHN = 01b, wait for CSTS.SHST = 10b. */
void nvme_ctrlr_shutdown(struct updk_nvme_ctrlr *c)
{
	uint32_t cc = nvme_reg_read4(c, NVME_REG_CC), csts;
	/* RTD3E is the entry latency in microseconds; never wait less than CAP.TO */
	uint64_t wait_ms = c->id.rtd3e / 1000 + 1;
	uint64_t deadline;
	struct timespec pause = { 0, 100000 };

	if (cc == NVME_REG_GONE || !(cc & NVME_CC_EN))
		return;
	if (wait_ms < c->ready_timeout_ms)
		wait_ms = c->ready_timeout_ms;
	if (wait_ms > 60000)
		wait_ms = 60000;
	nvme_reg_write4(c, NVME_REG_CC, (cc & ~NVME_CC_SHN_MASK) | NVME_CC_SHN_NORMAL);
	deadline = now_ns() + wait_ms * 1000000ull;
	for (;;) {
		csts = nvme_reg_read4(c, NVME_REG_CSTS);
		if (csts == NVME_REG_GONE)
			return;
		if ((csts & NVME_CSTS_SHST_MASK) == NVME_CSTS_SHST_COMPLETE)
			break;
		if (now_ns() > deadline) {
			log_warn("%s: shutdown not complete after %lu ms (CSTS 0x%08x)", c->name,
				 (unsigned long)wait_ms, csts);
			break;
		}
		nanosleep(&pause, NULL);
	}
	log_debug("%s: shutdown complete", c->name);
}

static void ctrlr_free(struct updk_nvme_ctrlr *c)
{
	nvme_ns_free_all(c);
	nvme_qpair_free_retired(c);
	nvme_qpair_destroy(c->adminq);
	free(c->qid_used);
	free(c->irq_used);
	c->ops->ctrlr_close(c);
}

static int ctrlr_probe_regs(struct updk_nvme_ctrlr *c)
{
	uint32_t mqes;

	if (c->ops->reg_read8(c, NVME_REG_CAP, &c->cap))
		c->cap = UINT64_MAX;
	c->vs = nvme_reg_read4(c, NVME_REG_VS);
	if (c->cap == UINT64_MAX || c->vs == NVME_REG_GONE) {
		log_err("%s: registers read all ones: the device is not responding", c->name);
		return -ENODEV;
	}
	mqes = NVME_CAP_MQES(c->cap);
	c->ready_timeout_ms = NVME_CAP_TO(c->cap) * 500;
	if (c->ready_timeout_ms == 0)
		c->ready_timeout_ms = 500;
	if (mqes < 1) {
		log_err("%s: CAP.MQES is 0: a controller must allow queues of 2 entries or more",
			c->name);
		return -EIO;
	}
	if (NVME_CAP_MPSMIN(c->cap) != 0) {
		log_err("%s: CAP.MPSMIN is %u KiB; this driver needs 4 KiB memory pages", c->name,
			4u << NVME_CAP_MPSMIN(c->cap));
		return -ENOTSUP;
	}
	if (!NVME_CAP_CSS_NVM(c->cap)) {
		log_err("%s: CAP.CSS: the NVM command set is not supported", c->name);
		return -ENOTSUP;
	}
	log_debug("%s: CAP 0x%016llx VS %u.%u.%u MQES %u TO %u ms DSTRD %u", c->name,
		  (unsigned long long)c->cap, c->vs >> 16, (c->vs >> 8) & 0xff, c->vs & 0xff, mqes,
		  c->ready_timeout_ms, NVME_CAP_DSTRD(c->cap));
	return 0;
}

int updk_nvme_ctrlr_open(const char *addr, const struct updk_nvme_ctrlr_opts *opts,
			 struct updk_nvme_ctrlr **ctrlrp)
{
	const struct nvme_transport_ops *ops;
	struct updk_nvme_ctrlr *c;
	struct nvme_trid trid;
	uint32_t aqsize;
	int rc;

	if (!addr || !ctrlrp) {
		log_err("updk_nvme_ctrlr_open: address and result pointer are required");
		return -EINVAL;
	}
	*ctrlrp = NULL;
	if (opts && (opts->opts_size == 0 || opts->opts_size > 4096)) {
		log_err("%s: opts->opts_size must be set to sizeof(struct updk_nvme_ctrlr_opts)",
			addr);
		return -EINVAL;
	}
	rc = nvme_trid_parse(addr, &trid);
	if (rc)
		return rc;
	ops = nvme_transport_find(&trid);
	if (!ops)
		return -EINVAL;
	rc = ops->ctrlr_open(&trid, &c);
	if (rc)
		return rc;
	c->ops = ops;
	if (opts)
		memcpy(&c->opts, opts,
		       opts->opts_size < sizeof(c->opts) ? opts->opts_size : sizeof(c->opts));
	c->opts.opts_size = sizeof(c->opts);
	c->admin_timeout_tsc = (c->opts.admin_timeout_ms ? c->opts.admin_timeout_ms : 10000) *
			       (updk_tsc_hz() / 1000);
	if (c->opts.io_timeout_ms == UINT32_MAX)
		c->io_timeout_tsc = 0;
	else
		c->io_timeout_tsc =
			(uint64_t)(c->opts.io_timeout_ms ? c->opts.io_timeout_ms : 30000) *
			(updk_tsc_hz() / 1000);

	aqsize = c->opts.admin_queue_size ? c->opts.admin_queue_size : 32;
	if (aqsize < 2 || aqsize > NVME_AQ_MAX) {
		log_err("%s: admin_queue_size %u out of range 2..%u", c->name, aqsize, NVME_AQ_MAX);
		rc = -EINVAL;
		goto fail;
	}
	/* sizes the admin queue's PRP lists; the I/O limit comes from MDTS in setup */
	c->max_xfer = NVME_ADMIN_MAX_XFER;
	/* The admin queue before the registers: over fabrics they are read through it. */
	rc = nvme_qpair_create(c, 0, aqsize, &c->adminq);
	if (rc)
		goto fail;
	rc = ctrlr_probe_regs(c);
	if (rc)
		goto fail;
	/* Vectors before the enable: the admin queue interrupts from its first completion. */
	rc = nvme_intr_setup(c);
	if (rc)
		goto fail;

	rc = nvme_ctrlr_enable(c);
	if (rc)
		goto fail_disable;
	rc = nvme_ctrlr_setup(c);
	if (rc)
		goto fail_disable;
	*ctrlrp = c;
	log_info("%s: %.40s, %u namespace(s), %u I/O queue(s), max transfer %u KiB%s", c->name,
		 c->id.mn, c->ns_count, c->max_qpairs, c->max_xfer / 1024,
		 updk_nvme_ctrlr_shadow_doorbell(c) ? ", shadow doorbells" : "");
	return 0;

fail_disable:
	/* the controller may own DMA memory of ours: stop it before freeing anything */
	nvme_ctrlr_disable(c);
fail:
	ctrlr_free(c);
	return rc;
}

void updk_nvme_ctrlr_close(struct updk_nvme_ctrlr *c)
{
	if (!c)
		return;
	c->closing = true;
	while (c->qpairs)
		updk_nvme_qpair_free(c->qpairs);
	if (!c->failed)
		nvme_ctrlr_shutdown(c);
	/* Disabled, the controller drops its queues and writes no more to our memory. */
	nvme_ctrlr_disable(c);
	nvme_qpair_fail_all(c->adminq, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
	ctrlr_free(c);
}

bool updk_nvme_ctrlr_is_failed(const struct updk_nvme_ctrlr *c)
{
	return __atomic_load_n(&c->failed, __ATOMIC_RELAXED);
}

bool updk_nvme_ctrlr_is_resetting(const struct updk_nvme_ctrlr *c)
{
	/* Waiting for the qpairs' owners, or asked for by one of them and not begun yet. A
	 * request on a controller already failed (fatal status, say) begins nothing: the admin
	 * poller does not reset a failed controller by itself (reset.c). */
	return c->reset_waiting || (__atomic_load_n(&c->reset_request, __ATOMIC_ACQUIRE) &&
				    !__atomic_load_n(&c->failed, __ATOMIC_ACQUIRE));
}

const char *updk_nvme_ctrlr_name(const struct updk_nvme_ctrlr *c)
{
	return c->name;
}

const struct updk_nvme_id_ctrl *updk_nvme_ctrlr_id(const struct updk_nvme_ctrlr *c)
{
	return &c->id;
}

uint64_t updk_nvme_ctrlr_cap(const struct updk_nvme_ctrlr *c)
{
	return c->cap;
}

uint32_t updk_nvme_ctrlr_version(const struct updk_nvme_ctrlr *c)
{
	return c->vs;
}

uint32_t updk_nvme_ctrlr_max_xfer_size(const struct updk_nvme_ctrlr *c)
{
	return c->max_xfer;
}

uint32_t updk_nvme_ctrlr_max_qpair_depth(const struct updk_nvme_ctrlr *c)
{
	return NVME_CAP_MQES(c->cap);
}

uint32_t updk_nvme_ctrlr_max_qpairs(const struct updk_nvme_ctrlr *c)
{
	return c->max_qpairs;
}

bool updk_nvme_ctrlr_sgl_supported(const struct updk_nvme_ctrlr *c)
{
	return c->sgl;
}

bool updk_nvme_ctrlr_sgl_byte_aligned(const struct updk_nvme_ctrlr *c)
{
	return c->sgl && !c->sgl_dword;
}

enum updk_nvme_md_sgl updk_nvme_ctrlr_md_sgl(const struct updk_nvme_ctrlr *c)
{
	return (enum updk_nvme_md_sgl)c->md_sgl;
}

void updk_nvme_ctrlr_get_stats(const struct updk_nvme_ctrlr *c, struct updk_nvme_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	nvme_stats_add(stats, &c->freed_stats);
	nvme_stats_add(stats, &c->adminq->stats);
	for (const struct updk_nvme_qpair *qp = c->qpairs; qp; qp = qp->next)
		nvme_stats_add(stats, &qp->stats);
	stats->resets = c->resets;
}
