// SPDX-License-Identifier: BSD-3-Clause
/*
 * Namespace formats on QEMU's NVMe controller (UPDK_VM_NVME_FMT, test/vm/run.sh), driven by
 * hand through the rig of test/common/nvme_rig.h, with the guest kernel as the second opinion:
 * - protection information made by lib/pi (16b and 64b Guards) is taken by QEMU's checks on
 *   write and read back by the kernel's nvme driver, which verifies the Guard (block
 *   integrity); PI QEMU made (PRACT) verifies in lib/pi; each check QEMU makes fails with the
 *   status sim:nvme gives for it;
 * - extended LBAs carry each block's metadata after its data;
 * - zones: the write pointers, states and statuses sim:nvme models, and the zones the rig reports
 *   equal `blkzone report` once the kernel has the controller;
 * - a 64 MiB write through the driver on this controller of 16 KiB a command, through a qpair of
 *   depth 4, reads back the same through the kernel;
 * - the driver's zone API (<updk/nvme_zns.h>): the geometry QEMU gives, Zone Append's LBAs, the
 *   zone actions and Report Zones, whose zones equal `blkzone report`; then updk-perf -w
 *   zone-append runs on the namespace within its open and active limits without an error; a
 *   160 KiB write split into ten children sent in order leaves the write pointer blkzone reads;
 * - the driver's metadata and PI calls: PI QEMU inserts (PRACT) and PI lib/pi makes in a separate
 *   buffer, both split at 16 KiB with each child's metadata and Reference Tag moved on, checked
 *   by QEMU on the way back (a wrong Application Tag fails, named and counted), then read by the
 *   kernel verifying every Guard;
 * - a separate metadata buffer in two pieces described by an SGL (PSDT 10b), checked by QEMU,
 *   read back through MPTR and by the kernel;
 * - updk-perf --verify --one-pass over the extended-LBA namespace.
 * Devices are rebound with scripts/setup.sh, so these run one at a time (check.sh: --jobs 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <updk/mem.h>
#include <updk/nvme.h>
#include <updk/pci.h>
#include <updk/nvme_zns.h>
#include <updk/pi.h>

#include "test/common/nvme_rig.h"
#include "test/common/perf_util.h"
#include "test/vm/vm_util.h"

TestSuite(nvme_fmt_vm, .timeout = 600);

/* Open the controller through vfio-pci with the rig: CC.CSS 110b, I/O queue pair 1. */
static void fmt_open(struct h *h, const char *bdf)
{
	vm_bind(bdf, "vfio-pci");
	z_open(h, bdf);
}

/* Read @len bytes at @off of the kernel's block device for namespace @nsid. */
static void kernel_read(const char *bdf, uint32_t nsid, void *buf, size_t len, off_t off)
{
	char ctrl[64], blk[64];
	int fd;

	vm_nvme_devs(bdf, nsid, ctrl, blk, sizeof(blk));
	fd = open(blk, O_RDONLY | O_DIRECT);
	cr_assert_geq(fd, 0, "open %s", blk);
	cr_assert_eq(pread(fd, buf, len, off), (ssize_t)len, "%s: read %zu bytes at %lld", blk, len,
		     (long long)off);
	close(fd);
}

