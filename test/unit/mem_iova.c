// SPDX-License-Identifier: BSD-3-Clause
/* IOVA allocator: randomised alloc/free sequences, ranges, the MSI window, coalescing. */
#include <errno.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "lib/mem/iova_alloc.h"

struct span {
	uint64_t start, end;
};

static int collect_free(uint64_t start, uint64_t end, void *arg)
{
	struct span *s = arg;
	unsigned i = 0;

	while (s[i].end)
		i++;
	cr_assert_lt(i, 63);
	s[i] = (struct span){ start, end };
	return 0;
}

/* The free ranges, in order, must be exactly @want. */
static void assert_free_is(const struct iova_alloc *a, const struct ia_range *want, unsigned n)
{
	struct span got[64] = { 0 };
	unsigned k = 0;

	iova_alloc_walk_free(a, collect_free, got);
	while (got[k].end)
		k++;
	cr_assert_eq(k, n, "%u free ranges, expected %u", k, n);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(got[i].start, want[i].start, "range %u starts at 0x%lx, not 0x%lx", i,
			     got[i].start, want[i].start);
		cr_assert_eq(got[i].end, want[i].end);
	}
}

static bool inside_one(const struct ia_range *r, unsigned n, uint64_t s, uint64_t e)
{
	for (unsigned i = 0; i < n; i++)
		if (s >= r[i].start && e <= r[i].end)
			return true;
	return false;
}

/* Random alloc/free on @r: no overlap, in range, never the MSI window, aligned, coalesced. */
static void random_run(const struct ia_range *r, unsigned n, unsigned seed, unsigned ops,
		       uint64_t max_pages)
{
	enum { MAXLIVE = 512 };
	struct span live[MAXLIVE];
	unsigned nlive = 0;
	struct iova_alloc a;
	uint64_t total = 0, used = 0;

	srand(seed);
	iova_alloc_init(&a);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(iova_alloc_add(&a, r[i].start, r[i].end), 0);
		total += r[i].end - r[i].start;
	}
	for (unsigned op = 0; op < ops; op++) {
		bool do_alloc = nlive == 0 || (nlive < MAXLIVE && rand() % 100 < 55);

		if (do_alloc) {
			uint64_t size =
				(1 + (uint64_t)rand() % max_pages) * 4096 - (rand() % 3) * 64;
			uint64_t align = 1ULL << (rand() % 22);
			uint64_t at;
			int ret = iova_alloc_alloc(&a, size, align, &at);

			if (ret == -ENOSPC)
				continue;
			cr_assert_eq(ret, 0);
			cr_assert_eq(at % align, 0, "0x%lx not aligned to 0x%lx", at, align);
			cr_assert(inside_one(r, n, at, at + size), "0x%lx+0x%lx outside the ranges",
				  at, size);
			cr_assert(at + size <= IOVA_MSI_START || at >= IOVA_MSI_END,
				  "0x%lx+0x%lx touches the MSI window", at, size);
			for (unsigned i = 0; i < nlive; i++)
				cr_assert(at + size <= live[i].start || at >= live[i].end,
					  "0x%lx+0x%lx overlaps [0x%lx, 0x%lx)", at, size,
					  live[i].start, live[i].end);
			cr_assert_eq(iova_alloc_size(&a, at), size);
			live[nlive++] = (struct span){ at, at + size };
			used += size;
		} else {
			unsigned i = (unsigned)rand() % nlive;
			uint64_t size = 0;

			cr_assert_eq(iova_alloc_free(&a, live[i].start, &size), 0);
			cr_assert_eq(size, live[i].end - live[i].start);
			used -= size;
			live[i] = live[--nlive];
		}
		cr_assert_eq(a.free_bytes + used, total);
	}
	while (nlive) {
		cr_assert_eq(iova_alloc_free(&a, live[nlive - 1].start, NULL), 0);
		nlive--;
	}
	/* Full coalescing: back to exactly the ranges given. */
	assert_free_is(&a, r, n);
	cr_assert_eq(a.nused, 0);
	iova_alloc_destroy(&a);
}

