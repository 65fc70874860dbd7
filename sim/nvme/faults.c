/* SPDX-License-Identifier: BSD-3-Clause */
/* sim:nvme test hooks (sim_nvme.h): fault injection, namespace changes, counters. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "lib/pci/backend.h"

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

/* The controller behind @dev with its device lock held, or NULL if @dev is not sim:nvme. */
static struct nvme_ctrl *ctrl_lock(struct updk_pci_dev *dev)
{
	struct sim_dev *sd;

	if (!dev || !dev->ops || !dev->ops->name || strcmp(dev->ops->name, "sim") != 0)
		return NULL;
	sd = dev->priv;
	if (!sd || sd->model != &sim_nvme_model || !sd->priv)
		return NULL;
	pthread_mutex_lock(&sd->lock);
	return sd->priv;
}

static void ctrl_unlock(struct nvme_ctrl *c)
{
	pthread_mutex_unlock(&c->sd->lock);
}

#define WITH_CTRL(dev, c)                     \
	struct nvme_ctrl *c = ctrl_lock(dev); \
	if (!c)                               \
		return -EINVAL;

/* The queue a fault is armed for: @sqid, or -1 (any queue) for every negative value. */
static int fault_sqid(int sqid)
{
	return sqid < 0 ? -1 : sqid;
}

/* The faults of @c changed (under its lock): recompute what the model checks, then unlock. */
static int faults_changed(struct nvme_ctrl *c)
{
	faults_update(c);
	ctrl_unlock(c);
	return 0;
}

int sim_nvme_stats(struct updk_pci_dev *dev, struct sim_nvme_stats *st)
{
	WITH_CTRL(dev, c);
	*st = c->st;
	ctrl_unlock(c);
	return 0;
}

int sim_nvme_fault_fatal(struct updk_pci_dev *dev)
{
	WITH_CTRL(dev, c);
	ctrl_fatal(c, "injected by a test");
	ctrl_unlock(c);
	return 0;
}

int sim_nvme_fault_drop(struct updk_pci_dev *dev, int sqid)
{
	WITH_CTRL(dev, c);
	c->f.drop_sqid = fault_sqid(sqid);
	return faults_changed(c);
}

int sim_nvme_fault_hang(struct updk_pci_dev *dev, int sqid, uint8_t opc)
{
	WITH_CTRL(dev, c);
	c->f.hang_sqid = fault_sqid(sqid);
	c->f.hang_opc = opc;
	return faults_changed(c);
}

int sim_nvme_fault_delay(struct updk_pci_dev *dev, uint32_t us)
{
	WITH_CTRL(dev, c);
	c->f.delay_ticks = (uint64_t)us * c->tsc_hz / 1000000;
	if (us && !c->f.delay_ticks)
		c->f.delay_ticks = 1;
	return faults_changed(c);
}

int sim_nvme_fault_jitter(struct updk_pci_dev *dev, uint32_t us)
{
	WITH_CTRL(dev, c);
	c->f.jitter_ticks = (uint64_t)us * c->tsc_hz / 1000000;
	return faults_changed(c);
}

int sim_nvme_fault_bogus_cid(struct updk_pci_dev *dev, int sqid, uint16_t cid)
{
	WITH_CTRL(dev, c);
	c->f.bogus_sqid = fault_sqid(sqid);
	c->f.bogus_cid = cid;
	return faults_changed(c);
}

int sim_nvme_fault_wrong_phase(struct updk_pci_dev *dev, int sqid)
{
	WITH_CTRL(dev, c);
	c->f.phase_sqid = fault_sqid(sqid);
	return faults_changed(c);
}

int sim_nvme_fault_sqhd_beyond_tail(struct updk_pci_dev *dev, int sqid)
{
	WITH_CTRL(dev, c);
	c->f.sqhd_sqid = fault_sqid(sqid);
	return faults_changed(c);
}

