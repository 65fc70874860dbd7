/* SPDX-License-Identifier: BSD-3-Clause */
/* Memory for DMA heap chunks: hugepages (hugetlbfs or MAP_HUGETLB) or locked 4 KiB pages. */
#ifndef UPDK_MEM_BACKING_H
#define UPDK_MEM_BACKING_H

#include <stdbool.h>
#include <stddef.h>

#include <updk/mem.h>

struct backing {
	void *va;
	size_t len;
	size_t page_size;
	enum updk_mem_backing kind;
	int node; /* the node asked for, UPDK_NUMA_ANY if none */
};

/*
 * The page size @kind uses: the default hugepage size (libhugetlbfs), or 4 KiB. 0 when the
 * system has no hugepage support at all.
 */
size_t backing_page_size(enum updk_mem_backing kind);

/*
 * Map @len bytes (a multiple of the page size), placed on @node when the system has NUMA,
 * prefaulted, locked, and kept out of fork()ed children (a child's copy-on-write would leave
 * the device writing into the parent's old pages). Returns 0 or -errno, with a log line that
 * says what to do (`scripts/setup.sh hugepages N`, `ulimit -l`).
 */
int backing_alloc(enum updk_mem_backing kind, size_t len, int node, struct backing *out);

void backing_free(struct backing *b);

/*
 * Whether hugepages come from a file in a hugetlbfs mount (the default, when one is mounted)
 * or always from MAP_HUGETLB. For tests, so both ways are exercised on one machine.
 */
void backing_use_hugetlbfs(bool use);

#endif
