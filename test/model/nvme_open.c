// SPDX-License-Identifier: BSD-3-Clause
/*
 * drivers/nvme's open and close against sim:nvme faults armed from the address: a controller
 * that never becomes ready, Identify data that is garbage, a completion written with the wrong
 * phase tag; and what a close (or a failed open) leaves behind: no file descriptor, thread or
 * DMA allocation (held.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/model/held.h"
#include "test/model/nvme_util.h"

TestSuite(nvme_open, .init = nvme_test_mem_setup, .timeout = 60);

static void has(const char *text, const char *piece)
{
	cr_assert(strstr(text, piece), "the log lacks '%s':\n%s", piece, text);
}

/* Open and close once, so lazily created state (the heap's first chunk, the model registry)
 * exists before a baseline is taken. */
static void warm_up(void)
{
	updk_nvme_ctrlr_close(open_ctrlr("sim:nvme?size=1M"));
}

Test(nvme_open, never_ready_at_open)
{
	struct updk_nvme_ctrlr *c = (struct updk_nvme_ctrlr *)1;
	struct held b;
	struct log_capture cap;
	double t0, secs;
	char *log;
	int rc;

	warm_up();
	b = held_now();
	log_capture_start(&cap);
	t0 = now_s();
	rc = updk_nvme_ctrlr_open("sim:nvme?size=1M,never_ready=1", NULL, &c);
	secs = now_s() - t0;
	log = log_capture_stop(&cap);
	cr_assert_eq(rc, -ETIMEDOUT, "open of a controller that never sets CSTS.RDY: %d", rc);
	cr_assert_null(c, "*ctrlr is NULL after a failed open");
	/* CAP.TO is 1 s in the model: the wait ends there, not at some later guard */
	cr_assert_geq(secs, 0.9, "gave up after %.3f s, before CAP.TO (1 s)", secs);
	cr_assert_lt(secs, 10, "still waiting %.3f s after CAP.TO (1 s)", secs);
	has(log, "sim:nvme: timed out after 1000 ms (CAP.TO)");
	has(log, "wait for CSTS.RDY=1 after CC.EN=1");
	free(log);
	held_assert_same(b, "after the failed open");
	/* and nothing stands in the way of a good open afterwards */
	updk_nvme_ctrlr_close(open_ctrlr("sim:nvme?size=1M"));
	held_assert_same(b, "after a good open and close");
}

static bool printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

Test(nvme_open, identify_garbage_at_open)
{
	struct updk_nvme_ctrlr *c = NULL;
	const struct updk_nvme_id_ctrl *id;
	struct updk_nvme_qpair *qp;
	uint8_t *buf;
	struct io_done d = { 0 };
	struct held b;
	struct log_capture cap;
	char *log;
	int rc;

	warm_up();
	b = held_now();
	log_capture_start(&cap);
	rc = updk_nvme_ctrlr_open("sim:nvme?size=1M,mdts=2,bad_identify=strings+nn+mdts", NULL, &c);
	log = log_capture_stop(&cap);
	cr_assert_eq(rc, 0, "the controller is usable once its data is sanitized: %d", rc);
	id = updk_nvme_ctrlr_id(c);
	/* unterminated strings of non-ASCII bytes become '?', and it is said */
	cr_assert(printable(id->sn, sizeof(id->sn)) && printable(id->mn, sizeof(id->mn)) &&
		  printable(id->fr, sizeof(id->fr)));
	cr_assert_eq(id->sn[0], '?');
	has(log, "Identify Controller SN holds 20 byte(s) that are not printable ASCII");
	has(log, "Identify Controller MN holds 40 byte(s)");
	has(log, "Identify Controller FR holds 8 byte(s)");
	/* MDTS FFh: commands kept to 4 MiB (the model's real MDTS 2 still refuses larger: the
	 * driver trusts what it was told, and the caller sees the controller's error) */
	cr_assert_eq(updk_nvme_ctrlr_max_xfer_size(c), 4u << 20);
	has(log,
	    "MDTS 255 (2^255 pages) is beyond any real transfer: commands are kept to 4096 KiB");
	/* NN FFFFFFFFh: only the namespaces that exist are there, the scan is bounded */
	has(log, "NN is 4294967295; only namespaces up to 1024 are used");
	cr_assert_eq(updk_nvme_ctrlr_first_active_ns(c), 1);
	cr_assert_eq(updk_nvme_ctrlr_next_active_ns(c, 1), 0);
	free(log);
	/* I/O within the model's real limit works */
	qp = alloc_qp(c, 7);
	buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	cr_assert_eq(updk_nvme_ns_read(updk_nvme_ns_get(c, 1), qp, buf, 0, 8, io_done_cb, &d, 0),
		     0);
	wait_done(qp, &d);
	assert_ok(&d);
	updk_dma_free(buf);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	held_assert_same(b, "after close");
}

