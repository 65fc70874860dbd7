// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-perf on zoned namespaces (<updk/nvme_zns.h>): -w zone-append, and the refusal up front of
 * the workloads a zoned namespace cannot take.
 *
 * A zone takes writes only at its write pointer, so random writes fail there, and sequential
 * writes with more than one in flight may reach a zone out of order. -w zone-append keeps
 * --zones zones of each namespace written at once (within its open and active limits), split
 * among the cores that run it: each row (a namespace on a core) has zone slots, its tasks take
 * turns among them, and each task appends -o bytes to its slot's zone with Zone Append, which
 * puts the data at the write pointer whatever the order. Once a zone cannot take another I/O,
 * its slot waits for the appends in flight, finishes the zone if it is not full (so it leaves
 * the open set), and moves on to the next zone of its own, resetting it first when it was
 * written before. With -M PCT, that share of the I/Os reads -o bytes of what was written: at a
 * random place below the write pointer of a zone no slot is writing. -w zone-write does the same
 * with Write at the write pointer, one write a zone at a time (two in flight could reach the
 * zone out of order), so --zones is its parallelism; a write above the transfer limit is split
 * by the driver, its commands sent one after another.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <updk/mem.h>
#include <updk/nvme_zns.h>

#include "apps/perf/run.h"

enum zslot_state {
	ZSLOT_ACTIVE, /* appends go to the zone */
	ZSLOT_DRAIN, /* the zone is used up: waiting for its appends in flight */
	ZSLOT_FINISH, /* Zone Management Send finish of a zone left partly written */
	ZSLOT_RESET, /* reset of the next zone, written before */
};

/* A zone of the row: one of those the namespace's zones are split into. */
struct perf_zone {
	uint64_t zslba;
	uint64_t zcap; /* blocks it takes (ZCAP) */
	uint64_t cap; /* of those, a whole number of I/Os */
	uint64_t written; /* blocks appended and completed since its last reset */
	bool in_use; /* a slot writes it */
};

struct perf_zslot {
	struct perf_zoned *z;
	unsigned first; /* its zones: zones[first], zones[first + nslots], ... */
	unsigned cur; /* index in zones[] */
	uint64_t reserved; /* blocks of the zone given to appends, done or in flight */
	uint32_t inflight;
	enum zslot_state state;
	bool cmd_due; /* a finish or reset to submit (again, after -EAGAIN) */
};

struct perf_zoned {
	struct perf_ctx *ctx;
	struct perf_zone *zones;
	unsigned nzones;
	struct perf_zslot *slots;
	unsigned nslots;
	uint64_t resets, finishes; /* zone actions sent */
};

/*
 * The rows that run @ctx's namespace, and the rank of @ctx among them, as perf_setup() deals
 * them out (row i runs namespace i mod nns, max(nns, cores) rows): known before the later
 * rows are set up.
 */
static unsigned rows_of(const struct perf_run *run, const struct perf_ctx *ctx, unsigned *rank)
{
	unsigned i = (unsigned)(ctx - run->ctxs), nns = run->nns;
	unsigned count = nns > run->args->ncores ? nns : run->args->ncores;

	*rank = i / nns;
	return count / nns + (i % nns < count % nns);
}

