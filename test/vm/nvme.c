// SPDX-License-Identifier: BSD-3-Clause
/*
 * drivers/nvme on QEMU's NVMe controllers inside the test guest (test/vm/run.sh), through
 * vfio-pci and the virtual IOMMU, with the guest kernel's nvme driver as the second opinion:
 * - Identify fields equal what `nvme id-ctrl -o json` / `nvme id-ns -o json` print for the same
 *   controller while the kernel drives it;
 * - data written by updk (a spread of offsets and sizes, buffers at page and dword offsets, I/O
 *   above MDTS) reads back identical through the kernel's block device, and data written
 *   through the kernel reads back identical through updk;
 * - both namespaces of the second controller take I/O;
 * - shadow doorbells, off by default on QEMU's NVMe under TCG (docs/nvme-driver.md): when
 *   asked for, far fewer MMIO doorbell writes than commands, the admin queue through them too,
 *   also after a reset; at queue depth 1 one MMIO doorbell write per command;
 * - after close (CC.SHN shutdown) no file descriptor is left open and the kernel driver takes
 *   the controller back.
 * Devices are rebound with scripts/setup.sh, so these run one at a time (check.sh: --jobs 1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <updk/mem.h>
#include <updk/nvme.h>

#include "lib/util/hypervisor.h"
#include "test/vm/vm_util.h"

TestSuite(nvme_vm, .timeout = 600);

/* A JSON number "key" : N (first occurrence), or fail. */
static uint64_t jnum(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(json, pat);
	cr_assert_not_null(p, "no \"%s\" in:\n%.400s", key, json);
	p = strchr(p + strlen(pat), ':');
	cr_assert_not_null(p);
	return strtoull(p + 1, NULL, 0);
}

/* A JSON string "key" : "value" (first occurrence), trailing spaces trimmed, into @out. */
static void jstr(const char *json, const char *key, char *out, size_t len)
{
	char pat[64];
	const char *p, *e;
	size_t n;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(json, pat);
	cr_assert_not_null(p, "no \"%s\" in:\n%.400s", key, json);
	p = strchr(p + strlen(pat), '"');
	cr_assert_not_null(p);
	e = strchr(p + 1, '"');
	cr_assert_not_null(e);
	n = (size_t)(e - p - 1) < len - 1 ? (size_t)(e - p - 1) : len - 1;
	memcpy(out, p + 1, n);
	out[n] = '\0';
	while (n && out[n - 1] == ' ')
		out[--n] = '\0';
}

/* An Identify string field: space padded, not terminated. */
static void idstr(const char *field, size_t flen, char *out)
{
	size_t n = flen;

	memcpy(out, field, flen);
	while (n && (out[n - 1] == ' ' || out[n - 1] == '\0'))
		n--;
	out[n] = '\0';
}

/* Open file descriptors of this process (the directory's own counted each time). */
static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	cr_assert(d, "/proc/self/fd: %s", strerror(errno));
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static struct updk_nvme_ctrlr *open_vfio_shadow(const char *bdf, enum updk_nvme_shadow shadow)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o), .shadow_doorbell = shadow };
	struct updk_nvme_ctrlr *c = NULL;

	vm_bind(bdf, "vfio-pci");
	cr_assert_eq(updk_nvme_ctrlr_open(bdf, &o, &c), 0, "open %s", bdf);
	return c;
}

static struct updk_nvme_ctrlr *open_vfio(const char *bdf)
{
	return open_vfio_shadow(bdf, UPDK_NVME_SHADOW_AUTO);
}

