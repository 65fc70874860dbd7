// SPDX-License-Identifier: BSD-3-Clause
/*
 * build/bin/updk-perf --net on sim:ixgbe ports wired back to back, about a second a run: the
 * JSON result's counts agree with each other and with the devices' counters (what one port
 * sent is what the other received plus what it dropped, the receiver's sequence shows no frame
 * late or malformed), SIGINT stops it with status 0, and bad arguments get status 2 with a
 * message naming the flag. Never a speed.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "test/common/perf_util.h"

TestSuite(perf_net, .timeout = 120);

static double port(const char *json, int i, const char *key)
{
	char sec[32];

	snprintf(sec, sizeof(sec), "{\"index\": %d,", i);
	return perf_test_jnum(json, sec, key);
}

static double task(const char *json, int i, const char *key)
{
	char sec[32];

	snprintf(sec, sizeof(sec), "{\"task\": %d,", i);
	return perf_test_jnum(json, sec, key);
}

static double total(const char *json, const char *key)
{
	return perf_test_jnum(json, "\"total\": {", key);
}

/*
 * Port @from sent what port @to received or dropped. The model sends no bad frame, so a
 * receive error is the driver refusing a descriptor the model tore: there must be none.
 */
static void check_wire(const char *json, int from, int to)
{
	double sent = port(json, from, "tx_packets");
	double got = port(json, to, "rx_packets"), dropped = port(json, to, "rx_dropped");

	cr_assert_eq(port(json, to, "rx_errors"), 0, "port %d refused descriptors:\n%s", to, json);
	cr_assert_eq(sent, got + dropped, "port %d sent %.0f, port %d received %.0f + dropped %.0f",
		     from, sent, to, got, dropped);
	cr_assert_eq(port(json, from, "tx_errors"), 0, "%s", json);
}

static void check_task_rate(const char *json, int i)
{
	double n = task(json, i, "timed_packets"), mpps = task(json, i, "mpps");
	double secs = task(json, i, "seconds");

	cr_assert_gt(secs, 0);
	cr_assert(perf_test_abs(mpps * 1e6 * secs - n) <= 1 + n * 1e-4,
		  "task %d: %.6f Mpps × %.6f s != %.0f packets", i, mpps, secs, n);
	cr_assert_leq(n, task(json, i, "packets"));
}

Test(perf_net, txonly_default_pair)
{
	static const char *const args[] = { "--net", "txonly", "-t", "1", "--json", NULL };
	struct perf_result r;
	double sent, got;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "\"net\": \"txonly\", \"frame_size\": 64, \"burst\": 32"), "%s",
		  r.out);
	cr_assert(strstr(r.out, "\"role\": \"txonly\", \"rx_port\": -1, \"tx_port\": 0"));
	cr_assert(strstr(r.out, "\"role\": \"rxonly\", \"rx_port\": 1, \"tx_port\": -1"));
	cr_assert(strstr(r.out, "\"drain_timeout\": false"), "%s", r.out);
	sent = total(r.out, "tx_packets");
	got = total(r.out, "rx_packets");
	cr_assert_gt(sent, 0);
	cr_assert_gt(got, 0, "nothing received:\n%s", r.out);
	/* the application's counts are the devices' */
	cr_assert_eq(port(r.out, 0, "tx_packets"), sent);
	cr_assert_eq(port(r.out, 1, "rx_packets"), got);
	/* 60 bytes a frame without the FCS */
	cr_assert_eq(port(r.out, 0, "tx_bytes"), sent * 60);
	check_wire(r.out, 0, 1);
	cr_assert_eq(total(r.out, "sequence_errors"), 0, "%s", r.out);
	cr_assert_eq(total(r.out, "late"), 0);
	cr_assert_eq(total(r.out, "malformed"), 0);
	cr_assert_eq(total(r.out, "foreign"), 0);
	/* a gap is frames the receiving port dropped (the very last drops leave no gap) */
	cr_assert_leq(total(r.out, "lost"), port(r.out, 1, "rx_dropped"));
	cr_assert_eq(sent, got + port(r.out, 1, "rx_dropped"));
	check_task_rate(r.out, 0);
	check_task_rate(r.out, 1);
	cr_assert_gt(total(r.out, "cycles_per_packet"), 0);
	/* the rounds that moved packets are some of the rounds, and there were such rounds */
	cr_assert_gt(total(r.out, "busy_cycles_per_packet"), 0, "%s", r.out);
	cr_assert_leq(total(r.out, "busy_cycles_per_packet"), total(r.out, "cycles_per_packet"),
		      "%s", r.out);
	cr_assert_leq(perf_test_jnum(r.out, "\"pollers\": [", "busy_cycles"),
		      perf_test_jnum(r.out, "\"pollers\": [", "cycles"), "%s", r.out);
	perf_test_result_free(&r);
}

Test(perf_net, fwd_default_pair_conserves_frames)
{
	static const char *const args[] = { "--net",  "fwd",	 "-t", "1",
					    "--json", "--burst", "16", NULL };
	struct perf_result r;
	double fwd, primed;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "\"role\": \"fwd\", \"rx_port\": 0, \"tx_port\": 1"), "%s", r.out);
	cr_assert(strstr(r.out, "\"role\": \"fwd\", \"rx_port\": 1, \"tx_port\": 0"));
	fwd = total(r.out, "fwd_packets");
	primed = total(r.out, "primed");
	cr_assert_eq(primed, 512, "two trains of 256 (the default --prime):\n%s", r.out);
	cr_assert_gt(fwd, 0);
	/* every frame on the wires was primed or forwarded */
	cr_assert_eq(port(r.out, 0, "tx_packets") + port(r.out, 1, "tx_packets"), fwd + primed);
	check_wire(r.out, 0, 1);
	check_wire(r.out, 1, 0);
	/* a train never outgrows the rings it circulates through */
	cr_assert_eq(port(r.out, 0, "rx_dropped") + port(r.out, 1, "rx_dropped"), 0, "%s", r.out);
	cr_assert_eq(total(r.out, "dropped"), 0);
	check_task_rate(r.out, 0);
	check_task_rate(r.out, 1);
	perf_test_result_free(&r);
}

