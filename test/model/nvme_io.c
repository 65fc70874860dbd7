// SPDX-License-Identifier: BSD-3-Clause
/*
 * drivers/nvme against sim:nvme: bring-up and identify, every I/O command, PRP edges, MDTS
 * splits, queue full, ring wrap, and the doorbell counters.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "test/model/nvme_util.h"

TestSuite(nvme_io, .init = nvme_test_mem_setup, .timeout = 60);

Test(nvme_io, open_identify_close)
{
	struct updk_nvme_ctrlr *c = open_ctrlr("sim:nvme?ns=2,size=16M,lba=4096,mdts=5");
	const struct updk_nvme_id_ctrl *id = updk_nvme_ctrlr_id(c);
	struct updk_nvme_ns *ns;

	cr_assert_eq(id->mdts, 5);
	cr_assert_eq(updk_nvme_ctrlr_max_xfer_size(c), 128 * 1024);
	cr_assert_eq(updk_nvme_ctrlr_num_ns(c), 2);
	cr_assert_eq(updk_nvme_ctrlr_first_active_ns(c), 1);
	cr_assert_eq(updk_nvme_ctrlr_next_active_ns(c, 1), 2);
	cr_assert_eq(updk_nvme_ctrlr_next_active_ns(c, 2), 0);
	ns = updk_nvme_ns_get(c, 1);
	cr_assert_not_null(ns);
	cr_assert_eq(updk_nvme_ns_sector_size(ns), 4096);
	cr_assert_eq(updk_nvme_ns_num_sectors(ns), 4096);
	cr_assert_eq(updk_nvme_ns_size(ns), 16u << 20);
	cr_assert_eq(updk_nvme_ns_max_io_sectors(ns), 32);
	cr_assert_null(updk_nvme_ns_get(c, 0));
	cr_assert_null(updk_nvme_ns_get(c, 3));
	cr_assert(updk_nvme_ctrlr_shadow_doorbell(c));
	cr_assert(updk_nvme_ctrlr_max_qpairs(c) >= 1);
	updk_nvme_ctrlr_close(c);
}

Test(nvme_io, bad_open_arguments)
{
	struct updk_nvme_ctrlr *c = (void *)1;
	struct updk_nvme_ctrlr_opts o = { 0 };

	cr_assert_eq(updk_nvme_ctrlr_open("sim:nvme", &o, &c), -EINVAL, "opts_size unset");
	cr_assert_null(c);
	cr_assert_lt(updk_nvme_ctrlr_open("sim:nosuchmodel", NULL, &c), 0);
	cr_assert_lt(updk_nvme_ctrlr_open("sim:nvme?bogus=1", NULL, &c), 0);
}

Test(nvme_io, write_read_compare_flush_zeroes_deallocate)
{
	struct rig r;
	struct io_done d = { 0 };
	struct updk_nvme_dsm_range range = { .slba = 8, .nlb = 4 };

	rig_open(&r, "sim:nvme?size=16M,lba=512", 31, 64 * 1024);
	fill(r.wbuf, 8192, 1);
	write_sync(&r, r.wbuf, 100, 16, UPDK_NVME_IO_FUA);
	read_sync(&r, r.rbuf, 100, 16);
	cr_assert_eq(memcmp(r.wbuf, r.rbuf, 8192), 0);

	cr_assert_eq(updk_nvme_ns_compare(r.ns, r.qp, r.wbuf, 100, 16, io_done_cb, &d, 0), 0);
	wait_done(r.qp, &d);
	assert_ok(&d);
	r.wbuf[5] ^= 1;
	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_ns_compare(r.ns, r.qp, r.wbuf, 100, 16, io_done_cb, &d, 0), 0);
	wait_done(r.qp, &d);
	assert_status(&d.cpl, UPDK_NVME_SCT_MEDIA, UPDK_NVME_SC_COMPARE_FAILURE);
	cr_assert_str_eq(updk_nvme_status_str(2, 0x85), "Compare Failure");
	r.wbuf[5] ^= 1;

	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_ns_flush(r.ns, r.qp, io_done_cb, &d), 0);
	wait_done(r.qp, &d);
	assert_ok(&d);

	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_ns_write_zeroes(r.ns, r.qp, 104, 4, io_done_cb, &d, 0), 0);
	wait_done(r.qp, &d);
	assert_ok(&d);
	read_sync(&r, r.rbuf, 100, 16);
	for (int i = 0; i < 2048; i++)
		cr_assert_eq(r.rbuf[4 * 512 + i], 0, "zeroed byte %d", i);
	cr_assert_eq(memcmp(r.rbuf, r.wbuf, 4 * 512), 0);
	cr_assert_eq(memcmp(r.rbuf + 8 * 512, r.wbuf + 8 * 512, 8 * 512), 0);

	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_ns_deallocate(r.ns, r.qp, &range, 1, io_done_cb, &d), 0);
	wait_done(r.qp, &d);
	assert_ok(&d);
	rig_close(&r);
}

Test(nvme_io, bad_io_arguments)
{
	struct rig r;
	struct io_done d = { 0 };
	uint64_t n;
	char stack[4096];

	rig_open(&r, "sim:nvme?size=1M,lba=512", 7, 8192);
	n = updk_nvme_ns_num_sectors(r.ns);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, n - 1, 2, io_done_cb, &d, 0), -EINVAL);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, UINT64_MAX, 2, io_done_cb, &d, 0),
		     -EINVAL);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 0, 0, io_done_cb, &d, 0), -EINVAL);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, stack, 0, 1, io_done_cb, &d, 0), -EFAULT);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf + 2, 0, 1, io_done_cb, &d, 0),
		     updk_nvme_ctrlr_sgl_supported(r.c) ? 0 : -EINVAL);
	if (d.done == 0 && updk_nvme_ctrlr_sgl_supported(r.c))
		wait_done(r.qp, &d);
	cr_assert_eq(updk_nvme_qpair_outstanding(r.qp), 0, "nothing left behind");
	rig_close(&r);
}

/*
 * Buffer alignment (NVMe Base 2.0 §4.1.1 PRP dword alignment; SGLS bits 1:0): a buffer off a
 * dword is taken only when the controller's SGLs are byte aligned (sgls=1), refused with
 * -EINVAL when they need dword alignment (sgls=2) or are not in use (sgls=0).
 */
