// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk_mem_register/unregister: argument errors, overlap, exact translation at 4 KiB
 * granularity, and the VFIO seam (deferred mappings replayed at attach) through fake IOMMU ops.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <criterion/criterion.h>

#include <updk/mem.h>

#include "lib/mem/iova_alloc.h"
#include "lib/mem/mem_internal.h"
#include "lib/mem/mem_vfio.h"
#include "test/unit/mem_env.h"

#define SZ_2M (2UL << 20)

/* A 2 MiB-aligned, 14 MiB stretch of address space, for placing buffers precisely. */
static uint8_t *area(void)
{
	uint8_t *raw =
		mmap(NULL, 16UL << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(raw, MAP_FAILED);
	return (uint8_t *)(((uintptr_t)raw + SZ_2M - 1) & ~(SZ_2M - 1));
}

Test(mem_register, argument_errors)
{
	uint8_t *a = area();

	cr_assert_eq(updk_mem_register(NULL, 4096), -EINVAL);
	cr_assert_eq(updk_mem_register(a + 100, 4096), -EINVAL);
	cr_assert_eq(updk_mem_register(a, 100), -EINVAL);
	cr_assert_eq(updk_mem_register(a, 0), -EINVAL);
	cr_assert_eq(updk_mem_register((void *)(1UL << 47), 4096), -EINVAL);
	cr_assert_eq(updk_mem_unregister(a, 4096), -ENOENT);
	cr_assert_eq(updk_mem_unregister(a + 1, 4096), -ENOENT);
}

Test(mem_register, overlap_rejected)
{
	uint8_t *a = area();

	cr_assert_eq(updk_mem_register(a + 4096, 3 * 4096), 0);
	cr_assert_eq(updk_mem_register(a, 2 * 4096), -EINVAL, "overlap at the start accepted");
	cr_assert_eq(updk_mem_register(a + 3 * 4096, 2 * 4096), -EINVAL);
	cr_assert_eq(updk_mem_register(a + 2 * 4096, 4096), -EINVAL, "inside accepted");
	cr_assert_eq(updk_mem_register(a, 8 * 4096), -EINVAL, "covering range accepted");
	/* Neighbours touching it are fine. */
	cr_assert_eq(updk_mem_register(a, 4096), 0);
	cr_assert_eq(updk_mem_register(a + 4 * 4096, 4096), 0);
	/* Unregister needs exactly the registered range. */
	cr_assert_eq(updk_mem_unregister(a + 4096, 2 * 4096), -ENOENT);
	cr_assert_eq(updk_mem_unregister(a + 2 * 4096, 2 * 4096), -ENOENT);
	cr_assert_eq(updk_mem_unregister(a + 4096, 3 * 4096), 0);
	cr_assert_eq(updk_mem_unregister(a + 4096, 3 * 4096), -ENOENT, "unregistered twice");
	cr_assert_eq(updk_mem_unregister(a, 4096), 0);
	cr_assert_eq(updk_mem_unregister(a + 4 * 4096, 4096), 0);
}

Test(mem_register, dma_memory_cannot_be_registered_or_unregistered)
{
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_4K_PAGES };
	uint8_t *p;

	cr_assert_eq(updk_mem_init(&o), 0);
	p = updk_dma_alloc(8192, 4096, UPDK_NUMA_ANY, NULL);
	cr_assert_not_null(p);
	cr_assert_eq(updk_mem_register(p, 4096), -EINVAL);
	cr_assert_eq(updk_mem_unregister(p, 8192), -ENOENT);
	updk_dma_free(p);
}