int perf_zoned_check_ns(const struct perf_args *a, const struct perf_ns *pn)
{
	struct updk_nvme_ns *ns = pn->ns;
	uint64_t nzones = updk_nvme_zns_num_zones(ns);
	uint32_t open = updk_nvme_zns_max_open_zones(ns),
		 active = updk_nvme_zns_max_active_zones(ns);
	uint32_t limit = open && active ? (open < active ? open : active) : open ? open : active;
	char what[PERF_ADDR_MAX + 128];

	if (!updk_nvme_ns_is_zoned(ns)) {
		if (!a->zone_append)
			return 0;
		fprintf(stderr,
			"updk-perf: -w %s needs a zoned namespace; %s namespace %u is not (run -w "
			"write or randwrite on it)\n",
			a->workload, pn->pc->addr, pn->nsid);
		return -EINVAL;
	}
	snprintf(what, sizeof(what),
		 "%s namespace %u is zoned (%" PRIu64 " zones of %" PRIu64 " blocks, %s%u open)",
		 pn->pc->addr, pn->nsid, nzones, updk_nvme_zns_zone_size(ns),
		 open ? "at most " : "no limit of ", open);
	if (!a->zone_append && a->read_pct != 100) {
		fprintf(stderr,
			"updk-perf: %s: -w %s writes where its zones do not take writes (each zone "
			"only at its write pointer, in order): run -w zone-append (appends to --zones "
			"zones, reset when full; -M PCT reads what was written), -w zone-write (the "
			"same with writes at the write pointer, one a zone), or -w read or randread\n",
			what, a->workload);
		return -EINVAL;
	}
	if (!a->zone_append)
		return 0;
	if (a->verify) {
		fprintf(stderr, "updk-perf: %s: --verify is not offered with -w %s\n", what,
			a->workload);
		return -EINVAL;
	}
	if (!a->zone_write && pn->nlb > updk_nvme_zns_append_max_sectors(ns)) {
		fprintf(stderr,
			"updk-perf: %s: -o %u is above its Zone Append Size Limit of %u blocks: lower "
			"-o\n",
			what, a->io_size, updk_nvme_zns_append_max_sectors(ns));
		return -EINVAL;
	}
	if (a->zones && limit && a->zones > limit) {
		fprintf(stderr,
			"updk-perf: %s: --zones %u is above its limit of %u zones open and active "
			"at once\n",
			what, a->zones, limit);
		return -EINVAL;
	}
	if (a->zones > nzones) {
		fprintf(stderr, "updk-perf: %s: --zones %u is more zones than it has\n", what,
			a->zones);
		return -EINVAL;
	}
	return 0;
}

/* At set-up, from the main thread (the pollers have not started): @cmd on the row's first
 * qpair, polled until it completes; 0, or -EIO with the status printed. */
static void sync_done(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct updk_nvme_cpl *out = arg;

	*out = *cpl;
	out->cid = 0xffff; /* done */
}

static int zone_sync(struct perf_ctx *ctx, int rc, struct updk_nvme_cpl *cpl, const char *what,
		     uint64_t zslba)
{
	while (!rc && cpl->cid != 0xffff) {
		int n = updk_nvme_qpair_process_completions(ctx->qps[0], 0);

		if (n < 0)
			rc = n;
		else if (cpl->cid != 0xffff)
			(void)updk_nvme_admin_process_completions(ctx->ns->pc->ctrlr);
	}
	if (!rc && updk_nvme_cpl_is_error(cpl))
		rc = -EIO;
	if (rc)
		fprintf(stderr,
			"updk-perf: %s namespace %u: %s of the zone at LBA %" PRIu64 ": %s\n",
			ctx->ns->pc->addr, ctx->ns->nsid, what, zslba,
			rc == -EIO ? updk_nvme_status_str(updk_nvme_cpl_sct(cpl),
							  updk_nvme_cpl_sc(cpl)) :
				     strerror(-rc));
	return rc;
}

/* Reset the zone at @zslba and read its descriptor into @rep (128 bytes of DMA memory). */
static int zone_prepare(struct perf_ctx *ctx, uint64_t zslba, uint8_t *rep)
{
	struct updk_nvme_ns *ns = ctx->ns->ns;
	struct updk_nvme_cpl cpl = { .cid = 0 };
	int rc;

	rc = updk_nvme_zns_zone_send(ns, ctx->qps[0], zslba, UPDK_NVME_ZSA_RESET, false, sync_done,
				     &cpl);
	rc = zone_sync(ctx, rc, &cpl, "reset", zslba);
	if (rc)
		return rc;
	cpl.cid = 0;
	rc = updk_nvme_zns_report_zones(ns, ctx->qps[0], rep, 128, zslba, UPDK_NVME_ZRASF_ALL, true,
					sync_done, &cpl);
	return zone_sync(ctx, rc, &cpl, "report", zslba);
}

static void zcmd_done(void *arg, const struct updk_nvme_cpl *cpl);

/* Send the slot's finish or reset; -EAGAIN leaves it due for the next poll. */

static void zslot_cmd(struct perf_zslot *s)
{
	struct perf_zoned *z = s->z;
	struct perf_zone *zone = &z->zones[s->cur];
	enum updk_nvme_zone_action act =
		s->state == ZSLOT_FINISH ? UPDK_NVME_ZSA_FINISH : UPDK_NVME_ZSA_RESET;
	int rc = updk_nvme_zns_zone_send(z->ctx->ns->ns, z->ctx->qps[0], zone->zslba, act, false,
					 zcmd_done, s);

	s->cmd_due = rc == -EAGAIN;
	if (rc == 0) {
		if (act == UPDK_NVME_ZSA_FINISH)
			z->finishes++;
		else
			z->resets++;
	} else if (rc != -EAGAIN) {
		/* the row's errors say it; the slot stays stopped */
		z->ctx->s.errors++;
	}
}