static void align_case(const char *addr, bool byte_ok, bool sgl)
{
	struct rig r;
	struct io_done d = { 0 };
	struct updk_nvme_cmd raw = { .opc = UPDK_NVME_OPC_READ, .nsid = 1 };
	/* two blocks in two pieces PRPs cannot describe: the second starts mid page */
	struct iovec iov[2];
	int want = byte_ok ? 0 : -EINVAL;

	rig_open(&r, addr, 7, 16384);
	cr_assert_eq(updk_nvme_ctrlr_sgl_supported(r.c), sgl, "%s", addr);
	fill(r.wbuf, 8192, 11);
	write_sync(&r, r.wbuf, 0, 4, 0);

	/* one byte off: the fast path would take it as PRP1, which must be dword aligned */
	memset(r.rbuf, 0xaa, r.len);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf + 1, 0, 2, io_done_cb, &d, 0), want, "%s",
		     addr);
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf + 3, 8, 1, io_done_cb, &d, 0), want,
		     "%s", addr);
	if (byte_ok) {
		POLL_UNTIL(d.done == 2, updk_nvme_qpair_process_completions(r.qp, 0));
		cr_assert_eq(d.done, 2);
		assert_ok(&d);
		cr_assert_eq(memcmp(r.rbuf + 1, r.wbuf, 1024), 0, "read one byte off");
		cr_assert_eq(r.rbuf[0], 0xaa);
		cr_assert_eq(r.rbuf[1025], 0xaa);
		read_sync(&r, r.rbuf, 8, 1);
		cr_assert_eq(memcmp(r.rbuf, r.wbuf + 3, 512), 0, "written from three bytes off");
	}
	/* a raw command too */
	raw.cdw12 = 0;
	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_io_raw(r.qp, &raw, r.rbuf + 2, 512, io_done_cb, &d), want);
	if (byte_ok)
		wait_done(r.qp, &d);
	/* an element of a length off a dword moves the next one off a dword */
	iov[0] = (struct iovec){ r.rbuf, 510 };
	iov[1] = (struct iovec){ r.rbuf + 4096, 514 };
	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_ns_readv(r.ns, r.qp, iov, 2, 0, 2, io_done_cb, &d, 0), want);
	if (byte_ok) {
		wait_done(r.qp, &d);
		assert_ok(&d);
		cr_assert_eq(memcmp(r.rbuf, r.wbuf, 510), 0);
		cr_assert_eq(memcmp(r.rbuf + 4096, r.wbuf + 510, 514), 0);
	}
	/* dword aligned but beyond PRPs: any SGL takes it, dword-aligned SGLs included */
	iov[0] = (struct iovec){ r.rbuf, 512 };
	iov[1] = (struct iovec){ r.rbuf + 4096 + 512, 512 };
	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_ns_readv(r.ns, r.qp, iov, 2, 0, 2, io_done_cb, &d, 0),
		     sgl ? 0 : -EINVAL);
	if (sgl) {
		wait_done(r.qp, &d);
		assert_ok(&d);
		cr_assert_eq(memcmp(r.rbuf + 4096 + 512, r.wbuf + 512, 512), 0);
	}
	if (sgl && !byte_ok) {
		/* the model holds its side: past the driver's check, 1Eh from the controller */
		qp_pcie(r.qp)->sgl_dword = false;
		iov[0] = (struct iovec){ r.rbuf + 1, 512 };
		iov[1] = (struct iovec){ r.rbuf + 4096 + 1, 512 };
		memset(&d, 0, sizeof(d));
		cr_assert_eq(updk_nvme_ns_readv(r.ns, r.qp, iov, 2, 0, 2, io_done_cb, &d, 0), 0);
		wait_done(r.qp, &d);
		assert_status(&d.cpl, UPDK_NVME_SCT_GENERIC,
			      UPDK_NVME_SC_SGL_DATA_BLOCK_GRANULARITY_INVALID);
		qp_pcie(r.qp)->sgl_dword = true;
	}
	/* dword aligned, one off PRP1 offset: PRPs take it everywhere */
	read_sync(&r, r.rbuf + 4, 0, 2);
	cr_assert_eq(memcmp(r.rbuf + 4, r.wbuf, 1024), 0);
	cr_assert_eq(updk_nvme_qpair_outstanding(r.qp), 0, "nothing left behind");
	rig_close(&r);
}

