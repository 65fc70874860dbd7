/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The result: SPDK's table (one row per namespace and core, a Total row, latencies in µs),
 * percentiles and histogram on request, then what updk adds: TSC cycles per I/O of each poller
 * and the driver's doorbell counters. The same figures as JSON with --json.
 */
#include <inttypes.h>
#include <string.h>

#include "apps/perf/json.h"
#include "apps/perf/perf.h"

const double perf_percentiles[] = { 1, 10, 25, 50, 75, 90, 95, 98, 99, 99.5, 99.9, 99.99 };
const unsigned perf_npercentiles = sizeof(perf_percentiles) / sizeof(perf_percentiles[0]);

void perf_stats_add(struct perf_stats *a, const struct perf_stats *b)
{
	if (b->ios) {
		if (!a->ios || b->lat_min < a->lat_min)
			a->lat_min = b->lat_min;
		if (b->lat_max > a->lat_max)
			a->lat_max = b->lat_max;
	}
	a->ios += b->ios;
	a->reads += b->reads;
	a->writes += b->writes;
	a->errors += b->errors;
	a->mismatches += b->mismatches;
	a->verified += b->verified;
	a->write_errors += b->write_errors;
	a->read_errors += b->read_errors;
	a->pi_errors += b->pi_errors;
	a->pi_host_errors += b->pi_host_errors;
	a->lat_sum += b->lat_sum;
	a->cmds_submitted += b->cmds_submitted;
	a->cmds_completed += b->cmds_completed;
	a->sq_db_mmio += b->sq_db_mmio;
	a->cq_db_mmio += b->cq_db_mmio;
	a->shadow_updates += b->shadow_updates;
	a->queue_full += b->queue_full;
	a->timeouts += b->timeouts;
	a->resets += b->resets;
	a->ios_after_reset += b->ios_after_reset;
}

/* Derived figures of one row. */
struct figures {
	double iops, mib_s, avg_us, min_us, max_us;
};

static double ticks_us(const struct perf_report *r, uint64_t ticks)
{
	return r->tsc_hz ? (double)ticks * 1e6 / (double)r->tsc_hz : 0.0;
}

static struct figures figures_of(const struct perf_report *r, const struct perf_stats *s,
				 double iops)
{
	struct figures f = { 0 };

	f.iops = iops;
	f.mib_s = iops * (double)r->args->io_size / (1024.0 * 1024.0);
	if (s->ios) {
		f.avg_us = ticks_us(r, s->lat_sum) / (double)s->ios;
		f.min_us = ticks_us(r, s->lat_min);
		f.max_us = ticks_us(r, s->lat_max);
	}
	return f;
}

static double row_iops(const struct perf_row *row)
{
	return row->seconds > 0 ? (double)row->s.ios / row->seconds : 0.0;
}

/* The Total row: counters summed, IOPS summed over rows (each over its core's interval). */
static void total_of(const struct perf_report *r, struct perf_stats *t, double *iops,
		     double *seconds)
{
	memset(t, 0, sizeof(*t));
	*iops = 0;
	*seconds = 0;
	for (unsigned i = 0; i < r->nrows; i++) {
		perf_stats_add(t, &r->rows[i].s);
		*iops += row_iops(&r->rows[i]);
		if (r->rows[i].seconds > *seconds)
			*seconds = r->rows[i].seconds;
	}
	/* rows on one controller share its resets: summed they would count each once per row */
	t->resets = r->controller_resets;
}

static const struct perf_hist *total_hist(const struct perf_report *r)
{
	if (r->nrows == 1)
		return r->rows[0].hist;
	if (!r->total_hist)
		return NULL;
	memset(r->total_hist, 0, sizeof(*r->total_hist));
	for (unsigned i = 0; i < r->nrows; i++)
		if (r->rows[i].hist)
			perf_hist_merge(r->total_hist, r->rows[i].hist);
	return r->total_hist;
}

/* Percentile in µs, never above the largest latency seen (a bucket's bound can be). */
static double pct_us(const struct perf_report *r, const struct perf_hist *h, uint64_t max,
		     double pct)
{
	uint64_t v = perf_hist_percentile(h, pct);

	return ticks_us(r, v < max ? v : max);
}

