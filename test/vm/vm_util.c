// SPDX-License-Identifier: BSD-3-Clause
/* Helpers shared by the VM-ring suites (see vm_util.h). */
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "test/vm/vm_util.h"

const char *vm_env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v)
		cr_skip_test("%s is not set: these tests run inside the test guest (make check-vm)",
			     name);
	return v;
}

const char *vm_setup_sh(void)
{
	const char *s = getenv("UPDK_SETUP_SH");

	return s && *s ? s : "scripts/setup.sh";
}

void vm_driver_of(const char *bdf, char *buf, size_t len)
{
	char path[256], target[256];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (len)
		buf[0] = '\0';
	if (n <= 0 || !len)
		return;
	target[n] = '\0';
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	snprintf(buf, len, "%s", base);
}

void vm_bind(const char *bdf, const char *want)
{
	const char *verb = strcmp(want, "vfio-pci") ? "unbind" : "bind";
	char cmd[512], drv[64];
	int rc;

	vm_driver_of(bdf, drv, sizeof(drv));
	if (!strcmp(drv, want))
		return;
	snprintf(cmd, sizeof(cmd), "%s %s %s >&2", vm_setup_sh(), verb, bdf);
	rc = system(cmd);
	cr_assert_eq(rc, 0, "'%s' failed (status %d)", cmd, rc);
	vm_driver_of(bdf, drv, sizeof(drv));
	cr_assert_str_eq(drv, want, "%s is bound to '%s', not %s", bdf, drv, want);
}

int vm_group_of(const char *bdf)
{
	char path[256], target[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	cr_assert_gt(n, 0, "%s has no IOMMU group in the guest", bdf);
	target[n] = '\0';
	return atoi(strrchr(target, '/') + 1);
}

char *vm_capture(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);

	cr_assert(p && buf, "cannot run '%s'", cmd);
	while (n + 1 < cap) {
		size_t got = fread(buf + n, 1, cap - 1 - n, p);

		if (!got)
			break;
		n += got;
	}
	buf[n] = '\0';
	cr_assert_eq(pclose(p), 0, "'%s' failed:\n%s", cmd, buf);
	return buf;
}

void vm_run_script(const char *script)
{
	char cmd[512];
	char *out;

	snprintf(cmd, sizeof(cmd), "%s 2>&1", script);
	out = vm_capture(cmd);
	fputs(out, stderr);
	free(out);
}

void vm_nvme_devs(const char *bdf, uint32_t nsid, char *ctrl, char *ns, size_t len)
{
	char pattern[256];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "/sys/bus/pci/devices/%s/nvme/nvme*/nvme*n%u", bdf,
		 nsid);
	for (int i = 0; i < 400; i++) {
		if (!glob(pattern, 0, NULL, &g)) {
			const char *nsname = strrchr(g.gl_pathv[0], '/') + 1;
			char c[48];

			snprintf(ns, len, "/dev/%.40s", nsname);
			snprintf(c, sizeof(c), "%.40s", nsname);
			*strrchr(c, 'n') = '\0';
			snprintf(ctrl, len, "/dev/%s", c);
			globfree(&g);
			if (!access(ns, R_OK) && !access(ctrl, R_OK))
				return;
		}
		usleep(50 * 1000);
	}
	cr_assert_fail("the nvme driver brought up no namespace %u on %s in 20 s", nsid, bdf);
}

long long vm_msix_count(const char *bdf, unsigned v)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char line[4096], want[64];
	long long n = -1;

	cr_assert_not_null(f);
	snprintf(want, sizeof(want), "vfio-msix[%u](%s)", v, bdf);
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':'), *end;

		if (!p || !strstr(line, want))
			continue;
		n = 0;
		/* "  NN:  c0  c1 ...  PCI-MSIX-... vfio-msix[v](bdf)": the per-CPU counts */
		for (p++;; p = end) {
			long long c = strtoll(p, &end, 10);

			if (end == p)
				break;
			n += c;
		}
	}
	fclose(f);
	return n;
}

double vm_thread_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

double vm_wall_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