Test(nvme_io, buffer_alignment_follows_sgls)
{
	align_case("sim:nvme?size=1M,lba=512", true, true);
	align_case("sim:nvme?size=1M,lba=512,sgls=2", false, true);
	align_case("sim:nvme?size=1M,lba=512,sgls=0", false, false);
}

/* One read of @len bytes at @off into the buffer, checked against what was written. */
static void check_read_at(struct rig *r, size_t off, uint32_t nlb, uint32_t bs)
{
	memset(r->rbuf, 0xaa, r->len);
	read_sync(r, r->rbuf + off, 0, nlb);
	cr_assert_eq(memcmp(r->rbuf + off, r->wbuf, (size_t)nlb * bs), 0, "off %zu nlb %u", off,
		     nlb);
	if (off)
		cr_assert_eq(r->rbuf[off - 1], 0xaa, "no write before the buffer");
	cr_assert_eq(r->rbuf[off + (size_t)nlb * bs], 0xaa, "no write after the buffer");
}

Test(nvme_io, prp_edges)
{
	struct rig r;

	/* mdts=10: 4 MiB per command, so one command needs a PRP list of two list pages */
	rig_open(&r, "sim:nvme?size=64M,lba=512,mdts=10", 15, 8u << 20);
	fill(r.wbuf, 5u << 20, 7);
	write_sync(&r, r.wbuf, 0, (5u << 20) / 512, 0);
	check_read_at(&r, 0, 1, 512); /* part of one page */
	check_read_at(&r, 0, 8, 512); /* exactly one page */
	check_read_at(&r, 0x800, 8, 512); /* crossing into a second page */
	check_read_at(&r, 0x804 - 4, 16, 512); /* three pages from mid page: a PRP list */
	check_read_at(&r, 4, 24, 512); /* dword offset, a PRP list */
	check_read_at(&r, 0, 8 * 8, 512); /* 8 pages */
	/* 1024 + 1 pages from a dword offset: 1025 list entries over three list pages */
	check_read_at(&r, 0x204, 8192, 512);
	check_read_at(&r, 0, 8192, 512);
	rig_close(&r);
}

