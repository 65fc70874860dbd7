// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-perf's NVMe poller: the loop each core runs over the qpairs it owns. It keeps -q I/Os
 * per namespace in flight, resubmitting from the completion callback, with no locks and no
 * system calls, counts what completes while measuring, and drains at the end.
 *
 * A controller the driver resets by itself (a timeout its Abort did not resolve) is ridden
 * out, as an SPDK application would: the I/Os the reset fails come back with an error status
 * and count as errors, the poller keeps polling the qpair (-ENXIO meanwhile) and parks the
 * tasks whose submissions are refused, and resubmits them once the qpair works again. Only a
 * controller the main thread finds failed for good (failed and not being reset) stops it.
 *
 * --rate paces the submissions: a task whose I/O completed waits in its row's ready list, and
 * the poller hands one out every period (round-robin over its rows). --interrupt-mode runs
 * the passes in the hybrid loop (lib/loop): after an idle spell it arms every qpair and
 * sleeps until a vector fires or the next paced submission is due. The plain polled loop
 * stays as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <updk/tsc.h>

#include "apps/perf/run.h"

#define STORE(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELAXED)

static void io_done(void *arg, const struct updk_nvme_cpl *cpl);

static bool ctrlr_dead(const struct perf_ctx *ctx)
{
	return __atomic_load_n(&ctx->ns->pc->dead, __ATOMIC_ACQUIRE) != 0;
}

/* Choose the next slot and direction of @t; false when --one-pass has given it every slot. */
static bool task_pick(struct perf_task *t)
{
	struct perf_ctx *ctx = t->ctx;
	struct perf_ns *ns = ctx->ns;
	const struct perf_args *a = ctx->w->run->args;
	uint64_t slot;

	if (ctx->zoned)
		return perf_zoned_pick(t);
	if (a->verify) {
		/* The task owns slots slot0, slot0 + ntasks, ... below nslots: no other task writes
		 * them meanwhile, and together the tasks own every slot. */
		uint64_t per = (ns->nslots - t->slot0 + ns->ntasks - 1) / ns->ntasks, k;

		if (t->pass_done)
			return false;
		if (a->random) {
			k = perf_rand_range(&ctx->rng, per);
		} else {
			k = t->seq++;
			if (t->seq == per) {
				t->seq = 0;
				t->pass_done = a->one_pass;
			}
		}
		slot = k * ns->ntasks + t->slot0;
		t->is_read = false;
		t->gen++;
		t->lba = slot * ns->nlb;
		perf_pattern_fill(t->buf, ns->nlb * ns->xfer_block, ns->xfer_block, t->lba, t->gen);
		return true;
	}
	if (a->random) {
		slot = perf_rand_range(&ctx->rng, ns->nslots);
	} else {
		slot = ctx->seq_next++;
		if (ctx->seq_next == ns->nslots)
			ctx->seq_next = 0;
	}
	t->lba = slot * ns->nlb;
	if (a->read_pct == 100)
		t->is_read = true;
	else if (a->read_pct == 0)
		t->is_read = false;
	else
		t->is_read = perf_rand(&ctx->rng) < ctx->read_threshold;
	return true;
}

/* Queue @t as it is; -EAGAIN parks it for the next pass of the poll loop. */
static void task_issue(struct perf_task *t)
{
	struct perf_ctx *ctx = t->ctx;
	struct perf_ns *ns = ctx->ns;
	int rc;

	t->submit_tsc = updk_tsc();
	if (__builtin_expect(ctx->zoned != NULL, 0) && !t->is_read)
		rc = perf_zoned_append(t, io_done);
	else if (__builtin_expect(ns->ext, 0))
		rc = perf_task_issue_ext(t, io_done);
	else if (t->is_read)
		rc = updk_nvme_ns_read(ns->ns, t->qp, t->buf, t->lba, ns->nlb, io_done, t, 0);
	else
		rc = updk_nvme_ns_write(ns->ns, t->qp, t->buf, t->lba, ns->nlb, io_done, t, 0);
	if (__builtin_expect(rc != 0, 0)) {
		/* -ENXIO while the controller is being reset: the task waits for it to be back */
		if (rc == -EAGAIN || (rc == -ENXIO && !ctrlr_dead(ctx))) {
			ctx->pending[ctx->npending++] = t;
		} else {
			/* The task stays idle: the loop notices a failed controller itself. */
			if (!ctx->submit_err)
				ctx->submit_err = rc;
			STORE(ctx->s.errors, ctx->s.errors + 1);
		}
		return;
	}
	if (ctx->w->run->args->doorbell_per_cmd)
		updk_nvme_qpair_flush(t->qp);
}

