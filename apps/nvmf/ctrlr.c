// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf: fabric controllers of the dynamic controller model (NVMe Base 2.0 §3.3.1.4). A
 * Connect on an admin queue with CNTLID FFFFh makes one; Connects on I/O queues name it by
 * its CNTLID, with the same host NQN and Host Identifier. Connects are the control path: a
 * mutex guards the registry; what the data path reads of a controller is atomic.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <updk/log.h>

#include "apps/nvmf/nvmf.h"

/* CNTLIDs 1..FFEFh (FFF0h and above are reserved or special). */
#define CNTLID_MAX 0xffef

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nvmf_ctrlr **reg;
static unsigned nreg, reg_cap;
static uint16_t next_cntlid = 1;

struct nvmf_ctrlr *nvmf_ctrlr_create(struct nvmf_subsys *s, const char *hostnqn,
				     const uint8_t hostid[16], uint32_t kato_ms)
{
	struct nvmf_ctrlr *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->subsys = s;
	snprintf(c->hostnqn, sizeof(c->hostnqn), "%s", hostnqn);
	memcpy(c->hostid, hostid, 16);
	c->kato_ms = kato_ms;
	atomic_init(&c->refs, 2); /* the caller's and the registry's */
	pthread_mutex_lock(&reg_lock);
	if (nreg == reg_cap) {
		unsigned cap = reg_cap ? reg_cap * 2 : 16;
		struct nvmf_ctrlr **n = realloc(reg, cap * sizeof(*n));

		if (!n || cap > CNTLID_MAX)
			goto full;
		reg = n;
		reg_cap = cap;
	}
	/* the next CNTLID not in use, so a reconnecting host never gets a stale one back at once */
	for (unsigned tries = 0; tries < CNTLID_MAX; tries++) {
		uint16_t id = next_cntlid;
		bool used = false;

		next_cntlid = next_cntlid == CNTLID_MAX ? 1 : next_cntlid + 1;
		for (unsigned i = 0; i < nreg && !used; i++)
			used = reg[i]->cntlid == id;
		if (!used) {
			c->cntlid = id;
			reg[nreg++] = c;
			pthread_mutex_unlock(&reg_lock);
			return c;
		}
	}
full:
	pthread_mutex_unlock(&reg_lock);
	free(c);
	return NULL;
}

struct nvmf_ctrlr *nvmf_ctrlr_get(struct nvmf_subsys *s, uint16_t cntlid, const char *hostnqn,
				  const uint8_t hostid[16])
{
	struct nvmf_ctrlr *found = NULL;

	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < nreg; i++) {
		struct nvmf_ctrlr *c = reg[i];

		if (c->cntlid == cntlid && c->subsys == s && !strcmp(c->hostnqn, hostnqn) &&
		    !memcmp(c->hostid, hostid, 16) && !atomic_load(&c->dead)) {
			atomic_fetch_add(&c->refs, 1);
			found = c;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return found;
}

/* Leave the registry (once): its reference goes with it. */
static void unregister(struct nvmf_ctrlr *c)
{
	bool was = false;

	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < nreg; i++)
		if (reg[i] == c) {
			reg[i] = reg[--nreg];
			was = true;
			break;
		}
	pthread_mutex_unlock(&reg_lock);
	if (was)
		nvmf_ctrlr_put(c);
}

void nvmf_ctrlr_put(struct nvmf_ctrlr *c)
{
	if (c && atomic_fetch_sub(&c->refs, 1) == 1)
		free(c);
}

void nvmf_ctrlr_kill(struct nvmf_ctrlr *c, const char *why)
{
	if (!atomic_exchange(&c->dead, true))
		nvmf_log(UPDK_LOG_INFO, "controller %u of %s for host %s: %s", c->cntlid,
			 c->subsys->nqn, c->hostnqn, why);
	unregister(c);
}

bool nvmf_ctrlr_claim_qid(struct nvmf_ctrlr *c, uint16_t qid)
{
	uint64_t bit = 1ull << (qid % 64);

	return !(atomic_fetch_or(&c->qid_map[qid / 64], bit) & bit);
}

void nvmf_ctrlr_release_qid(struct nvmf_ctrlr *c, uint16_t qid)
{
	atomic_fetch_and(&c->qid_map[qid / 64], ~(1ull << (qid % 64)));
}

unsigned nvmf_ctrlr_count(void)
{
	unsigned n;

	pthread_mutex_lock(&reg_lock);
	n = nreg;
	pthread_mutex_unlock(&reg_lock);
	return n;
}

void nvmf_ctrlr_kill_all(void)
{
	for (;;) {
		struct nvmf_ctrlr *c = NULL;

		pthread_mutex_lock(&reg_lock);
		if (nreg) {
			c = reg[0];
			atomic_fetch_add(&c->refs, 1);
		}
		pthread_mutex_unlock(&reg_lock);
		if (!c)
			break;
		nvmf_ctrlr_kill(c, "the target is shutting down");
		nvmf_ctrlr_put(c);
	}
}

void nvmf_ctrlr_registry_free(void)
{
	pthread_mutex_lock(&reg_lock);
	free(reg);
	reg = NULL;
	nreg = reg_cap = 0;
	pthread_mutex_unlock(&reg_lock);
}

void nvmf_ctrlr_keep_alive(struct nvmf_ctrlr *c, const struct nvmf_poller *p)
{
	/* KATO plus half of it and a second: a host sends Keep Alive well within KATO, but a
	 * loaded one (or a guest under TCG) is late now and then (NVMe Base 2.0 §3.9) */
	c->ka_deadline = c->kato_ms ? p->now + (uint64_t)(c->kato_ms + c->kato_ms / 2 + 1000) *
						       p->tsc_hz / 1000 :
				      0;
}