Test(nvme_io, mdts_boundary_splits)
{
	struct rig r;
	struct sim_nvme_stats before, after;
	struct updk_nvme_stats st;
	struct updk_pci_dev *dev;

	rig_open(&r, "sim:nvme?size=16M,lba=4096,mdts=5", 15, 1u << 20);
	dev = ctrlr_dev(r.c);
	fill(r.wbuf, 1u << 20, 3);
	sim_nvme_stats(dev, &before);
	write_sync(&r, r.wbuf, 10, 32, 0); /* exactly MDTS: one command */
	sim_nvme_stats(dev, &after);
	cr_assert_eq(after.io_cmds[UPDK_NVME_OPC_WRITE] - before.io_cmds[UPDK_NVME_OPC_WRITE], 1);
	updk_nvme_qpair_get_stats(r.qp, &st);
	cr_assert_eq(st.split_ios, 0);

	write_sync(&r, r.wbuf, 10, 33, 0); /* MDTS + 1 block: two children, one completion */
	sim_nvme_stats(dev, &before);
	cr_assert_eq(before.io_cmds[UPDK_NVME_OPC_WRITE] - after.io_cmds[UPDK_NVME_OPC_WRITE], 2);
	updk_nvme_qpair_get_stats(r.qp, &st);
	cr_assert_eq(st.split_ios, 1);

	/* 200 blocks from a dword offset: 7 children, each starting mid page */
	write_sync(&r, r.wbuf, 10, 200, 0);
	memset(r.rbuf, 0, r.len);
	{
		struct io_done d = { 0 };

		cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf + 4, 10, 200, io_done_cb, &d, 0),
			     0);
		wait_done(r.qp, &d);
		assert_ok(&d);
		cr_assert_eq(d.done, 1, "one callback for the whole I/O");
		cr_assert_eq(memcmp(r.rbuf + 4, r.wbuf, 200 * 4096), 0);
		cr_assert_eq(updk_nvme_qpair_outstanding(r.qp), 0);
	}
	rig_close(&r);
}

Test(nvme_io, queue_full_and_retry)
{
	struct rig r;
	struct io_done d[8] = { 0 };
	int i;

	rig_open(&r, "sim:nvme?size=1M,lba=512", 4, 4096);
	for (i = 0; i < 4; i++)
		cr_assert_eq(
			updk_nvme_ns_read(r.ns, r.qp, r.rbuf, (uint64_t)i, 1, io_done_cb, &d[i], 0),
			0);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 0, 1, io_done_cb, &d[4], 0), -EAGAIN);
	cr_assert_eq(updk_nvme_qpair_outstanding(r.qp), 4);
	for (i = 0; i < 4; i++)
		wait_done(r.qp, &d[i]);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 0, 1, io_done_cb, &d[4], 0), 0);
	wait_done(r.qp, &d[4]);
	rig_close(&r);
}

struct wrap_ctx {
	struct rig *r;
	uint32_t submitted, completed, errors, target;
};

static void wrap_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct wrap_ctx *w = arg;

	w->completed++;
	if (updk_nvme_cpl_is_error(cpl))
		w->errors++;
}