/* Give @t its next I/O, or count it finished (--one-pass). */
static void task_next(struct perf_task *t)
{
	if (task_pick(t)) {
		task_issue(t);
	} else if (!t->finished) {
		t->finished = true;
		t->ctx->w->finished++;
	}
}

static void io_done(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct perf_task *t = arg;
	struct perf_ctx *ctx = t->ctx;
	struct perf_worker *w = ctx->w;
	struct perf_stats *s = &ctx->s;
	uint64_t lat = updk_tsc() - t->submit_tsc;
	bool err = updk_nvme_cpl_is_error(cpl);

	if (__builtin_expect(ctx->after_reset, 0) && !err)
		s->ios_after_reset++;
	if (w->measuring) {
		STORE(s->ios, s->ios + 1);
		STORE(s->lat_sum, s->lat_sum + lat);
		if (t->is_read)
			s->reads++;
		else
			s->writes++;
		if (lat < s->lat_min)
			s->lat_min = lat;
		if (lat > s->lat_max)
			s->lat_max = lat;
		perf_hist_add(ctx->hist, lat);
	}
	/* Errors and mismatches count over the whole run: they are never noise. */
	if (__builtin_expect(err, 0)) {
		STORE(s->errors, s->errors + 1);
		if (t->is_read)
			s->read_errors++;
		else
			s->write_errors++;
		/* End-to-end Guard, Application Tag, Reference Tag Check Error (SCT 2h) */
		if (updk_nvme_cpl_sct(cpl) == UPDK_NVME_SCT_MEDIA &&
		    updk_nvme_cpl_sc(cpl) >= UPDK_NVME_SC_GUARD_CHECK_ERROR &&
		    updk_nvme_cpl_sc(cpl) <= UPDK_NVME_SC_REFERENCE_TAG_CHECK_ERROR)
			s->pi_errors++;
	} else if (__builtin_expect(ctx->ns->host_pi, 0) && t->is_read && perf_task_pi_bad(t)) {
		STORE(s->errors, s->errors + 1);
		s->pi_host_errors++;
	}
	if (__builtin_expect(ctx->zoned != NULL, 0) && !t->is_read)
		perf_zoned_append_done(t, cpl);
	if (w->run->args->verify) {
		/* A failed write is not read back and a failed read-back not compared: the task
		 * moves to a fresh write, so no slot is ever read before a write to it succeeded. */
		if (!t->is_read) {
			if (!err) {
				/* Read the write back into the same buffer, poisoned first so a
				 * read that moved no data cannot pass. */
				memset(t->buf, 0xa5, ctx->ns->nlb * ctx->ns->xfer_block);
				t->is_read = true;
				t->verify_read = true;
				task_issue(t);
				return;
			}
		} else if (!err) {
			struct perf_mismatch m;
			const struct perf_ns *ns = ctx->ns;
			uint32_t bad = perf_pattern_check_skip(t->buf, ns->nlb * ns->xfer_block,
							       ns->xfer_block, ns->pi_skip_off,
							       ns->pi_skip_len, t->lba, t->gen, &m);

			s->verified++;
			if (bad) {
				if (!s->mismatches)
					ctx->first_mismatch = m;
				STORE(s->mismatches, s->mismatches + bad);
			}
		}
		t->verify_read = false;
	}
	if (w->stopping)
		return;
	if (w->period)
		ctx->ready[ctx->nready++] = t; /* its next I/O when pace() says */
	else
		task_next(t);
}

static void snapshot_stats(struct perf_ctx *ctx, struct updk_nvme_stats *to)
{
	for (unsigned i = 0; i < ctx->nqps; i++)
		updk_nvme_qpair_get_stats(ctx->qps[i], &to[i]);
}

/* The loop's counters of sleeps into *@sleeps and *@wakeups (0 without a loop). */
static void loop_counts(const struct perf_worker *w, uint64_t *sleeps, uint64_t *wakeups)
{
	struct updk_loop_stats st = { 0 };

	if (w->loop)
		updk_loop_stats(w->loop, &st);
	*sleeps = st.sleeps;
	*wakeups = st.wakeups;
}

static void start_measuring(struct perf_worker *w, uint64_t now)
{
	for (unsigned i = 0; i < w->nctxs; i++) {
		struct perf_ctx *ctx = w->ctxs[i];
		uint64_t errors = ctx->s.errors, mismatches = ctx->s.mismatches;

		memset(&ctx->s, 0, sizeof(ctx->s));
		ctx->s.lat_min = UINT64_MAX;
		ctx->s.errors = errors;
		ctx->s.mismatches = mismatches;
		memset(ctx->hist, 0, sizeof(*ctx->hist));
		snapshot_stats(ctx, ctx->db_base);
	}
	w->busy_cycles = 0;
	w->cpu_start_ns = perf_thread_cpu_ns();
	loop_counts(w, &w->sleeps, &w->wakeups);
	w->measure_start = now;
	w->measuring = true;
}

