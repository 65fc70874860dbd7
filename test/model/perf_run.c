// SPDX-License-Identifier: BSD-3-Clause
/*
 * build/bin/updk-perf on sim:nvme, about a second a run: the JSON result parses and its counts
 * agree with each other (IOPS × seconds = I/Os, reads + writes = I/Os in the -M mix, no verify
 * mismatch), SIGINT stops it with partial results and status 0, and bad arguments get status 2
 * with a message naming the flag. Never a speed.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "test/common/perf_util.h"

TestSuite(perf_run, .timeout = 120);

Test(perf_run, randrw_mix_counts)
{
	static const char *const args[] = { "-t",
					    "1",
					    "-q",
					    "16",
					    "-w",
					    "randrw",
					    "-M",
					    "70",
					    "--json",
					    "--seed",
					    "1",
					    "-r",
					    "sim:nvme?size=64M",
					    NULL };
	struct perf_result r;
	double ios, reads, frac, tol;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	perf_test_check_consistent(r.out);
	cr_assert(strstr(r.out, "\"interrupted\": false"));
	cr_assert(strstr(r.out, "\"workload\": \"randrw\", \"read_percent\": 70"));
	ios = perf_test_jnum(r.out, "\"total\": {", "ios");
	reads = perf_test_jnum(r.out, "\"total\": {", "reads");
	/* 70% reads, within five standard deviations of a binomial draw and 2% more */
	frac = reads / ios;
	tol = 5 * perf_test_sqrt(0.7 * 0.3 / ios) + 0.02;
	cr_assert(perf_test_abs(frac - 0.7) <= tol,
		  "%.0f reads of %.0f I/Os is %.3f, not 0.70 ± %.3f", reads, ios, frac, tol);
	perf_test_result_free(&r);
}

Test(perf_run, pure_workloads)
{
	static const char *const rd[] = {
		"-t", "1", "-w", "read", "--json", "-r", "sim:nvme?size=16M", NULL
	};
	static const char *const wr[] = { "-t", "1",	  "-w", "randwrite",	     "-o",
					  "8k", "--json", "-r", "sim:nvme?size=16M", NULL };
	struct perf_result r;

	perf_test_run(rd, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	perf_test_check_consistent(r.out);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "writes"), 0);
	perf_test_result_free(&r);
	perf_test_run(wr, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	perf_test_check_consistent(r.out);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "reads"), 0);
	/* MiB/s is IOPS × 8 KiB */
	cr_assert(perf_test_abs(perf_test_jnum(r.out, "\"total\": {", "mib_per_s") * 128 -
				perf_test_jnum(r.out, "\"total\": {", "iops")) < 1);
	perf_test_result_free(&r);
}

Test(perf_run, verify_no_mismatch)
{
	static const char *const args[] = {
		"-t", "1",	"-q",	  "8",	"--verify",
		"-w", "randrw", "--json", "-r", "sim:nvme?size=16M,lba=4096",
		NULL
	};
	struct perf_result r;
	double reads, writes;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	perf_test_check_consistent(r.out);
	cr_assert(strstr(r.out, "\"verify\": true"));
	reads = perf_test_jnum(r.out, "\"total\": {", "reads");
	writes = perf_test_jnum(r.out, "\"total\": {", "writes");
	/* every write is read back; at most one per task is still in flight when measuring ends */
	cr_assert_gt(reads, 0);
	cr_assert(reads <= writes + 8 && writes <= reads + 8, "%.0f writes, %.0f read back", writes,
		  reads);
	perf_test_result_free(&r);
}

/* Random faults: failed I/Os are errors, never mismatches, and a failed read-back is not
 * counted as verified; a one-pass run over a namespace with no faults covers every slot. */
