// SPDX-License-Identifier: BSD-3-Clause
/*
 * Running build/bin/updk-perf from a test (model and VM rings): spawn it, collect stdout and
 * stderr, optionally interrupt it, and read figures out of its --json result.
 */
#ifndef UPDK_TEST_PERF_UTIL_H
#define UPDK_TEST_PERF_UTIL_H

#include <stdbool.h>
#include <stddef.h>

struct perf_result {
	int status; /* exit status, or 128 + signal */
	char *out, *err;
};

/*
 * Run updk-perf (next to the test binary: build/bin/updk-perf) with @args, NULL-terminated;
 * with @interrupt_sig non-zero, send that signal once the first progress line appears on
 * stderr. Fails the test after 90 s.
 */
void perf_test_run(const char *const *args, int interrupt_sig, struct perf_result *r);
void perf_test_result_free(struct perf_result *r);
/* The number after "key": in the first @section of @json (NULL: from the start). */
double perf_test_jnum(const char *json, const char *section, const char *key);
/* Occurrences of @piece in @s. */
unsigned perf_test_count(const char *s, const char *piece);
/*
 * What holds for every finished single-row JSON result: I/Os > 0, reads + writes = I/Os,
 * IOPS × seconds = I/Os, no error, no mismatch, not failed, the row, the poller and the total
 * agree.
 */
void perf_test_check_consistent(const char *json);
/* "-c" for two CPUs this process may run on, into @cores; skips the test where there is one. */
void perf_test_two_cpus(char *cores, size_t len);
/* |x| and the square root by Newton's method (no libm in the test link). */
double perf_test_abs(double x);
double perf_test_sqrt(double x);

#endif
