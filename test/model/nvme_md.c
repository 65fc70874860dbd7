// SPDX-License-Identifier: BSD-3-Clause
/*
 * Metadata and end-to-end protection through the NVMe driver's I/O calls on sim:nvme: a separate
 * metadata buffer (MPTR) split at MDTS with each child's part in place; PRACT=1 making the PI,
 * whose Guard, Application Tag and Reference Tag are read back raw (PRACT=0) and compared with
 * what NVM Command Set 1.0 §5.2.1 says they must be (computed here with the CRCs, not with
 * lib/pi), so the tags the device was sent show, child by child; PRCHK failures come back as
 * the named End-to-end statuses and are counted; bad input refused before anything is queued,
 * with what is in flight untouched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <updk/crc.h>

#include "lib/util/be.h"
#include "test/model/nvme_util.h"

TestSuite(nvme_md, .init = nvme_test_mem_setup, .timeout = 120);

static void *dma(size_t len)
{
	void *p = updk_dma_zalloc(len, 4096, UPDK_NUMA_ANY, NULL);

	cr_assert_not_null(p);
	return p;
}

static struct updk_nvme_io_opts opts_of(uint32_t flags, void *md, uint32_t md_len)
{
	return (struct updk_nvme_io_opts){
		.opts_size = sizeof(struct updk_nvme_io_opts),
		.io_flags = flags,
		.md = md,
		.md_len = md_len,
	};
}

/* One _ext read, write (@opc) or compare of @nlb blocks at @lba, waited for; its completion. */
static struct updk_nvme_cpl io_ext(struct rig *r, uint8_t opc, void *buf, size_t len, uint64_t lba,
				   uint32_t nlb, const struct updk_nvme_io_opts *o)
{
	struct iovec iov = { buf, len };
	struct io_done d = { 0 };
	int rc =
		opc == UPDK_NVME_OPC_WRITE ?
			updk_nvme_ns_write_ext(r->ns, r->qp, &iov, 1, lba, nlb, io_done_cb, &d, o) :
		opc == UPDK_NVME_OPC_READ ?
			updk_nvme_ns_read_ext(r->ns, r->qp, &iov, 1, lba, nlb, io_done_cb, &d, o) :
			updk_nvme_ns_compare_ext(r->ns, r->qp, &iov, 1, lba, nlb, io_done_cb, &d,
						 o);

	cr_assert_eq(rc, 0, "submit: %d", rc);
	wait_done(r->qp, &d);
	return d.cpl;
}

static void assert_cpl_ok(const struct updk_nvme_cpl *c)
{
	cr_assert_not(updk_nvme_cpl_is_error(c), "status %s",
		      updk_nvme_status_str(updk_nvme_cpl_sct(c), updk_nvme_cpl_sc(c)));
}

/* An _ext call that must be refused with @want before anything is queued; its log line. */
static char *refused(struct rig *r, uint8_t opc, void *buf, size_t len, uint64_t lba, uint32_t nlb,
		     const struct updk_nvme_io_opts *o, int want)
{
	struct iovec iov = { buf, len };
	struct io_done d = { 0 };
	struct log_capture lc;
	uint32_t out = updk_nvme_qpair_outstanding(r->qp);
	int rc;

	log_capture_start(&lc);
	rc = opc == UPDK_NVME_OPC_WRITE ?
		     updk_nvme_ns_write_ext(r->ns, r->qp, &iov, 1, lba, nlb, io_done_cb, &d, o) :
		     updk_nvme_ns_read_ext(r->ns, r->qp, &iov, 1, lba, nlb, io_done_cb, &d, o);
	cr_assert_eq(rc, want, "refused with %d, not %d", rc, want);
	cr_assert_eq(updk_nvme_qpair_outstanding(r->qp), out, "nothing queued");
	cr_assert_eq(d.done, 0);
	return log_capture_stop(&lc);
}