Test(perf_run, verify_counts_errors_apart)
{
	static const char *const args[] = {
		"-t",	     "1",
		"-q",	     "8",
		"--verify",  "-w",
		"randwrite", "--io-timeout",
		"300",	     "--json",
		"-r",	     "sim:nvme?size=4M,faults=3%,fault_kinds=error+delay+drop,seed=9",
		NULL
	};
	static const char *const pass[] = { "-t",
					    "60",
					    "-q",
					    "7",
					    "-o",
					    "8k",
					    "-w",
					    "write",
					    "--verify",
					    "--one-pass",
					    "--json",
					    "-r",
					    "sim:nvme?size=1M",
					    NULL };
	struct perf_result r;
	double errors, werr, rerr, verified, reads;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "I/O errors alone leave the status 0: exit %d; stderr:\n%s",
		     r.status, r.err);
	cr_assert(strstr(r.out, "\"failed\": false"), "%s", r.out);
	errors = perf_test_jnum(r.out, "\"total\": {", "errors");
	werr = perf_test_jnum(r.out, "\"total\": {", "write_errors");
	rerr = perf_test_jnum(r.out, "\"total\": {", "read_errors");
	verified = perf_test_jnum(r.out, "\"total\": {", "verified");
	reads = perf_test_jnum(r.out, "\"total\": {", "reads");
	cr_assert_gt(werr, 0, "3%% faults and no failed write:\n%s", r.out);
	cr_assert_gt(rerr, 0, "3%% faults and no failed read-back:\n%s", r.out);
	cr_assert_eq(errors, werr + rerr);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "verify_mismatches"), 0);
	/* a read-back counted in the interval was either compared or failed; the drain may
	 * compare a few more */
	cr_assert(verified + rerr >= reads && verified <= reads + 8,
		  "%.0f reads, %.0f verified, %.0f failed", reads, verified, rerr);
	perf_test_result_free(&r);

	/* 1 MiB in 8 KiB slots over 7 I/Os: 128 slots, each written and read back once */
	perf_test_run(pass, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "\"pass_complete\": true"), "%s", r.out);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "verified"), 128);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "writes"), 128);
	perf_test_result_free(&r);
}

/*
 * What holds for a run that rode out a controller reset the driver made: status 0, the
 * controller not failed, the reset logged and counted in controller_resets and the total, the
 * I/Os it failed counted as write or read-back errors (never compared, so no mismatch), and
 * data verified. Returns the resets counted.
 */
static double check_reset_ridden_out(const struct perf_result *r)
{
	double resets = perf_test_jnum(r->out, "\"interrupted\"", "controller_resets");
	double errors = perf_test_jnum(r->out, "\"total\": {", "errors");

	cr_assert_eq(r->status, 0, "a reset ridden out leaves the status 0: exit %d; stderr:\n%s",
		     r->status, r->err);
	cr_assert(strstr(r->out, "\"failed\": false"), "%s", r->out);
	cr_assert(strstr(r->err, "resetting the controller"), "%s", r->err);
	cr_assert_geq(resets, 1, "%s", r->out);
	cr_assert_eq(perf_test_jnum(r->out, "\"total\": {", "resets"), resets, "%s", r->out);
	cr_assert_geq(errors, 1, "the lost I/O came back failed:\n%s", r->out);
	cr_assert_eq(errors, perf_test_jnum(r->out, "\"total\": {", "write_errors") +
				     perf_test_jnum(r->out, "\"total\": {", "read_errors"));
	cr_assert_eq(perf_test_jnum(r->out, "\"total\": {", "verify_mismatches"), 0);
	cr_assert_gt(perf_test_jnum(r->out, "\"total\": {", "verified"), 0);
	return resets;
}

/*
 * The driver resets the controller by itself in the middle of the run: the 500th I/O's
 * completion is dropped and the Abort for it hangs, so twice the I/O timeout later the driver
 * resets the controller. The run rides it out: the I/Os the reset failed are write or read-back
 * errors (never mismatches), I/O goes on once the controller is back, and the run ends as one
 * with I/O errors does, status 0, with the reset counted.
 */
Test(perf_run, survives_a_controller_reset)
{
	/* The reset comes about 0.6 s in (two I/O timeouts: the command's, then its Abort's);
	 * the rest of the 5 s leaves room for I/O after it even on a loaded machine, where the
	 * reset itself can take a second or more. */
	static const char *const args[] = {
		"-t",	    "5",      "-q",	"8",
		"--verify", "-w",     "randrw", "--io-timeout",
		"300",	    "--json", "-r",	"sim:nvme?size=4M,drop_io=500,hang_abort=1",
		NULL
	};
	struct perf_result r;
	double resets;

	perf_test_run(args, 0, &r);
	/* one dropped completion and one hung Abort: at least one reset (another would need the
	 * model's thread to go a whole second without a CPU, and be one more Abort that never
	 * came) */
	resets = check_reset_ridden_out(&r);
	/* the row (the only one, on the one controller) shows the same resets as the total */
	cr_assert_eq(perf_test_jnum(r.out, "\"rows\": [", "resets"), resets, "%s", r.out);
	cr_assert_gt(perf_test_jnum(r.out, "\"total\": {", "ios_after_reset"), 0,
		     "no I/O completed after the reset:\n%s", r.out);
	perf_test_result_free(&r);
}

