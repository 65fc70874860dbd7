// SPDX-License-Identifier: BSD-3-Clause
/*
 * SGLs for a separate metadata buffer through the NVMe driver on sim:nvme (CDW0.PSDT 10b, MPTR
 * the address of an SGL segment of one descriptor, NVMe Base 2.0 §4.2 Figure 92): by default
 * only where MPTR cannot point at the buffer and the controller reports them (Identify SGLS
 * bit 19, msgl=1): the child of a split I/O whose metadata crosses from one IOVA run into
 * another, its end-to-end protection checked by the model over the bytes the SGL brought;
 * always with opts.md_sgl ON, also on a controller that takes them unreported (msgl=2, the
 * model's default, as QEMU's NVMe before 9.2); refused, naming the buffer and why, where they
 * cannot be used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <criterion/criterion.h>

#include <updk/pi.h>

#include "test/model/nvme_util.h"

TestSuite(nvme_md_sgl, .init = nvme_test_mem_setup, .timeout = 120);

/* @n pages next to each other in virtual memory, each registered on its own and with another
 * page registered between each two, so no two are IOVA contiguous: MPTR cannot point at a
 * buffer that crosses from one into the next. */
static uint8_t *split_pages(unsigned n, uint8_t **spacers)
{
	uint8_t *p =
		mmap(NULL, n * 4096ul, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	*spacers =
		mmap(NULL, n * 4096ul, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(p != MAP_FAILED && *spacers != MAP_FAILED);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(updk_mem_register(p + i * 4096ul, 4096), 0);
		cr_assert_eq(updk_mem_register(*spacers + i * 4096ul, 4096), 0);
	}
	for (unsigned i = 1; i < n; i++)
		cr_assert_neq(updk_iova(p + i * 4096ul), updk_iova(p) + i * 4096ul);
	return p;
}

static void split_free(uint8_t *p, uint8_t *spacers, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(updk_mem_unregister(p + i * 4096ul, 4096), 0);
		cr_assert_eq(updk_mem_unregister(spacers + i * 4096ul, 4096), 0);
	}
	munmap(p, n * 4096ul);
	munmap(spacers, n * 4096ul);
}

/* One _ext read or write of @nlb blocks at @lba with metadata @md, waited for. */
static struct updk_nvme_cpl io_md(struct rig *r, bool write, void *buf, uint64_t lba, uint32_t nlb,
				  struct updk_nvme_io_opts *o, void *md)
{
	struct iovec iov = { buf, (size_t)nlb * 512 };
	struct io_done d = { 0 };
	int rc;

	o->md = md;
	rc = write ? updk_nvme_ns_write_ext(r->ns, r->qp, &iov, 1, lba, nlb, io_done_cb, &d, o) :
		     updk_nvme_ns_read_ext(r->ns, r->qp, &iov, 1, lba, nlb, io_done_cb, &d, o);
	cr_assert_eq(rc, 0, "submit: %d", rc);
	wait_done(r->qp, &d);
	return d.cpl;
}

static uint64_t md_sgls(struct rig *r)
{
	struct sim_nvme_stats st;

	cr_assert_eq(sim_nvme_stats(ctrlr_dev(r->c), &st), 0);
	return st.md_sgls;
}

static void cpl_ok(const struct updk_nvme_cpl *c)
{
	cr_assert_not(updk_nvme_cpl_is_error(c), "status %s",
		      updk_nvme_status_str(updk_nvme_cpl_sct(c), updk_nvme_cpl_sc(c)));
}

