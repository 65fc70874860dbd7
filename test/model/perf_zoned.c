// SPDX-License-Identifier: BSD-3-Clause
/*
 * build/bin/updk-perf on zoned namespaces of sim:nvme: -w zone-append keeps its zones within
 * the open and active limits (an I/O past them would fail, and count), finishes the zones a
 * whole number of I/Os leaves partly written, resets zones to reuse them, reads what it wrote
 * with -M, shares the zones between two cores on one namespace; -w zone-write does the same with
 * one write a zone at a time at its write pointer; and the workloads a zoned
 * namespace cannot take are refused before the run with a message saying what would work.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "test/common/perf_util.h"

TestSuite(perf_zoned, .timeout = 120);

/* 4 zones of 256 blocks, 250 of them writable, at most 2 open and 2 active; ZASL 4 pages */
#define ZONED                                                                       \
	"sim:nvme?lba=4096,size=4M,zoned=1,zone_size=1M,zone_cap=1000K,max_open=2," \
	"max_active=2,zasl=2"

/*
 * 4 zones of 16 blocks, 14 of them writable: with -o 12k (3 blocks) 4 I/Os leave a zone partly
 * written, and a slot comes back to its first zone after 8, so a run of a few dozen I/Os (what
 * a starved machine manages in a second) finishes and resets zones.
 */
#define SMALL                                                                        \
	"sim:nvme?lba=4096,size=256K,zoned=1,zone_size=64K,zone_cap=56K,max_open=2," \
	"max_active=2,zasl=2"

/* "Zones: N reset, M finished" of the text report */
static void zone_counts(const char *out, unsigned long *resets, unsigned long *finished)
{
	const char *z = strstr(out, "Zones: ");

	cr_assert(z, "%s", out);
	cr_assert_eq(sscanf(z, "Zones: %lu reset, %lu finished", resets, finished), 2, "%s", z);
}

/*
 * -w @workload on SMALL for 2 s at QD 4 with 12 KiB I/Os, 25% reads: no I/O fails (one past the
 * open/active limits or, for zone-write, off the write pointer would fail and count), zones are
 * finished and reset, and what was written is read.
 */
static void run_small(const char *workload)
{
	const char *const args[] = {
		"-t", "2",   "-q", "4", "-o", "12k", "-w", workload, "-M", "25", "--no-progress",
		"-r", SMALL, NULL
	};
	unsigned long resets, finished;
	struct perf_result r;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "%s: exit %d; stderr:\n%s", workload, r.status, r.err);
	cr_assert(strstr(r.out, " 0 errors"), "%s", r.out);
	zone_counts(r.out, &resets, &finished);
	cr_assert_gt(finished, 0, "%s", r.out);
	cr_assert_gt(resets, 0, "2 zones at once, 4 in all: zones are reused: %s", r.out);
	cr_assert(!strstr(r.out, "(0 reads"), "reads of what was written: %s", r.out);
	perf_test_result_free(&r);
}

Test(perf_zoned, zone_append_resets_and_finishes_within_the_limits)
{
	run_small("zone-append");
}

/* each write where the zone's write pointer is, across finishes and resets */
Test(perf_zoned, zone_write_one_write_a_zone_at_its_write_pointer)
{
	run_small("zone-write");
}

Test(perf_zoned, zone_write_above_the_transfer_limit_is_split_in_order)
{
	/* 8 KiB a command: each 12 KiB write is two commands, which the driver sends one after
	 * the other (nvme_zns's tests show the order); a part that missed the write pointer
	 * would fail the write and count an error */
	static const char *const args[] = { "-t",     "2",   "-q", "4",
					    "-o",     "12k", "-w", "zone-write",
					    "-M",     "25",  "-r", SMALL ",mdts=1",
					    "--json", NULL };
	struct perf_result r;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	perf_test_check_consistent(r.out);
	cr_assert_gt(perf_test_jnum(r.out, "\"total\": {", "writes"), 0, "%s", r.out);
	perf_test_result_free(&r);
}

Test(perf_zoned, two_cores_share_a_namespace_s_zones)
{
	char cores[32];
	const char *args[] = { "-t", "1",	    "-q",     "2",  "-c",  cores,
			       "-w", "zone-append", "--json", "-r", ZONED, NULL };
	struct perf_result r;

	perf_test_two_cpus(cores, sizeof(cores));
	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "errors"), 0, "%s", r.out);
	cr_assert_gt(perf_test_jnum(r.out, "\"total\": {", "writes"), 0, "%s", r.out);
	cr_assert_eq(perf_test_count(r.out, "\"core\":"), 2 + 2, "two rows, two pollers: %s",
		     r.out);
	perf_test_result_free(&r);
}

Test(perf_zoned, refused_up_front_with_what_would_work)
{
	static const struct {
		const char *args[12];
		const char *says;
	} cases[] = {
		{ { "-w", "randwrite", "-r", ZONED, NULL },
		  "is zoned (4 zones of 256 blocks, at most 2 open): -w randwrite writes where "
		  "its zones do not take writes" },
		{ { "-w", "rw", "-r", ZONED, NULL }, "run -w zone-append" },
		{ { "-w", "zone-append", "-r", "sim:nvme?size=4M", NULL },
		  "-w zone-append needs a zoned namespace" },
		{ { "-w", "zone-append", "--zones", "3", "-r", ZONED, NULL },
		  "--zones 3 is above its limit of 2 zones open and active" },
		{ { "-w", "zone-append", "-o", "32k", "-r", ZONED, NULL },
		  "-o 32768 is above its Zone Append Size Limit of 4 blocks" },
		{ { "-w", "zone-append", "--verify", "-r", ZONED, NULL },
		  "--verify is not offered with -w zone-append" },
		{ { "-w", "zone-write", "-r", "sim:nvme?size=4M", NULL },
		  "-w zone-write needs a zoned namespace" },
	};
	struct perf_result r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		perf_test_run(cases[i].args, 0, &r);
		cr_expect_eq(r.status, 1, "case %zu: exit %d", i, r.status);
		cr_expect(strstr(r.err, cases[i].says), "case %zu: want \"%s\" in:\n%s", i,
			  cases[i].says, r.err);
		cr_expect(!strstr(r.out, "Launching workers"), "case %zu ran", i);
		perf_test_result_free(&r);
	}
	/* reads run on a zoned namespace as on any other */
	static const char *const rd[] = {
		"-t", "1", "-w", "randread", "--json", "-r", ZONED, NULL
	};
	perf_test_run(rd, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	perf_test_result_free(&r);
	static const char *const bad[] = { "--zones", "2", "-w", "write", NULL };
	perf_test_run(bad, 0, &r);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "--zones goes with -w zone-append"), "%s", r.err);
	perf_test_result_free(&r);
}