Test(nvme_fmt_vm, pi_made_by_updk_checked_by_qemu_and_the_kernel)
{
	const char *bdf = vm_env("UPDK_VM_NVME_FMT");
	struct updk_pi_fmt f1 = { .block_size = 512, .md_size = 8, .type = 1 };
	struct updk_pi_fmt f4 = { .block_size = 4096, .md_size = 16, .type = 1, .guard = 2 };
	struct updk_pi_tags t = { .ref = 64, .app = 0x0042, .app_mask = 0xffff };
	struct updk_pi_error e;
	struct h h;
	uint64_t li;
	uint64_t *list = dma(4096, &li);
	uint8_t *w = dma(16384, &li), *r = dma(16384, &li), *md = dma(4096, &li);
	uint8_t *k = aligned_alloc(4096, 16384);
	struct sqe c;

	fmt_open(&h, bdf);
	/* namespace 1, 16b Guard: PI from lib/pi, which QEMU checks in full on the write */
	fill(w, 16384, 21);
	cr_assert_eq(updk_pi_generate(&f1, w, md, 32, &t), 0);
	c = rwm(0x01, 64, 32, w, 16384, md, list);
	c.dw[12] |= PRCHK_ALL;
	c.dw[14] = 64;
	c.dw[15] = 0xffff0000u | 0x42;
	cr_assert_eq(io_md(&h, c), 0, "QEMU takes lib/pi's protection information");
	/* the checks QEMU makes on a read, with the statuses sim:nvme gives */
	c = rwm(0x02, 64, 32, r, 16384, md, list);
	c.dw[12] |= PRCHK_ALL;
	c.dw[14] = 64;
	c.dw[15] = 0xffff0000u | 0x43;
	cr_assert_eq(io_md(&h, c), SC_APPTAG);
	c.dw[15] = 0xffff0000u | 0x42;
	c.dw[14] = 65;
	cr_assert_eq(io_md(&h, c), SC_INVALID_PI, "type 1: ILBRT is the SLBA");
	/* a write whose Guard does not match: refused, and the blocks stay as they were */
	c = rwm(0x01, 64, 1, r, 512, md + 8, list);
	c.dw[12] |= PRCHK_GUARD;
	memset(r, 0x5a, 512);
	cr_assert_eq(io_md(&h, c), SC_GUARD);
	/* PRACT: QEMU makes the PI, lib/pi verifies it */
	c = rwm(0x01, 200, 8, w, 4096, NULL, list);
	c.dw[12] |= PRACT;
	c.dw[14] = 200;
	c.dw[15] = 0x7;
	cr_assert_eq(io_md(&h, c), 0);
	memset(md, 0, 64);
	c = rwm(0x02, 200, 8, r, 4096, md, list);
	cr_assert_eq(io_md(&h, c), 0);
	cr_assert_eq(updk_pi_verify(&f1, r, md, 8, &(struct updk_pi_tags){ 200, 7, 0xffff },
				    UPDK_PI_CHECK_ALL, &e),
		     0, "QEMU's PI: %s mismatch in block %u", updk_pi_err_str(e.kind), e.block);

	/* namespace 4, 64b Guard last in 16 bytes: lib/crc's NVMe CRC-64 against QEMU's */
	t.ref = 16;
	cr_assert_eq(updk_pi_generate(&f4, w, md, 4, &t), 0);
	c = rwm(0x01, 16, 4, w, 16384, md, list);
	c.dw[1] = 4;
	c.dw[12] |= PRCHK_ALL;
	c.dw[14] = 16;
	c.dw[15] = 0xffff0000u | 0x42;
	cr_assert_eq(io_md(&h, c), 0, "QEMU takes lib/pi's 64b Guard PI");

	/* namespace 3, extended LBA: 520-byte blocks, the metadata after the data */
	c = rwm(0x01, 10, 8, w, 8 * 520, NULL, list);
	c.dw[1] = 3;
	cr_assert_eq(io_md(&h, c), 0);
	c = rwm(0x02, 10, 8, r, 8 * 520, NULL, list);
	c.dw[1] = 3;
	cr_assert_eq(io_md(&h, c), 0);
	cr_assert(!memcmp(w, r, 8 * 520));
	h_close(&h);

	/* the kernel reads them, its block integrity verifying the Guard of every block */
	vm_bind(bdf, "nvme");
	fill(w, 16384, 21);
	kernel_read(bdf, 1, k, 16384, 64 * 512);
	cr_assert(!memcmp(k, w, 16384), "namespace 1 through the kernel");
	kernel_read(bdf, 4, k, 16384, 16 * 4096);
	cr_assert(!memcmp(k, w, 16384), "namespace 4 (64b Guard) through the kernel");
	free(k);
	updk_dma_free(list);
	updk_dma_free(w);
	updk_dma_free(r);
	updk_dma_free(md);
}

/* One zone's "start, wptr, zcond" from a line of blkzone report (512-byte sectors). */
static int parse_blkzone(const char *line, uint64_t *start, uint64_t *wp, unsigned *cond)
{
	const char *s = strstr(line, "start: "), *w = strstr(line, "wptr "),
		   *c = strstr(line, "zcond:");

	if (!s || !w || !c)
		return -1;
	*start = strtoull(s + 7, NULL, 16);
	*wp = strtoull(w + 5, NULL, 16);
	*cond = (unsigned)strtoul(c + 6, NULL, 10);
	return 0;
}