Test(nvme_md_sgl, by_default_where_mptr_cannot_point)
{
	struct rig r;
	uint8_t *spacers, *pages = split_pages(2, &spacers);
	/* 40 blocks of 8 bytes: 160 in each page */
	uint8_t *md = pages + 4096 - 160, *mr = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	struct updk_nvme_io_opts o = { .opts_size = sizeof(o),
				       .io_flags = UPDK_NVME_IO_PRCHK_ALL,
				       .md_len = 40 * 8,
				       .app_tag = 0x77,
				       .app_tag_mask = 0xffff };
	struct updk_nvme_cpl c;
	struct updk_pi_fmt f;

	cr_assert_not_null(mr);
	/* MDTS 1: 16 blocks a command, so the children's metadata is 128 bytes in the first page,
	 * 32 + 96 across the two, then 64 in the second */
	rig_open(&r, "sim:nvme?size=16M,lba=512,ms=8,pi=1,mdts=1,msgl=1", 8, 40 * 512);
	cr_assert_eq(updk_nvme_ctrlr_md_sgl(r.c), UPDK_NVME_MD_SGL_AUTO);
	cr_assert_eq(updk_nvme_ns_pi_fmt(r.ns, &f), UPDK_PI_TYPE1);
	fill(r.wbuf, 40 * 512, 3);
	cr_assert_eq(updk_pi_generate(&f, r.wbuf, md, 40,
				      &(struct updk_pi_tags){ .ref = 100, .app = 0x77 }),
		     0);
	/* the model checks every block's Guard, Application and Reference Tags */
	c = io_md(&r, true, r.wbuf, 100, 40, &o, md);
	cpl_ok(&c);
	cr_assert_eq(md_sgls(&r), 1, "only the child whose metadata crosses the pages");
	/* the bytes that reached the namespace, read back through MPTR */
	o.io_flags = 0;
	c = io_md(&r, false, r.rbuf, 100, 40, &o, mr);
	cpl_ok(&c);
	cr_assert(!memcmp(mr, md, 40 * 8));
	cr_assert(!memcmp(r.rbuf, r.wbuf, 40 * 512));
	cr_assert_eq(md_sgls(&r), 1);
	/* and into the two pages again, the model writing each piece where its SGL says */
	memset(md, 0, 40 * 8);
	c = io_md(&r, false, r.rbuf, 100, 40, &o, md);
	cpl_ok(&c);
	cr_assert(!memcmp(mr, md, 40 * 8));
	cr_assert_eq(md_sgls(&r), 2);
	/* a Guard spoilt in the second page: the model's check fails the child that carries it */
	md[160 + 8] ^= 1;
	o.io_flags = UPDK_NVME_IO_PRCHK_GUARD;
	c = io_md(&r, true, r.wbuf, 100, 40, &o, md);
	cr_assert_eq(updk_nvme_cpl_sc(&c), UPDK_NVME_SC_GUARD_CHECK_ERROR);
	rig_close(&r);
	split_free(pages, spacers, 2);
	updk_dma_free(mr);
}

Test(nvme_md_sgl, always_when_asked_also_unreported)
{
	struct updk_nvme_ctrlr_opts co = { .opts_size = sizeof(co), .md_sgl = UPDK_NVME_MD_SGL_ON };
	struct updk_nvme_io_opts o = { .opts_size = sizeof(o), .md_len = 40 * 16 };
	uint8_t *md = updk_dma_zalloc(8192, 4096, UPDK_NUMA_ANY, NULL), *mr = md + 4096;
	struct log_capture lc;
	struct updk_nvme_cpl c;
	struct rig r;
	char *log;

	cr_assert_not_null(md);
	/* msgl=2, the model's default: SGLS bit 19 clear, PSDT 10b taken */
	log_capture_start(&lc);
	rig_open_opts(&r, "sim:nvme?size=16M,lba=512,ms=16,mdts=1", &co, 8, 40 * 512);
	log = log_capture_stop(&lc);
	cr_assert(strstr(log, "SGLS bit 19 clear"), "%s", log);
	free(log);
	cr_assert_eq(updk_nvme_ctrlr_md_sgl(r.c), UPDK_NVME_MD_SGL_ON);
	fill(r.wbuf, 40 * 512, 7);
	fill(md, 40 * 16, 8);
	c = io_md(&r, true, r.wbuf, 0, 40, &o, md);
	cpl_ok(&c);
	cr_assert_eq(md_sgls(&r), 3, "every child, its buffer one run or not");
	/* byte-aligned SGLs (sgls=1) take a buffer off a dword, which MPTR cannot */
	c = io_md(&r, false, r.rbuf, 0, 40, &o, mr + 3);
	cpl_ok(&c);
	cr_assert(!memcmp(r.rbuf, r.wbuf, 40 * 512));
	cr_assert(!memcmp(mr + 3, md, 40 * 16));
	cr_assert_eq(md_sgls(&r), 6);
	rig_close(&r);

	/* msgl=0: the model refuses PSDT 10b, and says so with Invalid Field */
	rig_open_opts(&r, "sim:nvme?size=16M,lba=512,ms=16,mdts=1,msgl=0", &co, 8, 40 * 512);
	c = io_md(&r, true, r.wbuf, 0, 4, &o, md);
	cr_assert_eq(updk_nvme_cpl_sc(&c), UPDK_NVME_SC_INVALID_FIELD);
	cr_assert_eq(md_sgls(&r), 0);
	rig_close(&r);
	updk_dma_free(md);
}

