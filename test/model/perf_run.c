// SPDX-License-Identifier: BSD-3-Clause
/*
 * build/bin/updk-perf on sim:nvme, about a second a run: the JSON result parses and its counts
 * agree with each other (IOPS × seconds = I/Os, reads + writes = I/Os in the -M mix, no verify
 * mismatch), SIGINT stops it with partial results and status 0, and bad arguments get status 2
 * with a message naming the flag. Never a speed.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

TestSuite(perf_run, .timeout = 120);

struct result {
	int status; /* exit status, or 128 + signal */
	char *out, *err;
};

static void perf_path(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	cr_assert(slash);
	*slash = '\0';
	/* build/test/model-tests → build/bin/updk-perf */
	snprintf(buf, len, "%s/../bin/updk-perf", exe);
	cr_assert_eq(access(buf, X_OK), 0, "%s is missing: make apps", buf);
}

static void append(char **s, size_t *len, const char *data, size_t n)
{
	*s = realloc(*s, *len + n + 1);
	cr_assert(*s);
	memcpy(*s + *len, data, n);
	*len += n;
	(*s)[*len] = '\0';
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Run updk-perf with @args (NULL-terminated); with @interrupt, send SIGINT once its first
 * progress line appears on stderr. Gives up (and fails) after 90 s.
 */
static void run(const char *const *args, bool interrupt, struct result *r)
{
	char path[PATH_MAX + 32], buf[4096];
	const char *argv[64];
	int out[2], err[2], n = 0, st;
	size_t olen = 0, elen = 0;
	bool sent = false, oeof = false, eeof = false;
	uint64_t deadline = now_ms() + 90000;
	pid_t pid;

	perf_path(path, sizeof(path));
	argv[n++] = path;
	for (; *args; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	cr_assert_eq(pipe(out), 0);
	cr_assert_eq(pipe(err), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	r->out = calloc(1, 1);
	r->err = calloc(1, 1);
	while (!oeof || !eeof) {
		struct pollfd p[2] = { { oeof ? -1 : out[0], POLLIN, 0 },
				       { eeof ? -1 : err[0], POLLIN, 0 } };

		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			cr_assert_fail("updk-perf did not finish in 90 s; stderr:\n%s", r->err);
		}
		if (poll(p, 2, 200) < 0 && errno != EINTR)
			cr_assert_fail("poll: %s", strerror(errno));
		for (int i = 0; i < 2; i++) {
			ssize_t k;

			if (!(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			k = read(p[i].fd, buf, sizeof(buf));
			if (k <= 0) {
				*(i ? &eeof : &oeof) = true;
				continue;
			}
			if (i)
				append(&r->err, &elen, buf, (size_t)k);
			else
				append(&r->out, &olen, buf, (size_t)k);
		}
		if (interrupt && !sent && strstr(r->err, " s]")) {
			cr_assert_eq(kill(pid, SIGINT), 0);
			sent = true;
		}
	}
	close(out[0]);
	close(err[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (interrupt)
		cr_assert(sent, "no progress line came before the end; stderr:\n%s", r->err);
}

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* The number after "key": in the first @section of the JSON text (NULL: from the start). */
static double jnum(const char *json, const char *section, const char *key)
{
	const char *p = json, *q;
	char pat[96];
	char *end;
	double v;

	if (section) {
		p = strstr(json, section);
		cr_assert(p, "no %s in:\n%s", section, json);
	}
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	q = strstr(p, pat);
	cr_assert(q, "no %s in:\n%s", key, p);
	v = strtod(q + strlen(pat), &end);
	cr_assert_neq(end, q + strlen(pat), "%s is not a number", key);
	return v;
}

static double absd(double x)
{
	return x < 0 ? -x : x;
}

/* Square root by Newton's method (no libm in the test link). */
static double root(double x)
{
	double r = x > 1 ? x : 1;

	for (int i = 0; i < 60; i++)
		r = (r + x / r) / 2;
	return r;
}

static unsigned count(const char *s, const char *piece)
{
	unsigned n = 0;

	for (; (s = strstr(s, piece)); s++)
		n++;
	return n;
}

/* What holds for every finished JSON result: totals add up and agree with the rows. */
static void check_consistent(const char *json)
{
	double ios = jnum(json, "\"total\": {", "ios"), iops = jnum(json, "\"total\": {", "iops");
	double secs = jnum(json, "\"total\": {", "seconds");
	double reads = jnum(json, "\"total\": {", "reads"),
	       writes = jnum(json, "\"total\": {", "writes");

	cr_assert_gt(ios, 0, "no I/O completed:\n%s", json);
	cr_assert_gt(secs, 0);
	cr_assert_eq(reads + writes, ios, "reads %.0f + writes %.0f != %.0f I/Os", reads, writes,
		     ios);
	/* IOPS is I/Os over the measured interval (one core: exactly, up to rounding) */
	cr_assert(absd(iops * secs - ios) <= 1 + ios * 1e-4, "IOPS %.2f × %.6f s != %.0f I/Os",
		  iops, secs, ios);
	cr_assert_eq(jnum(json, "\"total\": {", "errors"), 0, "I/O errors:\n%s", json);
	cr_assert_eq(jnum(json, "\"total\": {", "verify_mismatches"), 0);
	cr_assert(strstr(json, "\"failed\": false"));
	/* the one row (one namespace, one core) is the total */
	cr_assert_eq(jnum(json, "\"rows\": [", "ios"), ios);
	cr_assert_eq(jnum(json, "\"pollers\": [", "ios"), ios);
	cr_assert_geq(jnum(json, "\"total\": {", "commands_completed"), ios);
	cr_assert_gt(jnum(json, NULL, "cycles_per_io"), 0);
}

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
	struct result r;
	double ios, reads, frac, tol;

	run(args, false, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	check_consistent(r.out);
	cr_assert(strstr(r.out, "\"interrupted\": false"));
	cr_assert(strstr(r.out, "\"workload\": \"randrw\", \"read_percent\": 70"));
	ios = jnum(r.out, "\"total\": {", "ios");
	reads = jnum(r.out, "\"total\": {", "reads");
	/* 70% reads, within five standard deviations of a binomial draw and 2% more */
	frac = reads / ios;
	tol = 5 * root(0.7 * 0.3 / ios) + 0.02;
	cr_assert(absd(frac - 0.7) <= tol, "%.0f reads of %.0f I/Os is %.3f, not 0.70 ± %.3f",
		  reads, ios, frac, tol);
	result_free(&r);
}

Test(perf_run, pure_workloads)
{
	static const char *const rd[] = {
		"-t", "1", "-w", "read", "--json", "-r", "sim:nvme?size=16M", NULL
	};
	static const char *const wr[] = { "-t", "1",	  "-w", "randwrite",	     "-o",
					  "8k", "--json", "-r", "sim:nvme?size=16M", NULL };
	struct result r;

	run(rd, false, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	check_consistent(r.out);
	cr_assert_eq(jnum(r.out, "\"total\": {", "writes"), 0);
	result_free(&r);
	run(wr, false, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	check_consistent(r.out);
	cr_assert_eq(jnum(r.out, "\"total\": {", "reads"), 0);
	/* MiB/s is IOPS × 8 KiB */
	cr_assert(absd(jnum(r.out, "\"total\": {", "mib_per_s") * 128 -
		       jnum(r.out, "\"total\": {", "iops")) < 1);
	result_free(&r);
}

Test(perf_run, verify_no_mismatch)
{
	static const char *const args[] = {
		"-t", "1",	"-q",	  "8",	"--verify",
		"-w", "randrw", "--json", "-r", "sim:nvme?size=16M,lba=4096",
		NULL
	};
	struct result r;
	double reads, writes;

	run(args, false, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	check_consistent(r.out);
	cr_assert(strstr(r.out, "\"verify\": true"));
	reads = jnum(r.out, "\"total\": {", "reads");
	writes = jnum(r.out, "\"total\": {", "writes");
	/* every write is read back; at most one per task is still in flight when measuring ends */
	cr_assert_gt(reads, 0);
	cr_assert(reads <= writes + 8 && writes <= reads + 8, "%.0f writes, %.0f read back", writes,
		  reads);
	result_free(&r);
}

Test(perf_run, sigint_gives_partial_results)
{
	static const char *const args[] = {
		"-t", "60", "-q", "4", "--json", "-r", "sim:nvme?size=16M", NULL
	};
	struct result r;

	run(args, true, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_assert(strstr(r.out, "\"interrupted\": true"), "%s", r.out);
	cr_assert_lt(jnum(r.out, "\"total\": {", "seconds"), 60);
	check_consistent(r.out);
	cr_assert(strstr(r.err, "stopping"), "%s", r.err);
	result_free(&r);
}

Test(perf_run, text_report)
{
	static const char *const args[] = { "-t",  "1",
					    "-LL", "-q",
					    "4",   "--no-progress",
					    "-r",  "trtype:sim traddr:sim:nvme?size=16M ns:1",
					    NULL };
	struct result r;

	run(args, false, &r);
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
	result_free(&r);
}

Test(perf_run, two_namespaces_two_cores)
{
	cpu_set_t set;
	char cores[32];
	int c0 = -1, c1 = -1;
	struct result r;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set)) {
			if (c0 < 0)
				c0 = c;
			else if (c1 < 0)
				c1 = c;
		}
	if (c1 < 0)
		cr_skip_test("one CPU only");
	snprintf(cores, sizeof(cores), "%d,%d", c0, c1);
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

	run(args, false, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	/* spdk_nvme_perf's association: namespace i on core i */
	cr_assert_eq(count(r.out, "\"nsid\": "), 2, "%s", r.out);
	cr_assert(strstr(r.out, "NSID 1 from core"));
	cr_assert(strstr(r.out, "NSID 2 from core"));
	cr_assert_eq(count(r.out, "\"cycles_per_io\": "), 3, "two pollers and the total");
	cr_assert_gt(jnum(r.out, "\"total\": {", "ios"), 0);
	cr_assert_eq(jnum(r.out, "\"total\": {", "errors"), 0);
	result_free(&r);
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
	};
	struct result r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(cases[i].args, false, &r);
		cr_assert_eq(r.status, cases[i].status, "case %zu: exit %d, not %d; stderr:\n%s", i,
			     r.status, cases[i].status, r.err);
		cr_assert(strstr(r.err, cases[i].msg), "case %zu: stderr lacks '%s':\n%s", i,
			  cases[i].msg, r.err);
		result_free(&r);
	}
}

Test(perf_run, help)
{
	static const char *const args[] = { "--help", NULL };
	struct result r;

	run(args, false, &r);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "Usage: updk-perf"));
	cr_assert(strstr(r.out, "--verify"));
	result_free(&r);
}