Test(mem_iova, random_default_space)
{
	struct ia_range r[8];
	unsigned n = iova_space_ranges(NULL, 0, r, 8);

	cr_assert_eq(n, 1);
	cr_assert_eq(r[0].start, IOVA_DEFAULT_START);
	cr_assert_eq(r[0].end, IOVA_DEFAULT_END);
	for (unsigned seed = 1; seed <= 4; seed++)
		random_run(r, n, seed, 4000, 1024);
}

/* A small space around the MSI window, so the allocator is pushed against it and fills up. */
Test(mem_iova, random_around_msi_window)
{
	const struct vfio_iova_range k[] = { { 0xfd000000, 0xffffffff } };
	struct ia_range r[8];
	unsigned n = iova_space_ranges(k, 1, r, 8);

	cr_assert_eq(n, 2);
	cr_assert_eq(r[0].start, 0xfd000000);
	cr_assert_eq(r[0].end, IOVA_MSI_START);
	cr_assert_eq(r[1].start, IOVA_MSI_END);
	cr_assert_eq(r[1].end, 0x100000000);
	for (unsigned seed = 1; seed <= 4; seed++)
		random_run(r, n, seed, 4000, 256);
}

Test(mem_iova, qemu_viommu_ranges)
{
	/* What QEMU's intel-iommu reports (39-bit, the interrupt range carved out). */
	const struct vfio_iova_range k[] = { { 0xfef00000, 0x7fffffffff }, { 0, 0xfedfffff } };
	struct ia_range r[8];
	unsigned n = iova_space_ranges(k, 2, r, 8);

	cr_assert_eq(n, 2);
	cr_assert_eq(r[0].start, IOVA_LOW_RESERVED);
	cr_assert_eq(r[0].end, 0xfee00000);
	cr_assert_eq(r[1].start, IOVA_MSI_END);
	cr_assert_eq(r[1].end, 1ULL << 39);
	/* The default space fits inside, as the attach of a first device needs. */
	cr_assert(IOVA_DEFAULT_START >= r[1].start && IOVA_DEFAULT_END <= r[1].end);
	random_run(r, n, 7, 3000, 4096);
}

Test(mem_iova, whole_64bit_range_is_clipped)
{
	const struct vfio_iova_range k[] = { { 0, UINT64_MAX } };
	struct ia_range r[8];
	unsigned n = iova_space_ranges(k, 1, r, 8);

	cr_assert_eq(n, 2);
	cr_assert_eq(r[0].start, IOVA_LOW_RESERVED);
	cr_assert_eq(r[0].end, IOVA_MSI_START);
	cr_assert_eq(r[1].start, IOVA_MSI_END);
	cr_assert_eq(r[1].end, IOVA_SPACE_LIMIT);
}

Test(mem_iova, exact_fit_needs_alignment_fallback)
{
	struct iova_alloc a;
	uint64_t at;

	iova_alloc_init(&a);
	cr_assert_eq(iova_alloc_add(&a, 0x1000, 0x3000), 0);
	/* size + align - 1 exceeds the range, but 0x2000..0x3000 fits exactly. */
	cr_assert_eq(iova_alloc_alloc(&a, 0x1000, 0x2000, &at), 0);
	cr_assert_eq(at, 0x2000);
	cr_assert_eq(iova_alloc_alloc(&a, 0x1000, 0x2000, &at), -ENOSPC);
	cr_assert_eq(iova_alloc_alloc(&a, 0x1000, 0x1000, &at), 0);
	cr_assert_eq(at, 0x1000);
	cr_assert_eq(iova_alloc_alloc(&a, 1, 1, &at), -ENOSPC);
	cr_assert_eq(iova_alloc_max_free(&a), 0);
	iova_alloc_destroy(&a);
}