Test(perf_run, sigint_gives_partial_results)
{
	static const char *const args[] = {
		"-t", "60", "-q", "4", "--json", "-r", "sim:nvme?size=16M", NULL
	};
	struct perf_result r;

	perf_test_run(args, SIGINT, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "\"interrupted\": true"), "%s", r.out);
	cr_assert_lt(perf_test_jnum(r.out, "\"total\": {", "seconds"), 60);
	perf_test_check_consistent(r.out);
	cr_assert(strstr(r.err, "stopping"), "%s", r.err);
	perf_test_result_free(&r);
}

Test(perf_run, text_report)
{
	static const char *const args[] = { "-t",  "1",
					    "-LL", "-q",
					    "4",   "--no-progress",
					    "-r",  "trtype:sim traddr:sim:nvme?size=16M ns:1",
					    NULL };
	struct perf_result r;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "Device Information"), "%s", r.out);
	cr_assert(strstr(r.out, "SIM (sim:nvme?size=16M) NSID 1 from core"));
	cr_assert(strstr(r.out, "\nTotal "));
	cr_assert(strstr(r.out, "Summary latency data for"));
	cr_assert(strstr(r.out, " 99.99000% :"));
	cr_assert(strstr(r.out, "Latency histogram for"));
	cr_assert(strstr(r.out, "TSC cycles per I/O"));
	cr_assert(strstr(r.out, "MMIO doorbell writes per I/O"));
	cr_assert(!strstr(r.err, " s] "), "--no-progress printed progress:\n%s", r.err);
	perf_test_result_free(&r);
}

/*
 * A controller reset still under way when the run's time is up. Two pollers, one namespace
 * each, on one controller: the 50th I/O's completion is held and its Abort hangs, so the
 * reset comes about three seconds in (twice --io-timeout), after -t 1 has ended the run. The
 * poller without the lost I/O has drained and left; the other one waits for its I/O, which the
 * reset fails. The reset cannot finish before every qpair's owner has failed its commands, so
 * updk-perf does that for the poller that left (perf_settle_resets) and waits for the
 * controller to come back before it closes it: the run ends with status 0, says why it waited,
 * counts the failed I/O as an error and the reset in controller_resets and in both rows.
 */
Test(perf_run, reset_under_way_when_the_time_is_up)
{
	char cores[32];
	struct perf_result r;
	const char *row2;
	double resets;

	perf_test_two_cpus(cores, sizeof(cores));
	const char *const args[] = { "-t",	 "1",
				     "-q",	 "4",
				     "-c",	 cores,
				     "--verify", "-w",
				     "randrw",	 "--io-timeout",
				     "1500",	 "--json",
				     "-r",	 "sim:nvme?ns=2,size=4M,drop_io=50,hang_abort=1",
				     NULL };

	perf_test_run(args, 0, &r);
	/* the controller came back: not failed */
	resets = check_reset_ridden_out(&r);
	cr_assert(strstr(r.out, "\"interrupted\": false"), "%s", r.out);
	/* Nearly always the reset is still waiting for the poller that left when the run ends,
	 * and stderr says why the end waited. Once in some ten runs of the whole model suite on a
	 * host loaded five times over its CPUs (never in 60 runs of this test alone) the reset was
	 * over by then and nothing was said: the run ends the same either way, as checked here. */
	if (!strstr(r.err, "was being reset when the run ended"))
		cr_log_warn("the reset was over before the run's end:\n%s", r.err);
	cr_assert_eq(perf_test_count(r.out, "\"nsid\": "), 2, "%s", r.out);
	/* both rows are on the controller that was reset */
	cr_assert_eq(perf_test_jnum(r.out, "\"rows\": [", "resets"), resets, "%s", r.out);
	row2 = strstr(strstr(r.out, "{\"name\"") + 1, "{\"name\"");
	cr_assert_not_null(row2, "%s", r.out);
	cr_assert_eq(perf_test_jnum(row2, NULL, "resets"), resets, "%s", r.out);
	perf_test_result_free(&r);
}

