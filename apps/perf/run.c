// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-perf's NVMe run, around its pollers (io.c): the main thread opens the controllers,
 * allocates qpairs and buffers, and spreads namespaces over cores as spdk_nvme_perf does
 * (every namespace gets a core, every core a namespace), starts one poller per core, polls
 * the admin queues while they run, and at the end settles resets, fails what the drain left
 * outstanding, gathers the report's rows and tears everything down.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <updk/mem.h>
#include <updk/pci.h>
#include <updk/tsc.h>

#include "apps/perf/run.h"

static int ctrlr_numa(const char *addr)
{
	struct updk_pci_addr pa;
	struct updk_pci_info info;

	if (updk_pci_addr_parse(addr, &pa) || updk_pci_info_get(&pa, &info))
		return UPDK_NUMA_ANY;
	return info.numa_node < 0 ? UPDK_NUMA_ANY : info.numa_node;
}

static struct perf_ctrlr *ctrlr_for(struct perf_run *run, const char *addr)
{
	struct perf_ctrlr *pc;

	for (unsigned i = 0; i < run->nctrlrs; i++)
		if (!strcmp(run->ctrlrs[i].addr, addr))
			return &run->ctrlrs[i];
	pc = &run->ctrlrs[run->nctrlrs++];
	snprintf(pc->addr, sizeof(pc->addr), "%s", addr);
	return pc;
}

static int open_ctrlrs(struct perf_run *run)
{
	const struct perf_args *a = run->args;
	struct updk_nvme_ctrlr_opts opts;
	uint32_t queues = a->ncores * a->qpairs_per_ns * a->ntargets;
	int rc;

	for (unsigned i = 0; i < run->nctrlrs; i++) {
		struct perf_ctrlr *pc = &run->ctrlrs[i];

		memset(&opts, 0, sizeof(opts));
		opts.opts_size = sizeof(opts);
		opts.no_shadow_doorbell = a->no_shadow_doorbell;
		opts.shadow_doorbell = (enum updk_nvme_shadow)a->shadow_doorbell;
		opts.io_timeout_ms = a->io_timeout_ms;
		opts.header_digest = a->tcp_hdgst;
		opts.data_digest = a->tcp_ddgst;
		opts.interrupts = a->interrupt_mode;
		if (queues > 64)
			opts.num_io_queues = queues;
		rc = updk_nvme_ctrlr_open(pc->addr, &opts, &pc->ctrlr);
		if (rc) {
			fprintf(stderr, "updk-perf: cannot open NVMe controller %s: %s%s\n",
				pc->addr, strerror(-rc),
				a->interrupt_mode ? " (see the message above; without "
						    "--interrupt-mode it polls)" :
						    "");
			return rc;
		}
		pc->numa = ctrlr_numa(pc->addr);
		if (!a->json)
			printf("Attached to NVMe controller at %s [%04x] %.40s\n", pc->addr,
			       updk_nvme_ctrlr_id(pc->ctrlr)->vid,
			       updk_nvme_ctrlr_id(pc->ctrlr)->mn);
	}
	return 0;
}

