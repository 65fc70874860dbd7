// SPDX-License-Identifier: BSD-3-Clause
/* Hugepage and 4 KiB memory for DMA heap chunks. */
#include <errno.h>
#include <fcntl.h>
#include <hugetlbfs.h>
#include <limits.h>
#include <numa.h>
#include <numaif.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define LOG_COMPONENT "mem"
#include "lib/util/log.h"

#include "lib/mem/backing.h"

#define SIZE_2M (2UL << 20)

static bool use_hugetlbfs = true;

void backing_use_hugetlbfs(bool use)
{
	use_hugetlbfs = use;
}

size_t backing_page_size(enum updk_mem_backing kind)
{
	long sz;

	if (kind == UPDK_MEM_4K_PAGES)
		return 4096;
	sz = gethugepagesize();
	return sz > 0 ? (size_t)sz : 0;
}

static int log2_of(size_t v)
{
	return 63 - __builtin_clzl(v);
}

/* The hugetlbfs mount is not this user's to write to (another user's, or read-only). */
static bool no_access(int err)
{
	return err == EACCES || err == EPERM || err == EROFS;
}

/*
 * A hugetlbfs file in the mount for @page_size, unlinked at once, or MAP_HUGETLB without one.
 * *@said is set when the failure is logged here already (the mount refused the file).
 */
