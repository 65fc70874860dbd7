// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk on each IOMMU the test guest can have (test/vm/run.sh --iommu intel|amd|virtio):
 *
 * - attaching: on an IOMMU that remaps interrupts (VT-d, AMD-Vi) a device opens; on one that
 *   does not (virtio-iommu) vfio_iommu_type1 refuses it unless allow_unsafe_interrupts is set,
 *   and updk-nvme then says so: the cause, the parameter, the risk, what to do. The same for a
 *   second group joining a container that has its IOMMU (the parameter changed in between);
 * - IOVAs: every range updk maps lies inside the usable ranges the kernel reports in
 *   VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE (read here with raw ioctls, not through lib/vfio) and
 *   outside every reserved region of every group in the container
 *   (/sys/kernel/iommu_groups/N/reserved_regions: the MSI window on all three, AMD-Vi's
 *   HyperTransport range), and lib/vfio refuses a mapping into each reserved region.
 *
 * UPDK_VM_IOMMU says which IOMMU run.sh gave the guest. Devices are rebound with
 * scripts/setup.sh, so these run one at a time (check.sh: --jobs 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <updk/mem.h>
#include <updk/net.h>
#include <updk/nvme.h>
#include <updk/pci.h>

#include "lib/mem/iova_alloc.h"
#include "lib/mem/mem_internal.h"
#include "lib/vfio/uapi.h"
#include "lib/vfio/vfio.h"
#include "test/common/log_capture.h"
#include "test/common/perf_util.h"
#include "test/model/held.h"
#include "test/vm/vm_util.h"

#define UNSAFE "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"
#define MAX_RANGES 16
#define MAX_MAPS 4096

struct range {
	uint64_t start, end; /* inclusive, as the kernel reports them */
	char type[24];
};

/* ---- the guest's IOMMU ------------------------------------------------------------------- */

static bool unsafe_allowed(void)
{
	char v = 0;
	FILE *f = fopen(UNSAFE, "r");

	cr_assert_not_null(f, UNSAFE ": %s", strerror(errno));
	cr_assert_eq(fread(&v, 1, 1, f), 1);
	fclose(f);
	return v == 'Y';
}

static void set_unsafe(bool on)
{
	FILE *f = fopen(UNSAFE, "w");

	cr_assert_not_null(f, UNSAFE ": %s", strerror(errno));
	fputs(on ? "1" : "0", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(unsafe_allowed(), on);
}

/* Does the guest's IOMMU remap interrupts? run.sh gives intremap=on to intel and amd. */
static bool remaps_interrupts(void)
{
	return strcmp(vm_env("UPDK_VM_IOMMU"), "virtio") != 0;
}

/* The kernel's log has its own line for the refusal (vfio_iommu_type1_attach_group()). */
static unsigned kernel_refusals(void)
{
	char *log = vm_capture("dmesg");
	unsigned n = perf_test_count(log, "No interrupt remapping support");

	free(log);
	return n;
}

/* updk-nvme, next to this test binary (build/bin), with @args; its status and output. */
static int run_tool(const char *args, char **out)
{
	char exe[512], cmd[1024];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *p;
	size_t got = 0;

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0'; /* build/test */
	snprintf(cmd, sizeof(cmd), "%s/../bin/updk-nvme %s 2>&1", exe, args);
	*out = calloc(1, 1 << 16);
	p = popen(cmd, "r");
	cr_assert(p && *out, "cannot run %s", cmd);
	while (got < (1 << 16) - 1) {
		size_t k = fread(*out + got, 1, (1 << 16) - 1 - got, p);

		if (!k)
			break;
		got += k;
	}
	fputs(*out, stderr);
	return pclose(p);
}

/* ---- what the kernel reports ------------------------------------------------------------- */

/*
 * The container's usable IOVA ranges with the groups of @bdfs in it, asked of the kernel here
 * with its own ioctls (Documentation/driver-api/vfio.rst): VFIO_IOMMU_GET_INFO and the
 * VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE capability. Returns how many; everything closed after.
 */
static int kernel_iova_ranges(const char *const *bdfs, int nbdfs, struct range *out)
{
	int groups[8], ctr, n = 0;
	uint8_t *buf = NULL;
	uint32_t size = sizeof(struct vfio_iommu_type1_info);
	struct vfio_iommu_type1_info *info;

	ctr = open("/dev/vfio/vfio", O_RDWR);
	cr_assert_geq(ctr, 0, "/dev/vfio/vfio: %s", strerror(errno));
	for (int i = 0; i < nbdfs; i++) {
		char path[64];
		struct vfio_group_status st = { .argsz = sizeof(st) };

		snprintf(path, sizeof(path), "/dev/vfio/%d", vm_group_of(bdfs[i]));
		groups[i] = open(path, O_RDWR);
		cr_assert_geq(groups[i], 0, "%s: %s", path, strerror(errno));
		cr_assert_eq(ioctl(groups[i], VFIO_GROUP_GET_STATUS, &st), 0);
		cr_assert(st.flags & VFIO_GROUP_FLAGS_VIABLE, "%s: group not viable", path);
		cr_assert_eq(ioctl(groups[i], VFIO_GROUP_SET_CONTAINER, &ctr), 0, "%s: %s", path,
			     strerror(errno));
		if (i == 0)
			cr_assert_eq(ioctl(ctr, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0,
				     "VFIO_SET_IOMMU: %s", strerror(errno));
	}
	for (;;) {
		buf = realloc(buf, size);
		cr_assert_not_null(buf);
		memset(buf, 0, size);
		info = (struct vfio_iommu_type1_info *)buf;
		info->argsz = size;
		cr_assert_eq(ioctl(ctr, VFIO_IOMMU_GET_INFO, info), 0, "%s", strerror(errno));
		if (info->argsz <= size)
			break;
		size = info->argsz;
	}
	cr_assert(info->flags & VFIO_IOMMU_INFO_CAPS, "the kernel reports no capabilities");
	for (uint32_t off = info->cap_offset; off;) {
		struct vfio_info_cap_header h;

		cr_assert_leq(off + sizeof(h), size);
		memcpy(&h, buf + off, sizeof(h));
		if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range c;

			memcpy(&c, buf + off, sizeof(c));
			cr_assert_leq(c.nr_iovas, MAX_RANGES);
			for (uint32_t i = 0; i < c.nr_iovas; i++) {
				struct linux_vfio_iova_range r;

				memcpy(&r, buf + off + sizeof(c) + i * sizeof(r), sizeof(r));
				out[n++] = (struct range){ r.start, r.end, "usable" };
			}
		}
		off = h.next;
	}
	free(buf);
	for (int i = 0; i < nbdfs; i++)
		close(groups[i]);
	close(ctr);
	cr_assert_gt(n, 0, "no IOVA range capability");
	return n;
}

/* /sys/kernel/iommu_groups/N/reserved_regions of @bdf's group, appended to @out. */
static int reserved_regions(const char *bdf, struct range *out, int n)
{
	char path[128], type[24];
	unsigned long long s, e;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/reserved_regions",
		 vm_group_of(bdf));
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while (fscanf(f, "%llx %llx %23s", &s, &e, type) == 3) {
		cr_assert_lt(n, MAX_RANGES);
		out[n] = (struct range){ s, e, "" };
		snprintf(out[n].type, sizeof(out[n].type), "%s", type);
		cr_log_info("group of %s reserves 0x%llx-0x%llx (%s)", bdf, s, e, type);
		n++;
	}
	fclose(f);
	return n;
}

static bool inside_one(uint64_t s, uint64_t e, const struct range *r, int n)
{
	for (int i = 0; i < n; i++)
		if (s >= r[i].start && e <= r[i].end)
			return true;
	return false;
}

/*
 * Does [s, e] touch a reserved region? "direct-relaxable" ones (RMRRs the kernel lets VFIO map
 * over) do not count: vfio_iommu_resv_exclude() leaves them usable.
 */
static const struct range *touches(uint64_t s, uint64_t e, const struct range *r, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(r[i].type, "direct-relaxable") && s <= r[i].end && e >= r[i].start)
			return &r[i];
	return NULL;
}

