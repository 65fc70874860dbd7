// SPDX-License-Identifier: BSD-3-Clause
/*
 * The controllers of the fio ioengine: one updk controller per address for the whole process,
 * shared by the job threads that name it, each with a qpair of its own. A job holds a reference
 * from its setup to its cleanup; the last cleanup closes the controller. Jobs fio set up but
 * never ran (an interrupted or failed run) do not clean up: the destructor below closes what
 * they left open when fio exits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <updk/log.h>
#include <updk/mem.h>
#include <updk/pci.h>
#include <updk/tsc.h>

#include "plugins/fio/engine.h"

static pthread_mutex_t admin_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fu_ctrlr *ctrlrs;
static uint64_t admin_period; /* TSC ticks between admin polls: 10 ms */

void fu_admin_lock(void)
{
	updk_mem_thread_offline();
	pthread_mutex_lock(&admin_lock);
}

void fu_admin_unlock(void)
{
	pthread_mutex_unlock(&admin_lock);
}

static int numa_node_of(const char *addr)
{
	struct updk_pci_addr pa;
	struct updk_pci_info info;

	if (updk_pci_addr_parse(addr, &pa) || updk_pci_info_get(&pa, &info) || info.numa_node < 0)
		return UPDK_NUMA_ANY;
	return info.numa_node;
}

static int open_ctrlr(const char *addr, const struct fu_ctrlr_opts *opts, struct fu_ctrlr **out)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o) };
	struct fu_ctrlr *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	o.no_shadow_doorbell = !opts->shadow_doorbell;
	o.interrupts = opts->interrupts;
	rc = updk_nvme_ctrlr_open(addr, &o, &c->ctrlr);
	if (rc) {
		free(c);
		return rc;
	}
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->opts = *opts;
	c->numa_node = numa_node_of(addr);
	*out = c;
	return 0;
}

int fu_ctrlr_get(const char *addr, const struct fu_ctrlr_opts *opts, struct fu_ctrlr **out,
		 char *err, size_t errlen)
{
	struct fu_ctrlr *c;
	int rc = 0;

	/* Measured once here (10 ms), not on the data path. */
	if (!admin_period)
		admin_period = updk_tsc_hz() / 100;
	fu_admin_lock();
	for (c = ctrlrs; c; c = c->next)
		if (!strcmp(c->addr, addr))
			break;
	if (c && (c->opts.shadow_doorbell != opts->shadow_doorbell ||
		  c->opts.interrupts != opts->interrupts)) {
		snprintf(err, errlen,
			 "%s is open already with shadow_doorbell=%d interrupt_mode=%d: give every "
			 "job on one controller the same values",
			 addr, c->opts.shadow_doorbell, c->opts.interrupts);
		rc = -EINVAL;
	} else if (!c) {
		rc = open_ctrlr(addr, opts, &c);
		if (rc)
			snprintf(err, errlen, "cannot open %s: %s (updk's message above says why)",
				 addr, strerror(-rc));
		else {
			c->next = ctrlrs;
			ctrlrs = c;
		}
	}
	if (!rc) {
		c->refs++;
		*out = c;
	}
	fu_admin_unlock();
	return rc;
}

/* With the admin lock held. */
static void close_ctrlr(struct fu_ctrlr *c)
{
	struct fu_ctrlr **p;

	for (p = &ctrlrs; *p != c; p = &(*p)->next)
		;
	*p = c->next;
	updk_nvme_ctrlr_close(c->ctrlr);
	free(c);
}

void fu_ctrlr_put(struct fu_ctrlr *c)
{
	fu_admin_lock();
	if (--c->refs == 0)
		close_ctrlr(c);
	fu_admin_unlock();
}

int fu_qpair_alloc(struct fu_ctrlr *c, uint32_t depth, struct updk_nvme_qpair **qp, char *err,
		   size_t errlen)
{
	struct updk_nvme_qpair_opts o = { .opts_size = sizeof(o), .depth = depth };
	int rc;

	o.interrupts = c->opts.interrupts;
	fu_admin_lock();
	/*
	 * A job consumes its vector's count before it sleeps (<updk/nvme_intr.h>), which is safe
	 * only for the one thread that then looks at every queue on that vector: with a single
	 * vector (INTx, one MSI) the jobs' threads would take each other's wake-ups.
	 */
	if (o.interrupts && updk_nvme_ctrlr_intr_vectors(c->ctrlr) < 2) {
		snprintf(err, errlen,
			 "%s has a single interrupt vector (INTx or one MSI), which the admin "
			 "queue and the jobs' qpairs would share: use interrupt_mode=0 (polling)",
			 c->addr);
		rc = -ENOTSUP;
	} else {
		rc = updk_nvme_qpair_alloc(c->ctrlr, &o, qp);
		if (rc)
			snprintf(err, errlen, "%s (updk's message above says why)", strerror(-rc));
	}
	if (!rc)
		c->qpairs++;
	fu_admin_unlock();
	return rc;
}

void fu_qpair_free(struct fu_ctrlr *c, struct updk_nvme_qpair *qp)
{
	fu_admin_lock();
	updk_nvme_qpair_free(qp);
	c->qpairs--;
	fu_admin_unlock();
}

void fu_admin_poll(struct fu_ctrlr *c, uint64_t now)
{
	if (now < c->admin_next || pthread_mutex_trylock(&admin_lock))
		return;
	/* Checked again: another thread may have polled between the two reads. */
	if (now >= c->admin_next) {
		c->admin_next = now + admin_period;
		updk_nvme_admin_process_completions(c->ctrlr);
	}
	pthread_mutex_unlock(&admin_lock);
}

bool fu_ctrlr_dead(struct fu_ctrlr *c)
{
	bool dead;

	fu_admin_lock();
	/* An automatic reset goes on only while someone polls the admin queue. */
	updk_nvme_admin_process_completions(c->ctrlr);
	dead = updk_nvme_ctrlr_is_failed(c->ctrlr) && !updk_nvme_ctrlr_is_resetting(c->ctrlr);
	fu_admin_unlock();
	return dead;
}

/*
 * fio exits without cleaning up jobs it set up but never started (interrupted before their
 * turn, or stopped by another job's error): their references keep controllers open. Shut those
 * down cleanly here. A controller with a qpair still allocated belongs to a job thread that is
 * still running, which fio does not do at exit; it is left alone rather than pulled from under
 * that thread.
 */
__attribute__((destructor)) static void close_left_open(void)
{
	fu_admin_lock();
	while (ctrlrs) {
		struct fu_ctrlr *c = ctrlrs;

		if (c->qpairs) {
			updk_log(UPDK_LOG_WARN, "fio",
				 "%s: %u qpairs still allocated at exit: not closed", c->addr,
				 c->qpairs);
			ctrlrs = c->next;
			continue;
		}
		close_ctrlr(c);
	}
	fu_admin_unlock();
}