static void *map_huge(size_t len, size_t page_size, int *err, bool *said)
{
	const char *dir = use_hugetlbfs ? hugetlbfs_find_path_for_size((long)page_size) : NULL;
	static bool told; /* where hugepages come from, said once (mem_lock is held) */
	void *va;

	if (!told) {
		told = true;
		log_info("DMA memory: %zu kB hugepages from %s%s", page_size >> 10,
			 dir ? "hugetlbfs mount " : "anonymous MAP_HUGETLB mappings",
			 dir ? dir : " (no hugetlbfs mount this user may write to)");
	}
	if (dir) {
		char path[PATH_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/updk.%d.XXXXXX", dir, (int)getpid());
		fd = mkstemp(path);
		if (fd < 0) {
			*err = errno;
			if (no_access(errno))
				/*
				 * libhugetlbfs offers the first mount of the size this user may
				 * write to, or the ones HUGETLB_PATH names.
				 */
				log_err("cannot create a file in hugetlbfs mount %s%s: %s. Use a "
					"mount this user may write to (as root: mount -t hugetlbfs "
					"-o uid=%u,gid=%u,pagesize=%zuM nodev DIR; HUGETLB_PATH=DIR "
					"picks it), or 4 KiB pages: UPDK_MEM=4k",
					dir, getenv("HUGETLB_PATH") ? " (from HUGETLB_PATH)" : "",
					strerror(errno), (unsigned)getuid(), (unsigned)getgid(),
					page_size >> 20);
			else
				log_err("cannot create a file in hugetlbfs mount %s: %s", dir,
					strerror(errno));
			*said = true;
			return MAP_FAILED;
		}
		unlink(path);
		/* The mapping reserves its hugepages at mmap time: a shortage is ENOMEM here. */
		va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		*err = errno;
		close(fd);
		return va;
	}
	va = mmap(NULL, len, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			  (log2_of(page_size) << MAP_HUGE_SHIFT),
		  -1, 0);
	*err = errno;
	return va;
}

/* Anonymous 4 KiB pages, 2 MiB aligned so a chunk fills whole translation-table slots. */
static void *map_small(size_t len, int *err)
{
	uint8_t *raw = mmap(NULL, len + SIZE_2M, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t start;
	size_t head;

	if (raw == MAP_FAILED) {
		*err = errno;
		return MAP_FAILED;
	}
	start = ((uintptr_t)raw + SIZE_2M - 1) & ~(SIZE_2M - 1);
	head = start - (uintptr_t)raw;
	if (head)
		munmap(raw, head);
	munmap((uint8_t *)start + len, SIZE_2M - head);
	return (void *)start;
}

/* Prefer @node: with MPOL_BIND a hugepage fault on an exhausted node would be SIGBUS. */
static int place(void *va, size_t len, int node)
{
	unsigned long mask[16] = { 0 };

	if (node == UPDK_NUMA_ANY || numa_available() < 0 || numa_max_node() == 0)
		return 0;
	if ((unsigned)node >= sizeof(mask) * CHAR_BIT)
		return -EINVAL;
	mask[node / (sizeof(long) * CHAR_BIT)] |= 1UL << (node % (sizeof(long) * CHAR_BIT));
	if (mbind(va, len, MPOL_PREFERRED, mask, sizeof(mask) * CHAR_BIT, 0) < 0) {
		log_warn("mbind to NUMA node %d: %s; memory placed where the kernel chooses", node,
			 strerror(errno));
	}
	return 0;
}

static void check_node(void *va, int node)
{
	int actual = -1;

	if (node == UPDK_NUMA_ANY || numa_available() < 0 || numa_max_node() == 0)
		return;
	if (get_mempolicy(&actual, NULL, 0, va, MPOL_F_NODE | MPOL_F_ADDR) == 0 && actual != node)
		log_warn(
			"DMA memory asked for NUMA node %d landed on node %d (no free pages there: "
			"scripts/setup.sh hugepages N --node %d)",
			node, actual, node);
}

static void log_memlock(size_t len, int err)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		log_err("cannot lock %zu KiB of DMA memory (%s): RLIMIT_MEMLOCK is %llu KiB; raise it "
			"with ulimit -l (or limits.conf) or run as root",
			len >> 10, strerror(err), (unsigned long long)rl.rlim_cur >> 10);
	else
		log_err("cannot lock %zu KiB of DMA memory: %s", len >> 10, strerror(err));
}

int backing_alloc(enum updk_mem_backing kind, size_t len, int node, struct backing *out)
{
	size_t page = backing_page_size(kind);
	bool said = false;
	int err = 0;
	void *va;

	if (node != UPDK_NUMA_ANY &&
	    (node < 0 || (numa_available() >= 0 ? node > numa_max_node() : node != 0))) {
		log_err("NUMA node %d does not exist (this system has %d): use UPDK_NUMA_ANY or a "
			"node from /sys/devices/system/node",
			node, numa_available() >= 0 ? numa_max_node() + 1 : 1);
		return -EINVAL;
	}
	if (!page) {
		log_err("this kernel has no hugepage support: use 4 KiB pages (UPDK_MEM=4k or "
			"updk_mem_init())");
		return -ENOMEM;
	}
	if (len == 0 || len % page)
		return -EINVAL;
	va = kind == UPDK_MEM_HUGEPAGES ? map_huge(len, page, &err, &said) : map_small(len, &err);
	if (va == MAP_FAILED) {
		if (said) /* map_huge() named the mount and what to do */
			return no_access(err) ? -EACCES : -ENOMEM;
		if (kind == UPDK_MEM_HUGEPAGES)
			log_err("no %zu MiB of free %zu kB hugepages left (%s): reserve more with "
				"scripts/setup.sh hugepages N, or use 4 KiB pages with UPDK_MEM=4k",
				len >> 20, page >> 10, strerror(err));
		else
			log_err("cannot map %zu KiB of memory: %s", len >> 10, strerror(err));
		return -ENOMEM;
	}
	if (place(va, len, node) < 0) {
		munmap(va, len);
		return -EINVAL;
	}
	/* Hugetlb pages are never swapped and mlock() skips them; for 4 KiB pages it is the pin. */
	if (kind == UPDK_MEM_4K_PAGES && mlock(va, len) < 0) {
		err = errno;
		munmap(va, len);
		log_memlock(len, err);
		return -ENOMEM;
	}
	/* Prefault: the hugepages were reserved at mmap time, so touching them cannot fail. */
	for (size_t off = 0; off < len; off += page)
		((volatile uint8_t *)va)[off] = 0;
	if (madvise(va, len, MADV_DONTFORK) < 0)
		log_warn("madvise(MADV_DONTFORK) on DMA memory: %s", strerror(errno));
	check_node(va, node);
	*out = (struct backing){
		.va = va, .len = len, .page_size = page, .kind = kind, .node = node
	};
	return 0;
}

void backing_free(struct backing *b)
{
	if (b->va)
		munmap(b->va, b->len);
	b->va = NULL;
}