/* A port's address is the user's text: quotes and backslashes in it are escaped in the JSON. */
Test(perf_net, json_escapes_port_addresses)
{
	static const char *const args[] = { "--net",
					    "txonly",
					    "-t",
					    "1",
					    "--json",
					    "-r",
					    "sim:ixgbe?name=pn\"q,peer=pn\\q",
					    "-r",
					    "sim:ixgbe?name=pn\\q,peer=pn\"q",
					    NULL };
	struct perf_result r;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "\"address\": \"sim:ixgbe?name=pn\\\"q,peer=pn\\\\q\", \"driver\""),
		  "%s", r.out);
	cr_assert(strstr(r.out, "\"address\": \"sim:ixgbe?name=pn\\\\q,peer=pn\\\"q\", \"driver\""),
		  "%s", r.out);
	cr_assert_gt(port(r.out, 0, "tx_packets"), 0, "%s", r.out);
	perf_test_result_free(&r);
}

Test(perf_net, txonly_both_ways_on_given_ports)
{
	static const char *const args[] = { "--net",
					    "txonly",
					    "-t",
					    "1",
					    "-o",
					    "128",
					    "--json",
					    "-r",
					    "sim:ixgbe?name=pn_a,peer=pn_b",
					    "-r",
					    "sim:ixgbe?name=pn_b,peer=pn_a",
					    NULL };
	struct perf_result r;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_assert_eq(total(r.out, "rx_packets"), 0, "txonly on given ports only sends");
	cr_assert_eq(port(r.out, 0, "tx_packets") + port(r.out, 1, "tx_packets"),
		     total(r.out, "tx_packets"));
	cr_assert_eq(port(r.out, 0, "tx_bytes"), port(r.out, 0, "tx_packets") * 124);
	check_wire(r.out, 0, 1);
	check_wire(r.out, 1, 0);
	perf_test_result_free(&r);
}

Test(perf_net, text_report_and_progress)
{
	static const char *const args[] = { "--net", "rxonly", "-t", "2", NULL };
	struct perf_result r;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "Total sent"), "%s", r.out);
	cr_assert(strstr(r.out, "Total received"));
	cr_assert(strstr(r.out, "Sequence: "));
	cr_assert(strstr(r.out, " 0 late"), "%s", r.out);
	cr_assert(strstr(r.out, "TSC cycles per packet"));
	cr_assert(strstr(r.err, "[   1 s] tx "), "%s", r.err);
	cr_assert(strstr(r.err, "Mpps"));
	cr_assert(strstr(r.err, "Gbit/s"));
	cr_assert(strstr(r.err, "cycles per packet"));
	perf_test_result_free(&r);
}

Test(perf_net, sigint_stops)
{
	static const char *const args[] = { "--net", "fwd", "-t", "60", "--json", NULL };
	struct perf_result r;

	perf_test_run(args, SIGINT, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "\"interrupted\": true"), "%s", r.out);
	cr_assert_lt(total(r.out, "seconds"), 60);
	check_wire(r.out, 0, 1);
	check_wire(r.out, 1, 0);
	perf_test_result_free(&r);
}

/* Status 2 and a message that names @piece. */
static void refused(const char *const *args, const char *piece)
{
	struct perf_result r;

	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 2, "exit %d for %s; stderr:\n%s", r.status, piece, r.err);
	cr_assert(strstr(r.err, piece), "no '%s' in:\n%s", piece, r.err);
	cr_assert_eq(r.out[0], '\0', "printed a result:\n%s", r.out);
	perf_test_result_free(&r);
}

Test(perf_net, bad_arguments)
{
	static const char *const mode[] = { "--net", "bogus", NULL };
	static const char *const nomode[] = { "-t", "1", "--net", NULL };
	static const char *const size[] = { "--net", "txonly", "-o", "32", NULL };
	static const char *const big[] = { "--net", "txonly", "-o", "9000", NULL };
	static const char *const burst[] = { "--net", "txonly", "--burst", "0", NULL };
	static const char *const ring[] = { "--net", "fwd", "--ring-size", "100", NULL };
	static const char *const nvme[] = { "--net", "fwd", "-q", "4", NULL };
	static const char *const verify[] = { "--net", "rxonly", "--verify", NULL };
	static const char *const prime[] = { "--net", "rxonly", "--prime", "4", NULL };
	static const char *const addr[] = { "--net", "fwd", "-r", "nonsense", NULL };
	static const char *const mac[] = { "--net", "txonly", "--dst-mac", "01:02", NULL };
	static const char *const time[] = { "--net", "txonly", "-t", "0", NULL };
	static const char *const unknown[] = { "--net", "fwd", "--bogus", NULL };

	refused(mode, "--net 'bogus'");
	refused(nomode, "--net needs a value");
	refused(size, "-o '32'");
	refused(big, "-o '9000'");
	refused(burst, "--burst '0'");
	refused(ring, "--ring-size 100");
	refused(nvme, "-q is an NVMe option");
	refused(verify, "--verify is an NVMe option");
	refused(prime, "--prime is for --net fwd");
	refused(addr, "-r 'nonsense'");
	refused(mac, "--dst-mac '01:02'");
	refused(time, "-t '0'");
	refused(unknown, "unknown option '--bogus'");
}
