/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a process holds that a refused or closed open must give back: file descriptors, threads
 * (a sim model's) and live DMA allocations. The bad-input tests take a count before a case and
 * assert the same count after it.
 */
#ifndef UPDK_TEST_MODEL_HELD_H
#define UPDK_TEST_MODEL_HELD_H

#include <dirent.h>

#include <criterion/criterion.h>

#include "lib/mem/mem_internal.h"

struct held {
	int fds, threads;
	unsigned dma;
};

static inline int held_count_dir(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;

	cr_assert_not_null(d, "%s", path);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static inline struct held held_now(void)
{
	return (struct held){ held_count_dir("/proc/self/fd"), held_count_dir("/proc/self/task"),
			      heap_nallocs() };
}

static inline void held_assert_same(struct held before, const char *what)
{
	struct held after = held_now();

	cr_assert_eq(after.fds, before.fds, "%s: %d file descriptors left open", what,
		     after.fds - before.fds);
	cr_assert_eq(after.threads, before.threads, "%s: %d threads left running", what,
		     after.threads - before.threads);
	cr_assert_eq(after.dma, before.dma, "%s: %d DMA allocations not freed", what,
		     (int)after.dma - (int)before.dma);
}

#endif
