/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checks made on a test's other threads. Criterion's asserts belong to the test's thread: other
 * threads record the first failure with thread_check(), and the test's thread asserts
 * !atomic_load(&failed) with failure as the message once they have stopped.
 */
#ifndef UPDK_TEST_UNIT_THREAD_CHECK_H
#define UPDK_TEST_UNIT_THREAD_CHECK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

static atomic_bool failed;
static char failure[256];
#define thread_check(cond, ...)                                          \
	do {                                                             \
		if (!(cond) && !atomic_exchange(&failed, true))          \
			snprintf(failure, sizeof(failure), __VA_ARGS__); \
	} while (0)

#endif