Test(nvme_io, ring_wrap_many_thousand)
{
	struct rig r;
	struct wrap_ctx w = { .r = &r, .target = 20000 };
	struct updk_nvme_stats st;

	rig_open(&r, "sim:nvme?size=4M,lba=512", 7, 4096 * 8);
	fill(r.wbuf, 4096 * 8, 9);
	while (w.completed < w.target) {
		while (w.submitted < w.target) {
			uint32_t k = w.submitted % 8;
			int rc = (w.submitted & 1) ?
					 updk_nvme_ns_read(r.ns, r.qp, r.rbuf + k * 4096, k * 8, 8,
							   wrap_cb, &w, 0) :
					 updk_nvme_ns_write(r.ns, r.qp, r.wbuf + k * 4096, k * 8, 8,
							    wrap_cb, &w, 0);

			if (rc == -EAGAIN)
				break;
			cr_assert_eq(rc, 0);
			w.submitted++;
		}
		cr_assert_geq(updk_nvme_qpair_process_completions(r.qp, 0), 0);
	}
	cr_assert_eq(w.errors, 0);
	updk_nvme_qpair_get_stats(r.qp, &st);
	for (uint32_t k = 0; k < 8; k += 2) {
		read_sync(&r, r.rbuf, k * 8, 8);
		cr_assert_eq(memcmp(r.wbuf + k * 4096, r.rbuf, 4096), 0, "slot %u", k);
	}
	cr_assert_eq(st.cmds_submitted, w.target);
	cr_assert_eq(st.cmds_completed, w.target);
	cr_assert_eq(st.bogus_completions, 0);
	rig_close(&r);
}

Test(nvme_io, shadow_doorbells_lockstep)
{
	struct rig r;
	struct updk_nvme_stats st;

	/*
	 * One command at a time, each waited for: the model has consumed everything when the next
	 * tail arrives, and its EventIdx (half a queue ahead) is never passed, so after the first
	 * commands no doorbell needs an MMIO write. The SQ shadow moves for every command; the CQ
	 * head goes back every 121 entries: half of the 256-entry ring a depth of 7 gets, less the
	 * 7 slots. 150 commands, not more: each is a round trip with the model's thread, and the
	 * valgrind pass on a loaded machine runs them one thread at a time.
	 */
	rig_open(&r, "sim:nvme?size=1M,lba=512", 7, 4096);
	for (int i = 0; i < 150; i++)
		read_sync(&r, r.rbuf, (uint64_t)(i % 64) * 8, 8);
	updk_nvme_qpair_get_stats(r.qp, &st);
	cr_assert_eq(st.cmds_completed, 150);
	cr_assert_eq(st.shadow_doorbell_updates, 150 + 150 / (256 / 2 - 7), "%llu shadow updates",
		     (unsigned long long)st.shadow_doorbell_updates);
	cr_assert_lt(st.mmio_doorbell_writes, 20, "%llu MMIO doorbells for 150 commands",
		     (unsigned long long)st.mmio_doorbell_writes);
	rig_close(&r);
}

/*
 * At queue depth 1 the qpair's rings are still 256 entries deep, so the reaper gives CQ entries
 * back once per half ring less the slot (127 completions) instead of after every one: one MMIO
 * doorbell per I/O, the SQ tail, instead of two, and the controller never waits for the CQ head
 * (no entry is ever refused for a full queue). 140 commands: few enough for the valgrind pass
 * on a loaded machine, and one doorbell instead of 140 (ring_wrap_many_thousand wraps the rings).
 */