/* ---- every mapping lib/mem makes, through lib/vfio -------------------------------------- */

static struct {
	uint64_t iova;
	size_t len;
} maps[MAX_MAPS];
static unsigned nmaps;

static int recording_map(void *va, uint64_t iova, size_t len)
{
	int rc = vfio_dma_map(va, iova, len);

	if (!rc && nmaps < MAX_MAPS)
		maps[nmaps++] = (typeof(maps[0])){ iova, len };
	return rc;
}

static const struct mem_iommu_ops recording_ops = {
	.active = vfio_container_active,
	.map = recording_map,
	.unmap = vfio_dma_unmap,
	.ranges = vfio_iova_ranges,
};

/* ---- the tests ---------------------------------------------------------------------------- */

/* The parameter as run.sh set it, put back after each test (outside the guest: nothing). */
static int unsafe_at_start = -1;

static void remember_unsafe(void)
{
	if (getenv("UPDK_VM_IOMMU"))
		unsafe_at_start = unsafe_allowed();
}

static void restore_unsafe(void)
{
	if (unsafe_at_start >= 0)
		set_unsafe(unsafe_at_start);
}

TestSuite(iommu, .timeout = 300, .init = remember_unsafe, .fini = restore_unsafe);

/*
 * The guest is the one asked for (run.sh --kernel, --iommu, --unsafe-interrupts), so that a
 * matrix run cannot pass on the wrong platform: the kernel's series, the IOMMU behind the NVMe
 * function as sysfs links it (dmarN for VT-d, ivhdN for AMD-Vi, under the virtio device for
 * virtio-iommu), interrupt remapping where that IOMMU offers it (run.sh gives VT-d and AMD-Vi
 * intremap=on), and the parameter as the command line set it.
 */