/*
 * An I/O whose completion never comes and whose timeout (10 s) is still far off when -t 1 has
 * ended the run: the poller waits 5 s for it, then it is failed when its qpair is freed. It
 * is in the report as an error (a failed write or read-back, never compared), and stderr says
 * so; the run ends with status 0, as runs with I/O errors do.
 */
Test(perf_run, io_outstanding_after_the_drain_counted_as_an_error)
{
	static const char *const args[] = {
		"-t",	    "1",      "-q",	"4",
		"--verify", "-w",     "randrw", "--io-timeout",
		"10000",    "--json", "-r",	"sim:nvme?size=4M,drop_io=50",
		NULL
	};
	struct perf_result r;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "\"failed\": false"), "%s", r.out);
	cr_assert(strstr(r.err, "namespace 1 on core"), "%s", r.err);
	cr_assert(strstr(r.err, "1 I/O(s) still without a completion 5 s after the run ended: "
				"failed, counted as errors"),
		  "%s", r.err);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "errors"), 1, "%s", r.out);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "write_errors") +
			     perf_test_jnum(r.out, "\"total\": {", "read_errors"),
		     1);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "verify_mismatches"), 0);
	cr_assert_eq(perf_test_jnum(r.out, "\"interrupted\"", "controller_resets"), 0);
	perf_test_result_free(&r);
}

Test(perf_run, two_namespaces_two_cores)
{
	char cores[32];
	struct perf_result r;

	perf_test_two_cpus(cores, sizeof(cores));
	const char *const args[] = { "-t",
				     "1",
				     "-q",
				     "4",
				     "-P",
				     "2",
				     "-c",
				     cores,
				     "--json",
				     "-r",
				     "sim:nvme?ns=2,size=16M",
				     NULL };

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	/* spdk_nvme_perf's association: namespace i on core i */
	cr_assert_eq(perf_test_count(r.out, "\"nsid\": "), 2, "%s", r.out);
	cr_assert(strstr(r.out, "NSID 1 from core"));
	cr_assert(strstr(r.out, "NSID 2 from core"));
	cr_assert_eq(perf_test_count(r.out, "\"cycles_per_io\": "), 3, "two pollers and the total");
	cr_assert_gt(perf_test_jnum(r.out, "\"total\": {", "ios"), 0);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "errors"), 0);
	perf_test_result_free(&r);
}

Test(perf_run, refusals)
{
	static const struct {
		const char *args[8];
		int status;
		const char *msg;
	} cases[] = {
		{ { "-q", "0" }, 2, "-q '0'" },
		{ { "--bogus" }, 2, "unknown option '--bogus'" },
		{ { "-w", "scribble" }, 2, "-w 'scribble'" },
		{ { "-o", "3000" }, 2, "-o '3000'" },
		{ { "-r", "traddr:0000:00:20.0" }, 2, "not a PCI address" },
		{ { "-c", "[4095]" }, 2, "-c" },
		{ { "-t", "1", "-r", "sim:nvme?size=16M ns:5" }, 1, "no active namespace 5" },
		{ { "-t", "1", "-r", "sim:nvme?bogus=1" }, 1, "cannot open NVMe controller" },
		{ { "-t", "1", "-o", "4k", "-r", "sim:nvme?size=16M,lba=4096", "-q" }, 2, "-q" },
		{ { "-t", "1", "-o", "512", "-r", "sim:nvme?size=16M,lba=4096" },
		  1,
		  "not a multiple of the 4096-byte blocks" },
		/* what a namespace's format cannot take, before the run */
		{ { "-e", "PRACT=2" }, 2, "-e 'PRACT=2': PRACT is 0 or 1, not '2'" },
		{ { "-e", "PRCHK=CRC" }, 2, "PRCHK takes GUARD, REFTAG and APPTAG, not 'CRC'" },
		{ { "-t", "1", "-e", "PRACT", "-r", "sim:nvme?size=16M" },
		  1,
		  "namespace 1 (512-byte blocks) has no protection information: drop -e" },
		{ { "-t", "1", "-e", "PRCHK", "-r", "sim:nvme?size=16M,ms=8,pi=3" },
		  1,
		  "PI type 3 has no Reference Tag to check" },
	};
	struct perf_result r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		perf_test_run(cases[i].args, 0, &r);
		cr_assert_eq(r.status, cases[i].status, "case %zu: exit %d, not %d; stderr:\n%s", i,
			     r.status, cases[i].status, r.err);
		cr_assert(strstr(r.err, cases[i].msg), "case %zu: stderr lacks '%s':\n%s", i,
			  cases[i].msg, r.err);
		perf_test_result_free(&r);
	}
}