/* Open @addr with @co, expecting -EINVAL and a message holding @what. */
static void open_refused(const char *addr, const struct updk_nvme_ctrlr_opts *co, const char *what)
{
	struct updk_nvme_ctrlr *c = NULL;
	struct log_capture lc;
	char *log;

	log_capture_start(&lc);
	cr_assert_eq(updk_nvme_ctrlr_open(addr, co, &c), -EINVAL, "%s", addr);
	log = log_capture_stop(&lc);
	cr_assert(strstr(log, what), "%s: %s", addr, log);
	cr_assert_null(c);
	free(log);
}

/* Submit the write of @nlb blocks with metadata @md, expecting @want and a message with @what. */
static void submit_refused(struct rig *r, uint32_t nlb, void *md, uint32_t md_len, int want,
			   const char *what)
{
	struct updk_nvme_io_opts o = { .opts_size = sizeof(o), .md = md, .md_len = md_len };
	struct iovec iov = { r->wbuf, (size_t)nlb * 512 };
	struct io_done d = { 0 };
	struct log_capture lc;
	char *log;

	log_capture_start(&lc);
	cr_assert_eq(updk_nvme_ns_write_ext(r->ns, r->qp, &iov, 1, 0, nlb, io_done_cb, &d, &o),
		     want);
	log = log_capture_stop(&lc);
	cr_assert(strstr(log, what), "%s", log);
	cr_assert_eq(updk_nvme_qpair_outstanding(r->qp), 0, "nothing queued");
	free(log);
}

Test(nvme_md_sgl, refused_where_it_cannot_be_used)
{
	struct updk_nvme_ctrlr_opts co = { .opts_size = sizeof(co), .md_sgl = UPDK_NVME_MD_SGL_ON };
	uint8_t *spacers, *pages = split_pages(18, &spacers), *heap = malloc(4096);
	struct updk_nvme_io_opts o = { .opts_size = sizeof(o), .md_len = 256 * 256 };
	struct updk_nvme_cpl c;
	struct rig r;

	cr_assert_not_null(heap);
	open_refused("sim:nvme?size=16M,lba=512,ms=8,sgls=0", &co, "no SGLs");
	co.no_sgl = true;
	open_refused("sim:nvme?size=16M,lba=512,ms=8", &co, "no_sgl is set");
	co.no_sgl = false;
	co.md_sgl = 7;
	open_refused("sim:nvme?size=16M,lba=512,ms=8", &co, "md_sgl 7");

	/* OFF, or a controller that does not report them: MPTR only, one run */
	co.md_sgl = UPDK_NVME_MD_SGL_OFF;
	rig_open_opts(&r, "sim:nvme?size=16M,lba=512,ms=8,msgl=1", &co, 8, 16 * 512);
	cr_assert_eq(updk_nvme_ctrlr_md_sgl(r.c), UPDK_NVME_MD_SGL_OFF);
	submit_refused(&r, 16, pages + 4096 - 64, 128, -EINVAL, "IOVA contiguous");
	rig_close(&r);
	rig_open(&r, "sim:nvme?size=16M,lba=512,ms=8", 8, 16 * 512);
	cr_assert_eq(updk_nvme_ctrlr_md_sgl(r.c), UPDK_NVME_MD_SGL_OFF, "SGLS bit 19 clear");
	submit_refused(&r, 16, pages + 4096 - 64, 128, -EINVAL, "SGLs for metadata are not");
	rig_close(&r);

	/* dword-aligned SGLs (sgls=2) want whole dwords; memory that is not DMA memory */
	rig_open(&r, "sim:nvme?size=16M,lba=512,ms=8,msgl=1,sgls=2", 8, 16 * 512);
	cr_assert_eq(updk_nvme_ctrlr_md_sgl(r.c), UPDK_NVME_MD_SGL_AUTO);
	submit_refused(&r, 16, pages + 4096 - 62, 128, -EINVAL, "off a dword");
	submit_refused(&r, 16, heap, 128, -EFAULT, "DMA memory");
	rig_close(&r);

	/* a command's metadata SGL holds 16 Data Blocks: 64 KiB of metadata in 16 pages goes, in
	 * 17 pieces it is refused, nothing queued */
	rig_open(&r, "sim:nvme?size=16M,lba=512,ms=256,mdts=5,msgl=1", 8, 256 * 512);
	fill(r.wbuf, 256 * 512, 1);
	fill(pages, 16 * 4096, 2);
	c = io_md(&r, true, r.wbuf, 0, 256, &o, pages);
	cpl_ok(&c);
	cr_assert_eq(md_sgls(&r), 1);
	submit_refused(&r, 256, pages + 8, 256 * 256, -EINVAL, "more than 16");
	rig_close(&r);
	split_free(pages, spacers, 18);
	free(heap);
}