Test(iommu, guest_has_the_kernel_and_iommu_asked_for)
{
	const char *kernel = vm_env("UPDK_VM_KERNEL"), *iommu = vm_env("UPDK_VM_IOMMU");
	const char *bdf = vm_env("UPDK_VM_NVME");
	char path[128], target[256], *rel, *log;
	size_t klen = strlen(kernel);
	ssize_t n;

	rel = vm_capture("uname -r");
	cr_assert(!strncmp(rel, kernel, klen) && rel[klen] == '.', "kernel %s is not of %s", rel,
		  kernel);
	free(rel);

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	cr_assert_gt(n, 0, "%s: %s (no IOMMU translates for it)", path, strerror(errno));
	target[n] = '\0';
	/* A remapped IO-APIC's chip is "IR-IO-APIC" in /proc/interrupts (dmesg may have wrapped). */
	log = vm_capture("cat /proc/interrupts");
	if (!strcmp(iommu, "intel")) {
		cr_assert(strstr(target, "/dmar"), "%s -> %s", path, target);
		cr_assert(strstr(log, "IR-IO-APIC"), "no interrupt remapping:\n%s", log);
	} else if (!strcmp(iommu, "amd")) {
		cr_assert(strstr(target, "/ivhd"), "%s -> %s", path, target);
		cr_assert(strstr(log, "IR-IO-APIC"), "no interrupt remapping:\n%s", log);
	} else {
		cr_assert_str_eq(iommu, "virtio");
		cr_assert(strstr(target, "0000:00:03.0/virtio"), "%s -> %s", path, target);
		cr_assert_null(strstr(log, "IR-IO-APIC"),
			       "interrupt remapping behind virtio-iommu");
	}
	free(log);
	log = vm_capture("cat /proc/cmdline");
	cr_assert_eq(unsafe_allowed(), !!strstr(log, "vfio_iommu_type1.allow_unsafe_interrupts=1"),
		     "allow_unsafe_interrupts is not what the command line says: %s", log);
	free(log);
}

/*
 * What the administrator chose is what the user sees: where the IOMMU cannot isolate
 * interrupts and allow_unsafe_interrupts is not set, updk-nvme fails with the cause, the
 * parameter, the risk and the ways out (and the kernel logs its own refusal); everywhere else it
 * works.
 */
Test(iommu, attach_refused_or_works_as_the_platform_says)
{
	const char *bdf = vm_env("UPDK_VM_NVME");
	bool refuse = !remaps_interrupts() && !unsafe_allowed();
	struct updk_pci_dev *dev = NULL;
	unsigned before = kernel_refusals();
	char args[64], *out;
	int status;

	cr_log_info("IOMMU %s, allow_unsafe_interrupts %s: expecting %s", vm_env("UPDK_VM_IOMMU"),
		    unsafe_allowed() ? "Y" : "N", refuse ? "a refusal" : "success");
	vm_bind(bdf, "vfio-pci");
	snprintf(args, sizeof(args), "id-ctrl %s", bdf);
	status = run_tool(args, &out);
	if (!refuse) {
		cr_assert_eq(status, 0, "updk-nvme id-ctrl failed");
		cr_assert(strstr(out, "QEMU NVMe Ctrl"));
		free(out);
		return;
	}
	cr_assert_neq(status, 0, "updk-nvme id-ctrl worked where VFIO should refuse");
	cr_assert(strstr(out, "VFIO_SET_IOMMU(Type1v2) for "), "%s", out);
	cr_assert(strstr(out, "refused with EPERM: virtio-iommu (0000:00:03.0) does not remap "
			      "interrupts"));
	cr_assert(strstr(out, "allow_unsafe_interrupts is set"));
	cr_assert(strstr(out, "inject interrupts into the host"));
	cr_assert(strstr(out, "echo 1 > " UNSAFE));
	cr_assert(strstr(out, "options vfio_iommu_type1 allow_unsafe_interrupts=1"));
	free(out);
	cr_assert_gt(kernel_refusals(), before, "the kernel logged no refusal of its own");

	/* The library call: -EPERM, and nothing held afterwards. */
	struct held h = held_now();

	cr_assert_eq(updk_pci_open(bdf, &dev), -EPERM);
	cr_assert_null(dev);
	cr_assert_not(vfio_container_active());
	held_assert_same(h, "the refused open");
}

