// SPDX-License-Identifier: BSD-3-Clause
/* updk-perf's report: SPDK's table, the Total row, percentiles, cycles per I/O, and JSON. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "apps/perf/json.c"
#include "apps/perf/report.c"

static struct perf_hist h0, h1, th;

/* The report's inputs: two rows on two cores. */
struct two_rows {
	struct perf_args a;
	struct perf_row rows[2];
	struct perf_core_result cores[2];
	struct perf_report r;
};

/* @name: @device's namespace @nsid on @core for @seconds, 100 I/Os of @lat ticks each in @h. */
static void set_row(struct perf_row *row, const char *name, const char *device, uint32_t nsid,
		    unsigned core, double seconds, struct perf_hist *h, uint64_t lat)
{
	strcpy(row->name, name);
	strcpy(row->device, device);
	row->nsid = nsid;
	row->core = core;
	row->seconds = seconds;
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < 100; i++)
		perf_hist_add(h, lat);
	row->hist = h;
}

/* tsc_hz 1 GHz so a tick is a nanosecond. */
static void two_rows_init(struct two_rows *f)
{
	memset(f, 0, sizeof(*f));
	f->a.io_size = 4096;
	f->a.workload = "randrw";
	f->a.read_pct = 50;
	f->a.queue_depth = 32;
	f->a.time_s = 2;
	f->a.qpairs_per_ns = 1;
	set_row(&f->rows[0], "SIM (sim:nvme) NSID 1 from core 0", "sim:nvme", 1, 0, 2.0, &h0,
		10000);
	f->rows[0].s = (struct perf_stats){ .ios = 200000,
					    .reads = 100000,
					    .writes = 100000,
					    .lat_sum = 200000ull * 10000,
					    .lat_min = 2000,
					    .lat_max = 50000,
					    .sq_db_mmio = 50000,
					    .cq_db_mmio = 50000,
					    .cmds_completed = 200000 };
	set_row(&f->rows[1], "PCIE (0000:00:04.0) NSID 2 from core 1", "0000:00:04.0", 2, 1, 1.0,
		&h1, 30000);
	f->rows[1].s = (struct perf_stats){ .ios = 50000,
					    .reads = 20000,
					    .writes = 30000,
					    .lat_sum = 50000ull * 20000,
					    .lat_min = 1000,
					    .lat_max = 90000,
					    .errors = 3,
					    .write_errors = 2,
					    .read_errors = 1,
					    .verified = 19000,
					    .mismatches = 4 };
	f->rows[1].shadow_doorbell = true;
	f->cores[0] = (struct perf_core_result){ .core = 0,
						 .seconds = 2.0,
						 .ios = 200000,
						 .loop_cycles = 2000000000,
						 .busy_cycles = 1000000000 };
	f->cores[1] = (struct perf_core_result){
		.core = 1, .seconds = 1.0, .ios = 50000, .loop_cycles = 1000000000, .busy_cycles = 0
	};
	f->r.args = &f->a;
	f->r.tsc_hz = 1000000000;
	f->r.seed = 77;
	f->r.nrows = 2;
	f->r.rows = f->rows;
	f->r.ncores = 2;
	f->r.cores = f->cores;
	f->r.total_hist = &th;
}

/* noinline: inlined, GCC takes pointers into the text for pointers to render()'s local */
static __attribute__((noinline)) char *render(const struct perf_report *r, bool json)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (json)
		perf_report_json(f, r);
	else
		perf_report_text(f, r);
	fclose(f);
	return text;
}

static void has(const char *text, const char *piece)
{
	cr_assert(strstr(text, piece), "output lacks '%s':\n%s", piece, text);
}