Test(nvme_fmt_vm, zones_as_sim_models_them_and_as_blkzone_reports)
{
	const char *bdf = vm_env("UPDK_VM_NVME_FMT");
	struct h h;
	uint64_t li, lba, start, wp;
	uint8_t *w = dma(16384, &li), *rep = dma(4096, &li);
	struct zdesc z[8];
	char ctrl[64], blk[64], cmdline[128], *out, *line;
	unsigned cond, n = 0;

	fmt_open(&h, bdf);
	h.nsid = 2;
	cr_assert_eq(zsend(&h, 0, 0x04, true), 0, "reset all");
	fill(w, 16384, 3);
	/* zone 0: 10 blocks; zone 1: appends; zone 2: finished; zone 3: explicitly opened */
	cr_assert_eq(io(&h, 0x01, 0, 4, w, 16384), 0);
	cr_assert_eq(io(&h, 0x01, 4, 4, w, 16384), 0);
	cr_assert_eq(io(&h, 0x01, 8, 2, w, 8192), 0);
	cr_assert_eq(io(&h, 0x01, 5, 1, w, 4096), SC_ZONE_INVALID_WRITE);
	cr_assert_eq(zappend(&h, 256, 1, w, &lba), 0);
	cr_assert_eq(lba, 256);
	cr_assert_eq(zappend(&h, 256, 1, w, &lba), 0);
	cr_assert_eq(lba, 257, "Zone Append returns the LBA it wrote");
	cr_assert_eq(zsend(&h, 256, 0x01, false), 0, "close zone 1");
	cr_assert_eq(zsend(&h, 512, 0x02, false), 0, "finish zone 2");
	cr_assert_eq(zappend(&h, 512, 1, w, &lba), SC_ZONE_FULL);
	cr_assert_eq(zsend(&h, 768, 0x03, false), 0, "open zone 3");
	/* open: 0 (implicitly), 3; active: 0, 1, 3. Zone 4 would be a fourth active one */
	cr_assert_eq(io(&h, 0x01, 1024, 1, w, 4096), SC_TOO_MANY_ACTIVE);
	cr_assert_eq(io(&h, 0x01, 256 + 190, 4, w, 16384), SC_ZONE_INVALID_WRITE);
	cr_assert_eq(zreport(&h, 0, rep, z, 5), 128, "128 zones of 1 MiB");
	cr_assert(z[1].zslba == 256 && z[1].wp == 258 && z[1].zs == 4, "zone 1 closed at 258");
	cr_assert(z[2].zs == 0xe && z[3].zs == 3 && z[4].zs == 1);
	cr_assert_eq(z[0].zcap, 192);
	h_close(&h);

	/* the zones as the controller keeps them across the resets of a rebind */
	vm_bind(bdf, "vfio-pci");
	z_open(&h, bdf);
	h.nsid = 2;
	zreport(&h, 0, rep, z, 8);
	h_close(&h);

	vm_bind(bdf, "nvme");
	vm_nvme_devs(bdf, 2, ctrl, blk, sizeof(blk));
	snprintf(cmdline, sizeof(cmdline), "blkzone report -c 8 %s", blk);
	out = vm_capture(cmdline);
	for (line = strtok(out, "\n"); line && n < 8; line = strtok(NULL, "\n")) {
		if (parse_blkzone(line, &start, &wp, &cond))
			continue;
		/* 4 KiB blocks are 8 sectors; blkzone shows the write pointer from the zone's
		 * start, and none for a full zone */
		cr_assert_eq(start, z[n].zslba * 8, "zone %u start", n);
		cr_assert_eq(cond, z[n].zs, "zone %u: blkzone zcond %u, updk %u", n, cond, z[n].zs);
		if (z[n].zs != 0xe)
			cr_assert_eq(wp, (z[n].wp - z[n].zslba) * 8, "zone %u write pointer", n);
		n++;
	}
	cr_assert_eq(n, 8, "blkzone reported %u zones:\n%s", n, out);
	free(out);
	updk_dma_free(w);
	updk_dma_free(rep);
}

static void done_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	*(int *)arg = updk_nvme_cpl_is_error(cpl) ? -1 : 1;
}

struct drv_done {
	int done;
	uint16_t st; /* (SCT << 8) | SC */
};

static void st_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct drv_done *d = arg;

	d->st = (uint16_t)(updk_nvme_cpl_sct(cpl) << 8 | updk_nvme_cpl_sc(cpl));
	d->done = 1;
}

