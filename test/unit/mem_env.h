/* SPDX-License-Identifier: BSD-3-Clause */
/* Test setup shared by the lib/mem unit tests: the backing a test runs on. */
#ifndef UPDK_TEST_UNIT_MEM_ENV_H
#define UPDK_TEST_UNIT_MEM_ENV_H

#include <stdbool.h>
#include <stddef.h>

#include <updk/mem.h>

/*
 * Make sure at least @pages default-size hugepages exist (raising vm.nr_hugepages as root) and
 * a hugetlbfs is mounted (for processes started later; this one uses MAP_HUGETLB without it).
 * True if hugepages are usable.
 */
bool mem_env_hugepages(unsigned pages);

/* Select @backing for this test process (criterion runs each test in its own process). */
void mem_env_use(enum updk_mem_backing backing);

/* The kernel page size backing @p, from /proc/self/smaps (0 if not found). */
unsigned long mem_env_page_size_of(const void *p);

#endif