/* Move the slot to its next zone: reset it first when it holds data. */
static void zslot_advance(struct perf_zslot *s)
{
	struct perf_zoned *z = s->z;

	z->zones[s->cur].in_use = false;
	s->cur += z->nslots;
	if (s->cur >= z->nzones)
		s->cur = s->first;
	z->zones[s->cur].in_use = true;
	s->reserved = 0;
	if (z->zones[s->cur].written) {
		s->state = ZSLOT_RESET;
		zslot_cmd(s);
	} else {
		s->state = ZSLOT_ACTIVE;
	}
}

/* The slot's zone is used up and its appends are done: finish it if it is not full. */
static void zslot_drained(struct perf_zslot *s)
{
	if (s->z->zones[s->cur].written < s->z->zones[s->cur].zcap) {
		s->state = ZSLOT_FINISH;
		zslot_cmd(s);
	} else {
		zslot_advance(s);
	}
}

static void zcmd_done(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct perf_zslot *s = arg;

	if (updk_nvme_cpl_is_error(cpl)) {
		s->z->ctx->s.errors++;
		return; /* the slot stays stopped: its tasks wait, the errors show it */
	}
	if (s->state == ZSLOT_FINISH) {
		zslot_advance(s);
	} else {
		s->z->zones[s->cur].written = 0;
		s->state = ZSLOT_ACTIVE;
	}
}

int perf_zoned_ctx_init(struct perf_run *run, struct perf_ctx *ctx)
{
	const struct perf_args *a = run->args;
	struct perf_ns *pn = ctx->ns;
	uint64_t zsze = updk_nvme_zns_zone_size(pn->ns), nzones = updk_nvme_zns_num_zones(pn->ns);
	uint32_t open = updk_nvme_zns_max_open_zones(pn->ns);
	unsigned rank = 0, rows = rows_of(run, ctx, &rank), want;
	struct perf_zoned *z;
	uint8_t *rep;
	int rc = 0;

	if (!a->zone_append)
		return 0;
	/* --zones, else the open limit, else 8; shared among the rows of the namespace */
	want = a->zones ? a->zones : open ? open : 8;
	if (want > nzones)
		want = (unsigned)nzones;
	if (want < rows) {
		fprintf(stderr,
			"updk-perf: %s namespace %u: %u zones at once for %u cores: each core needs "
			"one (raise --zones or use fewer cores)\n",
			pn->pc->addr, pn->nsid, want, rows);
		return -EINVAL;
	}
	z = calloc(1, sizeof(*z));
	rep = updk_dma_zalloc(128, 64, UPDK_NUMA_ANY, NULL);
	if (!z || !rep) {
		free(z);
		updk_dma_free(rep);
		fprintf(stderr, "updk-perf: out of memory\n");
		return -ENOMEM;
	}
	ctx->zoned = z;
	z->ctx = ctx;
	z->nslots = want / rows + (rank < want % rows);
	/* the row's zones: every rows-th from its rank, up to 16 per slot */
	for (uint64_t i = rank; i < nzones && z->nzones < 16 * z->nslots; i += rows)
		z->nzones++;
	z->zones = calloc(z->nzones, sizeof(*z->zones));
	z->slots = calloc(z->nslots, sizeof(*z->slots));
	if (!z->zones || !z->slots) {
		rc = -ENOMEM;
		goto out;
	}
	/* Each zone reset to empty, and its capacity from its descriptor (it may vary, ZOC) */
	for (unsigned i = 0; i < z->nzones && !rc; i++) {
		struct perf_zone *zone = &z->zones[i];
		struct updk_nvme_zone_report *r = (void *)rep;

		zone->zslba = (rank + (uint64_t)i * rows) * zsze;
		rc = zone_prepare(ctx, zone->zslba, rep);
		zone->zcap = r->nr_zones ? r->descs[0].zcap : 0;
		zone->cap = zone->zcap / pn->nlb * pn->nlb;
		if (!rc && zone->cap == 0) {
			fprintf(stderr,
				"updk-perf: %s namespace %u: the zone at LBA %" PRIu64 " takes no "
				"I/O of -o %u (capacity %" PRIu64 " blocks)\n",
				pn->pc->addr, pn->nsid, zone->zslba, a->io_size, zone->zcap);
			rc = -EINVAL;
		}
	}
	for (unsigned j = 0; j < z->nslots && !rc; j++) {
		struct perf_zslot *s = &z->slots[j];

		s->z = z;
		s->first = s->cur = j;
		z->zones[j].in_use = true;
	}
	for (unsigned k = 0; k < ctx->ntasks; k++)
		ctx->tasks[k].zslot = k % z->nslots;
out:
	updk_dma_free(rep);
	if (rc == -ENOMEM)
		fprintf(stderr, "updk-perf: out of memory\n");
	return rc;
}