Test(nvme_fmt_vm, write_of_64_mib_at_16_kib_a_command_reads_back_through_the_kernel)
{
	const char *bdf = vm_env("UPDK_VM_NVME_FMT");
	struct updk_nvme_qpair_opts qo = { .opts_size = sizeof(qo), .depth = 4 };
	struct updk_nvme_ctrlr *c = NULL;
	struct updk_nvme_qpair *qp;
	struct updk_nvme_ns *ns;
	size_t len = 64u << 20;
	uint8_t *buf, *k;
	int done = 0;

	vm_bind(bdf, "vfio-pci");
	cr_assert_eq(updk_nvme_ctrlr_open(bdf, NULL, &c), 0);
	cr_assert_eq(updk_nvme_ctrlr_max_xfer_size(c), 16384, "QEMU's mdts=2");
	ns = updk_nvme_ns_get(c, 5);
	cr_assert_not_null(ns);
	cr_assert_eq(updk_nvme_qpair_alloc(c, &qo, &qp), 0);
	buf = updk_dma_alloc(len, 4096, UPDK_NUMA_ANY, NULL);
	cr_assert_not_null(buf);
	fill(buf, len, 77);
	cr_assert_eq(
		updk_nvme_ns_write(ns, qp, buf, 2048, (uint32_t)(len / 512), done_cb, &done, 0), 0);
	while (!done)
		cr_assert_geq(updk_nvme_qpair_process_completions(qp, 0), 0);
	cr_assert_eq(done, 1, "the 64 MiB write completed without error");
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);

	vm_bind(bdf, "nvme");
	k = aligned_alloc(4096, len);
	cr_assert_not_null(k);
	kernel_read(bdf, 5, k, len, 2048 * 512);
	cr_assert(!memcmp(k, buf, len), "64 MiB through the kernel as updk wrote them");
	free(k);
	updk_dma_free(buf);
}

/* One zone command through the API, waited for; its completion in *@cpl. */
static void zns_wait(struct updk_nvme_qpair *qp, int rc, struct updk_nvme_cpl *cpl, int *done)
{
	cr_assert_eq(rc, 0);
	while (!*done)
		cr_assert_geq(updk_nvme_qpair_process_completions(qp, 0), 0);
	cr_assert_not(updk_nvme_cpl_is_error(cpl), "status %s",
		      updk_nvme_status_str(updk_nvme_cpl_sct(cpl), updk_nvme_cpl_sc(cpl)));
	*done = 0;
}

static struct updk_nvme_cpl zcpl;
static int zdone;

static void zns_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	zcpl = *cpl;
	*(int *)arg = 1;
}