/*
 * A second group joins a container whose IOMMU is set: the type1 attach happens in
 * VFIO_GROUP_SET_CONTAINER then, and its refusal is named as well. The parameter is switched
 * off between the two opens (it is writable at run time); on an IOMMU that remaps interrupts
 * that changes nothing.
 */
Test(iommu, second_group_refused_as_the_platform_says)
{
	const char *nvme = vm_env("UPDK_VM_NVME"), *nvme2 = vm_env("UPDK_VM_NVME2");
	struct updk_pci_dev *d1 = NULL, *d2 = NULL;
	struct log_capture lc;
	char *log, want[160];
	int rc;

	vm_bind(nvme, "vfio-pci");
	vm_bind(nvme2, "vfio-pci");
	set_unsafe(true);
	cr_assert_eq(updk_pci_open(nvme, &d1), 0);
	set_unsafe(false);
	log_capture_start(&lc);
	rc = updk_pci_open(nvme2, &d2);
	log = log_capture_stop(&lc);
	if (remaps_interrupts()) {
		cr_assert_eq(rc, 0, "%s", log);
		updk_pci_close(d2);
	} else {
		cr_assert_eq(rc, -EPERM, "%s", log);
		cr_assert_null(d2);
		snprintf(want, sizeof(want),
			 "joining %s's group to the container (VFIO_GROUP_SET_CONTAINER) refused "
			 "with EPERM",
			 nvme2);
		cr_assert(strstr(log, want), "no \"%s\" in:\n%s", want, log);
		cr_assert(strstr(log, "virtio-iommu (0000:00:03.0) does not remap interrupts"));
		/* the first device keeps its container and its registers */
		cr_assert(vfio_container_active());
		cr_assert_eq(updk_pci_reg_read32(d1, 0, 0x08), 0x00010400u, "NVMe VS register");
		/* and with the parameter back, the second group joins */
		set_unsafe(true);
		cr_assert_eq(updk_pci_open(nvme2, &d2), 0);
		updk_pci_close(d2);
	}
	free(log);
	updk_pci_close(d1);
}

/*
 * Every IOVA updk maps, on this IOMMU: memory allocated and registered before any device is
 * open (mapped when the first one is), two NVMe controllers with their queues and a
 * virtio-net with its rings and buffers, then allocations of several sizes and a registered
 * user buffer. Each mapping lies in one range the kernel reports and touches no reserved
 * region; so does the allocator's whole space.
 */