void perf_zoned_free(struct perf_ctx *ctx)
{
	if (!ctx->zoned)
		return;
	free(ctx->zoned->zones);
	free(ctx->zoned->slots);
	free(ctx->zoned);
	ctx->zoned = NULL;
}

/* A read of -o bytes below the write pointer of a zone no slot writes; false when none has. */
static bool pick_read(struct perf_task *t)
{
	struct perf_zoned *z = t->ctx->zoned;
	uint32_t nlb = t->ctx->ns->nlb;
	unsigned start = (unsigned)perf_rand_range(&t->ctx->rng, z->nzones);

	for (unsigned n = 0; n < z->nzones; n++) {
		const struct perf_zone *zone = &z->zones[(start + n) % z->nzones];

		if (zone->in_use || zone->written < nlb)
			continue;
		t->lba = zone->zslba + perf_rand_range(&t->ctx->rng, zone->written / nlb) * nlb;
		return true;
	}
	return false;
}

bool perf_zoned_pick(struct perf_task *t)
{
	struct perf_ctx *ctx = t->ctx;

	t->is_read = ctx->w->run->args->read_pct &&
		     (ctx->w->run->args->read_pct == 100 ||
		      perf_rand(&ctx->rng) < ctx->read_threshold) &&
		     pick_read(t);
	return true;
}

int perf_zoned_append(struct perf_task *t, updk_nvme_cb cb)
{
	struct perf_zoned *z = t->ctx->zoned;
	struct perf_zslot *s = &z->slots[t->zslot];
	struct perf_zone *zone = &z->zones[s->cur];
	uint32_t nlb = t->ctx->ns->nlb;
	int rc;

	if (s->state != ZSLOT_ACTIVE)
		return -EAGAIN; /* parked until the slot has a zone again */
	if (s->reserved + nlb > zone->cap) {
		s->state = ZSLOT_DRAIN;
		if (!s->inflight)
			zslot_drained(s);
		return -EAGAIN;
	}
	if (!t->ctx->w->run->args->zone_write) {
		rc = updk_nvme_zns_zone_append(t->ctx->ns->ns, t->qp, t->buf, zone->zslba, nlb, cb,
					       t, 0);
		t->lba = zone->zslba;
	} else if (s->inflight) {
		return -EAGAIN; /* one write a zone at a time, at its write pointer */
	} else {
		t->lba = zone->zslba + s->reserved;
		rc = updk_nvme_ns_write(t->ctx->ns->ns, t->qp, t->buf, t->lba, nlb, cb, t, 0);
	}
	if (rc)
		return rc;
	t->zidx = s->cur;
	s->reserved += nlb;
	s->inflight++;
	return 0;
}

void perf_zoned_append_done(struct perf_task *t, const struct updk_nvme_cpl *cpl)
{
	struct perf_zoned *z = t->ctx->zoned;
	struct perf_zslot *s = &z->slots[t->zslot];

	if (!updk_nvme_cpl_is_error(cpl))
		z->zones[t->zidx].written += t->ctx->ns->nlb;
	s->inflight--;
	if (s->state == ZSLOT_DRAIN && !s->inflight)
		zslot_drained(s);
}

void perf_zoned_poll(struct perf_ctx *ctx)
{
	struct perf_zoned *z = ctx->zoned;

	for (unsigned j = 0; j < z->nslots; j++)
		if (z->slots[j].cmd_due)
			zslot_cmd(&z->slots[j]);
}

void perf_zoned_counts(const struct perf_ctx *ctx, uint64_t *resets, uint64_t *finishes)
{
	*resets += ctx->zoned ? ctx->zoned->resets : 0;
	*finishes += ctx->zoned ? ctx->zoned->finishes : 0;
}