Test(nvme_md, separate_metadata_split_at_mdts_lands_block_by_block)
{
	struct rig r;
	uint8_t *md = dma(4096), *mr = dma(4096);
	struct updk_nvme_io_opts o = opts_of(0, md, 300 * 8);
	struct updk_nvme_cpl c;
	struct updk_nvme_stats st;
	char *log;

	/* MDTS 1: 8 KiB a command, 16 blocks of 512 (separate metadata is not counted) */
	rig_open(&r, "sim:nvme?size=16M,lba=512,ms=8,mdts=1", 8, 300 * 512);
	cr_assert_eq(updk_nvme_ns_io_md_size(r.ns, 0), 8);
	cr_assert_eq(updk_nvme_ns_io_block_size(r.ns, 0), 512);
	fill(r.wbuf, 300 * 512, 5);
	fill(md, 300 * 8, 9);
	c = io_ext(&r, UPDK_NVME_OPC_WRITE, r.wbuf, 300 * 512, 40, 300, &o);
	assert_cpl_ok(&c);
	o.md = mr;
	c = io_ext(&r, UPDK_NVME_OPC_READ, r.rbuf, 300 * 512, 40, 300, &o);
	assert_cpl_ok(&c);
	cr_assert(!memcmp(r.wbuf, r.rbuf, 300 * 512), "data");
	cr_assert(!memcmp(md, mr, 300 * 8), "metadata, each child's part where it belongs");
	/* a block read alone has its own metadata: block 40 + 17, in the second child */
	memset(mr, 0, 8);
	c = io_ext(&r, UPDK_NVME_OPC_READ, r.rbuf, 512, 57, 1, &o);
	assert_cpl_ok(&c);
	cr_assert(!memcmp(mr, md + 17 * 8, 8));
	c = io_ext(&r, UPDK_NVME_OPC_COMPARE, r.wbuf, 300 * 512, 40, 300,
		   &(struct updk_nvme_io_opts){ .opts_size = sizeof(o), .md = md, .md_len = 2400 });
	assert_cpl_ok(&c);
	updk_nvme_qpair_get_stats(r.qp, &st);
	cr_assert_eq(st.split_ios, 3);
	cr_assert_eq(st.cmds_failed, 0);

	/* the one-buffer calls cannot carry it: refused, naming the way that can */
	log = refused(&r, UPDK_NVME_OPC_READ, r.rbuf, 512, 0, 1,
		      &(struct updk_nvme_io_opts){ .opts_size = sizeof(o) }, -EINVAL);
	cr_assert(strstr(log, "separate buffer") && strstr(log, "opts.md"), "%s", log);
	free(log);
	cr_assert_eq(
		updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 0, 1, io_done_cb, &(struct io_done){ 0 }, 0),
		-EINVAL);
	/* commands without data still go */
	{
		struct io_done d = { 0 };

		cr_assert_eq(updk_nvme_ns_flush(r.ns, r.qp, io_done_cb, &d), 0);
		wait_done(r.qp, &d);
		assert_ok(&d);
	}
	rig_close(&r);
	updk_dma_free(md);
	updk_dma_free(mr);
}

/* The 16b Guard PI of a 512-byte block (§5.2.1.1), checked field by field. */
static void assert_pi16(const uint8_t *pi, const uint8_t *data, uint16_t app, uint32_t ref,
			uint32_t blk)
{
	cr_assert_eq(be_get(pi, 2), updk_crc16_t10dif(0, data, 512), "block %u Guard", blk);
	cr_assert_eq(be_get(pi + 2, 2), app, "block %u Application Tag", blk);
	cr_assert_eq(be_get(pi + 4, 4), ref, "block %u Reference Tag", blk);
}