Test(perf_report, table)
{
	struct two_rows f;
	char *t;

	two_rows_init(&f);
	t = render(&f.r, false);
	has(t, "Device Information");
	has(t, "Latency(us)");
	/* row 0: 100000 IOPS, 390.62 MiB/s, avg 10 us, min 2, max 50 */
	has(t,
	    "SIM (sim:nvme) NSID 1 from core 0                      :  100000.00     390.62      "
	    "10.00       2.00      50.00");
	/* row 1: 50000 IOPS over its own second */
	has(t,
	    "PCIE (0000:00:04.0) NSID 2 from core 1                 :   50000.00     195.31      "
	    "20.00       1.00      90.00");
	/* Total: IOPS add up, average weighted by I/Os (12 us), min and max over both */
	has(t,
	    "Total                                                  :  150000.00     585.94      "
	    "12.00       1.00      90.00");
	has(t, "I/Os: 250000 in 2.000 s (120000 reads, 130000 writes), 3 errors; seed 77");
	has(t, "Poller core 0: 10000.0 TSC cycles per I/O (5000.0 in passes");
	has(t, "Poller core 1: 20000.0 TSC cycles per I/O (0.0 in passes");
	has(t, "Pollers together: 12000.0 TSC cycles per I/O");
	has(t, "0.500 MMIO doorbell writes per I/O (SQ 0.250, CQ 0.250), shadow doorbells off");
	has(t, "NSID 2 from core 1: 0.000 MMIO doorbell writes per I/O (SQ 0.000, CQ 0.000), "
	       "shadow doorbells on");
	cr_assert(!strstr(t, "Summary latency"), "no percentiles without -L");
	cr_assert(!strstr(t, "Interrupted"));
	free(t);
}

Test(perf_report, percentiles_and_histogram)
{
	struct two_rows f;
	char *t;

	two_rows_init(&f);
	f.a.latency = 1;
	t = render(&f.r, false);
	has(t, "Summary latency data for SIM (sim:nvme) NSID 1 from core 0:");
	has(t, "Summary latency data for all namespaces and cores:");
	/* half the samples at 10 us, half at 30 us: p50 is in the 10 us bucket (≤ 1% wide) */
	has(t, " 50.00000% :       10.");
	has(t, " 99.99000% :       30.");
	cr_assert(!strstr(t, "Latency histogram"));
	free(t);
	f.a.latency = 2;
	t = render(&f.r, false);
	has(t, "Latency histogram for all namespaces and cores:");
	has(t, "Range in us     Cumulative    IO count");
	has(t, ":   50.0000%  (      100)");
	has(t, ":  100.0000%  (      100)");
	free(t);
}

Test(perf_report, percentile_never_above_max)
{
	struct two_rows f;
	char *t;

	two_rows_init(&f);
	f.a.latency = 1;
	f.r.nrows = 1;
	f.r.ncores = 1;
	f.rows[0].s.lat_max = 9000; /* below the bucket bound of the 10000-tick samples */
	t = render(&f.r, false);
	has(t, " 99.99000% :        9.000us");
	free(t);
}

Test(perf_report, json)
{
	struct two_rows f;
	char *t;

	two_rows_init(&f);
	f.a.latency = 2;
	f.r.interrupted = true;
	f.r.has_mismatch = true;
	f.r.first_mismatch.lba = 12;
	strcpy(f.rows[0].device, "sim:nvme?\"q\"\\");
	t = render(&f.r, true);
	has(t, "\"tool\": \"updk-perf\"");
	has(t, "\"workload\": \"randrw\", \"read_percent\": 50");
	has(t, "\"seed\": 77, \"cores\": [0, 1]");
	has(t, "\"interrupted\": true");
	has(t, "\"device\": \"sim:nvme?\\\"q\\\"\\\\\"");
	has(t, "\"seconds\": 2.000000, \"ios\": 250000, \"reads\": 120000, \"writes\": 130000, "
	       "\"errors\": 3, \"verify_mismatches\": 4, \"verified\": 19000, \"write_errors\": 2, "
	       "\"read_errors\": 1, \"ios_after_reset\": 0, \"pi_errors\": 0, "
	       "\"pi_host_errors\": 0, \"iops\": 150000.00");
	has(t, "\"failed\": false,\n  \"controller_resets\": 0,");
	cr_assert(!strstr(t, "pass_complete"), "only with --one-pass");
	has(t, "\"latency_us\": {\"average\": 12.000, \"min\": 1.000, \"max\": 90.000}");
	has(t, "\"mmio_doorbell_writes_per_io\": 0.5000");
	has(t, "\"percentiles_us\": {\"1\": ");
	has(t, "\"99.99\": ");
	has(t, "\"histogram_us\": [[");
	has(t, "\"cycles_per_io\": 12000.00");
	has(t, "\"first_mismatch\": {\"lba\": 12");
	/* brackets balance outside strings */
	int depth = 0;
	bool in_str = false;
	for (const char *p = t; *p; p++) {
		if (in_str) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_str = false;
			continue;
		}
		if (*p == '"')
			in_str = true;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			cr_assert_geq(--depth, 0);
	}
	cr_assert_eq(depth, 0);
	cr_assert(!in_str);
	free(t);
}