Test(nvme_vm, identify_matches_kernel)
{
	const char *bdf = vm_env("UPDK_VM_NVME2");
	char ctrl[64], ns[64], cmd[256], s[64], mine[64];
	char *ctrl_json, *ns_json, *ns2_json;
	struct updk_nvme_ctrlr *c;
	const struct updk_nvme_id_ctrl *id;
	const struct updk_nvme_id_ns *idns;

	vm_bind(bdf, "nvme");
	vm_nvme_devs(bdf, 1, ctrl, ns, sizeof(ctrl));
	snprintf(cmd, sizeof(cmd), "nvme id-ctrl %s -o json", ctrl);
	ctrl_json = vm_capture(cmd);
	snprintf(cmd, sizeof(cmd), "nvme id-ns %s -n 1 -o json", ctrl);
	ns_json = vm_capture(cmd);
	snprintf(cmd, sizeof(cmd), "nvme id-ns %s -n 2 -o json", ctrl);
	ns2_json = vm_capture(cmd);

	c = open_vfio(bdf);
	id = updk_nvme_ctrlr_id(c);
	cr_assert_eq(id->vid, jnum(ctrl_json, "vid"));
	cr_assert_eq(id->ssvid, jnum(ctrl_json, "ssvid"));
	jstr(ctrl_json, "sn", s, sizeof(s));
	idstr(id->sn, sizeof(id->sn), mine);
	cr_assert_str_eq(mine, s);
	jstr(ctrl_json, "mn", s, sizeof(s));
	idstr(id->mn, sizeof(id->mn), mine);
	cr_assert_str_eq(mine, s);
	jstr(ctrl_json, "fr", s, sizeof(s));
	idstr(id->fr, sizeof(id->fr), mine);
	cr_assert_str_eq(mine, s);
	cr_assert_eq(id->mdts, jnum(ctrl_json, "mdts"));
	cr_assert_eq(id->nn, jnum(ctrl_json, "nn"));
	cr_assert_eq(id->oacs, jnum(ctrl_json, "oacs"));
	cr_assert_eq(id->oncs, jnum(ctrl_json, "oncs"));
	cr_assert_eq(id->sgls, jnum(ctrl_json, "sgls"));
	cr_assert_eq(id->ver, jnum(ctrl_json, "ver"));
	cr_assert_eq(id->sqes, jnum(ctrl_json, "sqes"));
	cr_assert_eq(id->cqes, jnum(ctrl_json, "cqes"));

	idns = updk_nvme_ns_data(updk_nvme_ns_get(c, 1));
	cr_assert_eq(idns->nsze, jnum(ns_json, "nsze"));
	cr_assert_eq(idns->ncap, jnum(ns_json, "ncap"));
	cr_assert_eq(idns->flbas, jnum(ns_json, "flbas"));
	cr_assert_eq(idns->nlbaf, jnum(ns_json, "nlbaf"));
	cr_assert_not_null(updk_nvme_ns_get(c, 2), "both namespaces of the second controller");
	idns = updk_nvme_ns_data(updk_nvme_ns_get(c, 2));
	cr_assert_eq(idns->nsze, jnum(ns2_json, "nsze"));
	updk_nvme_ctrlr_close(c);
	free(ctrl_json);
	free(ns_json);
	free(ns2_json);
	vm_bind(bdf, "nvme");
}

struct done {
	int n;
	int errors;
};

static void done_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct done *d = arg;

	d->n++;
	if (updk_nvme_cpl_is_error(cpl)) {
		d->errors++;
		fprintf(stderr, "I/O failed: %s\n",
			updk_nvme_status_str(updk_nvme_cpl_sct(cpl), updk_nvme_cpl_sc(cpl)));
	}
}

static void wait_all(struct updk_nvme_qpair *qp, struct done *d, int want)
{
	for (long i = 0; d->n < want && i < 2000000000L; i++)
		cr_assert_geq(updk_nvme_qpair_process_completions(qp, 0), 0);
	cr_assert_eq(d->n, want);
	cr_assert_eq(d->errors, 0);
}

static void pattern(uint8_t *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((seed * 131 + i * 7 + (i >> 9)) ^ (i >> 13));
}

/* Spread of (lba, blocks, buffer offset) cases: small, page crossing, dword offset, > MDTS. */
struct span {
	uint64_t lba;
	uint32_t nlb;
	uint32_t off;
};

