// SPDX-License-Identifier: BSD-3-Clause
/* The sysfs root and symbolic-link names that lib/vfio and lib/pci both read (lib/util/sysfs.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/sysfs.h"

const char *sysfs_root(void)
{
	const char *r = getenv("UPDK_SYSFS_ROOT");

	return r && *r ? r : "/sys";
}

int sysfs_link_name(const char *path, char *buf, size_t len)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n;

	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!*base)
		return -EINVAL;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	memcpy(buf, base, strlen(base) + 1);
	return 0;
}