Test(iommu, every_mapped_iova_within_what_the_kernel_reports)
{
	const char *bdfs[] = { vm_env("UPDK_VM_NVME"), vm_env("UPDK_VM_NVME2"),
			       vm_env("UPDK_VM_VIRTIO_NET") };
	static const size_t sizes[] = { 64, 4096, 65536, 1 << 20, 3 << 20, 16 << 20 };
	struct range usable[MAX_RANGES], resv[MAX_RANGES];
	struct vfio_iova_range mine[VFIO_MAX_IOVA_RANGES];
	struct ia_range space[32];
	struct updk_nvme_ctrlr *c1, *c2;
	struct updk_nvme_qpair *qp;
	struct updk_net_dev *net;
	void *early[2], *late[sizeof(sizes) / sizeof(sizes[0])];
	size_t user_len = 4 << 20;
	int nu, nr = 0, nm;
	unsigned ns;
	void *user;

	for (int i = 0; i < 3; i++)
		vm_bind(bdfs[i], "vfio-pci");
	if (!remaps_interrupts() && !unsafe_allowed())
		cr_skip_test("vfio_iommu_type1 refuses this IOMMU without allow_unsafe_interrupts "
			     "(attach_refused_or_works_as_the_platform_says checks that)");
	nu = kernel_iova_ranges(bdfs, 3, usable);
	for (int i = 0; i < nu; i++)
		cr_log_info("usable IOVA 0x%" PRIx64 "-0x%" PRIx64, usable[i].start, usable[i].end);
	for (int i = 0; i < 3; i++)
		nr = reserved_regions(bdfs[i], resv, nr);
	cr_assert_gt(nr, 0, "no reserved region at all (the MSI window is one on x86)");
	/* the kernel's own consistency: its usable ranges leave its reserved regions out */
	for (int i = 0; i < nr; i++)
		if (strcmp(resv[i].type, "direct-relaxable"))
			cr_assert_null(touches(resv[i].start, resv[i].end, usable, nu),
				       "reserved 0x%" PRIx64 "-0x%" PRIx64 " (%s) reported usable",
				       resv[i].start, resv[i].end, resv[i].type);

	mem_set_iommu_ops(&recording_ops);
	early[0] = updk_dma_alloc(1 << 20, 0, UPDK_NUMA_ANY, NULL);
	early[1] = updk_dma_alloc(5 << 20, 0, UPDK_NUMA_ANY, NULL);
	user = mmap(NULL, user_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(early[0] && early[1] && user != MAP_FAILED);
	cr_assert_eq(updk_mem_register(user, user_len), 0);
	cr_assert_eq(nmaps, 0, "mapped before any device was open");

	cr_assert_eq(updk_nvme_ctrlr_open(bdfs[0], NULL, &c1), 0);
	cr_assert_geq(nmaps, 3, "the early memory was not mapped at the first open");
	cr_assert_eq(updk_nvme_qpair_alloc(c1, NULL, &qp), 0);
	cr_assert_eq(updk_nvme_ctrlr_open(bdfs[1], NULL, &c2), 0);
	cr_assert_eq(updk_net_open(bdfs[2], NULL, &net), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		late[i] = updk_dma_alloc(sizes[i], 0, UPDK_NUMA_ANY, NULL);
		cr_assert_not_null(late[i], "updk_dma_alloc(%zu)", sizes[i]);
	}

	/* lib/vfio read the same ranges from the kernel as this test did. */
	nm = vfio_iova_ranges(mine, VFIO_MAX_IOVA_RANGES);
	cr_assert_eq(nm, nu, "lib/vfio has %d ranges, the kernel reports %d", nm, nu);
	for (int i = 0; i < nm; i++)
		cr_assert(mine[i].start == usable[i].start && mine[i].end == usable[i].end,
			  "range %d: lib/vfio 0x%" PRIx64 "-0x%" PRIx64 ", kernel 0x%" PRIx64
			  "-0x%" PRIx64,
			  i, mine[i].start, mine[i].end, usable[i].start, usable[i].end);

	cr_log_info("%u mappings", nmaps);
	for (unsigned i = 0; i < nmaps; i++) {
		uint64_t s = maps[i].iova, e = maps[i].iova + maps[i].len - 1;
		const struct range *hit = touches(s, e, resv, nr);

		cr_log_info("mapped 0x%" PRIx64 "-0x%" PRIx64, s, e);
		cr_assert(inside_one(s, e, usable, nu),
			  "mapping 0x%" PRIx64 "-0x%" PRIx64 " outside the usable ranges", s, e);
		cr_assert_null(hit,
			       "mapping 0x%" PRIx64 "-0x%" PRIx64 " touches %s region "
			       "0x%" PRIx64 "-0x%" PRIx64,
			       s, e, hit ? hit->type : "", hit ? hit->start : 0,
			       hit ? hit->end : 0);
	}
	/* the whole space the allocator may hand out from now on */
	ns = mem_iova_space(space, 32);
	cr_assert_gt(ns, 0);
	for (unsigned i = 0; i < ns; i++) {
		const struct range *hit = touches(space[i].start, space[i].end - 1, resv, nr);

		cr_assert(inside_one(space[i].start, space[i].end - 1, usable, nu),
			  "allocator space 0x%" PRIx64 "-0x%" PRIx64 " not usable", space[i].start,
			  space[i].end);
		cr_assert_null(hit, "allocator space 0x%" PRIx64 "-0x%" PRIx64 " touches %s",
			       space[i].start, space[i].end, hit ? hit->type : "");
	}
	/* and lib/vfio itself refuses a mapping into each reserved region */
	for (int i = 0; i < nr; i++) {
		if (!strcmp(resv[i].type, "direct-relaxable"))
			continue;
		cr_assert_eq(vfio_dma_map(user, resv[i].start & ~0xfffull, 4096), -EINVAL,
			     "a map into %s region 0x%" PRIx64 " was not refused", resv[i].type,
			     resv[i].start);
	}

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		updk_dma_free(late[i]);
	updk_net_close(net);
	updk_nvme_ctrlr_close(c2);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c1);
	cr_assert_eq(updk_mem_unregister(user, user_len), 0);
	munmap(user, user_len);
	updk_dma_free(early[0]);
	updk_dma_free(early[1]);
	mem_set_iommu_ops(NULL);
}