Test(nvme_io, qd1_cq_head_doorbell_once_per_half_ring)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o),
					  .shadow_doorbell = UPDK_NVME_SHADOW_OFF };
	static struct sim_nvme_stats before, after; /* large: admin commands by opcode */
	struct updk_nvme_stats st;
	struct rig r;

	rig_open_opts(&r, "sim:nvme?size=1M,lba=512", &o, 1, 4096);
	cr_assert_not(updk_nvme_ctrlr_shadow_doorbell(r.c));
	cr_assert_eq(sim_nvme_sync(ctrlr_dev(r.c)), 0);
	cr_assert_eq(sim_nvme_stats(ctrlr_dev(r.c), &before), 0);
	for (uint32_t i = 0; i < 70; i++) {
		uint64_t lba = (uint64_t)(i % 64) * 8;

		fill(r.wbuf, 4096, i);
		write_sync(&r, r.wbuf, lba, 8, 0);
		memset(r.rbuf, 0, 4096);
		read_sync(&r, r.rbuf, lba, 8);
		cr_assert_eq(memcmp(r.wbuf, r.rbuf, 4096), 0, "I/O %u", i);
	}
	cr_assert_eq(sim_nvme_sync(ctrlr_dev(r.c)), 0);
	cr_assert_eq(sim_nvme_stats(ctrlr_dev(r.c), &after), 0);
	updk_nvme_qpair_get_stats(r.qp, &st);
	cr_assert_eq(st.cmds_completed, 140);
	cr_assert_eq(st.sq_doorbell_mmio, 140);
	cr_assert_eq(st.cq_doorbell_mmio, 140 / 127, "%llu CQ head doorbells for 140 commands",
		     (unsigned long long)st.cq_doorbell_mmio);
	cr_assert_eq(after.mmio_cq_db - before.mmio_cq_db, 140 / 127, "the model saw the same");
	cr_assert_eq(st.bogus_completions, 0);
	rig_close(&r);
}

Test(nvme_io, mmio_doorbells_without_shadow)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o), .no_shadow_doorbell = true };
	struct rig r;
	struct updk_nvme_stats st;
	struct io_done d[16] = { 0 };

	rig_open_opts(&r, "sim:nvme?size=1M", &o, 31, 4096);
	cr_assert_not(updk_nvme_ctrlr_shadow_doorbell(r.c));
	/* a burst of 16 commands: one SQ doorbell for all of them */
	for (int i = 0; i < 16; i++)
		cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 0, 1, io_done_cb, &d[i], 0), 0);
	updk_nvme_qpair_get_stats(r.qp, &st);
	cr_assert_eq(st.sq_doorbell_mmio, 0, "no doorbell before the flush");
	updk_nvme_qpair_flush(r.qp);
	updk_nvme_qpair_get_stats(r.qp, &st);
	cr_assert_eq(st.sq_doorbell_mmio, 1);
	for (int i = 0; i < 16; i++)
		wait_done(r.qp, &d[i]);
	updk_nvme_qpair_get_stats(r.qp, &st);
	cr_assert_eq(st.sq_doorbell_mmio, 1);
	cr_assert_leq(st.cq_doorbell_mmio, 16, "at most one CQ doorbell per batch");
	cr_assert_eq(st.shadow_doorbell_updates, 0);
	rig_close(&r);
}

/* Reads on block 0 whose callback queues the next one, @left times in all, as a poller at a
 * fixed queue depth does. */
struct chain {
	struct rig *r;
	uint32_t done, left;
};

static void chain_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct chain *ch = arg;

	cr_assert_not(updk_nvme_cpl_is_error(cpl));
	ch->done++;
	if (ch->left) {
		ch->left--;
		cr_assert_eq(
			updk_nvme_ns_read(ch->r->ns, ch->r->qp, ch->r->rbuf, 0, 1, chain_cb, ch, 0),
			0);
	}
}

static uint64_t sq_doorbells(struct updk_nvme_qpair *qp)
{
	struct updk_nvme_stats st;

	updk_nvme_qpair_get_stats(qp, &st);
	return st.sq_doorbell_mmio;
}

/* CQEs the model has posted so far. */
static uint64_t posted(struct rig *r)
{
	static struct sim_nvme_stats st; /* large: admin commands by opcode */

	cr_assert_eq(sim_nvme_stats(ctrlr_dev(r->c), &st), 0);
	return st.completions;
}

/* Wait until the model has posted @n completions since @since, then stop it: the CQ holds @n
 * entries, and nothing the driver rings is fetched until sim_nvme_pause(dev, false). */
