// SPDX-License-Identifier: BSD-3-Clause
/*
 * Sanitizer settings for every test binary (used when built with ./configure --enable-asan).
 *
 * Criterion runs each test in a child process and ignores how that child exits once the test
 * has reported its result, so LeakSanitizer's end-of-process report alone would not fail a run.
 * abort_on_error turns the report into a SIGABRT, which criterion counts as a test that crashed
 * in its teardown, and the binary exits non-zero.
 *
 * The runner process (the one that forks and watches the tests) runs none of our code; its
 * only leak is criterion's own: a 48-byte timeout request that its watchdog keeps queued when
 * a test with .timeout ends before the request is filed. LeakSanitizer cannot tell that frame
 * apart from the criterion frames under every test, so a suppression would hide our leaks too;
 * instead leak checking is off in the runner alone (criterion_current_test is NULL there and
 * set in every test process).
 */
#include <criterion/criterion.h>

const char *__asan_default_options(void);
int __lsan_is_turned_off(void);

const char *__asan_default_options(void)
{
	return "abort_on_error=1";
}

int __lsan_is_turned_off(void)
{
	return criterion_current_test == NULL;
}
