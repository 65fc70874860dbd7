// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf: setting up the subsystems from the command line. Each subsystem's devices are
 * opened with updk_nvme_ctrlr_open(); their active namespaces become the subsystem's nsid 1,
 * 2, ... in the order given. Subsystem 0 is the Discovery subsystem.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <updk/log.h>

#include "apps/nvmf/nvmf.h"

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

/* An NGUID for a namespace whose controller reports none: stable for the same NQN and nsid. */
static void derive_nguid(const struct nvmf_subsys *s, const struct nvmf_ns *n, uint8_t out[16])
{
	uint64_t a = fnv1a(0xcbf29ce484222325ull, s->nqn, strlen(s->nqn));
	uint64_t b = fnv1a(a ^ 0x9e3779b97f4a7c15ull, &n->nsid, sizeof(n->nsid));

	a = fnv1a(a, &n->nsid, sizeof(n->nsid));
	memcpy(out, &a, 8);
	memcpy(out + 8, &b, 8);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/*
 * The namespace as hosts see it: the backing Identify Namespace with its one LBA format in
 * use as format 0, no metadata, no protection, shared (NMIC bit 0: the subsystem may have a
 * controller per host), its NGUID.
 */
static void serve_ns(struct nvmf_subsys *s, struct nvmf_ns *n)
{
	const struct updk_nvme_id_ns *b = updk_nvme_ns_data(n->ns);
	const struct updk_nvme_ns_ids *ids = updk_nvme_ns_ids(n->ns);
	unsigned fmt = (b->flbas & 0xf) | ((b->flbas >> 5) & 3) << 4;

	memset(&n->id, 0, sizeof(n->id));
	n->id.nsze = b->nsze;
	n->id.ncap = b->ncap;
	n->id.nuse = b->nuse;
	n->id.nsfeat = b->nsfeat & 0x1; /* thin provisioning; no per-namespace atomics here */
	n->id.nlbaf = 0;
	n->id.flbas = 0;
	n->id.lbaf[0] = b->lbaf[fmt < 64 ? fmt : 0];
	n->id.lbaf[0].ms = 0;
	n->id.nmic = 1;
	n->id.dlfeat = b->dlfeat;
	n->id.noiob = b->noiob;
	if (ids->has_nguid && !all_zero(ids->nguid, 16))
		memcpy(n->nguid, ids->nguid, 16);
	else
		derive_nguid(s, n, n->nguid);
	memcpy(n->id.nguid, n->nguid, 16);
	if (ids->has_eui64)
		memcpy(n->id.eui64, ids->eui64, 8);
}

/*
 * Interrupt mode: open @d with interrupts, a vector for the admin queue and one for each
 * poller's qpair (each poller consumes its own vector's count; pollers sharing one could take
 * each other's wake-ups). A controller that cannot give them is opened polled and said so once:
 * a poller with commands in flight on it polls, and sleeps 1 ms at a time only when idle.
 * 0, or the open's error.
 */
static int open_ctrlr(struct nvmf_dev *d, struct updk_nvme_ctrlr_opts *o, unsigned npollers)
{
	unsigned nv;
	int rc;

	rc = updk_nvme_ctrlr_open(d->addr, o, &d->ctrlr);
	if (!o->interrupts)
		return rc;
	if (rc == -ENOSPC || rc == -ENOTSUP || rc == -EMFILE || rc == -ENFILE) {
		fprintf(stderr,
			"updk-nvmf: %s gives no interrupts (%s, the line above says why): its queues "
			"are polled, and a poller with commands in flight on it does not sleep\n",
			d->addr, strerror(-rc));
		o->interrupts = false;
		return updk_nvme_ctrlr_open(d->addr, o, &d->ctrlr);
	}
	if (rc)
		return rc;
	nv = updk_nvme_ctrlr_intr_vectors(d->ctrlr);
	d->intr = nv >= npollers + 1 || (nv == 1 && npollers == 1);
	if (!d->intr)
		fprintf(stderr,
			"updk-nvmf: %s has %u interrupt vectors, fewer than its admin queue and %u "
			"pollers need (one each): its queues are polled, and a poller with commands "
			"in flight on it does not sleep (use fewer pollers, -c)\n",
			d->addr, nv, npollers);
	return 0;
}

static struct nvmf_dev *open_dev(const char *addr, const struct nvmf_args *a)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o) };
	struct nvmf_dev *d;
	int rc;

	for (unsigned i = 0; i < nvmf_tgt.ndevs; i++)
		if (!strcmp(nvmf_tgt.devs[i].addr, addr)) {
			fprintf(stderr,
				"updk-nvmf: device %s is given twice: a controller serves one "
				"subsystem\n",
				addr);
			return NULL;
		}
	if (nvmf_tgt.ndevs == NVMF_MAX_DEVS) {
		fprintf(stderr, "updk-nvmf: at most %d devices\n", NVMF_MAX_DEVS);
		return NULL;
	}
	d = &nvmf_tgt.devs[nvmf_tgt.ndevs];
	snprintf(d->addr, sizeof(d->addr), "%s", addr);
	d->intr = false;
	o.num_io_queues = a->npollers;
	o.io_timeout_ms = a->io_timeout_ms;
	o.interrupts = a->intr_mode;
	rc = open_ctrlr(d, &o, a->npollers);
	if (rc) {
		fprintf(stderr, "updk-nvmf: cannot open %s: %s (the lines above say why)\n", addr,
			strerror(-rc));
		return NULL;
	}
	if (updk_nvme_ctrlr_max_qpairs(d->ctrlr) < a->npollers) {
		fprintf(stderr,
			"updk-nvmf: %s grants %u I/O queue pairs, fewer than the %u pollers (-c): "
			"use fewer pollers\n",
			addr, updk_nvme_ctrlr_max_qpairs(d->ctrlr), a->npollers);
		updk_nvme_ctrlr_close(d->ctrlr);
		return NULL;
	}
	d->qpair_depth = updk_nvme_ctrlr_max_qpair_depth(d->ctrlr);
	if (d->qpair_depth > 1024)
		d->qpair_depth = 1024;
	d->index = nvmf_tgt.ndevs++;
	atomic_store(&d->state, NVMF_DEV_OK);
	return d;
}