Test(nvme_md, pract_type1_extended_the_tags_each_child_carried)
{
	struct rig r;
	struct updk_nvme_cpl c;
	struct updk_pi_fmt f;
	uint32_t n = 100;
	struct updk_nvme_io_opts o = opts_of(UPDK_NVME_IO_PRACT | UPDK_NVME_IO_PRCHK_ALL, NULL, 0);

	/* extended LBA, 8 bytes of PI only: 520-byte blocks, 15 a command at MDTS 1 */
	rig_open(&r, "sim:nvme?size=16M,lba=512,ms=8,mset=1,pi=1,mdts=1", 8, n * 520);
	cr_assert_eq(updk_nvme_ns_pi_fmt(r.ns, &f), UPDK_PI_TYPE1);
	cr_assert_eq(f.guard, UPDK_PI_GUARD16);
	cr_assert_eq(updk_nvme_ns_io_block_size(r.ns, 0), 520);
	cr_assert_eq(updk_nvme_ns_io_block_size(r.ns, UPDK_NVME_IO_PRACT), 512, "PI stays");
	fill(r.wbuf, n * 512, 3);
	/* the one-buffer write with PRACT: the controller makes the PI, Reference Tag = LBA */
	write_sync(&r, r.wbuf, 1000, n, UPDK_NVME_IO_PRACT | UPDK_NVME_IO_PRCHK_ALL);
	/* raw: 520 bytes a block, the PI as the controller stored it */
	read_sync(&r, r.rbuf, 1000, n);
	for (uint32_t i = 0; i < n; i++) {
		cr_assert(!memcmp(r.rbuf + i * 520, r.wbuf + i * 512, 512), "block %u data", i);
		assert_pi16(r.rbuf + i * 520 + 512, r.wbuf + i * 512, 0, 1000 + i, i);
	}
	/* PRACT read: the controller checks and strips it */
	memset(r.rbuf, 0, n * 520);
	c = io_ext(&r, UPDK_NVME_OPC_READ, r.rbuf, n * 512, 1000, n, &o);
	assert_cpl_ok(&c);
	cr_assert(!memcmp(r.rbuf, r.wbuf, n * 512));
	/* an Application Tag and mask on the _ext write: in every block's PI */
	o.app_tag = 0xbeef;
	c = io_ext(&r, UPDK_NVME_OPC_WRITE, r.wbuf, n * 512, 2000, n, &o);
	assert_cpl_ok(&c);
	read_sync(&r, r.rbuf, 2000, n);
	for (uint32_t i = 0; i < n; i++)
		assert_pi16(r.rbuf + i * 520 + 512, r.wbuf + i * 512, 0xbeef, 2000 + i, i);
	cr_assert_eq(updk_pi_verify(&f, r.rbuf, NULL, n,
				    &(struct updk_pi_tags){
					    .ref = 2000, .app = 0xbeef, .app_mask = 0xffff },
				    UPDK_PI_CHECK_ALL, NULL),
		     0, "and lib/pi agrees");
	rig_close(&r);
}