Test(nvme_fmt_vm, zone_api_and_zone_append_workload_agree_with_blkzone)
{
	const char *bdf = vm_env("UPDK_VM_NVME_FMT");
	struct updk_nvme_qpair_opts qo = { .opts_size = sizeof(qo), .depth = 8 };
	struct updk_nvme_ctrlr *c = NULL;
	struct updk_nvme_zone_report *r;
	struct updk_nvme_qpair *qp;
	struct updk_nvme_ns *ns;
	struct updk_nvme_stats qst;
	char ctrl[64], blk[64], cmdline[128], target[96], *out, *line;
	uint64_t start, wp;
	unsigned cond, n = 0;
	uint8_t *buf;
	struct perf_result pr;

	vm_bind(bdf, "vfio-pci");
	cr_assert_eq(updk_nvme_ctrlr_open(bdf, NULL, &c), 0);
	ns = updk_nvme_ns_get(c, 2);
	cr_assert_not_null(ns);
	cr_assert(updk_nvme_ns_is_zoned(ns));
	cr_assert_eq(updk_nvme_zns_zone_size(ns), 256, "1 MiB zones of 4 KiB blocks");
	cr_assert_eq(updk_nvme_zns_num_zones(ns), 128);
	cr_assert_eq(updk_nvme_zns_max_open_zones(ns), 2);
	cr_assert_eq(updk_nvme_zns_max_active_zones(ns), 3);
	cr_assert_eq(updk_nvme_ns_is_zoned(updk_nvme_ns_get(c, 5)), false);
	cr_assert_eq(updk_nvme_qpair_alloc(c, &qo, &qp), 0);
	buf = updk_dma_zalloc(40 * 4096, 4096, UPDK_NUMA_ANY, NULL);
	cr_assert_not_null(buf);
	fill(buf, 40 * 4096, 9);

	zns_wait(qp, updk_nvme_zns_zone_send(ns, qp, 0, UPDK_NVME_ZSA_RESET, true, zns_cb, &zdone),
		 &zcpl, &zdone);
	zns_wait(qp, updk_nvme_zns_zone_append(ns, qp, buf, 256, 2, zns_cb, &zdone, 0), &zcpl,
		 &zdone);
	cr_assert_eq(updk_nvme_zns_append_lba(&zcpl), 256);
	zns_wait(qp, updk_nvme_zns_zone_append(ns, qp, buf, 256, 2, zns_cb, &zdone, 0), &zcpl,
		 &zdone);
	cr_assert_eq(updk_nvme_zns_append_lba(&zcpl), 258, "the LBA QEMU wrote the second at");
	/* 160 KiB at zone 0's write pointer: ten 16 KiB children, in order (split.c) */
	zns_wait(qp, updk_nvme_ns_write(ns, qp, buf, 0, 40, zns_cb, &zdone, 0), &zcpl, &zdone);
	updk_nvme_qpair_get_stats(qp, &qst);
	cr_assert_eq(qst.split_ios, 1, "the write went out split at MDTS");
	zns_wait(qp,
		 updk_nvme_zns_zone_send(ns, qp, 512, UPDK_NVME_ZSA_FINISH, false, zns_cb, &zdone),
		 &zcpl, &zdone);
	zns_wait(qp,
		 updk_nvme_zns_report_zones(ns, qp, buf, 64 + 4 * 64, 0, UPDK_NVME_ZRASF_ALL, true,
					    zns_cb, &zdone),
		 &zcpl, &zdone);
	r = (struct updk_nvme_zone_report *)buf;
	cr_assert_eq(r->nr_zones, 4);
	cr_assert_eq(r->descs[0].wp, 40);
	cr_assert_eq(r->descs[1].wp, 260);
	cr_assert_eq(updk_nvme_zone_state_of(&r->descs[2]), UPDK_NVME_ZS_FULL);
	cr_assert_eq(updk_nvme_zone_state_of(&r->descs[3]), UPDK_NVME_ZS_EMPTY);
	cr_assert_eq(r->descs[0].zcap, 192);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);

	vm_bind(bdf, "nvme");
	vm_nvme_devs(bdf, 2, ctrl, blk, sizeof(blk));
	snprintf(cmdline, sizeof(cmdline), "blkzone report -c 4 %s", blk);
	out = vm_capture(cmdline);
	for (line = strtok(out, "\n"); line && n < 4; line = strtok(NULL, "\n")) {
		if (parse_blkzone(line, &start, &wp, &cond))
			continue;
		/* 512-byte sectors of 4 KiB blocks; no write pointer shown for a full zone. The
		 * driver's close shut the controller down, and QEMU closed the open zones then. */
		enum updk_nvme_zone_state st = updk_nvme_zone_state_of(&r->descs[n]);

		if (st == UPDK_NVME_ZS_IMPLICIT_OPEN || st == UPDK_NVME_ZS_EXPLICIT_OPEN)
			st = UPDK_NVME_ZS_CLOSED;
		cr_assert_eq(start, r->descs[n].zslba * 8, "zone %u start", n);
		cr_assert_eq(cond, st, "zone %u condition: blkzone %u, updk %u", n, cond, st);
		if (cond != UPDK_NVME_ZS_FULL)
			cr_assert_eq(wp, (r->descs[n].wp - r->descs[n].zslba) * 8, "zone %u wp", n);
		n++;
	}
	cr_assert_eq(n, 4, "blkzone reported %u zones:\n%s", n, out);
	free(out);
	updk_dma_free(buf);

	/* the workload: two zones at once (the open limit), one I/O in five a read */
	vm_bind(bdf, "vfio-pci");
	snprintf(target, sizeof(target), "trtype:PCIe traddr:%s ns:2", bdf);
	const char *args[] = { "-t", "2",  "-q",     "4",  "-w",   "zone-append",
			       "-M", "20", "--json", "-r", target, NULL };
	perf_test_run(args, 0, &pr);
	cr_assert_eq(pr.status, 0, "exit %d; stderr:\n%s", pr.status, pr.err);
	cr_assert_eq(perf_test_jnum(pr.out, "\"total\": {", "errors"), 0, "%s", pr.out);
	cr_assert_gt(perf_test_jnum(pr.out, "\"total\": {", "writes"), 0, "%s", pr.out);
	perf_test_result_free(&pr);
	vm_bind(bdf, "nvme");
}

/* One driver I/O waited for; its status as (SCT << 8) | SC. */
static int drv_io(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, bool write, void *buf,
		  size_t len, uint64_t lba, uint32_t nlb, const struct updk_nvme_io_opts *o)
{
	struct iovec iov = { buf, len };
	struct drv_done d = { 0 };
	int rc = write ? updk_nvme_ns_write_ext(ns, qp, &iov, 1, lba, nlb, st_cb, &d, o) :
			 updk_nvme_ns_read_ext(ns, qp, &iov, 1, lba, nlb, st_cb, &d, o);

	cr_assert_eq(rc, 0, "submit: %d", rc);
	while (!d.done)
		cr_assert_geq(updk_nvme_qpair_process_completions(qp, 0), 0);
	return d.st;
}