static int add_dev(struct nvmf_subsys *s, const char *addr, const struct nvmf_args *a)
{
	struct nvmf_dev *d = open_dev(addr, a);
	const struct updk_nvme_id_ctrl *id;
	unsigned served = 0;

	if (!d)
		return -ENODEV;
	id = updk_nvme_ctrlr_id(d->ctrlr);
	s->oncs &= id->oncs;
	s->vwc |= id->vwc & 1;
	for (uint32_t nsid = updk_nvme_ctrlr_first_active_ns(d->ctrlr); nsid;
	     nsid = updk_nvme_ctrlr_next_active_ns(d->ctrlr, nsid)) {
		struct updk_nvme_ns *ns = updk_nvme_ns_get(d->ctrlr, nsid);
		struct nvmf_ns *n;

		if (!ns)
			continue;
		if (updk_nvme_ns_md_size(ns)) {
			fprintf(stderr,
				"updk-nvmf: %s namespace %u has %u bytes of metadata per block, which "
				"this target does not carry: not served (format it without metadata "
				"to serve it)\n",
				addr, nsid, updk_nvme_ns_md_size(ns));
			continue;
		}
		if (s->nns == NVMF_MAX_NS) {
			fprintf(stderr, "updk-nvmf: %s: at most %d namespaces per subsystem\n",
				s->nqn, NVMF_MAX_NS);
			return -E2BIG;
		}
		n = &s->ns[s->nns];
		n->nsid = ++s->nns;
		n->dev = d;
		n->ns = ns;
		n->sector_size = updk_nvme_ns_sector_size(ns);
		n->nsze = updk_nvme_ns_num_sectors(ns);
		serve_ns(s, n);
		served++;
		nvmf_log(UPDK_LOG_INFO, "%s nsid %u: %s namespace %u, %lu blocks of %u bytes",
			 s->nqn, n->nsid, addr, nsid, (unsigned long)n->nsze, n->sector_size);
	}
	if (!served)
		fprintf(stderr, "updk-nvmf: %s has no namespace to serve\n", addr);
	return 0;
}

int nvmf_subsys_setup(const struct nvmf_args *a)
{
	struct nvmf_subsys *disc = &nvmf_tgt.subsys[0];

	snprintf(disc->nqn, sizeof(disc->nqn), "%s", UPDK_NVMF_DISCOVERY_NQN);
	disc->discovery = true;
	nvmf_tgt.nsubsys = 1;
	nvmf_tgt.genctr = 1;
	for (unsigned i = 0; i < a->nsubsys; i++) {
		const struct nvmf_subsys_args *sa = &a->subsys[i];
		struct nvmf_subsys *s = &nvmf_tgt.subsys[nvmf_tgt.nsubsys++];
		uint64_t h = fnv1a(0xcbf29ce484222325ull, sa->nqn, strlen(sa->nqn));

		snprintf(s->nqn, sizeof(s->nqn), "%s", sa->nqn);
		/* SN: ASCII, space padded, the same for the same NQN */
		snprintf(s->sn, sizeof(s->sn), "updk%016llx", (unsigned long long)h);
		s->nhosts = sa->nhosts;
		for (unsigned k = 0; k < sa->nhosts; k++)
			snprintf(s->hosts[k], sizeof(s->hosts[k]), "%s", sa->hosts[k]);
		s->oncs = 0xffff;
		for (unsigned k = 0; k < sa->ndevs; k++) {
			int rc = add_dev(s, sa->devs[k], a);

			if (rc)
				return rc;
		}
		/* Compare, Dataset Management, Write Zeroes: only what every device has */
		s->oncs &= (1u << 0) | (1u << 2) | (1u << 3);
		if (!s->nns) {
			fprintf(stderr,
				"updk-nvmf: %s: none of its devices has a namespace to serve\n",
				s->nqn);
			return -ENODEV;
		}
	}
	return 0;
}

void nvmf_subsys_teardown(void)
{
	for (unsigned i = 0; i < nvmf_tgt.ndevs; i++) {
		updk_nvme_ctrlr_close(nvmf_tgt.devs[i].ctrlr);
		nvmf_tgt.devs[i].ctrlr = NULL;
	}
	nvmf_tgt.ndevs = 0;
}