static void posted_then_pause(struct rig *r, uint64_t since, uint64_t n)
{
	POLL_UNTIL(posted(r) - since >= n, sched_yield());
	cr_assert_eq(posted(r) - since, n);
	cr_assert_eq(sim_nvme_pause(ctrlr_dev(r->c), true), 0);
}

/*
 * The SQ tail doorbell of an I/O qpair is written by the first poll that finds the CQ empty,
 * or by a poll that finds entries once half the slots' commands wait behind it; not at every
 * poll. A controller that posts a batch entry by entry (QEMU's NVMe) is reaped part by part,
 * and the commands the callbacks queue meanwhile go to it in one doorbell when its CQ is empty.
 * Here the model posts the whole batch and stands still (paused), and each poll reaps one entry
 * (max 1).
 */
Test(nvme_io, sq_doorbell_when_the_cq_is_empty_or_half_the_slots_wait)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o),
					  .shadow_doorbell = UPDK_NVME_SHADOW_OFF };
	struct rig r;
	struct chain ch = { .r = &r };
	uint64_t db, since;

	rig_open_opts(&r, "sim:nvme?size=1M,lba=512", &o, 8, 4096);
	since = posted(&r);
	/* 2 reads, each callback queueing one more */
	ch.left = 2;
	for (int i = 0; i < 2; i++)
		cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 0, 1, chain_cb, &ch, 0), 0);
	updk_nvme_qpair_flush(r.qp);
	db = sq_doorbells(r.qp);
	posted_then_pause(&r, since, 2);
	cr_assert_eq(updk_nvme_qpair_process_completions(r.qp, 1), 1);
	cr_assert_eq(updk_nvme_qpair_process_completions(r.qp, 1), 1);
	cr_assert_eq(ch.done, 2);
	cr_assert_eq(sq_doorbells(r.qp), db, "no SQ doorbell while the CQ had entries");
	cr_assert_eq(updk_nvme_qpair_process_completions(r.qp, 0), 0);
	cr_assert_eq(sq_doorbells(r.qp), db + 1, "one SQ doorbell for both, the CQ found empty");
	cr_assert_eq(sim_nvme_pause(ctrlr_dev(r.c), false), 0);
	POLL_UNTIL(ch.done == 4, cr_assert_geq(updk_nvme_qpair_process_completions(r.qp, 0), 0));
	cr_assert_eq(ch.done, 4);

	/* 6 reads, each queueing one more: with depth 8, four waiting commands are rung by a
	 * poll that finds entries, before it reaps */
	cr_assert_eq(updk_nvme_qpair_process_completions(r.qp, 0), 0);
	since = posted(&r);
	ch = (struct chain){ .r = &r, .left = 6 };
	for (int i = 0; i < 6; i++)
		cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 0, 1, chain_cb, &ch, 0), 0);
	updk_nvme_qpair_flush(r.qp);
	db = sq_doorbells(r.qp);
	posted_then_pause(&r, since, 6);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(updk_nvme_qpair_process_completions(r.qp, 1), 1);
	cr_assert_eq(sq_doorbells(r.qp), db, "3 waiting at the 4th poll: no doorbell yet");
	cr_assert_eq(updk_nvme_qpair_process_completions(r.qp, 1), 1);
	cr_assert_eq(sq_doorbells(r.qp), db + 1, "4 waiting: rung before the 5th entry");
	cr_assert_eq(updk_nvme_qpair_process_completions(r.qp, 1), 1);
	cr_assert_eq(sq_doorbells(r.qp), db + 1, "1 waiting");
	cr_assert_eq(updk_nvme_qpair_process_completions(r.qp, 0), 0);
	cr_assert_eq(sq_doorbells(r.qp), db + 2, "the CQ found empty: the last 2");
	cr_assert_eq(sim_nvme_pause(ctrlr_dev(r.c), false), 0);
	POLL_UNTIL(ch.done == 12, cr_assert_geq(updk_nvme_qpair_process_completions(r.qp, 0), 0));
	cr_assert_eq(ch.done, 12);
	rig_close(&r);
}