Test(nvme_fmt_vm, pi_through_the_driver_split_at_mdts_read_by_the_kernel)
{
	const char *bdf = vm_env("UPDK_VM_NVME_FMT");
	struct updk_nvme_qpair_opts qo = { .opts_size = sizeof(qo), .depth = 4 };
	struct updk_nvme_ctrlr *c = NULL;
	struct updk_nvme_qpair *qp;
	struct updk_nvme_ns *ns1, *ns4;
	struct updk_nvme_stats st;
	struct updk_pi_fmt f1, f4;
	struct updk_pi_tags t = { .ref = 4096, .app = 0x0042, .app_mask = 0xffff };
	uint8_t *w = updk_dma_alloc(1 << 16, 4096, UPDK_NUMA_ANY, NULL),
		*r = updk_dma_alloc(1 << 16, 4096, UPDK_NUMA_ANY, NULL),
		*md = updk_dma_alloc(4096, 4096, UPDK_NUMA_ANY, NULL),
		*k = aligned_alloc(4096, 1 << 16);
	struct updk_nvme_io_opts o = { .opts_size = sizeof(o),
				       .io_flags = UPDK_NVME_IO_PRACT,
				       .app_tag = 0x0042,
				       .app_tag_mask = 0xffff };

	cr_assert(w && r && md && k);
	vm_bind(bdf, "vfio-pci");
	cr_assert_eq(updk_nvme_ctrlr_open(bdf, NULL, &c), 0);
	ns1 = updk_nvme_ns_get(c, 1);
	ns4 = updk_nvme_ns_get(c, 4);
	cr_assert(ns1 && ns4);
	cr_assert_eq(updk_nvme_ns_pi_fmt(ns1, &f1), UPDK_PI_TYPE1);
	cr_assert_eq(updk_nvme_ns_pi_fmt(ns4, &f4), UPDK_PI_TYPE1);
	cr_assert_eq(f4.guard, UPDK_PI_GUARD64, "the Extended LBA Format read from QEMU");
	cr_assert_eq(updk_nvme_ctrlr_max_xfer_size(c), 16384, "QEMU's mdts=2");
	cr_assert_eq(updk_nvme_qpair_alloc(c, &qo, &qp), 0);

	/* namespace 1: 96 blocks QEMU gives PI to (3 commands), then 96 with lib/pi's PI in a
	 * separate buffer, checked in full by QEMU on the write */
	fill(w, 1 << 16, 31);
	cr_assert_eq(drv_io(ns1, qp, true, w, 96 * 512, 4096, 96, &o), 0);
	cr_assert_eq(updk_pi_generate(&f1, w, md, 96, &(struct updk_pi_tags){ 8192, 0x42, 0 }), 0);
	o.io_flags = UPDK_NVME_IO_PRCHK_ALL;
	o.md = md;
	o.md_len = 96 * 8;
	cr_assert_eq(drv_io(ns1, qp, true, w, 96 * 512, 8192, 96, &o), 0);
	/* read back with every check, the PI stripped; an Application Tag off: 83h, counted */
	o.io_flags = UPDK_NVME_IO_PRACT | UPDK_NVME_IO_PRCHK_ALL;
	o.md = NULL;
	o.md_len = 0;
	cr_assert_eq(drv_io(ns1, qp, false, r, 96 * 512, 4096, 96, &o), 0);
	cr_assert(!memcmp(r, w, 96 * 512));
	o.app_tag = 0x43;
	cr_assert_eq(drv_io(ns1, qp, false, r, 96 * 512, 8192, 96, &o), 0x283);
	updk_nvme_qpair_get_stats(qp, &st);
	cr_assert_eq(st.pi_app_tag_errors, 3, "one per command: each of the 3 failed");
	/* the PI QEMU inserted, read raw and verified by lib/pi: each child's Reference Tag */
	o.io_flags = 0;
	o.md = md;
	o.md_len = 96 * 8;
	cr_assert_eq(drv_io(ns1, qp, false, r, 96 * 512, 4096, 96, &o), 0);
	cr_assert_eq(updk_pi_verify(&f1, r, md, 96, &t, UPDK_PI_CHECK_ALL, NULL), 0);

	/* namespace 4, 64b Guard: 12 blocks of 4 KiB, QEMU's PI, 3 commands */
	o = (struct updk_nvme_io_opts){ .opts_size = sizeof(o), .io_flags = UPDK_NVME_IO_PRACT };
	cr_assert_eq(drv_io(ns4, qp, true, w, 12 * 4096, 256, 12, &o), 0);
	o = (struct updk_nvme_io_opts){ .opts_size = sizeof(o), .md = md, .md_len = 12 * 16 };
	cr_assert_eq(drv_io(ns4, qp, false, r, 12 * 4096, 256, 12, &o), 0);
	cr_assert_eq(updk_pi_verify(&f4, r, md, 12, &(struct updk_pi_tags){ .ref = 256 },
				    UPDK_PI_CHECK_GUARD | UPDK_PI_CHECK_REF, NULL),
		     0);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);

	/* the kernel, verifying the Guard of every block it reads */
	vm_bind(bdf, "nvme");
	kernel_read(bdf, 1, k, 96 * 512, 4096 * 512);
	cr_assert(!memcmp(k, w, 96 * 512), "namespace 1, PRACT, through the kernel");
	kernel_read(bdf, 1, k, 96 * 512, 8192 * 512);
	cr_assert(!memcmp(k, w, 96 * 512), "namespace 1, lib/pi's PI, through the kernel");
	kernel_read(bdf, 4, k, 12 * 4096, 256 * 4096);
	cr_assert(!memcmp(k, w, 12 * 4096), "namespace 4 through the kernel");
	free(k);
	updk_dma_free(w);
	updk_dma_free(r);
	updk_dma_free(md);
}

