// SPDX-License-Identifier: BSD-3-Clause
/* DMA heap: alignment, IOVA consistency, zeroing, dedicated chunks; both backings. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <hugetlbfs.h>

#include <criterion/criterion.h>

#include <updk/mem.h>

#include "lib/mem/backing.h"
#include "lib/mem/iova_alloc.h"
#include "lib/mem/mem_vfio.h"
#include "test/unit/mem_env.h"

static void use_huge(void)
{
	mem_env_use(UPDK_MEM_HUGEPAGES);
}

static void use_4k(void)
{
	mem_env_use(UPDK_MEM_4K_PAGES);
}

/* Everything a caller may rely on for one allocation. */
static void check_alloc(void *p, uint64_t iova, size_t size, size_t align)
{
	size_t contig = 0;

	cr_assert_not_null(p);
	cr_assert_eq((uintptr_t)p % align, 0, "%p not aligned to %zu", p, align);
	cr_assert_neq(iova, UPDK_IOVA_INVALID);
	cr_assert_eq(updk_iova(p), iova);
	cr_assert_eq(updk_iova((char *)p + size - 1), iova + size - 1, "not IOVA-contiguous");
	cr_assert_eq(updk_iova_contig(p, &contig), iova);
	cr_assert_geq(contig, size);
	cr_assert(iova >= IOVA_DEFAULT_START && iova + size <= IOVA_DEFAULT_END,
		  "IOVA 0x%lx outside the default space", iova);
	cr_assert_eq(mem_iova_to_va(iova, size), p);
	cr_assert_eq(mem_iova_to_va(iova + size / 2, 1), (char *)p + size / 2);
	memset(p, 0xa5, size); /* the memory is really there and writable */
}

static void alloc_free_mix(unsigned long page_size)
{
	static const size_t sizes[] = { 1, 64, 100, 4096, 5000, 65536, 1 << 20 };
	static const size_t aligns[] = { 0, 64, 128, 4096, 1 << 16, 1 << 21 };
	void *p[64];
	uint64_t iova[64];
	unsigned n = 0;

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (unsigned j = 0; j < sizeof(aligns) / sizeof(aligns[0]); j++) {
			size_t align = aligns[j] ? aligns[j] : 64;

			p[n] = updk_dma_alloc(sizes[i], aligns[j], UPDK_NUMA_ANY, &iova[n]);
			check_alloc(p[n], iova[n], sizes[i], align);
			cr_assert_eq(mem_env_page_size_of(p[n]), page_size,
				     "%p is not on %lu-byte pages", p[n], page_size);
			n++;
		}
	}
	/* Distinct allocations never share bytes, in VA or IOVA space. */
	for (unsigned a = 0; a < n; a++)
		for (unsigned b = a + 1; b < n; b++)
			cr_assert(iova[a] != iova[b] && p[a] != p[b]);
	for (unsigned i = 0; i < n; i++)
		updk_dma_free(p[i]);
}

Test(mem_dma, alloc_free_hugepages, .init = use_huge)
{
	alloc_free_mix((unsigned long)gethugepagesize());
}

/* Hugepages without a hugetlbfs file: anonymous MAP_HUGETLB. */
Test(mem_dma, alloc_free_map_hugetlb, .init = use_huge)
{
	backing_use_hugetlbfs(false);
	alloc_free_mix((unsigned long)gethugepagesize());
}

Test(mem_dma, alloc_free_4k, .init = use_4k)
{
	alloc_free_mix(4096);
}

static void zeroing(void)
{
	uint64_t iova;
	uint8_t *p = updk_dma_alloc(8192, 4096, UPDK_NUMA_ANY, &iova);

	cr_assert_not_null(p);
	memset(p, 0xff, 8192);
	updk_dma_free(p);
	/* The same space comes back (lowest fit) and must be zeroed this time. */
	uint8_t *q = updk_dma_zalloc(8192, 4096, UPDK_NUMA_ANY, &iova);
	cr_assert_eq(q, p);
	for (unsigned i = 0; i < 8192; i++)
		cr_assert_eq(q[i], 0, "byte %u not zeroed", i);
	updk_dma_free(q);
}

Test(mem_dma, zalloc_zeroes_reused_memory_hugepages, .init = use_huge)
{
	zeroing();
}

Test(mem_dma, zalloc_zeroes_reused_memory_4k, .init = use_4k)
{
	zeroing();
}

static void big_allocation(void)
{
	size_t size = (5UL << 20) + 12345;
	uint64_t iova;
	uint8_t *p = updk_dma_zalloc(size, 0, UPDK_NUMA_ANY, &iova);

	check_alloc(p, iova, size, 64);
	updk_dma_free(p);
	/* A dedicated chunk goes away with its allocation: no translation is left behind. */
	cr_assert_eq(updk_iova(p), UPDK_IOVA_INVALID);
	cr_assert_eq(updk_iova(p + size - 1), UPDK_IOVA_INVALID);
	cr_assert_null(mem_iova_to_va(iova, 1));
}

