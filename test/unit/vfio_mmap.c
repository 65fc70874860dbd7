// SPDX-License-Identifier: BSD-3-Clause
/*
 * Region mmap with sparse-mmap areas (VFIO_REGION_INFO_CAP_SPARSE_MMAP), on a file standing in
 * for the device fd: the areas are mapped over a PROT_NONE reservation, the holes stay
 * inaccessible, a range that holds no area is refused, and bad ranges are caught.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/vfio/vfio.h"
#include "lib/vfio/vfio_priv.h"

#define PG 4096u
#define REGION_OFF 0x10000u /* where the region starts in the "device fd" */
#define REGION_SIZE 0x10000u

static int fd = -1;

/* Every page of the file holds its page number in each byte. */
static void setup(void)
{
	char path[] = "/tmp/updk-vfio-mmap.XXXXXX";
	unsigned char page[PG];

	cr_assert_eq(sysconf(_SC_PAGESIZE), PG, "the test assumes 4 KiB pages");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	for (unsigned i = 0; i < (REGION_OFF + REGION_SIZE) / PG; i++) {
		memset(page, (int)i, sizeof(page));
		cr_assert_eq(pwrite(fd, page, PG, (off_t)i * PG), (ssize_t)PG);
	}
}

static void teardown(void)
{
	close(fd);
}

TestSuite(vfio_mmap, .init = setup, .fini = teardown);

/* A 64 KiB region mmappable in [0, 0x3000) and [0x5000, 0xb000): a hole, and a tail hole. */
static struct vfio_region_desc sparse_region(void)
{
	struct vfio_region_desc r = {
		.index = 0,
		.size = REGION_SIZE,
		.offset = REGION_OFF,
		.readable = true,
		.writable = true,
		.mmappable = true,
		.sparse = true,
		.nr_areas = 2,
		.areas = { { 0, 0x3000 }, { 0x5000, 0x6000 } },
	};
	return r;
}

/* The permissions /proc/self/maps gives the page at @p, e.g. "rw-s", or "" if unmapped. */
static void perms_at(const void *p, char out[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi, a = (unsigned long)p;
	char line[512], perms[5];

	out[0] = '\0';
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && a >= lo && a < hi) {
			memcpy(out, perms, 5);
			break;
		}
	}
	fclose(f);
}

static unsigned char page_value(const unsigned char *base, uint64_t region_off)
{
	return base[region_off - (region_off % PG)];
}

Test(vfio_mmap, sparse_areas_mapped_holes_inaccessible)
{
	struct vfio_region_desc r = sparse_region();
	unsigned char *p = vfio_region_mmap_fd(fd, &r, 0, REGION_SIZE, PROT_READ | PROT_WRITE);
	unsigned char b;
	char perms[5];

	cr_assert_not_null(p, "%s", strerror(errno));
	for (uint64_t off = 0; off < REGION_SIZE; off += PG) {
		bool in_area = off < 0x3000 || (off >= 0x5000 && off < 0xb000);

		perms_at(p + off, perms);
		if (in_area) {
			cr_assert_str_eq(perms, "rw-s", "page 0x%llx", (unsigned long long)off);
			cr_assert_eq(page_value(p, off), (REGION_OFF + off) / PG);
		} else {
			cr_assert_str_eq(perms, "---p", "hole page 0x%llx",
					 (unsigned long long)off);
		}
	}
	/* Writes reach the "device". */
	p[0x5000] = 0xee;
	cr_assert_eq(pread(fd, &b, 1, REGION_OFF + 0x5000), 1);
	cr_assert_eq(b, 0xee);
	cr_assert_eq(munmap(p, REGION_SIZE), 0);
}

Test(vfio_mmap, sub_range_inside_an_area)
{
	struct vfio_region_desc r = sparse_region();
	unsigned char *p = vfio_region_mmap_fd(fd, &r, 0x6000, 0x2000, PROT_READ);

	cr_assert_not_null(p);
	cr_assert_eq(p[0], (REGION_OFF + 0x6000) / PG);
	cr_assert_eq(p[PG], (REGION_OFF + 0x7000) / PG);
	munmap(p, 0x2000);
}

Test(vfio_mmap, range_across_a_hole_edge)
{
	struct vfio_region_desc r = sparse_region();
	unsigned char *p = vfio_region_mmap_fd(fd, &r, 0x2000, 0x4000, PROT_READ);
	char perms[5];

	cr_assert_not_null(p);
	cr_assert_eq(p[0], (REGION_OFF + 0x2000) / PG);
	perms_at(p + PG, perms);
	cr_assert_str_eq(perms, "---p");
	cr_assert_eq(p[3 * PG], (REGION_OFF + 0x5000) / PG);
	munmap(p, 0x4000);
}

Test(vfio_mmap, refusals)
{
	struct vfio_region_desc r = sparse_region();

	errno = 0;
	cr_assert_null(vfio_region_mmap_fd(fd, &r, 0x3000, 0x2000, PROT_READ));
	cr_assert_eq(errno, ENXIO, "a range in a hole maps nothing");
	cr_assert_null(vfio_region_mmap_fd(fd, &r, 0x100, PG, PROT_READ));
	cr_assert_eq(errno, EINVAL, "misaligned offset");
	cr_assert_null(vfio_region_mmap_fd(fd, &r, 0, 100, PROT_READ));
	cr_assert_eq(errno, EINVAL, "misaligned length");
	cr_assert_null(vfio_region_mmap_fd(fd, &r, 0xf000, 2 * PG, PROT_READ));
	cr_assert_eq(errno, EINVAL, "past the end");
	cr_assert_null(vfio_region_mmap_fd(fd, &r, 0, 0, PROT_READ));
	cr_assert_eq(errno, EINVAL, "empty");
	r.mmappable = false;
	cr_assert_null(vfio_region_mmap_fd(fd, &r, 0, PG, PROT_READ));
	cr_assert_eq(errno, ENOTSUP);
}

Test(vfio_mmap, whole_region_without_sparse_areas)
{
	struct vfio_region_desc r = sparse_region();
	unsigned char *p;

	r.sparse = false;
	r.nr_areas = 0;
	p = vfio_region_mmap_fd(fd, &r, 0, REGION_SIZE, PROT_READ);
	cr_assert_not_null(p);
	for (uint64_t off = 0; off < REGION_SIZE; off += PG)
		cr_assert_eq(page_value(p, off), (REGION_OFF + off) / PG);
	munmap(p, REGION_SIZE);
}

Test(vfio_mmap, small_region_maps_its_page)
{
	struct vfio_region_desc r = sparse_region();
	unsigned char *p;

	r.sparse = false;
	r.size = 256; /* a BAR smaller than a page */
	p = vfio_region_mmap_fd(fd, &r, 0, PG, PROT_READ);
	cr_assert_not_null(p);
	cr_assert_eq(p[0], REGION_OFF / PG);
	munmap(p, PG);
	cr_assert_null(vfio_region_mmap_fd(fd, &r, 0, 2 * PG, PROT_READ));
}