static void print_percentiles(FILE *out, const struct perf_report *r, const char *name,
			      const struct perf_hist *h, uint64_t max)
{
	fprintf(out, "\nSummary latency data for %s:\n", name);
	fputs("=================================================================================\n",
	      out);
	if (!h || !h->count) {
		fputs("  (no I/O completed)\n", out);
		return;
	}
	for (unsigned i = 0; i < perf_npercentiles; i++)
		fprintf(out, "%9.5f%% : %12.3fus\n", perf_percentiles[i],
			pct_us(r, h, max, perf_percentiles[i]));
}

static void print_histogram(FILE *out, const struct perf_report *r, const char *name,
			    const struct perf_hist *h)
{
	uint64_t seen = 0;

	fprintf(out, "\nLatency histogram for %s:\n", name);
	fputs("==============================================================================\n",
	      out);
	fputs("       Range in us     Cumulative    IO count\n", out);
	if (!h || !h->count)
		return;
	for (unsigned i = 0; i < PERF_HIST_BUCKETS; i++) {
		if (!h->bucket[i])
			continue;
		seen += h->bucket[i];
		fprintf(out, "%10.3f - %10.3f: %9.4f%%  (%9" PRIu64 ")\n",
			ticks_us(r, perf_hist_bucket_low(i)), ticks_us(r, perf_hist_bucket_high(i)),
			100.0 * (double)seen / (double)h->count, h->bucket[i]);
	}
}

static double per_io(uint64_t n, uint64_t ios)
{
	return ios ? (double)n / (double)ios : 0.0;
}