static void stop_measuring(struct perf_worker *w, uint64_t now)
{
	if (!w->measuring)
		return;
	uint64_t sleeps, wakeups;

	w->measuring = false;
	w->measure_end = now;
	w->loop_cycles = now - w->measure_start;
	w->cpu_ns = perf_thread_cpu_ns() - w->cpu_start_ns;
	loop_counts(w, &sleeps, &wakeups);
	w->sleeps = sleeps - w->sleeps;
	w->wakeups = wakeups - w->wakeups;
	for (unsigned i = 0; i < w->nctxs; i++)
		snapshot_stats(w->ctxs[i], w->ctxs[i]->db_end);
}

static void retry_pending(struct perf_ctx *ctx)
{
	unsigned n = ctx->npending;

	ctx->npending = 0;
	for (unsigned i = 0; i < n; i++)
		task_issue(ctx->pending[i]);
}

/*
 * One pass over every qpair of a row. Returns completions, or -ENXIO once the controller has
 * failed for good. A qpair being reset returns -ENXIO too: the row waits (its first such poll
 * has failed its outstanding I/Os) and resubmits its parked tasks when it works again.
 */
static inline int poll_ctx(struct perf_worker *w, struct perf_ctx *ctx, uint32_t batch)
{
	bool down = false;
	int got = 0;

	for (unsigned q = 0; q < ctx->nqps; q++) {
		int rc = updk_nvme_qpair_process_completions(ctx->qps[q], batch);

		if (__builtin_expect(rc < 0, 0)) {
			if (ctrlr_dead(ctx))
				return rc;
			down = true;
			continue;
		}
		got += rc;
	}
	if (__builtin_expect(down, 0)) {
		ctx->in_reset = true;
		return 0;
	}
	if (__builtin_expect(ctx->in_reset, 0)) {
		ctx->in_reset = false;
		ctx->after_reset = true;
	}
	if (__builtin_expect(ctx->zoned != NULL, 0))
		perf_zoned_poll(ctx);
	if (__builtin_expect(ctx->npending != 0, 0) && !w->stopping)
		retry_pending(ctx);
	return got;
}

/* One pass over every row of the poller: completions, or -ENXIO (poll_ctx()). */
static int poll_once(struct perf_worker *w, uint32_t batch)
{
	int got = 0;

	for (unsigned i = 0; i < w->nctxs; i++) {
		int rc = poll_ctx(w, w->ctxs[i], batch);

		if (__builtin_expect(rc < 0, 0))
			return rc;
		got += rc;
	}
	return got;
}

static uint32_t outstanding(const struct perf_worker *w)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < w->nctxs; i++)
		for (unsigned q = 0; q < w->ctxs[i]->nqps; q++)
			n += updk_nvme_qpair_outstanding(w->ctxs[i]->qps[q]);
	return n;
}

/* --rate: hand out the tasks that are due, round-robin over the rows; true while a task waits
 * for its turn (the loop must wake for it), false when every task is in flight. */
static bool pace(struct perf_worker *w, uint64_t now)
{
	/* -q in flight held the rate back: start afresh rather than burst to catch up. */
	if (now > w->next_due + 4 * w->period)
		w->next_due = now;
	for (;;) {
		struct perf_ctx *ctx = NULL;

		for (unsigned i = 0; i < w->nctxs && !ctx; i++) {
			struct perf_ctx *c = w->ctxs[(w->rr + i) % w->nctxs];

			if (c->nready)
				ctx = c;
		}
		if (!ctx)
			return false;
		if (now < w->next_due)
			return true;
		w->rr = (w->rr + 1) % w->nctxs;
		task_next(ctx->ready[--ctx->nready]);
		w->next_due += w->period;
	}
}

/* --interrupt-mode: a qpair as a queue of the poller's loop. The row's first qpair polls the
 * row (poll_ctx() decides for the row as a whole); the others bring their vector and arm. */
static int lq_poll(void *arg)
{
	struct perf_lq *lq = arg;
	struct perf_ctx *ctx = lq->ctx;

	return lq->q ? 0 : poll_ctx(ctx->w, ctx, ctx->w->run->args->cpl_batch);
}

static int lq_ack(void *arg)
{
	struct perf_lq *lq = arg;
	int rc = updk_nvme_qpair_intr_ack(lq->ctx->qps[lq->q]);

	return rc < 0 ? rc : 0;
}

static int lq_arm(void *arg)
{
	struct perf_lq *lq = arg;

	return updk_nvme_qpair_intr_arm(lq->ctx->qps[lq->q]);
}