int sim_nvme_fault_never_ready(struct updk_pci_dev *dev, bool on)
{
	WITH_CTRL(dev, c);
	c->f.never_ready = on;
	ctrl_unlock(c);
	return 0;
}

int sim_nvme_fault_identify(struct updk_pci_dev *dev, unsigned flags)
{
	WITH_CTRL(dev, c);
	c->f.id_flags = flags;
	ctrl_unlock(c);
	return 0;
}

int sim_nvme_fault_remove(struct updk_pci_dev *dev)
{
	WITH_CTRL(dev, c);
	c->f.removed = true;
	memset(c->sd->bar[0], 0xff, c->sd->bar_size[0]);
	memset(c->sd->cfg, 0xff, sizeof(c->sd->cfg));
	log_warn("%s: surprise removal injected by a test", c->sd->name);
	ctrl_unlock(c);
	return 0;
}

int sim_nvme_zone_read_only(struct updk_pci_dev *dev, uint32_t nsid, uint64_t zslba)
{
	struct nvme_zone *z = NULL;

	WITH_CTRL(dev, c);
	if (nsid && nsid <= c->nns && c->fmt.zoned)
		z = zns_zone(c, &c->ns[nsid - 1], zslba);
	if (!z || z->zslba != zslba) {
		ctrl_unlock(c);
		return -EINVAL;
	}
	/* leaves the open and active sets, as a Finish would */
	if (z->state != ZS_FULL && z->state != ZS_EMPTY)
		zns_zone_set_state(&c->ns[nsid - 1], z, ZS_FULL);
	z->state = ZS_READ_ONLY;
	ctrl_unlock(c);
	return 0;
}

int sim_nvme_ns_set_active(struct updk_pci_dev *dev, uint32_t nsid, bool active)
{
	WITH_CTRL(dev, c);
	if (nsid == 0 || nsid > c->nns) {
		ctrl_unlock(c);
		return -EINVAL;
	}
	c->ns[nsid - 1].active = active;
	/* Changed Namespace List (§5.16.1.5): more than 1024 changes reads as FFFFFFFFh. */
	if (c->nchanged < 1024) {
		unsigned i = 0;

		/* kept in increasing NSID order, each once */
		while (i < c->nchanged && c->changed_ns[i] < nsid)
			i++;
		if (i == c->nchanged || c->changed_ns[i] != nsid) {
			memmove(&c->changed_ns[i + 1], &c->changed_ns[i],
				(c->nchanged - i) * sizeof(c->changed_ns[0]));
			c->changed_ns[i] = nsid;
			c->nchanged++;
		}
	} else {
		c->nchanged = 1025;
	}
	if (!c->aen_ns_masked)
		c->aen_ns_pending = true;
	ctrl_unlock(c);
	return 0;
}

int sim_nvme_set_eventidx_mode(struct updk_pci_dev *dev, enum sim_nvme_ei_mode mode)
{
	WITH_CTRL(dev, c);
	c->ei_mode = mode;
	for (unsigned q = 0; q <= c->nqpairs; q++) {
		c->sq[q].ei_last = UINT32_MAX;
		c->cq[q].ei_last = UINT32_MAX;
	}
	c->ei_dirty = true;
	ctrl_unlock(c);
	return 0;
}

int sim_nvme_pause(struct updk_pci_dev *dev, bool on)
{
	WITH_CTRL(dev, c);
	c->paused = on;
	ctrl_unlock(c);
	return 0;
}

int sim_nvme_sync(struct updk_pci_dev *dev)
{
	struct timespec t0, t;
	uint64_t start;

	{
		WITH_CTRL(dev, c);
		start = c->passes;
		ctrl_unlock(c);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		WITH_CTRL(dev, c);
		/* a pass runs under the lock: one counted after start began after it */
		bool done = c->passes != start;

		ctrl_unlock(c);
		if (done)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 10)
			return -ETIMEDOUT;
		sched_yield();
	}
}