/* Pages registered separately inside one 2 MiB: each exact, gaps unmapped, never guessed. */
Test(mem_register, four_k_granular_neighbours)
{
	uint8_t *a = area();
	uint8_t *b = a + SZ_2M - 4096; /* straddles into the next 2 MiB */
	uint64_t ia, ib, ic;

	cr_assert_eq(updk_mem_register(a, 4096), 0);
	cr_assert_eq(updk_mem_register(a + 3 * 4096, 4096), 0);
	cr_assert_eq(updk_mem_register(b, 3 * 4096), 0);
	ia = updk_iova(a);
	ib = updk_iova(b);
	ic = updk_iova(a + 3 * 4096);
	cr_assert_neq(ia, UPDK_IOVA_INVALID);
	cr_assert_neq(ib, UPDK_IOVA_INVALID);
	cr_assert_neq(ic, UPDK_IOVA_INVALID);
	cr_assert_eq(updk_iova(a + 4095), ia + 4095);
	cr_assert_eq(updk_iova(a + 4096), UPDK_IOVA_INVALID);
	cr_assert_eq(updk_iova(a + 2 * 4096 + 17), UPDK_IOVA_INVALID);
	cr_assert_eq(updk_iova(a + 4 * 4096), UPDK_IOVA_INVALID);
	cr_assert_eq(updk_iova(b - 1), UPDK_IOVA_INVALID);
	cr_assert_eq(updk_iova(b + 3 * 4096 - 1), ib + 3 * 4096 - 1);
	cr_assert_eq(updk_iova(b + 3 * 4096), UPDK_IOVA_INVALID);
	cr_assert_eq(mem_iova_to_va(ib + 4096, 2 * 4096), b + 4096);
	cr_assert_null(mem_iova_to_va(ib + 4096, 2 * 4096 + 1), "range past the mapping");

	size_t len = 0;
	cr_assert_eq(updk_iova_contig(b + 100, &len), ib + 100);
	cr_assert_eq(len, 3 * 4096 - 100);

	cr_assert_eq(updk_mem_unregister(a, 4096), 0);
	cr_assert_eq(updk_iova(a), UPDK_IOVA_INVALID);
	cr_assert_eq(updk_iova(a + 3 * 4096), ic, "neighbour lost by an unregister");
	cr_assert_eq(updk_iova(b), ib);
	cr_assert_eq(updk_mem_unregister(a + 3 * 4096, 4096), 0);
	cr_assert_eq(updk_mem_unregister(b, 3 * 4096), 0);
	cr_assert_eq(updk_iova(b + 4096), UPDK_IOVA_INVALID);
	cr_assert_null(mem_iova_to_va(ib, 1));
	/* Addresses no table covers at all. */
	cr_assert_eq(updk_iova((void *)(1UL << 47)), UPDK_IOVA_INVALID);
	cr_assert_eq(updk_iova(NULL), UPDK_IOVA_INVALID);
}

Test(mem_register, large_buffer)
{
	uint8_t *a = area();
	uint64_t iova;

	cr_assert_eq(updk_mem_register(a, 6 * SZ_2M), 0);
	iova = updk_iova(a);
	cr_assert_eq(iova % SZ_2M, 0, "2 MiB-aligned buffer got IOVA 0x%lx", iova);
	for (size_t off = 0; off < 6 * SZ_2M; off += 4096 * 97)
		cr_assert_eq(updk_iova(a + off), iova + off);
	cr_assert_eq(updk_mem_unregister(a, 6 * SZ_2M), 0);
	cr_assert_eq(updk_iova(a + SZ_2M), UPDK_IOVA_INVALID);
}

/* A thread that is offline still translates correctly (through the lock). */
Test(mem_register, offline_thread_translates)
{
	uint8_t *a = area();
	uint64_t iova;

	cr_assert_eq(updk_mem_register(a, 4096), 0);
	iova = updk_iova(a);
	updk_mem_thread_offline();
	cr_assert_eq(updk_iova(a + 8), iova + 8);
	updk_mem_thread_online();
	updk_mem_quiescent();
	cr_assert_eq(updk_mem_unregister(a, 4096), 0);
	cr_assert_eq(updk_iova(a), UPDK_IOVA_INVALID);
	updk_mem_thread_exit();
	cr_assert_eq(updk_iova(a), UPDK_IOVA_INVALID);
}

/* A fake IOMMU that records mappings, to check what lib/mem asks of lib/vfio. */
#define FAKE_MAX 64
static struct {
	bool active;
	struct vfio_iova_range ranges[4];
	int nranges;
	struct {
		void *va;
		uint64_t iova;
		size_t len;
	} maps[FAKE_MAX];
	unsigned nmaps;
	unsigned map_calls, unmap_calls;
} fake;

static bool fake_active(void)
{
	return fake.active;
}

