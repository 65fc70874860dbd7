// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-perf on QEMU's NVMe controllers inside the test guest (test/vm/run.sh), through VFIO and
 * the virtual IOMMU:
 * - a short run's JSON result is consistent (IOPS × seconds = I/Os, reads + writes = I/Os, no
 *   error), on one namespace and on every namespace of a controller;
 * - SIGINT and SIGTERM mid-run give partial results and status 0, the controller is usable by a
 *   second run at once, and the kernel's nvme driver takes it back afterwards;
 * - --verify --one-pass over the whole of the real (file-backed, 64 MiB) namespace of the first
 *   controller writes and reads back every block with no mismatch and no error, and the
 *   kernel's nvme driver, reading the same namespace afterwards, sees every block carrying
 *   updk-perf's tag and its own LBA: an independent second opinion on where the data landed.
 * Devices are rebound with scripts/setup.sh, so these run one at a time (check.sh: --jobs 1).
 * Never a speed.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "test/common/perf_util.h"
#include "test/vm/vm_util.h"

TestSuite(perf_vm, .timeout = 600);

/* The kernel's block device for namespace 1 of @bdf, once the nvme driver has brought it up. */
static void kernel_blockdev(const char *bdf, char *dev, size_t len)
{
	char pattern[256];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "/sys/bus/pci/devices/%s/nvme/nvme*/nvme*n1", bdf);
	for (int i = 0; i < 200; i++) {
		if (!glob(pattern, 0, NULL, &g)) {
			snprintf(dev, len, "/dev/%s", strrchr(g.gl_pathv[0], '/') + 1);
			globfree(&g);
			if (!access(dev, R_OK))
				return;
		}
		usleep(50 * 1000);
	}
	cr_assert_fail("the nvme driver brought up no namespace on %s in 10 s", bdf);
}