/*
 * An SGL for metadata (CDW0.PSDT 10b, MPTR the address of an SGL segment of one descriptor,
 * NVMe Base 2.0 §4.2 Figure 92). QEMU 7.2's NVMe decodes it (hw/nvme/ctrl.c nvme_map_mptr())
 * but does not report it: its Identify SGLS is 0x1 (byte-aligned SGLs and nothing more); bit 19
 * came with QEMU 9.2. So the driver uses it here only when asked (opts.md_sgl ON). 96 blocks
 * with lib/pi's PI whose metadata lies across two pages that are not IOVA contiguous, which
 * MPTR cannot point at: QEMU checks every tag over the bytes the SGLs brought, updk reads
 * them back through MPTR into one buffer, and the kernel reads the data verifying each Guard.
 */
Test(nvme_fmt_vm, metadata_through_an_sgl_read_back_by_mptr_and_the_kernel)
{
	const char *bdf = vm_env("UPDK_VM_NVME_FMT");
	struct updk_nvme_ctrlr_opts co = { .opts_size = sizeof(co), .md_sgl = UPDK_NVME_MD_SGL_ON };
	struct updk_nvme_qpair_opts qo = { .opts_size = sizeof(qo), .depth = 4 };
	struct updk_nvme_ctrlr *c = NULL;
	struct updk_nvme_qpair *qp;
	struct updk_nvme_ns *ns;
	struct updk_pi_fmt f;
	uint8_t *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			      0),
		*spacer = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			       0);
	uint8_t *w = updk_dma_alloc(96 * 512, 4096, UPDK_NUMA_ANY, NULL),
		*r = updk_dma_alloc(96 * 512, 4096, UPDK_NUMA_ANY, NULL),
		*mr = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL),
		*k = aligned_alloc(4096, 96 * 512);
	uint8_t *md = pages + 4096 - 384; /* 768 bytes: 384 in each page */
	struct updk_nvme_io_opts o = { .opts_size = sizeof(o),
				       .io_flags = UPDK_NVME_IO_PRCHK_ALL,
				       .md = md,
				       .md_len = 96 * 8,
				       .app_tag = 0x0042,
				       .app_tag_mask = 0xffff };

	cr_assert(pages != MAP_FAILED && spacer != MAP_FAILED && w && r && mr && k);
	cr_assert_eq(updk_mem_register(pages, 4096), 0);
	cr_assert_eq(updk_mem_register(spacer, 4096), 0);
	cr_assert_eq(updk_mem_register(pages + 4096, 4096), 0);
	cr_assert_neq(updk_iova(pages + 4096), updk_iova(pages) + 4096);
	vm_bind(bdf, "vfio-pci");
	cr_assert_eq(updk_nvme_ctrlr_open(bdf, &co, &c), 0);
	cr_assert_eq(updk_nvme_ctrlr_id(c)->sgls, 0x1, "QEMU 7.2's SGLS: bit 19 clear");
	cr_assert_eq(updk_nvme_ctrlr_md_sgl(c), UPDK_NVME_MD_SGL_ON);
	ns = updk_nvme_ns_get(c, 1);
	cr_assert_not_null(ns);
	cr_assert_eq(updk_nvme_ns_pi_fmt(ns, &f), UPDK_PI_TYPE1);
	cr_assert_eq(updk_nvme_qpair_alloc(c, &qo, &qp), 0);
	fill(w, 96 * 512, 41);
	cr_assert_eq(updk_pi_generate(&f, w, md, 96, &(struct updk_pi_tags){ 12288, 0x42, 0 }), 0);
	/* three 16 KiB children, the second's metadata in two pieces (a Last Segment) */
	cr_assert_eq(drv_io(ns, qp, true, w, 96 * 512, 12288, 96, &o), 0);
	/* a Guard spoilt in the second page: QEMU fails the child that carries it */
	md[384 + 8] ^= 1;
	o.io_flags = UPDK_NVME_IO_PRCHK_GUARD;
	cr_assert_eq(drv_io(ns, qp, true, w, 96 * 512, 12288 + 96, 96, &o), 0x282);
	md[384 + 8] ^= 1;
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);

	/* the default: MPTR only on QEMU 7.2, one contiguous buffer */
	cr_assert_eq(updk_nvme_ctrlr_open(bdf, NULL, &c), 0);
	cr_assert_eq(updk_nvme_ctrlr_md_sgl(c), UPDK_NVME_MD_SGL_OFF);
	ns = updk_nvme_ns_get(c, 1);
	cr_assert_eq(updk_nvme_qpair_alloc(c, &qo, &qp), 0);
	o = (struct updk_nvme_io_opts){ .opts_size = sizeof(o), .md = md, .md_len = 96 * 8 };
	cr_assert_eq(updk_nvme_ns_read_ext(ns, qp, &(struct iovec){ r, 96 * 512 }, 1, 12288, 96,
					   st_cb, &(struct drv_done){ 0 }, &o),
		     -EINVAL, "MPTR cannot point at the two pages");
	o.md = mr;
	cr_assert_eq(drv_io(ns, qp, false, r, 96 * 512, 12288, 96, &o), 0);
	cr_assert(!memcmp(mr, md, 96 * 8), "the metadata QEMU stored, as the SGLs gave it");
	cr_assert(!memcmp(r, w, 96 * 512));
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);

	vm_bind(bdf, "nvme");
	kernel_read(bdf, 1, k, 96 * 512, 12288 * 512);
	cr_assert(!memcmp(k, w, 96 * 512), "through the kernel, every Guard verified");
	cr_assert_eq(updk_mem_unregister(pages, 4096), 0);
	cr_assert_eq(updk_mem_unregister(spacer, 4096), 0);
	cr_assert_eq(updk_mem_unregister(pages + 4096, 4096), 0);
	munmap(pages, 8192);
	munmap(spacer, 4096);
	free(k);
	updk_dma_free(w);
	updk_dma_free(r);
	updk_dma_free(mr);
}