/* LBA formats the namespace cannot have: the namespace is left out, the controller opens. */
static void bad_lba_format(const char *addr, const char *logged)
{
	struct updk_nvme_ctrlr *c = NULL;
	struct held b;
	struct log_capture cap;
	char *log;
	int rc;

	b = held_now();
	log_capture_start(&cap);
	rc = updk_nvme_ctrlr_open(addr, NULL, &c);
	log = log_capture_stop(&cap);
	cr_assert_eq(rc, 0, "%s: %d", addr, rc);
	has(log, logged);
	free(log);
	cr_assert_null(updk_nvme_ns_get(c, 1), "%s: namespace 1 is ignored", addr);
	cr_assert_eq(updk_nvme_ctrlr_first_active_ns(c), 0);
	updk_nvme_ctrlr_close(c);
	held_assert_same(b, addr);
}

Test(nvme_open, identify_bad_lba_formats_at_open)
{
	warm_up();
	/* FLBAS names format 5 of NLBAF 0 (one format): index out of range */
	bad_lba_format("sim:nvme?size=1M,bad_identify=flbas",
		       "namespace 1: LBA format 5 beyond NLBAF 0: namespace ignored");
	/* NLBAF FFh, every LBADS 63 */
	bad_lba_format("sim:nvme?size=1M,bad_identify=lbaf",
		       "namespace 1: LBA data size 2^63 out of range 512 B..64 KiB: ignored");
}

Test(nvme_open, wrong_phase_is_not_consumed)
{
	struct updk_nvme_ctrlr *c = open_ctrlr("sim:nvme?size=1M");
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct updk_nvme_qpair *qp = alloc_qp(c, 7);
	uint8_t *buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	struct io_done d[2] = { 0 };
	struct nvme_pcie_qpair *pq = qp_pcie(qp);
	volatile struct updk_nvme_cpl *e = &pq->cq[pq->cq_head];
	uint16_t head = pq->cq_head;
	struct sim_nvme_stats st;
	uint64_t posted;
	double until;

	cr_assert_eq(sim_nvme_stats(ctrlr_dev(c), &st), 0);
	posted = st.completions;
	cr_assert_eq(sim_nvme_fault_wrong_phase(ctrlr_dev(c), updk_nvme_qpair_id(qp)), 0);
	cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, 0, 1, io_done_cb, &d[0], 0), 0);
	/* the model runs the command and writes its entry, with the previous pass's tag */
	POLL_UNTIL(sim_nvme_stats(ctrlr_dev(c), &st) == 0 && st.completions > posted,
		   updk_nvme_qpair_process_completions(qp, 0));
	cr_assert_gt(st.completions, posted, "the model posted no entry");
	cr_assert_neq(e->status & 1, pcie_cq_phase(pq), "written with the old phase tag");
	/* the driver polls it, and leaves it alone: it is not new */
	until = now_s() + 0.1;
	while (now_s() < until)
		cr_assert_eq(updk_nvme_qpair_process_completions(qp, 0), 0);
	cr_assert_eq(d[0].done, 0, "an entry with the wrong phase completed a command");
	cr_assert_eq(pq->cq_head, head, "the CQ head moved over an entry that is not new");
	cr_assert_eq(updk_nvme_qpair_outstanding(qp), 1);
	/* the device finishing its write (the right tag) is what makes it new */
	e->status ^= 1;
	POLL_UNTIL(d[0].done, updk_nvme_qpair_process_completions(qp, 0));
	cr_assert_eq(d[0].done, 1);
	assert_ok(&d[0]);
	/* and the queue goes on: the next entry comes in the next slot, with the right tag */
	cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, 0, 1, io_done_cb, &d[1], 0), 0);
	wait_done(qp, &d[1]);
	assert_ok(&d[1]);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
}

Test(nvme_open, close_leaves_nothing_held)
{
	struct held b;

	warm_up();
	b = held_now();
	for (int round = 0; round < 3; round++) {
		struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o), .num_io_queues = 4 };
		struct updk_nvme_ctrlr *c = NULL;
		struct updk_nvme_qpair *qp[3];
		uint8_t *buf = updk_dma_zalloc(128 * 1024, 4096, UPDK_NUMA_ANY, NULL);
		struct io_done d[3] = { 0 };

		cr_assert_eq(updk_nvme_ctrlr_open("sim:nvme?ns=2,size=4M,mdts=3", &o, &c), 0);
		for (int i = 0; i < 3; i++) {
			struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1 + (uint32_t)(i & 1));

			qp[i] = alloc_qp(c, 31);
			/* 128 KiB over MDTS 32 KiB: split, with PRP lists */
			cr_assert_eq(
				updk_nvme_ns_write(ns, qp[i], buf, 0, 256, io_done_cb, &d[i], 0),
				0);
		}
		for (int i = 0; i < 3; i++) {
			wait_done(qp[i], &d[i]);
			assert_ok(&d[i]);
		}
		/* one qpair freed by hand, two left for the close to free */
		updk_nvme_qpair_free(qp[0]);
		updk_nvme_ctrlr_close(c);
		updk_dma_free(buf);
		held_assert_same(b, round == 0 ? "after the first close" : "after another close");
	}
}