Test(mem_iova, bad_arguments_and_frees)
{
	struct iova_alloc a;
	uint64_t at, at2;

	iova_alloc_init(&a);
	cr_assert_eq(iova_alloc_add(&a, 0x10000, 0x20000), 0);
	cr_assert_eq(iova_alloc_add(&a, 0x18000, 0x30000), -EINVAL, "overlapping add accepted");
	cr_assert_eq(iova_alloc_add(&a, 0x5000, 0x5000), -EINVAL);
	cr_assert_eq(iova_alloc_alloc(&a, 0, 1, &at), -EINVAL);
	cr_assert_eq(iova_alloc_alloc(&a, 0x1000, 3, &at), -EINVAL);
	cr_assert_eq(iova_alloc_alloc(&a, 0x1000, 0x1000, &at), 0);
	cr_assert_eq(iova_alloc_alloc(&a, 0x1000, 0x1000, &at2), 0);
	cr_assert_eq(iova_alloc_add(&a, at, at + 0x1000), -EINVAL, "allocated range re-added");
	cr_assert_eq(iova_alloc_free(&a, at + 0x10, NULL), -ENOENT);
	cr_assert_eq(iova_alloc_free(&a, at, NULL), 0);
	cr_assert_eq(iova_alloc_free(&a, at, NULL), -ENOENT, "double free accepted");
	cr_assert_eq(iova_alloc_free(&a, at2, NULL), 0);
	assert_free_is(&a, (const struct ia_range[]){ { 0x10000, 0x20000 } }, 1);
	iova_alloc_destroy(&a);
}

Test(mem_iova, adjacent_adds_coalesce)
{
	struct iova_alloc a;

	iova_alloc_init(&a);
	cr_assert_eq(iova_alloc_add(&a, 0x3000, 0x4000), 0);
	cr_assert_eq(iova_alloc_add(&a, 0x1000, 0x2000), 0);
	cr_assert_eq(iova_alloc_add(&a, 0x2000, 0x3000), 0);
	assert_free_is(&a, (const struct ia_range[]){ { 0x1000, 0x4000 } }, 1);
	iova_alloc_destroy(&a);
}

Test(mem_iova, set_ranges_keeps_allocations)
{
	struct ia_range def[4], q[4];
	const struct vfio_iova_range k[] = { { 0, 0xfedfffff }, { 0xfef00000, 0x7fffffffff } };
	struct iova_alloc a;
	uint64_t x, y, bad = 0;
	unsigned n = iova_space_ranges(NULL, 0, def, 4), nq = iova_space_ranges(k, 2, q, 4);

	iova_alloc_init(&a);
	cr_assert_eq(iova_alloc_set_ranges(&a, def, n, NULL), 0);
	cr_assert_eq(iova_alloc_alloc(&a, 2 << 20, 2 << 20, &x), 0);
	cr_assert_eq(iova_alloc_alloc(&a, 4096, 4096, &y), 0);
	cr_assert_eq(x, IOVA_DEFAULT_START);

	/* A space that does not contain them is refused, and nothing changes. */
	const struct ia_range small[] = { { 1ULL << 20, 1ULL << 30 } };
	cr_assert_eq(iova_alloc_set_ranges(&a, small, 1, &bad), -ERANGE);
	cr_assert_eq(bad, x);
	cr_assert_eq(iova_alloc_size(&a, x), 2 << 20);

	cr_assert_eq(iova_alloc_set_ranges(&a, q, nq, &bad), 0);
	cr_assert_eq(iova_alloc_size(&a, x), 2 << 20);
	cr_assert_eq(iova_alloc_size(&a, y), 4096);
	/* New allocations now come from the low range the kernel allows. */
	uint64_t z;
	cr_assert_eq(iova_alloc_alloc(&a, 4096, 4096, &z), 0);
	cr_assert_eq(z, IOVA_LOW_RESERVED);
	cr_assert_eq(iova_alloc_free(&a, x, NULL), 0);
	cr_assert_eq(iova_alloc_free(&a, y, NULL), 0);
	cr_assert_eq(iova_alloc_free(&a, z, NULL), 0);
	assert_free_is(&a, q, nq);
	iova_alloc_destroy(&a);
}