static int add_ns(struct perf_run *run, struct perf_ctrlr *pc, uint32_t nsid)
{
	const struct perf_args *a = run->args;
	struct updk_nvme_ns *ns = updk_nvme_ns_get(pc->ctrlr, nsid);
	struct perf_ns *pn;
	uint32_t max_io;
	int rc;

	for (unsigned i = 0; i < run->nns; i++)
		if (run->nss[i].pc == pc && run->nss[i].nsid == nsid)
			return 0; /* named twice: drive it once */
	if (!ns) {
		fprintf(stderr, "updk-perf: %s has no active namespace %u (namespaces run 1..%u)\n",
			pc->addr, nsid, updk_nvme_ctrlr_num_ns(pc->ctrlr));
		return -ENODEV;
	}
	if (run->nns == PERF_MAX_TARGETS * 8) {
		fprintf(stderr, "updk-perf: more than %u namespaces\n", PERF_MAX_TARGETS * 8);
		return -E2BIG;
	}
	pn = &run->nss[run->nns];
	pn->pc = pc;
	pn->ns = ns;
	pn->nsid = nsid;
	pn->sector_size = updk_nvme_ns_sector_size(ns);
	rc = perf_ns_format(pn, a, pc->addr);
	if (rc)
		return rc;
	if (!pn->sector_size || a->io_size % pn->sector_size) {
		fprintf(stderr,
			"updk-perf: -o %u is not a multiple of the %u-byte blocks of %s "
			"namespace %u\n",
			a->io_size, pn->sector_size, pc->addr, nsid);
		return -EINVAL;
	}
	pn->nlb = a->io_size / pn->sector_size;
	pn->nslots = updk_nvme_ns_num_sectors(ns) / pn->nlb;
	if (!pn->nslots) {
		fprintf(stderr,
			"updk-perf: -o %u is larger than %s namespace %u (%" PRIu64 " bytes)\n",
			a->io_size, pc->addr, nsid, updk_nvme_ns_size(ns));
		return -EINVAL;
	}
	max_io = updk_nvme_ns_max_io_sectors(ns);
	pn->children = max_io ? (pn->nlb + max_io - 1) / max_io : 1;
	if (perf_zoned_check_ns(a, pn))
		return -EINVAL;
	run->nns++;
	return 0;
}