/*
 * One --verify pass of -q 8 over every 4 KiB slot of the namespace @run (its -r and -e), which
 * holds @slots of them: every slot written and read back, no error, no PI check failed, the
 * pattern intact. The work is fixed, not what the machine manages in a time (-t is only a
 * bound): a run of -t 1 on a machine loaded by parallel jobs once saw too little of it.
 */
static void one_pass_clean(const char *const *run, unsigned slots, size_t i)
{
	const char *args[24] = { "-t",	  "60",	      "-q",	    "8",     "-w",
				 "write", "--verify", "--one-pass", "--json" };
	struct perf_result r;
	unsigned n = 9;

	for (unsigned k = 0; run[k]; k++)
		args[n++] = run[k];
	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "run %zu: exit %d; stderr:\n%s", i, r.status, r.err);
	cr_assert(strstr(r.out, "\"pass_complete\": true"), "run %zu: %s", i, r.out);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "verified"), slots, "run %zu", i);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "verify_mismatches"), 0, "run %zu", i);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "errors"), 0, "run %zu", i);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "pi_errors"), 0, "run %zu", i);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "pi_host_errors"), 0, "run %zu", i);
	perf_test_result_free(&r);
}

/* Every metadata layout, with the PI made and checked by the controller (PRACT) or by the host
 * (PRCHK alone). */
Test(perf_run, metadata_and_protection_information)
{
	static const char *const runs[][8] = {
		{ "-r", "sim:nvme?size=1M,ms=8,pi=1", "-e", "PRCHK" },
		{ "-r", "sim:nvme?size=1M,ms=8,mset=1,pi=1", "-e", "PRACT,PRCHK" },
		{ "-r", "sim:nvme?size=1M,ms=16,pi=2,pil=1", "-e", "PRACT=1,PRCHK=GUARD|APPTAG" },
		{ "-r", "sim:nvme?size=1M,lba=4096,ms=16,mset=1,pi=2,pif=2", "-e",
		  "PRCHK=GUARD+REFTAG" },
		{ "-r", "sim:nvme?size=1M,ms=16" },
	};

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		one_pass_clean(runs[i], 256, i);
}

/*
 * --verify through metadata interleaved with the data: the pattern runs on through each block's
 * metadata and comes back intact, but for the PI the host (PRCHK alone) or the controller
 * (PRACT) writes there, which their own checks cover.
 */
Test(perf_run, verify_through_interleaved_metadata)
{
	static const char *const runs[][8] = {
		{ "-r", "sim:nvme?size=1M,ms=16,mset=1" },
		{ "-r", "sim:nvme?size=1M,ms=8,mset=1,pi=1" },
		{ "-r", "sim:nvme?size=1M,ms=8,mset=1,pi=1", "-e", "PRCHK" },
		{ "-r", "sim:nvme?size=1M,ms=16,mset=1,pi=1,pil=1", "-e", "PRCHK" },
		{ "-r", "sim:nvme?size=1M,ms=16,mset=1,pi=3", "-e", "PRACT,PRCHK=GUARD|APPTAG" },
	};

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		one_pass_clean(runs[i], 256, i);
}

Test(perf_run, help)
{
	static const char *const args[] = { "--help", NULL };
	struct perf_result r;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "Usage: updk-perf"));
	cr_assert(strstr(r.out, "--verify"));
	perf_test_result_free(&r);
}