Test(nvme_md, prchk_failures_are_named_and_counted_and_write_nothing)
{
	struct rig r;
	uint8_t *md = dma(4096), *mr = dma(4096);
	struct updk_nvme_io_opts o = opts_of(UPDK_NVME_IO_PRCHK_ALL, md, 32 * 8);
	struct updk_nvme_cpl c;
	struct updk_nvme_stats st, cst;
	struct updk_pi_fmt f;
	uint32_t n = 32;

	/* separate metadata, PI type 1 */
	rig_open(&r, "sim:nvme?size=16M,lba=512,ms=8,pi=1", 8, n * 512);
	updk_nvme_ns_pi_fmt(r.ns, &f);
	fill(r.wbuf, n * 512, 11);
	cr_assert_eq(updk_pi_generate(&f, r.wbuf, md, n,
				      &(struct updk_pi_tags){ .ref = 64, .app = 0x1234 }),
		     0);
	/* host-made PI, checked by the controller: taken */
	c = io_ext(&r, UPDK_NVME_OPC_WRITE, r.wbuf, n * 512, 64, n, &o);
	assert_cpl_ok(&c);
	/* and read back with the expected tags: the controller checks, the host verifies */
	o.md = mr;
	o.app_tag = 0x1234;
	o.app_tag_mask = 0xffff;
	c = io_ext(&r, UPDK_NVME_OPC_READ, r.rbuf, n * 512, 64, n, &o);
	assert_cpl_ok(&c);
	cr_assert(!memcmp(md, mr, n * 8));
	/* an Application Tag other than expected, under the mask: 83h; outside it: fine */
	o.app_tag = 0x1200;
	c = io_ext(&r, UPDK_NVME_OPC_READ, r.rbuf, n * 512, 64, n, &o);
	assert_status(&c, UPDK_NVME_SCT_MEDIA, UPDK_NVME_SC_APPLICATION_TAG_CHECK_ERROR);
	cr_assert_str_eq(updk_nvme_status_str(updk_nvme_cpl_sct(&c), updk_nvme_cpl_sc(&c)),
			 "End-to-end Application Tag Check Error");
	o.app_tag_mask = 0xff00;
	c = io_ext(&r, UPDK_NVME_OPC_READ, r.rbuf, n * 512, 64, n, &o);
	assert_cpl_ok(&c);
	/* a Reference Tag other than expected (type 1 checks it is the LBA: so through the
	 * stored PI, written for block 64 at block 96) */
	o.md = md;
	c = io_ext(&r, UPDK_NVME_OPC_WRITE, r.wbuf, n * 512, 96, n, &o);
	assert_status(&c, UPDK_NVME_SCT_MEDIA, UPDK_NVME_SC_REFERENCE_TAG_CHECK_ERROR);
	/* a corrupted block: Guard, 82h; nothing of the write lands */
	r.wbuf[7 * 512 + 3] ^= 1;
	c = io_ext(&r, UPDK_NVME_OPC_WRITE, r.wbuf, n * 512, 64, n, &o);
	assert_status(&c, UPDK_NVME_SCT_MEDIA, UPDK_NVME_SC_GUARD_CHECK_ERROR);
	cr_assert_str_eq(updk_nvme_status_str(updk_nvme_cpl_sct(&c), updk_nvme_cpl_sc(&c)),
			 "End-to-end Guard Check Error");
	o.md = mr;
	o.io_flags = 0;
	c = io_ext(&r, UPDK_NVME_OPC_READ, r.rbuf, n * 512, 64, n, &o);
	assert_cpl_ok(&c);
	r.wbuf[7 * 512 + 3] ^= 1;
	cr_assert(!memcmp(r.rbuf, r.wbuf, n * 512), "the block as first written");
	updk_nvme_qpair_get_stats(r.qp, &st);
	cr_assert_eq(st.pi_guard_errors, 1);
	cr_assert_eq(st.pi_app_tag_errors, 1);
	cr_assert_eq(st.pi_ref_tag_errors, 1);
	cr_assert_eq(st.cmds_failed, 3);
	updk_nvme_ctrlr_get_stats(r.c, &cst);
	cr_assert_eq(cst.pi_guard_errors + cst.pi_app_tag_errors + cst.pi_ref_tag_errors, 3);
	rig_close(&r);
	updk_dma_free(md);
	updk_dma_free(mr);
}