static const struct span spans[] = {
	{ 0, 1, 0 },	     { 7, 1, 4 },	   { 8, 8, 0 },		  { 33, 9, 0x800 },
	{ 100, 24, 4 },	     { 1000, 256, 0 },	   { 3000, 1000, 0x204 }, { 20000, 2048, 0 },
	{ 60000, 4100, 12 }, { 130000, 5, 0xffc },
};

Test(nvme_vm, data_crosses_to_kernel_and_back)
{
	const char *bdf = vm_env("UPDK_VM_NVME");
	size_t n = sizeof(spans) / sizeof(spans[0]);
	struct updk_nvme_ctrlr *c;
	struct updk_nvme_ns *ns;
	struct updk_nvme_qpair *qp;
	struct updk_nvme_stats st;
	struct done d = { 0 };
	uint8_t *buf, *ref;
	char ctrl[64], blk[64];
	uint32_t bs;
	size_t max = 0;
	int fd;

	c = open_vfio(bdf);
	ns = updk_nvme_ns_get(c, 1);
	cr_assert_not_null(ns);
	bs = updk_nvme_ns_sector_size(ns);
	cr_assert_gt(4100u * bs, updk_nvme_ctrlr_max_xfer_size(c), "one span is above MDTS");
	for (size_t i = 0; i < n; i++) {
		size_t need = spans[i].off + (size_t)spans[i].nlb * bs;

		cr_assert_leq((spans[i].lba + spans[i].nlb), updk_nvme_ns_num_sectors(ns));
		max = need > max ? need : max;
	}
	cr_assert_eq(updk_nvme_qpair_alloc(c, NULL, &qp), 0);
	buf = updk_dma_alloc(max * n, 4096, UPDK_NUMA_ANY, NULL);
	ref = malloc(max);
	cr_assert(buf && ref);
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = buf + i * max + spans[i].off;

		pattern(p, (size_t)spans[i].nlb * bs, i + 1);
		cr_assert_eq(
			updk_nvme_ns_write(ns, qp, p, spans[i].lba, spans[i].nlb, done_cb, &d, 0),
			0, "span %zu", i);
	}
	wait_all(qp, &d, (int)n);
	updk_nvme_qpair_get_stats(qp, &st);
	/* The default on QEMU's NVMe: no shadow doorbells under TCG, as the guest's CPU says it is
	 * (docs/nvme-driver.md); under a hypervisor that traps MMIO, the offer is taken. */
	cr_assert_eq(updk_nvme_ctrlr_shadow_doorbell(c), util_hypervisor()->kind != UTIL_HV_TCG,
		     "%s", updk_nvme_ctrlr_shadow_doorbell_why(c));
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);

	/* the kernel reads what updk wrote */
	vm_bind(bdf, "nvme");
	vm_nvme_devs(bdf, 1, ctrl, blk, sizeof(blk));
	fd = open(blk, O_RDWR);
	cr_assert_geq(fd, 0, "open %s", blk);
	for (size_t i = 0; i < n; i++) {
		size_t len = (size_t)spans[i].nlb * bs;
		uint8_t *got = malloc(len);

		pattern(ref, len, i + 1);
		cr_assert_eq(pread(fd, got, len, (off_t)(spans[i].lba * bs)), (ssize_t)len);
		cr_assert_eq(memcmp(got, ref, len), 0, "span %zu differs through the kernel", i);
		/* and the kernel writes the reverse pattern for updk to read */
		pattern(got, len, 1000 + i);
		cr_assert_eq(pwrite(fd, got, len, (off_t)(spans[i].lba * bs)), (ssize_t)len);
		free(got);
	}
	cr_assert_eq(fsync(fd), 0);
	close(fd);

	c = open_vfio(bdf);
	ns = updk_nvme_ns_get(c, 1);
	cr_assert_eq(updk_nvme_qpair_alloc(c, NULL, &qp), 0);
	memset(buf, 0, max * n);
	d = (struct done){ 0 };
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(updk_nvme_ns_read(ns, qp, buf + i * max + spans[i].off, spans[i].lba,
					       spans[i].nlb, done_cb, &d, 0),
			     0);
	wait_all(qp, &d, (int)n);
	for (size_t i = 0; i < n; i++) {
		size_t len = (size_t)spans[i].nlb * bs;

		pattern(ref, len, 1000 + i);
		cr_assert_eq(memcmp(buf + i * max + spans[i].off, ref, len), 0,
			     "span %zu written by the kernel differs through updk", i);
	}
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
	free(ref);
	vm_bind(bdf, "nvme");
}