void perf_report_text(FILE *out, const struct perf_report *r)
{
	const char *sep = "========================================================";
	struct perf_stats t;
	struct figures f;
	const struct perf_hist *th;
	double iops, seconds;
	int w = 55;
	uint64_t loop = 0, busy = 0, cios = 0;

	for (unsigned i = 0; i < r->nrows; i++)
		if ((int)strlen(r->rows[i].name) > w)
			w = (int)strlen(r->rows[i].name);
	total_of(r, &t, &iops, &seconds);

	if (r->interrupted)
		fprintf(out, "Interrupted: partial results over %.3f s\n", seconds);
	fprintf(out, "%s\n", sep);
	fprintf(out, "%*s\n", w + 2 + 11 * 3 + 10, "Latency(us)");
	fprintf(out, "%-*s: %10s %10s %10s %10s %10s\n", w, "Device Information", "IOPS", "MiB/s",
		"Average", "min", "max");
	for (unsigned i = 0; i < r->nrows; i++) {
		f = figures_of(r, &r->rows[i].s, row_iops(&r->rows[i]));
		fprintf(out, "%-*s: %10.2f %10.2f %10.2f %10.2f %10.2f\n", w, r->rows[i].name,
			f.iops, f.mib_s, f.avg_us, f.min_us, f.max_us);
	}
	fprintf(out, "%s\n", sep);
	f = figures_of(r, &t, iops);
	fprintf(out, "%-*s: %10.2f %10.2f %10.2f %10.2f %10.2f\n", w, "Total", f.iops, f.mib_s,
		f.avg_us, f.min_us, f.max_us);

	fprintf(out,
		"\nI/Os: %" PRIu64 " in %.3f s (%" PRIu64 " reads, %" PRIu64 " writes), %" PRIu64
		" errors; seed %" PRIu64 "\n",
		t.ios, seconds, t.reads, t.writes, t.errors, r->seed);
	if (r->args->pi_given || t.pi_errors || t.pi_host_errors)
		fprintf(out,
			"Protection (-e PRACT=%u PRCHK=0x%x): %" PRIu64 " I/Os failed the "
			"controller's PI checks, %" PRIu64 " reads failed the host's\n",
			r->args->prinfo >> 3, r->args->prinfo & 7u, t.pi_errors, t.pi_host_errors);
	if (r->args->verify) {
		fprintf(out,
			"Verify: %" PRIu64 " writes read back and compared, %" PRIu64
			" mismatching blocks; not compared: %" PRIu64 " failed writes, %" PRIu64
			" failed read-backs\n",
			t.verified, t.mismatches, t.write_errors, t.read_errors);
		if (r->args->one_pass)
			fprintf(out, "Verify pass over every slot of each namespace: %s\n",
				r->pass_complete ? "complete" :
						   "NOT complete (time limit or errors)");
		if (r->has_mismatch) {
			const struct perf_mismatch *m = &r->first_mismatch;

			fprintf(out,
				"  first: LBA %" PRIu64 " word %u expected 0x%016" PRIx64
				" found 0x%016" PRIx64,
				m->lba, m->word, m->expected, m->found);
			if (m->found_tagged)
				fprintf(out, " (the block holds LBA %" PRIu64 " generation %u)",
					m->found_lba, m->found_gen);
			fputc('\n', out);
		}
	}

	for (unsigned i = 0; i < r->ncores; i++) {
		const struct perf_core_result *c = &r->cores[i];

		fprintf(out,
			"Poller core %u: %.1f TSC cycles per I/O (%.1f in passes that reaped "
			"completions), %.2f GHz TSC\n",
			c->core, per_io(c->loop_cycles, c->ios), per_io(c->busy_cycles, c->ios),
			(double)r->tsc_hz / 1e9);
		fprintf(out,
			"Poller core %u: CPU %.3f s in %.3f s (%.1f%% of a core), %.2f us per I/O",
			c->core, (double)c->cpu_ns * 1e-9, c->seconds,
			c->seconds > 0 ? (double)c->cpu_ns * 1e-7 / c->seconds : 0.0,
			per_io(c->cpu_ns, c->ios) * 1e-3);
		if (r->args->interrupt_mode)
			fprintf(out, "; %" PRIu64 " sleeps, %" PRIu64 " woken by an interrupt",
				c->sleeps, c->wakeups);
		fputc('\n', out);
		loop += c->loop_cycles;
		busy += c->busy_cycles;
		cios += c->ios;
	}
	if (r->ncores > 1)
		fprintf(out, "Pollers together: %.1f TSC cycles per I/O (%.1f busy)\n",
			per_io(loop, cios), per_io(busy, cios));

	for (unsigned i = 0; i < r->nrows; i++) {
		const struct perf_row *row = &r->rows[i];
		const struct perf_stats *s = &row->s;

		if (!strncmp(row->device, "trtype:TCP", 10)) /* no doorbells over a socket */
			fprintf(out, "Driver %s: NVMe/TCP", row->name);
		else
			fprintf(out,
				"Driver %s: %.3f MMIO doorbell writes per I/O (SQ %.3f, CQ %.3f), "
				"shadow doorbells %s (%.3f shadow updates per I/O%s%s)",
				row->name, per_io(s->sq_db_mmio + s->cq_db_mmio, s->ios),
				per_io(s->sq_db_mmio, s->ios), per_io(s->cq_db_mmio, s->ios),
				row->shadow_doorbell ? "on" : "off",
				per_io(s->shadow_updates, s->ios), row->shadow_why ? "; " : "",
				row->shadow_why ? row->shadow_why : "");
		if (s->queue_full || s->timeouts || s->resets)
			fprintf(out,
				", %" PRIu64 " queue-full, %" PRIu64 " timeouts, %" PRIu64
				" resets",
				s->queue_full, s->timeouts, s->resets);
		fputc('\n', out);
	}
	if (r->controller_resets)
		fprintf(out,
			"Controller resets during the run: %" PRIu64 " (the I/Os each failed are "
			"counted in errors; %" PRIu64 " I/Os completed after a reset)\n",
			r->controller_resets, t.ios_after_reset);
	if (r->failed)
		fputs("A controller failed during the run: see the messages above.\n", out);

	if (!r->args->latency)
		return;
	for (unsigned i = 0; i < r->nrows && r->nrows > 1; i++)
		print_percentiles(out, r, r->rows[i].name, r->rows[i].hist, r->rows[i].s.lat_max);
	th = total_hist(r);
	print_percentiles(out, r, r->nrows > 1 ? "all namespaces and cores" : r->rows[0].name, th,
			  t.lat_max);
	if (r->args->latency < 2)
		return;
	for (unsigned i = 0; i < r->nrows && r->nrows > 1; i++)
		print_histogram(out, r, r->rows[i].name, r->rows[i].hist);
	print_histogram(out, r, r->nrows > 1 ? "all namespaces and cores" : r->rows[0].name, th);
}

