// SPDX-License-Identifier: BSD-3-Clause
/*
 * Bad input over the public NVMe API, table-driven (docs/reliability.md "Bad input from the
 * user"): each case gets the documented error and leaves nothing behind: nothing queued, no
 * controller half open, no file descriptor, thread or DMA allocation more than before, and the
 * same controller, qpair and address work afterwards.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test/common/perf_util.h"
#include "test/model/held.h"
#include "test/model/nvme_util.h"

TestSuite(bad_input, .init = nvme_test_mem_setup, .timeout = 60);

Test(bad_input, addresses_and_options_open_nothing)
{
	static const char *const bad[] = {
		"",
		"0000:zz:00.0",
		"0000:01:00.0x",
		"01:0.0",
		" 0000:01:00.0",
		"0000:01:20.0", /* device 0x20: 5 bits only */
		"0000:ff:1f.7", /* well formed, no such device */
		"sim:",
		"sim:nosuchmodel",
		"sim:nvme?",
		"sim:nvme?size",
		"sim:nvme?size=0",
		"sim:nvme?ns=2,ns=3",
		"sim:nvme?bogus=1",
		"sim:nvme?lba=1000",
	};
	struct updk_nvme_ctrlr_opts zero = { 0 };
	struct held before = held_now();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct updk_nvme_ctrlr *c = (void *)&zero;
		int rc = updk_nvme_ctrlr_open(bad[i], NULL, &c);

		cr_assert_lt(rc, 0, "'%s' opened", bad[i]);
		cr_assert(rc == -EINVAL || rc == -ENODEV || rc == -ENOENT,
			  "'%s': %d is not -EINVAL, -ENODEV or -ENOENT", bad[i], rc);
		cr_assert_null(c, "'%s': *ctrlr not cleared", bad[i]);
		held_assert_same(before, bad[i]);
	}
	/* and nothing was left half open: the same model opens, twice over */
	for (int i = 0; i < 2; i++)
		updk_nvme_ctrlr_close(open_ctrlr("sim:nvme?size=1M"));
	held_assert_same(before, "open and close twice");
}

Test(bad_input, namespaces_that_do_not_exist)
{
	struct updk_nvme_ctrlr *c = open_ctrlr("sim:nvme?ns=2,size=1M");
	static const uint32_t nsids[] = { 0, 3, 1024, 0xfffffffe, 0xffffffff };

	for (size_t i = 0; i < sizeof(nsids) / sizeof(nsids[0]); i++)
		cr_assert_null(updk_nvme_ns_get(c, nsids[i]), "nsid %u", nsids[i]);
	cr_assert_not_null(updk_nvme_ns_get(c, 2));
	cr_assert_eq(updk_nvme_ctrlr_next_active_ns(c, 2), 0);
	updk_nvme_ctrlr_close(c);
}

Test(bad_input, io_arguments)
{
	struct held before = held_now();
	struct updk_nvme_ctrlr *c = open_ctrlr("sim:nvme?size=1M,lba=512,mdts=1");
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct updk_nvme_qpair *qp = alloc_qp(c, 3);
	uint64_t n = updk_nvme_ns_num_sectors(ns);
	uint32_t per = updk_nvme_ns_max_io_sectors(ns);
	uint8_t *buf = updk_dma_zalloc(64 * 1024, 4096, UPDK_NUMA_ANY, NULL);
	uint8_t *heap = malloc(8192);
	struct io_done d = { 0 };
	struct {
		const char *what;
		void *buf;
		uint64_t lba;
		uint32_t nlb;
		int rc;
	} cases[] = {
		{ "LBA past the end", buf, n, 1, -EINVAL },
		{ "range running past the end", buf, n - 1, 2, -EINVAL },
		{ "range wrapping 64 bits", buf, UINT64_MAX, 2, -EINVAL },
		{ "zero blocks", buf, 0, 0, -EINVAL },
		{ "heap memory, not registered", heap, 0, 1, -EFAULT },
	};

	cr_assert_not_null(ns);
	cr_assert(buf && heap);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = updk_nvme_ns_read(ns, qp, cases[i].buf, cases[i].lba, cases[i].nlb,
					   io_done_cb, &d, 0);

		cr_assert_eq(rc, cases[i].rc, "read, %s: %d, want %d", cases[i].what, rc,
			     cases[i].rc);
		rc = updk_nvme_ns_write(ns, qp, cases[i].buf, cases[i].lba, cases[i].nlb,
					io_done_cb, &d, 0);
		cr_assert_eq(rc, cases[i].rc, "write, %s: %d, want %d", cases[i].what, rc,
			     cases[i].rc);
		cr_assert_eq(updk_nvme_qpair_outstanding(qp), 0, "%s: left a command queued",
			     cases[i].what);
	}
	cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, 0, 1, NULL, NULL, 0), -EINVAL, "no callback");
	cr_assert_eq(d.done, 0, "no callback ran for a refused command");
	/* the qpair is unharmed: the last block reads, and an I/O of two children fits */
	cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, n - 1, 1, io_done_cb, &d, 0), 0);
	wait_done(qp, &d);
	assert_ok(&d);
	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, 0, per * 2, io_done_cb, &d, 0), 0);
	wait_done(qp, &d);
	assert_ok(&d);
	cr_assert_eq(updk_nvme_qpair_outstanding(qp), 0);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
	free(heap);
	held_assert_same(before, "refused I/O, then close");
}