/* @n Get Features (Number of Queues) on the admin queue, each waited for; all must succeed. */
static void admin_round(struct updk_nvme_ctrlr *c, int n, struct updk_nvme_stats *delta)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_GET_FEATURES,
				     .cdw10 = UPDK_NVME_FEAT_NUMBER_OF_QUEUES };
	struct updk_nvme_stats a, b;

	updk_nvme_ctrlr_get_stats(c, &a);
	for (int i = 0; i < n; i++)
		cr_assert_eq(updk_nvme_admin_sync(c, &cmd, NULL, 0, NULL), 0, "Get Features %d", i);
	updk_nvme_ctrlr_get_stats(c, &b);
	delta->mmio_doorbell_writes = b.mmio_doorbell_writes - a.mmio_doorbell_writes;
	delta->shadow_doorbell_updates = b.shadow_doorbell_updates - a.shadow_doorbell_updates;
}

/*
 * Queue depth 1 on QEMU's controller with the defaults: one MMIO doorbell write per command, the
 * SQ tail; the CQ head goes back once per 127 completions (half the qpair's 256-entry ring less
 * its slot: the reaper's lazy CQ doorbell), and QEMU, whose CQ never fills, completes every
 * command.
 */
Test(nvme_vm, qd1_one_doorbell_per_command)
{
	const char *bdf = vm_env("UPDK_VM_NVME2");
	struct updk_nvme_qpair_opts qo = { .opts_size = sizeof(qo), .depth = 1 };
	struct updk_nvme_ctrlr *c = open_vfio(bdf);
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	uint8_t *buf = updk_dma_alloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	struct updk_nvme_qpair *qp;
	struct updk_nvme_stats st;
	struct done d = { 0 };

	cr_assert(ns && buf);
	cr_assert_eq(updk_nvme_qpair_alloc(c, &qo, &qp), 0);
	for (int i = 0; i < 300; i++) {
		cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, (uint64_t)i * 8, 8, done_cb, &d, 0), 0);
		wait_all(qp, &d, i + 1);
	}
	updk_nvme_qpair_get_stats(qp, &st);
	fprintf(stderr, "300 reads at QD 1: %llu SQ and %llu CQ MMIO doorbells (shadow %s: %s)\n",
		(unsigned long long)st.sq_doorbell_mmio, (unsigned long long)st.cq_doorbell_mmio,
		updk_nvme_ctrlr_shadow_doorbell(c) ? "on" : "off",
		updk_nvme_ctrlr_shadow_doorbell_why(c));
	cr_assert_leq(st.sq_doorbell_mmio, 300);
	cr_assert_eq(st.cq_doorbell_mmio, 300 / 127, "the CQ head once per 127 completions");
	updk_nvme_qpair_free(qp);
	updk_dma_free(buf);
	updk_nvme_ctrlr_close(c);
	vm_bind(bdf, "nvme");
}

/*
 * The admin queue through shadow doorbells on QEMU's controller (which covers queue 0 in
 * Doorbell Buffer Config): admin commands complete, their doorbells go through the shadow
 * (QEMU's EventIdx follows what it consumed, so the rule still asks for MMIO writes: at most
 * one per doorbell), and again after a reset, which re-issues Doorbell Buffer Config.
 */