Test(nvme_md, type2_reference_tag_given_moves_with_each_child)
{
	struct rig r;
	uint8_t *md = dma(8192);
	uint32_t n = 200;
	struct updk_nvme_io_opts o = opts_of(UPDK_NVME_IO_PRACT, md, n * 16);
	struct updk_nvme_cpl c;

	/* separate 16-byte metadata, PI first; MDTS 1: 16 blocks a command */
	rig_open(&r, "sim:nvme?size=16M,lba=512,ms=16,pi=2,pil=1,mdts=1", 8, n * 512);
	fill(r.wbuf, n * 512, 21);
	memset(md, 0x5a, n * 16);
	o.ref_tag = 0xabc00000u;
	o.ref_tag_set = true;
	o.app_tag = 7;
	c = io_ext(&r, UPDK_NVME_OPC_WRITE, r.wbuf, n * 512, 300, n, &o);
	assert_cpl_ok(&c);
	o.io_flags = 0;
	memset(md, 0, n * 16);
	c = io_ext(&r, UPDK_NVME_OPC_READ, r.rbuf, n * 512, 300, n, &o);
	assert_cpl_ok(&c);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *m = md + i * 16;

		/* PI first: no metadata bytes before it, so the Guard is the data's alone */
		cr_assert_eq(be_get(m, 2), updk_crc16_t10dif(0, r.wbuf + i * 512, 512), "blk %u",
			     i);
		cr_assert_eq(be_get(m + 2, 2), 7);
		cr_assert_eq(be_get(m + 4, 4), 0xabc00000u + i, "block %u Reference Tag", i);
		cr_assert_eq(m[8], 0x5a, "the bytes after the PI are the host's");
	}
	/* checked with the tag given, and with one block off */
	o.io_flags = UPDK_NVME_IO_PRCHK_REF;
	c = io_ext(&r, UPDK_NVME_OPC_READ, r.rbuf, n * 512, 300, n, &o);
	assert_cpl_ok(&c);
	o.ref_tag++;
	c = io_ext(&r, UPDK_NVME_OPC_READ, r.rbuf, n * 512, 300, n, &o);
	assert_status(&c, UPDK_NVME_SCT_MEDIA, UPDK_NVME_SC_REFERENCE_TAG_CHECK_ERROR);
	rig_close(&r);
	updk_dma_free(md);
}

Test(nvme_md, guard64_48_bit_reference_tag_across_children)
{
	struct rig r;
	uint32_t n = 40;
	uint64_t ref = 0x123400000000ull - 20; /* crosses bit 32 in the middle */
	struct updk_nvme_io_opts o = opts_of(UPDK_NVME_IO_PRACT, NULL, 0);
	struct updk_nvme_cpl c;
	struct updk_pi_fmt f;

	/* 4 KiB blocks with 16 bytes of metadata interleaved, the 64b Guard, type 2 */
	rig_open(&r, "sim:nvme?size=16M,lba=4096,ms=16,mset=1,pi=2,pif=2,mdts=2", 8, n * 4112);
	cr_assert_eq(updk_nvme_ns_pi_fmt(r.ns, &f), UPDK_PI_TYPE2);
	cr_assert_eq(f.guard, UPDK_PI_GUARD64);
	fill(r.wbuf, n * 4112, 4);
	o.ref_tag = ref;
	o.ref_tag_set = true;
	/* ms 16 = the PI: with PRACT only the data crosses */
	c = io_ext(&r, UPDK_NVME_OPC_WRITE, r.wbuf, n * 4096, 8, n, &o);
	assert_cpl_ok(&c);
	read_sync(&r, r.rbuf, 8, n);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *pi = r.rbuf + i * 4112 + 4096;

		cr_assert_eq(be_get(pi, 8), updk_crc64_nvme(0, r.wbuf + i * 4096, 4096));
		cr_assert_eq(be_get(pi + 10, 6), ref + i, "block %u Reference Tag", i);
	}
	/* a tag beyond 48 bits is refused up front */
	o.ref_tag = 1ull << 48;
	free(refused(&r, UPDK_NVME_OPC_WRITE, r.wbuf, n * 4096, 8, n, &o, -EINVAL));
	o.ref_tag = ref;
	o.io_flags = UPDK_NVME_IO_PRCHK_ALL;
	c = io_ext(&r, UPDK_NVME_OPC_READ, r.rbuf, n * 4112, 8, n, &o);
	assert_cpl_ok(&c);
	/* a host-corrupted PI on a checked write: Guard */
	be_put(r.rbuf + 4096, 8, 0);
	c = io_ext(&r, UPDK_NVME_OPC_WRITE, r.rbuf, n * 4112, 8, n, &o);
	assert_status(&c, UPDK_NVME_SCT_MEDIA, UPDK_NVME_SC_GUARD_CHECK_ERROR);
	rig_close(&r);
}