/* ---------------------------------------------------------------------------------------------
 * JSON
 */

static void json_stats(FILE *out, const struct perf_report *r, const struct perf_stats *s,
		       double iops, double seconds, const struct perf_hist *h)
{
	struct figures f = figures_of(r, s, iops);

	fprintf(out,
		"\"seconds\": %.6f, \"ios\": %" PRIu64 ", \"reads\": %" PRIu64
		", \"writes\": %" PRIu64 ", \"errors\": %" PRIu64
		", \"verify_mismatches\": %" PRIu64 ", \"verified\": %" PRIu64
		", \"write_errors\": %" PRIu64 ", \"read_errors\": %" PRIu64
		", \"ios_after_reset\": %" PRIu64 ", \"pi_errors\": %" PRIu64
		", \"pi_host_errors\": %" PRIu64 ", \"iops\": %.2f, \"mib_per_s\": %.3f, ",
		seconds, s->ios, s->reads, s->writes, s->errors, s->mismatches, s->verified,
		s->write_errors, s->read_errors, s->ios_after_reset, s->pi_errors,
		s->pi_host_errors, f.iops, f.mib_s);
	fprintf(out, "\"latency_us\": {\"average\": %.3f, \"min\": %.3f, \"max\": %.3f}, ",
		f.avg_us, f.min_us, f.max_us);
	fprintf(out,
		"\"driver\": {\"commands_submitted\": %" PRIu64 ", \"commands_completed\": %" PRIu64
		", \"sq_doorbell_mmio\": %" PRIu64 ", \"cq_doorbell_mmio\": %" PRIu64
		", \"shadow_doorbell_updates\": %" PRIu64 ", \"queue_full\": %" PRIu64
		", \"timeouts\": %" PRIu64 ", \"resets\": %" PRIu64
		", \"mmio_doorbell_writes_per_io\": %.4f}",
		s->cmds_submitted, s->cmds_completed, s->sq_db_mmio, s->cq_db_mmio,
		s->shadow_updates, s->queue_full, s->timeouts, s->resets,
		per_io(s->sq_db_mmio + s->cq_db_mmio, s->ios));
	if (r->args->latency && h) {
		fputs(", \"percentiles_us\": {", out);
		for (unsigned i = 0; i < perf_npercentiles; i++)
			fprintf(out, "%s\"%g\": %.3f", i ? ", " : "", perf_percentiles[i],
				h->count ? pct_us(r, h, s->lat_max, perf_percentiles[i]) : 0.0);
		fputc('}', out);
	}
	if (r->args->latency > 1 && h) {
		bool first = true;

		fputs(", \"histogram_us\": [", out);
		for (unsigned i = 0; i < PERF_HIST_BUCKETS; i++) {
			if (!h->bucket[i])
				continue;
			fprintf(out, "%s[%.3f, %.3f, %" PRIu64 "]", first ? "" : ", ",
				ticks_us(r, perf_hist_bucket_low(i)),
				ticks_us(r, perf_hist_bucket_high(i)), h->bucket[i]);
			first = false;
		}
		fputc(']', out);
	}
}