Test(perf_vm, counts_consistent)
{
	const char *bdf = vm_env("UPDK_VM_NVME2");
	char ns1[64];
	struct perf_result r;

	vm_bind(bdf, "vfio-pci");
	snprintf(ns1, sizeof(ns1), "trtype:PCIe traddr:%s ns:1", bdf);
	const char *const one[] = { "-t", "1",	"-q",	  "32", "-w", "randrw",
				    "-M", "70", "--json", "-r", ns1,  NULL };
	perf_test_run(one, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	perf_test_check_consistent(r.out);
	cr_assert(strstr(r.out, "\"device\": \"0000:"), "%s", r.out);
	perf_test_result_free(&r);

	/* a bare address: every active namespace (QEMU's second controller has two) */
	const char *const all[] = { "-t", "1", "-q", "8", "--json", "-r", bdf, NULL };
	perf_test_run(all, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_assert_eq(perf_test_count(r.out, "\"nsid\": "), 2, "%s", r.out);
	cr_assert_gt(perf_test_jnum(r.out, "\"total\": {", "ios"), 0);
	cr_assert_eq(perf_test_jnum(r.out, "\"total\": {", "errors"), 0);
	perf_test_result_free(&r);
	vm_bind(bdf, "nvme");
}

/*
 * A doorbell rung in every completion callback (--doorbell-per-cmd), without shadow doorbells:
 * QEMU's controller fetches each new command at once, so over one poll the SQ head it reports
 * can run more than a ring past the head the poll began with. Every such head is valid and
 * must be taken without a word (the reaper once measured it from the poll's first head and
 * called it beyond the tail).
 */
Test(perf_vm, doorbell_per_command_heads_all_taken)
{
	const char *bdf = vm_env("UPDK_VM_NVME2");
	char ns1[64];
	struct perf_result r;

	vm_bind(bdf, "vfio-pci");
	snprintf(ns1, sizeof(ns1), "%s ns:1", bdf);
	const char *const args[] = {
		"-t",	  "2",	"-q", "32", "--doorbell-per-cmd", "--no-shadow-doorbell",
		"--json", "-r", ns1,  NULL
	};
	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	perf_test_check_consistent(r.out);
	cr_assert_not(strstr(r.err, "SQ head"), "a valid SQ head was refused:\n%s", r.err);
	cr_assert_gt(perf_test_jnum(r.out, "\"total\": {", "ios"), 1000, "%s", r.out);
	perf_test_result_free(&r);
	vm_bind(bdf, "nvme");
}

Test(perf_vm, interrupted_then_reusable)
{
	const char *bdf = vm_env("UPDK_VM_NVME2");
	static const int sigs[] = { SIGINT, SIGTERM };
	char dev[128], ns1[64];
	struct perf_result r;

	vm_bind(bdf, "vfio-pci");
	snprintf(ns1, sizeof(ns1), "%s ns:1", bdf);
	for (int i = 0; i < 2; i++) {
		const char *const args[] = { "-t", "60", "-q", "16", "--json", "-r", ns1, NULL };

		perf_test_run(args, sigs[i], &r);
		cr_assert_eq(r.status, 0, "signal %d: exit %d; stderr:\n%s", sigs[i], r.status,
			     r.err);
		cr_assert(strstr(r.out, "\"interrupted\": true"), "%s", r.out);
		cr_assert_lt(perf_test_jnum(r.out, "\"total\": {", "seconds"), 60);
		perf_test_check_consistent(r.out);
		perf_test_result_free(&r);
	}
	/* the controller was shut down cleanly: a second run opens it at once */
	const char *const again[] = { "-t", "1", "-q", "4", "--json", "-r", ns1, NULL };
	perf_test_run(again, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	perf_test_check_consistent(r.out);
	perf_test_result_free(&r);
	/* and the kernel's driver takes it back */
	vm_bind(bdf, "nvme");
	kernel_blockdev(bdf, dev, sizeof(dev));
}

/*
 * The checks of perf_test_check_consistent() that hold for a run on two cores (two rows on one
 * namespace, two pollers): the rows add up to the total and each poller did I/O.
 */
static void check_two_cores(const char *json)
{
	double ios = perf_test_jnum(json, "\"total\": {", "ios");
	double r0 = perf_test_jnum(json, "\"rows\": [", "ios");
	double r1 = perf_test_jnum(json, "\"core\": 1, \"shadow_doorbell\"", "ios");

	cr_assert_gt(ios, 0, "no I/O completed:\n%s", json);
	cr_assert_eq(perf_test_jnum(json, "\"total\": {", "reads") +
			     perf_test_jnum(json, "\"total\": {", "writes"),
		     ios);
	cr_assert_eq(perf_test_jnum(json, "\"total\": {", "errors"), 0, "I/O errors:\n%s", json);
	cr_assert_eq(perf_test_jnum(json, "\"total\": {", "verify_mismatches"), 0);
	cr_assert(strstr(json, "\"failed\": false"));
	cr_assert_eq(r0 + r1, ios, "rows %.0f + %.0f != %.0f I/Os", r0, r1, ios);
	cr_assert_gt(perf_test_jnum(json, "{\"core\": 0, \"seconds\"", "ios"), 0, "%s", json);
	cr_assert_gt(perf_test_jnum(json, "{\"core\": 1, \"seconds\"", "ios"), 0, "%s", json);
}

/* On two cores when the guest has two (test/vm/run.sh --smp 2, as the IOMMU matrix runs it). */
Test(perf_vm, verify_then_kernel_reads_it)
{
	const char *bdf = vm_env("UPDK_VM_NVME");
	bool two = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
	char dev[128], ns1[64], path[256];
	struct perf_result r;
	uint64_t tagged = 0, bad = 0, first_bad = 0, blocks = 0;
	unsigned long long sectors = 0;
	double verified;
	unsigned block = 0;
	uint8_t *buf;
	FILE *f;
	int fd;

	/* A pass over the whole namespace must stay short in the TCG guest: test/vm/run.sh makes
	 * it 64 MiB; the kernel's driver, which has the device at the start, tells its size. */
	kernel_blockdev(bdf, dev, sizeof(dev));
	snprintf(path, sizeof(path), "/sys/block/%s/size", strrchr(dev, '/') + 1);
	f = fopen(path, "r");
	cr_assert(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fscanf(f, "%llu", &sectors), 1);
	fclose(f);
	cr_assert(sectors > 0 && sectors * 512 <= 256ull << 20,
		  "%s is %llu bytes: a verify pass over all of it would take too long in the "
		  "guest (test/vm/run.sh makes it 64 MiB)",
		  dev, sectors * 512);
	vm_bind(bdf, "vfio-pci");
	snprintf(ns1, sizeof(ns1), "%s ns:1", bdf);
	/* The whole namespace once; -t only bounds it. */
	const char *const args[] = { "-t",     "80", "-q",    "8",	  "-o",
				     "128k",   "-w", "write", "--verify", "--one-pass",
				     "--json", "-r", ns1,     "-c",	  two ? "0x3" : "0x1",
				     NULL };
	perf_test_run(args, 0, &r);
	cr_assert_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	if (two)
		check_two_cores(r.out);
	else
		perf_test_check_consistent(r.out);
	cr_assert(strstr(r.out, "\"pass_complete\": true"), "the pass did not finish:\n%s", r.out);
	verified = perf_test_jnum(r.out, "\"total\": {", "verified");
	perf_test_result_free(&r);

	/* The kernel's view of the same namespace: every block with updk-perf's tag holds the
	 * LBA it was written to (the pattern's first word, test/unit/perf_verify.c). */
	vm_bind(bdf, "nvme");
	kernel_blockdev(bdf, dev, sizeof(dev));
	snprintf(path, sizeof(path), "/sys/block/%s/queue/logical_block_size",
		 strrchr(dev, '/') + 1);
	f = fopen(path, "r");
	cr_assert(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fscanf(f, "%u", &block), 1);
	fclose(f);
	cr_assert(block >= 512 && block <= 65536 && !(block & (block - 1)), "block size %u", block);
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", dev, strerror(errno));
	buf = malloc(1 << 20);
	cr_assert(buf);
	for (uint64_t off = 0;; off += 1 << 20) {
		ssize_t n = pread(fd, buf, 1 << 20, (off_t)off);

		cr_assert_geq(n, 0, "%s: %s", dev, strerror(errno));
		if (n == 0)
			break;
		for (ssize_t b = 0; b + (ssize_t)block <= n; b += block) {
			uint64_t w0, w1, lba = (off + (uint64_t)b) / block;

			blocks++;
			memcpy(&w0, buf + b, 8);
			memcpy(&w1, buf + b + 8, 8);
			if ((uint32_t)w1 != 0x4b445055u) /* "UPDK" */
				continue;
			tagged++;
			if (w0 != lba && !bad++)
				first_bad = lba;
		}
	}
	close(fd);
	free(buf);
	cr_assert_gt(tagged, 0, "the kernel sees none of the blocks updk-perf wrote on %s", dev);
	/* every 128 KiB slot was written and read back, and every block carries the tag */
	cr_assert_eq(tagged % (131072 / block), 0);
	cr_assert_eq(verified, (double)(tagged / (131072 / block)),
		     "%.0f slots verified, the kernel sees %llu blocks tagged", verified,
		     (unsigned long long)tagged);
	cr_assert_eq(tagged, blocks, "%llu of the namespace's %llu blocks carry updk-perf's tag",
		     (unsigned long long)tagged, (unsigned long long)blocks);
	cr_assert_eq(bad, 0, "%llu of %llu blocks hold another block's data (first: LBA %llu)",
		     (unsigned long long)bad, (unsigned long long)tagged,
		     (unsigned long long)first_bad);
}