Test(nvme_md, guard32_64_bit_reference_tag_across_children)
{
	struct rig r;
	uint32_t n = 40;
	uint64_t ref = 0x1000000000000ull - 20; /* crosses bit 48, beyond the 64b Guard's tag */
	struct updk_nvme_io_opts o = opts_of(UPDK_NVME_IO_PRACT, NULL, 0);
	struct updk_nvme_cpl c;
	struct updk_pi_fmt f;

	/* 4 KiB blocks with 16 bytes of metadata interleaved, the 32b Guard (NVM Command Set 1.0
	 * §5.2.1.2: CRC-32C, a 16-bit Storage Tag and a 64-bit Reference Tag), type 2 */
	rig_open(&r, "sim:nvme?size=16M,lba=4096,ms=16,mset=1,pi=2,pif=1,mdts=2", 8, n * 4112);
	cr_assert_eq(updk_nvme_ns_pi_fmt(r.ns, &f), UPDK_PI_TYPE2);
	cr_assert_eq(f.guard, UPDK_PI_GUARD32);
	fill(r.wbuf, n * 4112, 5);
	o.ref_tag = ref;
	o.ref_tag_set = true;
	o.app_tag = 0x3232;
	/* the controller makes the PI: Guard, Application Tag, Storage Tag 0, Reference Tag */
	c = io_ext(&r, UPDK_NVME_OPC_WRITE, r.wbuf, n * 4096, 8, n, &o);
	assert_cpl_ok(&c);
	read_sync(&r, r.rbuf, 8, n);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *pi = r.rbuf + i * 4112 + 4096;

		cr_assert_eq(be_get(pi, 4), updk_crc32c(0, r.wbuf + i * 4096, 4096), "block %u", i);
		cr_assert_eq(be_get(pi + 4, 2), 0x3232);
		cr_assert_eq(be_get(pi + 6, 2), 0, "the Storage Tag");
		cr_assert_eq(be_get(pi + 8, 8), ref + i, "block %u Reference Tag", i);
	}
	/* what the controller made, lib/pi verifies; what lib/pi makes, the controller checks */
	cr_assert_eq(updk_pi_verify(&f, r.rbuf, NULL, n,
				    &(struct updk_pi_tags){
					    .ref = ref, .app = 0x3232, .app_mask = 0xffff },
				    UPDK_PI_CHECK_ALL, NULL),
		     0);
	fill(r.wbuf, n * 4112, 6);
	cr_assert_eq(updk_pi_generate(&f, r.wbuf, NULL, n,
				      &(struct updk_pi_tags){ .ref = ref, .app = 0x3232 }),
		     0);
	o.io_flags = UPDK_NVME_IO_PRCHK_ALL;
	o.app_tag_mask = 0xffff;
	c = io_ext(&r, UPDK_NVME_OPC_WRITE, r.wbuf, n * 4112, 8, n, &o);
	assert_cpl_ok(&c);
	c = io_ext(&r, UPDK_NVME_OPC_READ, r.rbuf, n * 4112, 8, n, &o);
	assert_cpl_ok(&c);
	cr_assert_arr_eq(r.rbuf, r.wbuf, n * 4112);
	/* a wrong Reference Tag above bit 32, and a wrong Guard, are found */
	o.ref_tag = ref ^ (1ull << 40);
	c = io_ext(&r, UPDK_NVME_OPC_READ, r.rbuf, n * 4112, 8, n, &o);
	assert_status(&c, UPDK_NVME_SCT_MEDIA, UPDK_NVME_SC_REFERENCE_TAG_CHECK_ERROR);
	o.ref_tag = ref;
	be_put(r.wbuf + 4096, 4, 0);
	c = io_ext(&r, UPDK_NVME_OPC_WRITE, r.wbuf, n * 4112, 8, n, &o);
	assert_status(&c, UPDK_NVME_SCT_MEDIA, UPDK_NVME_SC_GUARD_CHECK_ERROR);
	rig_close(&r);
}