static int fake_map(void *va, uint64_t iova, size_t len)
{
	cr_assert(fake.active, "map while no container is active");
	cr_assert_lt(fake.nmaps, FAKE_MAX);
	fake.map_calls++;
	for (int i = 0; i < fake.nranges; i++)
		if (iova >= fake.ranges[i].start && iova + len - 1 <= fake.ranges[i].end)
			goto ok;
	cr_assert_fail("IOVA 0x%lx+0x%zx outside the fake IOMMU's ranges", iova, len);
ok:
	fake.maps[fake.nmaps].va = va;
	fake.maps[fake.nmaps].iova = iova;
	fake.maps[fake.nmaps].len = len;
	fake.nmaps++;
	return 0;
}

static int fake_unmap(uint64_t iova, size_t len)
{
	fake.unmap_calls++;
	for (unsigned i = 0; i < fake.nmaps; i++) {
		if (fake.maps[i].iova == iova) {
			cr_assert_eq(fake.maps[i].len, len, "unmap with another length");
			fake.maps[i] = fake.maps[--fake.nmaps];
			return 0;
		}
	}
	cr_assert_fail("unmap of IOVA 0x%lx never mapped", iova);
	return -EINVAL;
}

static int fake_ranges(struct vfio_iova_range *out, unsigned max)
{
	if (!fake.active)
		return -ENODEV;
	memcpy(out, fake.ranges, fake.nranges * sizeof(*out));
	return fake.nranges;
}

static const struct mem_iommu_ops fake_ops = {
	.active = fake_active,
	.map = fake_map,
	.unmap = fake_unmap,
	.ranges = fake_ranges,
};

static void use_fake(void)
{
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_4K_PAGES };

	memset(&fake, 0, sizeof(fake));
	/* QEMU's intel-iommu: 39 bits with the interrupt range carved out. */
	fake.ranges[0] = (struct vfio_iova_range){ 0, 0xfedfffff };
	fake.ranges[1] = (struct vfio_iova_range){ 0xfef00000, (1ULL << 39) - 1 };
	fake.nranges = 2;
	mem_set_iommu_ops(&fake_ops);
	cr_assert_eq(updk_mem_init(&o), 0);
}

static bool fake_has(void *va, uint64_t iova, size_t len)
{
	for (unsigned i = 0; i < fake.nmaps; i++)
		if (fake.maps[i].va == va && fake.maps[i].iova == iova && fake.maps[i].len == len)
			return true;
	return false;
}

Test(mem_register, deferred_mappings_replayed_at_attach, .init = use_fake)
{
	uint8_t *a = area();
	uint64_t ia, ip, iq;
	void *p = updk_dma_alloc(4096, 0, UPDK_NUMA_ANY, &ip);

	cr_assert_eq(updk_mem_register(a, 4 * 4096), 0);
	ia = updk_iova(a);
	cr_assert_eq(fake.map_calls, 0, "mapped with no container");

	fake.active = true;
	cr_assert_eq(mem_vfio_attach(), 0);
	cr_assert_eq(fake.nmaps, 2, "%u mappings after attach", fake.nmaps);
	cr_assert(fake_has(a, ia, 4 * 4096), "registration not replayed");
	cr_assert_eq(updk_iova(p), ip);
	cr_assert(fake.maps[0].len >= 2 << 20 || fake.maps[1].len >= 2 << 20, "chunk not mapped");

	/* The space is now the kernel's: new IOVAs come from its low range. */
	struct ia_range sp[8];
	unsigned n = mem_iova_space(sp, 8);
	cr_assert_eq(n, 2);
	cr_assert_eq(sp[0].start, IOVA_LOW_RESERVED);
	cr_assert_eq(sp[0].end, 0xfee00000);
	cr_assert_eq(updk_mem_register(a + 8 * 4096, 4096), 0);
	iq = updk_iova(a + 8 * 4096);
	cr_assert(iq < 0xfee00000, "IOVA 0x%lx not from the kernel's first range", iq);
	cr_assert(fake_has(a + 8 * 4096, iq, 4096), "registration after attach not mapped");

	/* Unregister unmaps; detach forgets; a second attach maps everything again. */
	cr_assert_eq(updk_mem_unregister(a + 8 * 4096, 4096), 0);
	cr_assert(!fake_has(a + 8 * 4096, iq, 4096));
	mem_vfio_detach();
	fake.active = false;
	fake.nmaps = 0;
	fake.active = true;
	cr_assert_eq(mem_vfio_attach(), 0);
	cr_assert_eq(fake.nmaps, 2);
	cr_assert(fake_has(a, ia, 4 * 4096));
	cr_assert_eq(updk_mem_unregister(a, 4 * 4096), 0);
	updk_dma_free(p);
	cr_assert_eq(fake.nmaps, 1, "the emptied chunk stays mapped for reuse");
}

