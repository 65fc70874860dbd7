// SPDX-License-Identifier: BSD-3-Clause
/* test/common/perf_util.h: running updk-perf from a test. */
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

#include "test/common/perf_util.h"

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
void perf_test_run(const char *const *args, int interrupt_sig, struct perf_result *r)
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
		if (interrupt_sig && !sent && strstr(r->err, " s]")) {
			cr_assert_eq(kill(pid, interrupt_sig), 0);
			sent = true;
		}
	}
	close(out[0]);
	close(err[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (interrupt_sig)
		cr_assert(sent, "no progress line came before the end; stderr:\n%s", r->err);
}

void perf_test_result_free(struct perf_result *r)
{
	free(r->out);
	free(r->err);
}

/* The number after "key": in the first @section of the JSON text (NULL: from the start). */
double perf_test_jnum(const char *json, const char *section, const char *key)
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

double perf_test_abs(double x)
{
	return x < 0 ? -x : x;
}

/* Square root by Newton's method (no libm in the test link). */
double perf_test_sqrt(double x)
{
	double r = x > 1 ? x : 1;

	for (int i = 0; i < 60; i++)
		r = (r + x / r) / 2;
	return r;
}

unsigned perf_test_count(const char *s, const char *piece)
{
	unsigned n = 0;

	for (; (s = strstr(s, piece)); s++)
		n++;
	return n;
}

/* What holds for every finished JSON result: totals add up and agree with the rows. */
void perf_test_check_consistent(const char *json)
{
	double ios = perf_test_jnum(json, "\"total\": {", "ios"),
	       iops = perf_test_jnum(json, "\"total\": {", "iops");
	double secs = perf_test_jnum(json, "\"total\": {", "seconds");
	double reads = perf_test_jnum(json, "\"total\": {", "reads"),
	       writes = perf_test_jnum(json, "\"total\": {", "writes");

	cr_assert_gt(ios, 0, "no I/O completed:\n%s", json);
	cr_assert_gt(secs, 0);
	cr_assert_eq(reads + writes, ios, "reads %.0f + writes %.0f != %.0f I/Os", reads, writes,
		     ios);
	/* IOPS is I/Os over the measured interval (one core: exactly, up to rounding) */
	cr_assert(perf_test_abs(iops * secs - ios) <= 1 + ios * 1e-4,
		  "IOPS %.2f × %.6f s != %.0f I/Os", iops, secs, ios);
	cr_assert_eq(perf_test_jnum(json, "\"total\": {", "errors"), 0, "I/O errors:\n%s", json);
	cr_assert_eq(perf_test_jnum(json, "\"total\": {", "verify_mismatches"), 0);
	cr_assert(strstr(json, "\"failed\": false"));
	/* the one row (one namespace, one core) is the total */
	cr_assert_eq(perf_test_jnum(json, "\"rows\": [", "ios"), ios);
	cr_assert_eq(perf_test_jnum(json, "\"pollers\": [", "ios"), ios);
	cr_assert_geq(perf_test_jnum(json, "\"total\": {", "commands_completed"), ios);
	cr_assert_gt(perf_test_jnum(json, NULL, "cycles_per_io"), 0);
}

void perf_test_two_cpus(char *cores, size_t len)
{
	cpu_set_t set;
	int c0 = -1, c1 = -1;

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
	snprintf(cores, len, "%d,%d", c0, c1);
}