Test(nvme_md, bad_input_refused_up_front_in_flight_untouched)
{
	struct rig r, plain;
	uint8_t *md = dma(8192), *heap = malloc(4096);
	struct updk_nvme_io_opts o = opts_of(0, md, 16 * 8);
	struct io_done inflight = { 0 };
	struct iovec iov;
	char *log;

	rig_open(&r, "sim:nvme?size=16M,lba=512,ms=8,pi=3", 8, 16 * 512);
	/* something in flight all along */
	cr_assert_eq(sim_nvme_pause(ctrlr_dev(r.c), true), 0);
	iov = (struct iovec){ r.wbuf, 16 * 512 };
	cr_assert_eq(updk_nvme_ns_write_ext(r.ns, r.qp, &iov, 1, 0, 16, io_done_cb, &inflight, &o),
		     0);

	o.md_len = 15 * 8;
	log = refused(&r, UPDK_NVME_OPC_WRITE, r.wbuf, 16 * 512, 0, 16, &o, -EINVAL);
	cr_assert(strstr(log, "metadata buffer of 120 bytes"), "%s", log);
	free(log);
	o.md_len = 16 * 8;
	o.md = md + 2;
	log = refused(&r, UPDK_NVME_OPC_WRITE, r.wbuf, 16 * 512, 0, 16, &o, -EINVAL);
	cr_assert(strstr(log, "dword aligned"), "%s", log);
	free(log);
	o.md = heap;
	log = refused(&r, UPDK_NVME_OPC_WRITE, r.wbuf, 16 * 512, 0, 16, &o, -EFAULT);
	cr_assert(strstr(log, "DMA memory"), "%s", log);
	free(log);
	o.md = md;
	o.io_flags = UPDK_NVME_IO_PRCHK_REF;
	log = refused(&r, UPDK_NVME_OPC_READ, r.rbuf, 16 * 512, 0, 16, &o, -EINVAL);
	cr_assert(strstr(log, "PI type 3"), "%s", log);
	free(log);
	o.io_flags = 0;
	o.opts_size = 0;
	free(refused(&r, UPDK_NVME_OPC_READ, r.rbuf, 16 * 512, 0, 16, &o, -EINVAL));

	cr_assert_eq(sim_nvme_pause(ctrlr_dev(r.c), false), 0);
	wait_done(r.qp, &inflight);
	assert_ok(&inflight);

	/* PI flags and a metadata buffer on a namespace with neither */
	rig_open(&plain, "sim:nvme?size=16M", 8, 4096);
	o = opts_of(UPDK_NVME_IO_PRACT, NULL, 0);
	log = refused(&plain, UPDK_NVME_OPC_WRITE, plain.wbuf, 512, 0, 1, &o, -EINVAL);
	cr_assert(strstr(log, "without protection information"), "%s", log);
	free(log);
	cr_assert_eq(updk_nvme_ns_write(plain.ns, plain.qp, plain.wbuf, 0, 1, io_done_cb, &inflight,
					UPDK_NVME_IO_PRCHK_GUARD),
		     -EINVAL);
	o = opts_of(0, md, 8);
	log = refused(&plain, UPDK_NVME_OPC_WRITE, plain.wbuf, 512, 0, 1, &o, -EINVAL);
	cr_assert(strstr(log, "no metadata"), "%s", log);
	free(log);
	rig_close(&plain);
	rig_close(&r);
	updk_dma_free(md);
	free(heap);
}