int perf_worker_loop_setup(struct perf_worker *w)
{
	int rc = perf_poller_loop_create(&w->poller, &w->loop);

	if (rc)
		return rc;
	for (unsigned i = 0; i < w->nctxs; i++) {
		struct perf_ctx *ctx = w->ctxs[i];

		ctx->lqs = calloc(ctx->nqps, sizeof(*ctx->lqs));
		if (!ctx->lqs)
			return -ENOMEM;
		for (unsigned q = 0; q < ctx->nqps; q++) {
			struct updk_loop_queue lq = { .fd = updk_nvme_qpair_intr_fd(ctx->qps[q]),
						      .poll = lq_poll,
						      .ack = lq_ack,
						      .arm = lq_arm,
						      .arg = &ctx->lqs[q] };

			ctx->lqs[q] = (struct perf_lq){ .ctx = ctx, .q = q };
			rc = updk_loop_add(w->loop, &lq);
			if (rc) {
				fprintf(stderr,
					"updk-perf: core %u: cannot sleep on qpair %u of %s: %s\n",
					w->poller.core, q + 1, ctx->ns->pc->addr, strerror(-rc));
				return rc;
			}
		}
	}
	return 0;
}

/* Whether the run is over for @w at @now. */
static bool run_over(struct perf_worker *w, uint64_t now)
{
	struct perf_run *run = w->run;

	return now >= run->end_tsc || __atomic_load_n(&run->stop, __ATOMIC_RELAXED) ||
	       (run->args->one_pass && w->finished == w->ntasks);
}

/* The plain polled loop: every I/O resubmitted as it completes. Returns when it ended. */
static uint64_t run_polled(struct perf_worker *w)
{
	struct perf_run *run = w->run;
	uint32_t batch = run->args->cpl_batch;
	uint64_t now, prev = updk_tsc();
	int rc;

	for (;;) {
		rc = poll_once(w, batch);
		now = updk_tsc();
		if (__builtin_expect(rc < 0, 0)) {
			w->failed = rc;
			break;
		}
		if (rc && w->measuring)
			w->busy_cycles += now - prev;
		prev = now;
		if (__builtin_expect(!w->measuring, 0) && now >= run->warmup_end &&
		    now < run->end_tsc)
			start_measuring(w, now);
		if (run_over(w, now))
			break;
	}
	return now;
}

/* --rate and/or --interrupt-mode: paced submissions, passes in the hybrid loop. */
static uint64_t run_paced(struct perf_worker *w)
{
	struct perf_run *run = w->run;
	uint32_t batch = run->args->cpl_batch;
	uint64_t now = updk_tsc(), prev = now;
	int rc;

	w->next_due = now;
	for (;;) {
		bool waiting = w->period && pace(w, now);

		if (w->loop) {
			/* Asleep at most until the next paced task, measuring's start or the end. */
			uint64_t wake = run->end_tsc;

			if (waiting && w->next_due < wake)
				wake = w->next_due;
			if (!w->measuring && now < run->warmup_end && run->warmup_end < wake)
				wake = run->warmup_end;
			updk_loop_wake_at(w->loop, wake);
			rc = updk_loop_run_once(w->loop);
		} else {
			rc = poll_once(w, batch);
		}
		now = updk_tsc();
		if (rc < 0) {
			w->failed = rc;
			break;
		}
		if (rc && w->measuring)
			w->busy_cycles += now - prev;
		prev = now;
		if (!w->measuring && now >= run->warmup_end && now < run->end_tsc)
			start_measuring(w, now);
		if (run_over(w, now))
			break;
	}
	return now;
}

void *perf_worker_main(void *arg)
{
	struct perf_worker *w = arg;
	struct perf_run *run = w->run;
	bool paced = w->period || w->loop;
	uint64_t now, deadline;
	int rc;

	/* All pollers start together, once the run's deadlines are set. */
	perf_poller_wait_go(&w->poller, &run->go);
	now = updk_tsc();
	if (now >= run->warmup_end)
		start_measuring(w, now);
	for (unsigned i = 0; i < w->nctxs; i++)
		for (unsigned k = 0; k < w->ctxs[i]->ntasks; k++) {
			struct perf_ctx *ctx = w->ctxs[i];

			if (w->period)
				ctx->ready[ctx->nready++] = &ctx->tasks[k];
			else
				task_next(&ctx->tasks[k]);
		}

	now = paced ? run_paced(w) : run_polled(w);
	stop_measuring(w, now);

	/* Drain: no new I/O (a --verify write still gets its read-back), bounded wait. */
	w->stopping = true;
	deadline = updk_tsc() + PERF_DRAIN_SECONDS * run->tsc_hz;
	while (!w->failed && outstanding(w) && updk_tsc() < deadline) {
		rc = poll_once(w, 0);
		if (rc < 0)
			w->failed = rc;
	}
	perf_poller_exit(&w->poller);
	return NULL;
}