/* updk-perf --verify over the whole of namespace 3 (extended LBA, 8 bytes of metadata after
 * each 512-byte block; test/vm/run.sh makes it 4 MiB so the pass stays short): each block's
 * metadata is written with the pattern and comes back intact. */
Test(nvme_fmt_vm, perf_verify_one_pass_on_extended_lba)
{
	const char *bdf = vm_env("UPDK_VM_NVME_FMT");
	char target[96];
	struct perf_result pr;

	vm_bind(bdf, "vfio-pci");
	snprintf(target, sizeof(target), "trtype:PCIe traddr:%s ns:3", bdf);
	const char *args[] = { "-t",	"60",	    "-q",	  "8",	    "-o", "4096", "-w",
			       "write", "--verify", "--one-pass", "--json", "-r", target, NULL };
	perf_test_run(args, 0, &pr);
	cr_assert_eq(pr.status, 0, "exit %d; stderr:\n%s", pr.status, pr.err);
	cr_assert(strstr(pr.out, "\"pass_complete\": true"), "%s", pr.out);
	cr_assert_gt(perf_test_jnum(pr.out, "\"total\": {", "verified"), 500, "%s", pr.out);
	cr_assert_eq(perf_test_jnum(pr.out, "\"total\": {", "verify_mismatches"), 0, "%s", pr.out);
	cr_assert_eq(perf_test_jnum(pr.out, "\"total\": {", "errors"), 0, "%s", pr.out);
	perf_test_result_free(&pr);
	vm_bind(bdf, "nvme");
}
