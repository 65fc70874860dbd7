// SPDX-License-Identifier: BSD-3-Clause
/* Hugepage reservation and backing choice for the lib/mem unit tests. */
#include <errno.h>
#include <stdint.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "test/unit/mem_env.h"

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static bool hugetlbfs_mounted(void)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *m;
	bool found = false;

	if (!f)
		return false;
	while ((m = getmntent(f)))
		if (!strcmp(m->mnt_type, "hugetlbfs"))
			found = true;
	endmntent(f);
	return found;
}

bool mem_env_hugepages(unsigned pages)
{
	const char *nr = "/proc/sys/vm/nr_hugepages";
	long have = read_long(nr);

	if (have < 0)
		return false;
	if (have < (long)pages && geteuid() == 0) {
		FILE *f = fopen(nr, "w");

		if (f) {
			fprintf(f, "%u\n", pages);
			fclose(f);
		}
	}
	if (!hugetlbfs_mounted() && geteuid() == 0) {
		mkdir("/dev/hugepages", 0755);
		if (mount("hugetlbfs", "/dev/hugepages", "hugetlbfs", 0, NULL) < 0 &&
		    errno != EBUSY)
			cr_log_warn("mount hugetlbfs on /dev/hugepages: %s", strerror(errno));
	}
	return read_long(nr) > 0;
}

void mem_env_use(enum updk_mem_backing backing)
{
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = backing };

	if (backing == UPDK_MEM_HUGEPAGES && !mem_env_hugepages(128))
		cr_skip_test("no hugepages and not root: run scripts/setup.sh hugepages 128");
	cr_assert_eq(updk_mem_init(&o), 0);
}

unsigned long mem_env_page_size_of(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	bool in = false;
	unsigned long size = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, kb;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && sscanf(line, "KernelPageSize: %lu kB", &kb) == 1)
			size = kb << 10;
	}
	fclose(f);
	return size;
}