Test(nvme_vm, admin_queue_shadow_doorbells)
{
	const char *bdf = vm_env("UPDK_VM_NVME2");
	struct updk_nvme_ctrlr *c = open_vfio_shadow(bdf, UPDK_NVME_SHADOW_ON);
	struct updk_nvme_stats d;

	cr_assert(updk_nvme_ctrlr_shadow_doorbell(c), "QEMU offers Doorbell Buffer Config");
	admin_round(c, 100, &d);
	fprintf(stderr, "100 admin commands: %llu MMIO doorbell writes, %llu shadow updates\n",
		(unsigned long long)d.mmio_doorbell_writes,
		(unsigned long long)d.shadow_doorbell_updates);
	cr_assert_geq(d.shadow_doorbell_updates, 200, "SQ tail and CQ head through the shadow");
	cr_assert_leq(d.mmio_doorbell_writes, 200, "never more than one MMIO write per doorbell");
	cr_assert_eq(updk_nvme_ctrlr_reset(c), 0);
	cr_assert(updk_nvme_ctrlr_shadow_doorbell(c));
	admin_round(c, 50, &d);
	cr_assert_geq(d.shadow_doorbell_updates, 100, "shadow in use again after the reset");
	updk_nvme_ctrlr_close(c);
	vm_bind(bdf, "nvme");
}

Test(nvme_vm, shadow_doorbells_and_both_namespaces)
{
	const char *bdf = vm_env("UPDK_VM_NVME2");
	unsigned fds = count_fds();
	struct updk_nvme_ctrlr *c = open_vfio_shadow(bdf, UPDK_NVME_SHADOW_ON);
	struct updk_nvme_qpair *qp;
	struct updk_nvme_stats st;
	struct done d = { 0 };
	uint8_t *buf = updk_dma_alloc(32 * 4096, 4096, UPDK_NUMA_ANY, NULL);
	int total = 0;

	cr_assert(updk_nvme_ctrlr_shadow_doorbell(c));
	cr_assert_eq(updk_nvme_qpair_alloc(c, NULL, &qp), 0);
	for (uint32_t nsid = 1; nsid <= 2; nsid++) {
		struct updk_nvme_ns *ns = updk_nvme_ns_get(c, nsid);
		uint32_t blocks = 4096 / updk_nvme_ns_sector_size(ns);

		cr_assert_not_null(ns, "namespace %u", nsid);
		for (int round = 0; round < 100; round++) {
			for (int k = 0; k < 32; k++) {
				int rc = (k & 1) ? updk_nvme_ns_read(ns, qp, buf + k * 4096,
								     (uint64_t)k * blocks, blocks,
								     done_cb, &d, 0) :
						   updk_nvme_ns_write(ns, qp, buf + k * 4096,
								      (uint64_t)k * blocks, blocks,
								      done_cb, &d, 0);

				cr_assert_eq(rc, 0);
				total++;
			}
			wait_all(qp, &d, total);
		}
	}
	updk_nvme_qpair_get_stats(qp, &st);
	fprintf(stderr, "%d commands: %llu MMIO doorbell writes, %llu shadow updates\n", total,
		(unsigned long long)st.mmio_doorbell_writes,
		(unsigned long long)st.shadow_doorbell_updates);
	cr_assert_lt(
		st.mmio_doorbell_writes * 4, (uint64_t)total,
		"doorbells batched per burst (and shadowed): far fewer MMIO writes than commands");
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	/* the container, group and device descriptors went with the last device */
	cr_assert_eq(count_fds(), fds, "%u file descriptors open after close, %u before",
		     count_fds(), fds);
	updk_dma_free(buf);
	/* the clean shutdown leaves the controller to the kernel driver */
	vm_bind(bdf, "nvme");
	{
		char ctrl[64], blk[64];

		vm_nvme_devs(bdf, 2, ctrl, blk, sizeof(blk));
	}
}