Test(mem_register, attach_refuses_memory_outside_the_kernel_ranges, .init = use_fake)
{
	uint8_t *a = area();

	cr_assert_eq(updk_mem_register(a, 4096), 0);
	/* An IOMMU with only 32 bits cannot reach the default space above 4 GiB. */
	fake.ranges[1] = (struct vfio_iova_range){ 0xfef00000, 0xffffffff };
	fake.active = true;
	cr_assert_eq(mem_vfio_attach(), -ERANGE);
	cr_assert_eq(fake.nmaps, 0);
}

/*
 * A group joining later brings reserved regions of its own (an RMRR, say) and the kernel
 * narrows the container's ranges: once told (mem_vfio_group_joined(), as lib/pci does after
 * every later open) the allocator hands out no IOVA there, and what it gave out before stays.
 */
Test(mem_register, later_group_narrows_the_space, .init = use_fake)
{
	uint8_t *a = area();
	uint64_t ia, ib, ic;
	struct ia_range sp[8];
	unsigned n;

	fake.active = true;
	cr_assert_eq(mem_vfio_attach(), 0);
	cr_assert_eq(updk_mem_register(a, 4096), 0);
	ia = updk_iova(a);
	cr_assert_lt(ia, 8UL << 20, "the first IOVA 0x%lx is not low", ia);

	/* The second group reserves [8 MiB, 16 MiB): everything given out lies below it. */
	fake.ranges[0] = (struct vfio_iova_range){ 0, (8UL << 20) - 1 };
	fake.ranges[2] = fake.ranges[1];
	fake.ranges[1] = (struct vfio_iova_range){ 16UL << 20, 0xfedfffff };
	fake.nranges = 3;
	cr_assert_eq(mem_vfio_group_joined(), 0);
	n = mem_iova_space(sp, 8);
	for (unsigned i = 0; i < n; i++)
		cr_assert(sp[i].end <= 8UL << 20 || sp[i].start >= 16UL << 20,
			  "space [0x%lx, 0x%lx) overlaps the new reserved region", sp[i].start,
			  sp[i].end);
	cr_assert_eq(updk_iova(a), ia, "a registration moved");

	/* 8 MiB do not fit below 8 MiB (the first 2 MiB are never given out): above 16 MiB. */
	cr_assert_eq(updk_mem_register(a + SZ_2M, 8UL << 20), 0);
	ib = updk_iova(a + SZ_2M);
	cr_assert_geq(ib, 16UL << 20, "8 MiB at IOVA 0x%lx, in the reserved region or below", ib);
	cr_assert(fake_has(a + SZ_2M, ib, 8UL << 20));
	/* and small ones still fill the space below it */
	cr_assert_eq(updk_mem_register(a + 6 * SZ_2M, 4096), 0);
	ic = updk_iova(a + 6 * SZ_2M);
	cr_assert_lt(ic, 8UL << 20, "4 KiB at IOVA 0x%lx", ic);

	cr_assert_eq(updk_mem_unregister(a + 6 * SZ_2M, 4096), 0);
	cr_assert_eq(updk_mem_unregister(a + SZ_2M, 8UL << 20), 0);
	cr_assert_eq(updk_mem_unregister(a, 4096), 0);
}

/*
 * Ranges that leave out IOVA given out already (which the kernel's check at the join refuses,
 * so only a kernel bug could bring it): -ERANGE and the space as it was.
 */
Test(mem_register, later_group_cannot_take_iova_in_use, .init = use_fake)
{
	uint8_t *a = area();
	struct ia_range before[8], after[8];
	unsigned nb, na;

	fake.active = true;
	cr_assert_eq(mem_vfio_attach(), 0);
	cr_assert_eq(updk_mem_register(a, 4096), 0);
	nb = mem_iova_space(before, 8);
	fake.ranges[0] = (struct vfio_iova_range){ 0, updk_iova(a) };
	cr_assert_eq(mem_vfio_group_joined(), -ERANGE);
	na = mem_iova_space(after, 8);
	cr_assert_eq(na, nb);
	cr_assert_arr_eq(after, before, nb * sizeof(before[0]));
	cr_assert_eq(updk_mem_unregister(a, 4096), 0);
}