void perf_report_json(FILE *out, const struct perf_report *r)
{
	const struct perf_args *a = r->args;
	struct perf_stats t;
	double iops, seconds;
	uint64_t loop = 0, busy = 0, cios = 0;

	total_of(r, &t, &iops, &seconds);
	fputs("{\n  \"tool\": \"updk-perf\",\n  \"config\": {", out);
	fprintf(out,
		"\"queue_depth\": %u, \"io_size\": %u, \"workload\": \"%s\", \"read_percent\": %u, "
		"\"time_s\": %u, \"warmup_s\": %u, \"qpairs_per_ns\": %u, \"verify\": %s, "
		"\"one_pass\": %s, \"io_timeout_ms\": %u, "
		"\"shadow_doorbell_allowed\": %s, \"doorbell_per_cmd\": %s, \"cpl_batch\": %u, "
		"\"interrupt_mode\": %s, \"rate\": %u, "
		"\"seed\": %" PRIu64 ", \"cores\": [",
		a->queue_depth, a->io_size, a->workload, a->read_pct, a->time_s, a->warmup_s,
		a->qpairs_per_ns, a->verify ? "true" : "false", a->one_pass ? "true" : "false",
		a->io_timeout_ms, a->no_shadow_doorbell ? "false" : "true",
		a->doorbell_per_cmd ? "true" : "false", a->cpl_batch,
		a->interrupt_mode ? "true" : "false", a->rate, r->seed);
	for (unsigned i = 0; i < r->ncores; i++)
		fprintf(out, "%s%u", i ? ", " : "", r->cores[i].core);
	fprintf(out,
		"]},\n  \"tsc_hz\": %" PRIu64 ",\n  \"interrupted\": %s,\n  \"failed\": %s,\n"
		"  \"controller_resets\": %" PRIu64 ",\n",
		r->tsc_hz, r->interrupted ? "true" : "false", r->failed ? "true" : "false",
		r->controller_resets);
	if (a->one_pass)
		fprintf(out, "  \"pass_complete\": %s,\n", r->pass_complete ? "true" : "false");

	fputs("  \"rows\": [", out);
	for (unsigned i = 0; i < r->nrows; i++) {
		const struct perf_row *row = &r->rows[i];

		fprintf(out, "%s\n    {\"name\": ", i ? "," : "");
		perf_json_str(out, row->name);
		fputs(", \"device\": ", out);
		perf_json_str(out, row->device);
		fprintf(out, ", \"nsid\": %u, \"core\": %u, \"shadow_doorbell\": %s, ", row->nsid,
			row->core, row->shadow_doorbell ? "true" : "false");
		fputs("\"shadow_doorbell_why\": ", out);
		perf_json_str(out, row->shadow_why ? row->shadow_why : "");
		fputs(", ", out);
		json_stats(out, r, &row->s, row_iops(row), row->seconds, row->hist);
		fputc('}', out);
	}
	fputs("\n  ],\n  \"total\": {", out);
	json_stats(out, r, &t, iops, seconds, a->latency ? total_hist(r) : NULL);
	fputs("},\n  \"pollers\": [", out);
	for (unsigned i = 0; i < r->ncores; i++) {
		const struct perf_core_result *c = &r->cores[i];

		fprintf(out,
			"%s{\"core\": %u, \"seconds\": %.6f, \"ios\": %" PRIu64
			", \"loop_cycles\": %" PRIu64 ", \"busy_cycles\": %" PRIu64
			", \"cycles_per_io\": %.2f, \"busy_cycles_per_io\": %.2f"
			", \"cpu_seconds\": %.6f, \"cpu_us_per_io\": %.3f, \"sleeps\": %" PRIu64
			", \"wakeups\": %" PRIu64 "}",
			i ? ", " : "", c->core, c->seconds, c->ios, c->loop_cycles, c->busy_cycles,
			per_io(c->loop_cycles, c->ios), per_io(c->busy_cycles, c->ios),
			(double)c->cpu_ns * 1e-9, per_io(c->cpu_ns, c->ios) * 1e-3, c->sleeps,
			c->wakeups);
		loop += c->loop_cycles;
		busy += c->busy_cycles;
		cios += c->ios;
	}
	fprintf(out, "],\n  \"cycles_per_io\": %.2f,\n  \"busy_cycles_per_io\": %.2f",
		per_io(loop, cios), per_io(busy, cios));
	if (r->has_mismatch) {
		const struct perf_mismatch *m = &r->first_mismatch;

		fprintf(out,
			",\n  \"first_mismatch\": {\"lba\": %" PRIu64
			", \"word\": %u, \"expected\": %" PRIu64 ", \"found\": %" PRIu64
			", \"found_tagged\": %s, \"found_lba\": %" PRIu64
			", \"found_generation\": %u}",
			m->lba, m->word, m->expected, m->found, m->found_tagged ? "true" : "false",
			m->found_lba, m->found_gen);
	}
	fputs("\n}\n", out);
}