Test(perf_report, stats_add)
{
	struct perf_stats a = { 0 }, b = { .ios = 2, .lat_min = 5, .lat_max = 9, .lat_sum = 14 },
			  c = { .ios = 1, .lat_min = 3, .lat_max = 4, .lat_sum = 3 },
			  empty = { .ios = 0, .lat_min = 0 };

	perf_stats_add(&a, &b);
	perf_stats_add(&a, &empty);
	perf_stats_add(&a, &c);
	cr_assert_eq(a.ios, 3);
	cr_assert_eq(a.lat_min, 3, "an empty row does not pull min to 0");
	cr_assert_eq(a.lat_max, 9);
	cr_assert_eq(a.lat_sum, 17);
}

/* --verify: read-backs compared, mismatches and the I/Os that failed (not compared) apart */
Test(perf_report, verify_counts_errors_apart)
{
	struct two_rows f;
	char *t;

	two_rows_init(&f);
	f.a.verify = true;
	f.rows[0].s.verified = 1000;
	f.rows[0].s.write_errors = 5;
	f.rows[0].s.errors = 5;
	t = render(&f.r, false);
	has(t, "8 errors; seed 77");
	has(t, "Verify: 20000 writes read back and compared, 4 mismatching blocks; not compared: 7 "
	       "failed writes, 1 failed read-backs");
	cr_assert(!strstr(t, "Verify pass"), "only with --one-pass");
	free(t);
	f.a.one_pass = true;
	t = render(&f.r, false);
	has(t, "Verify pass over every slot of each namespace: NOT complete");
	free(t);
	f.r.pass_complete = true;
	t = render(&f.r, true);
	has(t, "\"one_pass\": true");
	has(t, "\"pass_complete\": true");
	has(t, "\"errors\": 8, \"verify_mismatches\": 4, \"verified\": 20000, \"write_errors\": 7, "
	       "\"read_errors\": 1");
	free(t);
}

/* A controller reset ridden out: counted, and the I/Os that completed after it */
Test(perf_report, controller_resets)
{
	struct two_rows f;
	char *t;

	two_rows_init(&f);
	t = render(&f.r, false);
	cr_assert(!strstr(t, "Controller resets"), "only when there was one:\n%s", t);
	free(t);
	f.r.controller_resets = 2;
	f.rows[0].s.ios_after_reset = 900;
	f.rows[1].s.ios_after_reset = 100;
	t = render(&f.r, false);
	has(t, "Controller resets during the run: 2 (the I/Os each failed are counted in errors; "
	       "1000 I/Os completed after a reset)");
	free(t);
	t = render(&f.r, true);
	has(t, "\"controller_resets\": 2,");
	has(t, "\"ios_after_reset\": 900,");
	has(t, "\"ios_after_reset\": 1000,");
	free(t);
}

/*
 * Two rows on one controller that reset once: each row shows its controller's reset, the
 * Total row the one reset of the run (not one per row).
 */
Test(perf_report, resets_per_row_and_total)
{
	struct two_rows f;
	char *t, *rows_part;
	const char *total, *first;

	two_rows_init(&f);
	strcpy(f.rows[1].device, f.rows[0].device);
	f.r.controller_resets = 1;
	f.rows[0].s.resets = 1;
	f.rows[1].s.resets = 1;
	t = render(&f.r, false);
	has(t, "SIM (sim:nvme) NSID 1 from core 0: 0.500 MMIO doorbell writes per I/O (SQ 0.250, "
	       "CQ 0.250), shadow doorbells off (0.000 shadow updates per I/O), 0 queue-full, 0 "
	       "timeouts, 1 resets");
	free(t);
	t = render(&f.r, true);
	total = strstr(t, "\"total\": {");
	cr_assert_not_null(total, "%s", t);
	has(total, "\"timeouts\": 0, \"resets\": 1,");
	/* both rows, before the total */
	rows_part = strndup(t, (size_t)(total - t));
	first = strstr(rows_part, "\"timeouts\": 0, \"resets\": 1,");
	cr_assert_not_null(first, "%s", t);
	cr_assert(strstr(first + 1, "\"timeouts\": 0, \"resets\": 1,"), "%s", t);
	free(rows_part);
	free(t);
}