Test(bad_input, qpair_options)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o), .num_io_queues = 1 };
	struct updk_nvme_ctrlr *c = NULL;
	struct updk_nvme_qpair_opts bad_depth = { .opts_size = sizeof(bad_depth), .depth = 64 };
	struct updk_nvme_qpair_opts no_size = { .depth = 4 };
	struct updk_nvme_qpair *qp = (void *)&o;
	struct held before;

	cr_assert_eq(updk_nvme_ctrlr_open("sim:nvme?size=1M,mqes=31", &o, &c), 0);
	before = held_now();
	cr_assert_eq(updk_nvme_qpair_alloc(c, &bad_depth, &qp), -EINVAL, "depth beyond MQES");
	cr_assert_null(qp);
	held_assert_same(before, "depth beyond MQES");
	qp = (void *)&o;
	cr_assert_eq(updk_nvme_qpair_alloc(c, &no_size, &qp), -EINVAL, "opts_size unset");
	cr_assert_null(qp);
	held_assert_same(before, "opts_size unset");
	/* the queue id the refusals did not take is still there, at the largest depth */
	qp = alloc_qp(c, 31);
	updk_nvme_qpair_free(qp);
	qp = alloc_qp(c, 31);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
}

static void uaf_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	(void)cpl;
	*(int *)arg = 1;
}

/*
 * A qpair used after updk_nvme_qpair_free(): every call on the old handle is refused with
 * -EINVAL and one log line that names the queue, nothing reaches the controller, freeing it
 * again is only logged, and the controller, a new qpair and its I/O are unaffected.
 */
Test(bad_input, qpair_used_after_free)
{
	struct updk_nvme_ctrlr *c = open_ctrlr("sim:nvme?size=1M");
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct updk_nvme_qpair *old = alloc_qp(c, 7), *qp;
	struct updk_nvme_cmd flush = { .opc = UPDK_NVME_OPC_FLUSH, .nsid = 1 };
	struct updk_nvme_stats before, after;
	void *buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	struct log_capture lc;
	struct held held;
	struct io_done d = { 0 };
	uint16_t qid = updk_nvme_qpair_id(old);
	char *log, want[64];
	int called = 0;

	cr_assert_not_null(buf);
	updk_nvme_qpair_free(old);
	updk_nvme_ctrlr_get_stats(c, &before);
	held = held_now();
	log_capture_start(&lc);
	cr_assert_eq(updk_nvme_ns_read(ns, old, buf, 0, 1, uaf_cb, &called, 0), -EINVAL);
	cr_assert_eq(updk_nvme_ns_write(ns, old, buf, 0, 1, uaf_cb, &called, 0), -EINVAL);
	cr_assert_eq(updk_nvme_ns_flush(ns, old, uaf_cb, &called), -EINVAL);
	cr_assert_eq(updk_nvme_io_raw(old, &flush, NULL, 0, uaf_cb, &called), -EINVAL);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(updk_nvme_qpair_process_completions(old, 0), -EINVAL);
	updk_nvme_qpair_flush(old);
	cr_assert_eq(updk_nvme_qpair_outstanding(old), 0);
	updk_nvme_qpair_free(old);
	log = log_capture_stop(&lc);
	cr_assert_not(called, "a callback ran for a refused command");
	snprintf(want, sizeof(want), "queue %u was freed by updk_nvme_qpair_free()", qid);
	cr_assert(strstr(log, want), "no log line naming queue %u:\n%s", qid, log);
	cr_assert_eq(perf_test_count(log, "was freed by updk_nvme_qpair_free()"), 1,
		     "one line per handle, not one per call:\n%s", log);
	snprintf(want, sizeof(want), "queue %u was freed already", qid);
	cr_assert(strstr(log, want), "freeing twice was not logged:\n%s", log);
	free(log);
	held_assert_same(held, "calls on a freed qpair");
	updk_nvme_ctrlr_get_stats(c, &after);
	cr_assert_eq(after.cmds_submitted, before.cmds_submitted, "a command reached the device");

	/* the controller works on: a new qpair, and I/O on it */
	qp = alloc_qp(c, 7);
	cr_assert_neq(qp, old);
	cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, 0, 1, io_done_cb, &d, 0), 0);
	wait_done(qp, &d);
	assert_ok(&d);
	cr_assert_eq(updk_nvme_ns_read(ns, old, buf, 0, 1, uaf_cb, &called, 0), -EINVAL);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
}