Test(mem_dma, larger_than_a_chunk_hugepages, .init = use_huge)
{
	big_allocation();
}

Test(mem_dma, larger_than_a_chunk_4k, .init = use_4k)
{
	big_allocation();
}

Test(mem_dma, fills_several_chunks, .init = use_4k)
{
	enum { N = 40 };
	void *p[N];
	uint64_t iova[N];

	/* 40 x 256 KiB: five 2 MiB chunks, each allocation inside one of them. */
	for (unsigned i = 0; i < N; i++) {
		p[i] = updk_dma_alloc(256 << 10, 4096, UPDK_NUMA_ANY, &iova[i]);
		check_alloc(p[i], iova[i], 256 << 10, 4096);
	}
	for (unsigned i = 0; i < N; i += 2)
		updk_dma_free(p[i]);
	for (unsigned i = 0; i < N; i += 2) {
		p[i] = updk_dma_alloc(256 << 10, 4096, UPDK_NUMA_ANY, &iova[i]);
		check_alloc(p[i], iova[i], 256 << 10, 4096);
	}
	for (unsigned i = 0; i < N; i++)
		updk_dma_free(p[i]);
}

Test(mem_dma, numa_node_zero, .init = use_4k)
{
	uint64_t iova;
	void *p = updk_dma_alloc(4096, 0, 0, &iova);

	check_alloc(p, iova, 4096, 64);
	updk_dma_free(p);
}

Test(mem_dma, bad_arguments, .init = use_4k)
{
	uint64_t iova = 0;

	errno = 0;
	cr_assert_null(updk_dma_alloc(0, 0, UPDK_NUMA_ANY, &iova));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(updk_dma_alloc(4096, 3000, UPDK_NUMA_ANY, &iova));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(updk_dma_alloc(4096, 0, 4096, &iova));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(updk_dma_alloc(4096, 0, -7, &iova));
	cr_assert_eq(errno, EINVAL);
}

Test(mem_dma, bad_frees_are_refused, .init = use_4k)
{
	static char not_dma[64];
	uint64_t iova;
	char *p = updk_dma_alloc(4096, 0, UPDK_NUMA_ANY, &iova);

	cr_assert_not_null(p);
	updk_dma_free(NULL);
	updk_dma_free(not_dma);
	updk_dma_free(p + 64);
	/* Still allocated after the bad frees. */
	cr_assert_eq(updk_iova(p), iova);
	updk_dma_free(p);
	updk_dma_free(p); /* a double free is logged, not a crash */
	void *q = updk_dma_alloc(4096, 0, UPDK_NUMA_ANY, &iova);
	void *r = updk_dma_alloc(4096, 0, UPDK_NUMA_ANY, NULL);
	cr_assert_neq(q, r);
	updk_dma_free(q);
	updk_dma_free(r);
}

Test(mem_dma, init_after_allocation_is_busy, .init = use_4k)
{
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_HUGEPAGES };
	void *p = updk_dma_alloc(64, 0, UPDK_NUMA_ANY, NULL);

	cr_assert_not_null(p);
	cr_assert_eq(updk_mem_init(&o), -EBUSY);
	o.backing = UPDK_MEM_4K_PAGES;
	cr_assert_eq(updk_mem_init(&o), 0);
	o.opts_size = 3;
	cr_assert_eq(updk_mem_init(&o), -EINVAL);
	o.opts_size = sizeof(o);
	o.chunk_size = 4096;
	cr_assert_eq(updk_mem_init(&o), -EINVAL);
	updk_dma_free(p);
}

/* More hugepages than exist: a clean ENOMEM (the log names scripts/setup.sh), no crash. */
Test(mem_dma, hugepage_shortage_is_enomem)
{
	struct updk_mem_opts o = {
		.opts_size = sizeof(o),
		.backing = UPDK_MEM_HUGEPAGES,
		.chunk_size = 1UL << 40,
	};

	if (!mem_env_hugepages(128))
		cr_skip_test("no hugepages and not root: run scripts/setup.sh hugepages 128");
	cr_assert_eq(updk_mem_init(&o), 0);
	errno = 0;
	cr_assert_null(updk_dma_alloc(64, 0, UPDK_NUMA_ANY, NULL));
	cr_assert_eq(errno, ENOMEM);
	/* A normal chunk size works again. */
	o.chunk_size = 0;
	cr_assert_eq(updk_mem_init(&o), 0);
	void *p = updk_dma_alloc(64, 0, UPDK_NUMA_ANY, NULL);
	cr_assert_not_null(p);
	updk_dma_free(p);
}