static int find_namespaces(struct perf_run *run)
{
	const struct perf_args *a = run->args;
	int rc;

	for (unsigned i = 0; i < a->ntargets; i++) {
		struct perf_ctrlr *pc = ctrlr_for(run, a->targets[i].addr);

		if (a->targets[i].nsid) {
			rc = add_ns(run, pc, a->targets[i].nsid);
			if (rc)
				return rc;
			continue;
		}
		if (!updk_nvme_ctrlr_first_active_ns(pc->ctrlr)) {
			fprintf(stderr, "updk-perf: %s has no active namespace\n", pc->addr);
			return -ENODEV;
		}
		for (uint32_t n = updk_nvme_ctrlr_first_active_ns(pc->ctrlr); n;
		     n = updk_nvme_ctrlr_next_active_ns(pc->ctrlr, n)) {
			rc = add_ns(run, pc, n);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int setup_ctx(struct perf_run *run, struct perf_ctx *ctx, unsigned index)
{
	const struct perf_args *a = run->args;
	struct perf_ns *ns = ctx->ns;
	uint32_t per_qp = (a->queue_depth + a->qpairs_per_ns - 1) / a->qpairs_per_ns;
	uint32_t depth = per_qp * ns->children,
		 max = updk_nvme_ctrlr_max_qpair_depth(ns->pc->ctrlr);
	size_t stride = ((size_t)ns->nlb * ns->xfer_block + 4095) & ~(size_t)4095;
	size_t md_stride = ((size_t)ns->nlb * ns->md_block + 63) & ~(size_t)63;
	struct updk_nvme_qpair_opts qo;
	uint8_t *bufs, *mds = NULL;
	int rc;

	if (depth > max) {
		fprintf(stderr,
			"updk-perf: -q %u over -P %u needs %u commands per qpair on %s "
			"(an I/O of -o %u takes %u), but the controller allows %u: lower -q "
			"or raise -P\n",
			a->queue_depth, a->qpairs_per_ns, depth, ns->pc->addr, a->io_size,
			ns->children, max);
		return -EINVAL;
	}
	ctx->nqps = a->qpairs_per_ns;
	ctx->ntasks = a->queue_depth;
	ctx->qps = calloc(ctx->nqps, sizeof(*ctx->qps));
	ctx->tasks = calloc(ctx->ntasks, sizeof(*ctx->tasks));
	ctx->pending = calloc(ctx->ntasks, sizeof(*ctx->pending));
	if (a->rate)
		ctx->ready = calloc(ctx->ntasks, sizeof(*ctx->ready));
	ctx->hist = calloc(1, sizeof(*ctx->hist));
	ctx->db_base = calloc(ctx->nqps, sizeof(*ctx->db_base));
	ctx->db_end = calloc(ctx->nqps, sizeof(*ctx->db_end));
	if (!ctx->qps || !ctx->tasks || !ctx->pending || !ctx->hist || !ctx->db_base ||
	    !ctx->db_end || (a->rate && !ctx->ready)) {
		fprintf(stderr, "updk-perf: out of memory\n");
		return -ENOMEM;
	}
	ctx->rng = run->seed ^ ((uint64_t)(index + 1) * 0x9e3779b97f4a7c15ull);
	ctx->read_threshold = perf_read_threshold(a->read_pct);
	ctx->s.lat_min = UINT64_MAX;

	memset(&qo, 0, sizeof(qo));
	qo.opts_size = sizeof(qo);
	qo.depth = depth;
	qo.interrupts = a->interrupt_mode;
	for (unsigned q = 0; q < ctx->nqps; q++) {
		rc = updk_nvme_qpair_alloc(ns->pc->ctrlr, &qo, &ctx->qps[q]);
		if (rc) {
			fprintf(stderr, "updk-perf: cannot create qpair %u of %u for %s: %s%s\n",
				q + 1, ctx->nqps, ns->pc->addr, strerror(-rc),
				rc == -EBUSY  ? " (no I/O queues left: lower -P or the cores)" :
				rc == -ENOSPC ? " (no interrupt vector left: lower -P or the "
						"cores, or leave out --interrupt-mode)" :
						"");
			return rc;
		}
	}
	bufs = updk_dma_zalloc(stride * ctx->ntasks, 4096, ns->pc->numa, NULL);
	if (bufs && md_stride)
		mds = updk_dma_zalloc(md_stride * ctx->ntasks, 4096, ns->pc->numa, NULL);
	if (!bufs || (md_stride && !mds)) {
		updk_dma_free(bufs);
		fprintf(stderr,
			"updk-perf: cannot allocate %zu bytes of DMA memory for %u I/Os of "
			"%u bytes (see the message above)\n",
			stride * ctx->ntasks, ctx->ntasks, a->io_size);
		return -ENOMEM;
	}
	for (unsigned k = 0; k < ctx->ntasks; k++) {
		struct perf_task *t = &ctx->tasks[k];

		t->ctx = ctx;
		t->qp = ctx->qps[k % ctx->nqps];
		t->buf = bufs + stride * k;
		t->md = mds ? mds + md_stride * k : NULL;
		t->slot0 = ns->ntasks++;
		ctx->w->ntasks++;
		t->gen = (uint32_t)(run->seed >> 32) + k * 0x10000u;
	}
	return perf_zoned_ctx_init(run, ctx);
}

int perf_setup(struct perf_run *run, const struct perf_args *args)
{
	const struct perf_args *a = args;
	unsigned count;
	int rc;

	memset(run, 0, sizeof(*run));
	run->args = a;
	run->tsc_hz = updk_tsc_hz();
	run->seed = a->seed ? a->seed : updk_tsc();
	run->ctrlrs = calloc(a->ntargets, sizeof(*run->ctrlrs));
	run->nss = calloc(PERF_MAX_TARGETS * 8, sizeof(*run->nss));
	run->workers = calloc(a->ncores, sizeof(*run->workers));
	if (!run->ctrlrs || !run->nss || !run->workers)
		return -ENOMEM;
	for (unsigned i = 0; i < a->ntargets; i++)
		ctrlr_for(run, a->targets[i].addr);
	rc = open_ctrlrs(run);
	if (!rc)
		rc = find_namespaces(run);
	if (rc)
		return rc;

	/* Namespaces to cores round-robin, as many pairs as the larger of the two counts. */
	count = run->nns > a->ncores ? run->nns : a->ncores;
	run->nworkers = a->ncores;
	run->ctxs = calloc(count, sizeof(*run->ctxs));
	if (!run->ctxs)
		return -ENOMEM;
	for (unsigned i = 0; i < run->nworkers; i++) {
		run->workers[i].run = run;
		run->workers[i].poller.core = a->cores[i];
		run->workers[i].ctxs = calloc(count, sizeof(struct perf_ctx *));
		if (!run->workers[i].ctxs)
			return -ENOMEM;
	}
	for (unsigned i = 0; i < count; i++) {
		struct perf_ctx *ctx = &run->ctxs[i];
		struct perf_worker *w = &run->workers[i % a->ncores];

		ctx->ns = &run->nss[i % run->nns];
		ctx->w = w;
		w->ctxs[w->nctxs++] = ctx;
		run->nctxs++;
		rc = setup_ctx(run, ctx, i);
		if (rc)
			return rc;
		if (!a->json)
			printf("Associating %s NSID %u with core %u (%u qpair%s, depth %u)\n",
			       ctx->ns->pc->addr, ctx->ns->nsid, w->poller.core, ctx->nqps,
			       ctx->nqps > 1 ? "s" : "", a->queue_depth);
	}
	if (a->verify)
		for (unsigned i = 0; i < run->nns; i++)
			if (run->nss[i].nslots < run->nss[i].ntasks) {
				fprintf(stderr,
					"updk-perf: --verify gives each of the %u I/Os in "
					"flight on %s namespace %u its own blocks, but it "
					"holds only %" PRIu64 " I/Os of -o %u\n",
					run->nss[i].ntasks, run->nss[i].pc->addr, run->nss[i].nsid,
					run->nss[i].nslots, a->io_size);
				return -EINVAL;
			}
	for (unsigned i = 0; i < run->nworkers; i++) {
		struct perf_worker *w = &run->workers[i];

		/* --rate over the pollers evenly: each hands out rate / nworkers a second. */
		if (a->rate)
			w->period = run->tsc_hz * run->nworkers / a->rate;
		if (a->interrupt_mode) {
			rc = perf_worker_loop_setup(w);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int perf_start(struct perf_run *run)
{
	const struct perf_args *a = run->args;
	int rc;

	rc = perf_pollers_start(run->workers, sizeof(*run->workers), run->nworkers,
				perf_worker_main, &run->stop);
	for (unsigned i = 0; i < run->nctrlrs; i++) {
		struct updk_nvme_stats st;

		updk_nvme_ctrlr_get_stats(run->ctrlrs[i].ctrlr, &st);
		run->ctrlrs[i].resets_base = st.resets;
	}
	run->start_tsc = updk_tsc();
	run->warmup_end = run->start_tsc + (uint64_t)a->warmup_s * run->tsc_hz;
	run->end_tsc = run->warmup_end + (uint64_t)a->time_s * run->tsc_hz;
	__atomic_store_n(&run->go, 1, __ATOMIC_RELEASE);
	return rc;
}

void perf_join(struct perf_run *run)
{
	perf_pollers_join(run->workers, sizeof(*run->workers), run->nworkers);
}

/* Failed and no automatic reset under way: failed for good (the driver does not retry). */
static void check_dead(struct perf_ctrlr *pc)
{
	if (updk_nvme_ctrlr_is_failed(pc->ctrlr) && !updk_nvme_ctrlr_is_resetting(pc->ctrlr))
		__atomic_store_n(&pc->dead, 1, __ATOMIC_RELEASE);
}

void perf_admin_poll(struct perf_run *run)
{
	for (unsigned i = 0; i < run->nctrlrs; i++) {
		updk_nvme_admin_process_completions(run->ctrlrs[i].ctrlr);
		check_dead(&run->ctrlrs[i]);
	}
}

/*
 * A reset can still be under way when the pollers have left: asked for by a timeout in the
 * drain, or begun while a poller that had nothing outstanding had already gone, so that its
 * qpairs never failed their commands for it and the reset waits for them. The run's end waits
 * for it (bounded by the controller's CAP.TO), so the report counts the I/Os it failed and the
 * controller is closed running or failed, not half reset; stderr says why the end took longer.
 */
void perf_settle_resets(struct perf_run *run)
{
	for (unsigned i = 0; i < run->nctrlrs; i++) {
		struct perf_ctrlr *pc = &run->ctrlrs[i];

		if (pc->dead || !updk_nvme_ctrlr_is_resetting(pc->ctrlr))
			continue;
		fprintf(stderr,
			"updk-perf: %s was being reset when the run ended: waiting for the reset "
			"before closing it\n",
			pc->addr);
		/* At most: the admin poller begins the reset, the qpairs' polls fail their
		 * commands, the admin poller brings the controller back. */
		for (int step = 0; step < 3 && !pc->dead && updk_nvme_ctrlr_is_resetting(pc->ctrlr);
		     step++) {
			updk_nvme_admin_process_completions(pc->ctrlr);
			for (unsigned k = 0; k < run->nctxs; k++)
				for (unsigned q = 0;
				     run->ctxs[k].ns->pc == pc && q < run->ctxs[k].nqps; q++)
					updk_nvme_qpair_process_completions(run->ctxs[k].qps[q], 0);
			updk_nvme_admin_process_completions(pc->ctrlr);
			check_dead(pc);
		}
	}
}

/*
 * I/Os whose completion did not come back within the drain (a completion lost, its timeout
 * and Abort not yet run out) are failed by updk_nvme_qpair_free(): that happens here, before
 * the report is gathered, so their callbacks count them as errors (a failed write or read)
 * instead of leaving them out of the figures; stderr names the row and how many.
 */
void perf_release_qpairs(struct perf_run *run)
{
	for (unsigned i = 0; run->workers && i < run->nworkers; i++)
		run->workers[i].stopping = true; /* a failed I/O gets no successor */
	for (unsigned i = 0; i < run->nctxs; i++) {
		struct perf_ctx *ctx = &run->ctxs[i];
		uint32_t left = 0;

		for (unsigned q = 0; ctx->qps && q < ctx->nqps; q++)
			if (ctx->qps[q])
				left += updk_nvme_qpair_outstanding(ctx->qps[q]);
		if (left)
			fprintf(stderr,
				"updk-perf: %s namespace %u on core %u: %u I/O(s) still without a "
				"completion %d s after the run ended: failed, counted as errors\n",
				ctx->ns->pc->addr, ctx->ns->nsid, ctx->w->poller.core, left,
				PERF_DRAIN_SECONDS);
		for (unsigned q = 0; ctx->qps && q < ctx->nqps; q++) {
			updk_nvme_qpair_free(ctx->qps[q]);
			ctx->qps[q] = NULL;
		}
	}
}

/* Resets of @pc since the pollers started, the settle path's included. */
static uint64_t ctrlr_resets(const struct perf_ctrlr *pc)
{
	struct updk_nvme_stats st;

	updk_nvme_ctrlr_get_stats(pc->ctrlr, &st);
	return st.resets - pc->resets_base;
}

void perf_collect(struct perf_run *run, struct perf_row *rows, struct perf_core_result *cores,
		  struct perf_mismatch *first, bool *has_mismatch, bool *failed,
		  bool *pass_complete, uint64_t *resets)
{
	*has_mismatch = false;
	*failed = false;
	*pass_complete = run->args->one_pass;
	*resets = 0;
	for (unsigned i = 0; i < run->nctrlrs; i++)
		*resets += ctrlr_resets(&run->ctrlrs[i]);
	for (unsigned i = 0; i < run->nworkers; i++) {
		struct perf_worker *w = &run->workers[i];
		struct perf_core_result *c = &cores[i];

		memset(c, 0, sizeof(*c));
		c->core = w->poller.core;
		c->seconds = (double)(w->measure_end - w->measure_start) / (double)run->tsc_hz;
		c->loop_cycles = w->loop_cycles;
		c->busy_cycles = w->busy_cycles;
		c->cpu_ns = w->cpu_ns;
		c->sleeps = w->sleeps;
		c->wakeups = w->wakeups;
		if (w->failed)
			*failed = true;
	}
	for (unsigned i = 0; i < run->nctxs; i++) {
		struct perf_ctx *ctx = &run->ctxs[i];
		struct perf_row *row = &rows[i];
		struct perf_ns *ns = ctx->ns;
		bool sim = !strncmp(ns->pc->addr, "sim:", 4);
		bool tcp = !strncmp(ns->pc->addr, "trtype:TCP", 10);

		memset(row, 0, sizeof(*row));
		snprintf(row->name, sizeof(row->name), "%s (%.100s) NSID %u from core %u",
			 tcp ? "TCP" :
			 sim ? "SIM" :
			       "PCIE",
			 ns->pc->addr, ns->nsid, ctx->w->poller.core);
		snprintf(row->device, sizeof(row->device), "%s", ns->pc->addr);
		row->nsid = ns->nsid;
		row->core = ctx->w->poller.core;
		row->seconds =
			(double)(ctx->w->measure_end - ctx->w->measure_start) / (double)run->tsc_hz;
		row->s = ctx->s;
		if (!row->s.ios)
			row->s.lat_min = 0;
		row->hist = ctx->hist;
		row->shadow_doorbell = updk_nvme_ctrlr_shadow_doorbell(ns->pc->ctrlr);
		row->shadow_why = updk_nvme_ctrlr_shadow_doorbell_why(ns->pc->ctrlr);
		for (unsigned q = 0; q < ctx->nqps && ctx->w->measure_end; q++) {
			const struct updk_nvme_stats *b = &ctx->db_base[q], *e = &ctx->db_end[q];

			row->s.cmds_submitted += e->cmds_submitted - b->cmds_submitted;
			row->s.cmds_completed += e->cmds_completed - b->cmds_completed;
			row->s.sq_db_mmio += e->sq_doorbell_mmio - b->sq_doorbell_mmio;
			row->s.cq_db_mmio += e->cq_doorbell_mmio - b->cq_doorbell_mmio;
			row->s.shadow_updates +=
				e->shadow_doorbell_updates - b->shadow_doorbell_updates;
			row->s.queue_full += e->queue_full - b->queue_full;
			row->s.timeouts += e->timeouts - b->timeouts;
		}
		/* A reset is the controller's, not a qpair's (a qpair's own count stays 0): the
		 * row shows its controller's, over the same span as controller_resets. */
		row->s.resets = ctrlr_resets(ns->pc);
		for (unsigned k = 0; k < run->nworkers; k++)
			if (&run->workers[k] == ctx->w)
				cores[k].ios += row->s.ios;
		if (ctx->s.mismatches && !*has_mismatch) {
			*first = ctx->first_mismatch;
			*has_mismatch = true;
		}
		if (ctx->submit_err && ctx->submit_err != -ENXIO)
			fprintf(stderr, "updk-perf: %s: a submission failed: %s\n", row->name,
				strerror(-ctx->submit_err));
		if (updk_nvme_ctrlr_is_failed(ns->pc->ctrlr))
			*failed = true;
		/* --one-pass: every slot written and read back, nothing failed on the way */
		if (ctx->s.write_errors || ctx->s.read_errors || ctx->submit_err)
			*pass_complete = false;
		for (unsigned k = 0; k < ctx->ntasks; k++)
			if (!ctx->tasks[k].finished)
				*pass_complete = false;
	}
}

void perf_teardown(struct perf_run *run)
{
	for (unsigned i = 0; i < run->nworkers; i++) {
		updk_loop_destroy(run->workers[i].loop);
		run->workers[i].loop = NULL;
	}
	/* qpairs first: they fail what is still outstanding, and only then may the buffers go. */
	perf_release_qpairs(run);
	for (unsigned i = 0; i < run->nctrlrs; i++) {
		updk_nvme_ctrlr_close(run->ctrlrs[i].ctrlr);
		run->ctrlrs[i].ctrlr = NULL;
	}
	for (unsigned i = 0; i < run->nctxs; i++) {
		struct perf_ctx *ctx = &run->ctxs[i];

		if (ctx->tasks) {
			updk_dma_free(ctx->tasks[0].buf);
			updk_dma_free(ctx->tasks[0].md);
		}
		free(ctx->qps);
		free(ctx->tasks);
		free(ctx->pending);
		perf_zoned_free(ctx);
		free(ctx->ready);
		free(ctx->lqs);
		free(ctx->db_base);
		free(ctx->db_end);
		ctx->qps = NULL;
		ctx->tasks = NULL;
		ctx->pending = ctx->ready = NULL;
		ctx->lqs = NULL;
		ctx->db_base = ctx->db_end = NULL;
	}
}

void perf_free(struct perf_run *run)
{
	for (unsigned i = 0; i < run->nctxs; i++)
		free(run->ctxs[i].hist);
	for (unsigned i = 0; run->workers && i < run->args->ncores; i++)
		free(run->workers[i].ctxs);
	free(run->ctxs);
	free(run->workers);
	free(run->nss);
	free(run->ctrlrs);
	memset(run, 0, sizeof(*run));
}
