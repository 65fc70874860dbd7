// SPDX-License-Identifier: BSD-3-Clause
/*
 * drivers/nvme against sim:nvme: vectored I/O (PRP and SGL), qpairs on several threads, admin
 * commands and passthrough, reset with commands in flight, and the device faults of the model
 * (fatal status, lost completion -> abort, a CID not outstanding or out of range with other
 * commands outstanding, SQ head beyond the tail, never ready, surprise removal, namespace
 * attribute change).
 */
#include <errno.h>
#include <sched.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test/model/nvme_util.h"

TestSuite(nvme_ctrl, .init = nvme_test_mem_setup, .timeout = 60);

Test(nvme_ctrl, vectored_prp_and_sgl)
{
	struct rig r;
	uint8_t *b = updk_dma_zalloc(3 * 4096, 4096, UPDK_NUMA_ANY, NULL);
	struct io_done d = { 0 };

	rig_open(&r, "sim:nvme?size=4M,lba=512", 15, 8 * 4096);
	fill(r.wbuf, 3 * 4096, 11);
	fill(b, 3 * 4096, 12);
	/* PRP-describable: first ends on a page, second starts on one */
	struct iovec prp_iov[2] = { { r.wbuf + 2048, 2048 }, { b, 4096 + 512 } };
	cr_assert_eq(updk_nvme_ns_writev(r.ns, r.qp, prp_iov, 2, 0, 13, io_done_cb, &d, 0), 0);
	wait_done(r.qp, &d);
	assert_ok(&d);
	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 0, 13, io_done_cb, &d, 0), 0);
	wait_done(r.qp, &d);
	cr_assert_eq(memcmp(r.rbuf, r.wbuf + 2048, 2048), 0);
	cr_assert_eq(memcmp(r.rbuf + 2048, b, 4096 + 512), 0);

	/* not PRP-describable (a hole mid page): needs SGL, which sim:nvme offers */
	cr_assert(updk_nvme_ctrlr_sgl_supported(r.c));
	struct iovec sgl_iov[3] = { { r.wbuf, 512 }, { b + 1024, 1024 }, { r.wbuf + 8192, 512 } };
	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_ns_writev(r.ns, r.qp, sgl_iov, 3, 100, 4, io_done_cb, &d, 0), 0);
	wait_done(r.qp, &d);
	assert_ok(&d);
	memset(&d, 0, sizeof(d));
	memset(r.rbuf, 0, 4096);
	struct iovec rd_iov[2] = { { r.rbuf + 4, 1000 }, { r.rbuf + 3000, 1048 } };
	cr_assert_eq(updk_nvme_ns_readv(r.ns, r.qp, rd_iov, 2, 100, 4, io_done_cb, &d, 0), 0);
	wait_done(r.qp, &d);
	assert_ok(&d);
	cr_assert_eq(memcmp(r.rbuf + 4, r.wbuf, 512), 0);
	cr_assert_eq(memcmp(r.rbuf + 4 + 512, b + 1024, 488), 0);
	cr_assert_eq(memcmp(r.rbuf + 3000, b + 1024 + 488, 536), 0);
	cr_assert_eq(memcmp(r.rbuf + 3000 + 536, r.wbuf + 8192, 512), 0);

	/* lengths that do not add up to the blocks are refused */
	cr_assert_eq(updk_nvme_ns_readv(r.ns, r.qp, rd_iov, 2, 100, 5, io_done_cb, &d, 0), -EINVAL);
	rig_close(&r);
	updk_dma_free(b);
}

Test(nvme_ctrl, vectored_without_sgl_refused)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o), .no_sgl = true };
	struct rig r;
	struct io_done d = { 0 };

	rig_open_opts(&r, "sim:nvme?size=1M", &o, 7, 8192);
	struct iovec iov[2] = { { r.wbuf, 512 }, { r.wbuf + 4096 + 512, 512 } };
	cr_assert_not(updk_nvme_ctrlr_sgl_supported(r.c));
	cr_assert_eq(updk_nvme_ns_writev(r.ns, r.qp, iov, 2, 0, 2, io_done_cb, &d, 0), -EINVAL);
	cr_assert_eq(updk_nvme_qpair_outstanding(r.qp), 0);
	rig_close(&r);
}

struct worker {
	struct updk_nvme_ns *ns;
	struct updk_nvme_qpair *qp;
	uint64_t base;
	int errors;
	int mismatches;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t *wb = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	uint8_t *rb = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);

	for (uint32_t i = 0; i < 1500; i++) {
		struct io_done d = { 0 };
		uint64_t lba = w->base + (i % 64) * 8;

		fill(wb, 4096, (uint32_t)(w->base + i));
		if (updk_nvme_ns_write(w->ns, w->qp, wb, lba, 8, io_done_cb, &d, 0) != 0) {
			w->errors++;
			break;
		}
		while (!d.done)
			updk_nvme_qpair_process_completions(w->qp, 0);
		w->errors += updk_nvme_cpl_is_error(&d.cpl);
		d.done = 0;
		if (updk_nvme_ns_read(w->ns, w->qp, rb, lba, 8, io_done_cb, &d, 0) != 0) {
			w->errors++;
			break;
		}
		while (!d.done)
			updk_nvme_qpair_process_completions(w->qp, 0);
		w->errors += updk_nvme_cpl_is_error(&d.cpl);
		w->mismatches += memcmp(wb, rb, 4096) != 0;
	}
	updk_dma_free(wb);
	updk_dma_free(rb);
	updk_mem_thread_exit();
	return NULL;
}

Test(nvme_ctrl, qpairs_on_threads)
{
	struct updk_nvme_ctrlr *c = open_ctrlr("sim:nvme?size=8M,lba=512");
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct worker w[4];
	pthread_t t[4];
	struct updk_nvme_stats st;

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .ns = ns,
					.qp = alloc_qp(c, 31),
					.base = (uint64_t)i * 1024 };
		cr_assert_eq(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].errors, 0, "worker %d", i);
		cr_assert_eq(w[i].mismatches, 0, "worker %d", i);
	}
	for (int i = 0; i < 4; i++)
		updk_nvme_qpair_free(w[i].qp);
	updk_nvme_ctrlr_get_stats(c, &st);
	cr_assert_geq(st.cmds_completed, 4 * 3000);
	cr_assert_eq(st.bogus_completions, 0);
	updk_nvme_ctrlr_close(c);
}

Test(nvme_ctrl, qpair_limits)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o), .num_io_queues = 2 };
	struct updk_nvme_ctrlr *c = NULL;
	struct updk_nvme_qpair *qp[3] = { 0 };
	struct updk_nvme_qpair_opts qo = { .opts_size = sizeof(qo), .depth = 100 };

	cr_assert_eq(updk_nvme_ctrlr_open("sim:nvme?size=1M,mqes=63", &o, &c), 0);
	cr_assert_eq(updk_nvme_ctrlr_max_qpair_depth(c), 63);
	cr_assert_eq(updk_nvme_qpair_alloc(c, &qo, &qp[0]), -EINVAL, "depth above MQES");
	cr_assert_null(qp[0]);
	qp[0] = alloc_qp(c, 63);
	qp[1] = alloc_qp(c, 0);
	cr_assert_eq(updk_nvme_qpair_alloc(c, NULL, &qp[2]), -EBUSY, "only 2 queues asked for");
	cr_assert_neq(updk_nvme_qpair_id(qp[0]), updk_nvme_qpair_id(qp[1]));
	updk_nvme_qpair_free(qp[0]);
	qp[0] = alloc_qp(c, 1);
	updk_nvme_qpair_free(qp[0]);
	updk_nvme_qpair_free(qp[1]);
	updk_nvme_ctrlr_close(c);
}

Test(nvme_ctrl, admin_commands)
{
	struct updk_nvme_ctrlr *c = open_ctrlr("sim:nvme?size=1M");
	struct updk_nvme_smart_log smart;
	struct updk_nvme_error_log errlog[4];
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_IDENTIFY, .cdw10 = 1 };
	struct updk_nvme_id_ctrl *id = malloc(sizeof(*id));
	struct updk_nvme_cpl cpl;
	struct io_done d = { 0 };

	/* raw passthrough, synchronous: Identify Controller again, compared with the copy */
	cr_assert_eq(updk_nvme_admin_sync(c, &cmd, id, 4096, &cpl), 0);
	cr_assert_eq(memcmp(id, updk_nvme_ctrlr_id(c), 4096), 0);
	free(id);

	cr_assert_eq(updk_nvme_ctrlr_get_log_page(c, UPDK_NVME_LOG_SMART, 0xffffffff, &smart,
						  sizeof(smart), 0, io_done_cb, &d),
		     0);
	POLL_UNTIL(d.done, cr_assert_geq(updk_nvme_admin_process_completions(c), 0));
	assert_ok(&d);
	cr_assert_neq(smart.temperature, 0, "a composite temperature in kelvin");

	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_ctrlr_get_log_page(c, UPDK_NVME_LOG_ERROR, 0xffffffff, errlog,
						  sizeof(errlog), 0, io_done_cb, &d),
		     0);
	POLL_UNTIL(d.done, updk_nvme_admin_process_completions(c));
	assert_ok(&d);

	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_ctrlr_get_feature(c, UPDK_NVME_FEAT_NUMBER_OF_QUEUES, 0, NULL, 0,
						 io_done_cb, &d),
		     0);
	POLL_UNTIL(d.done, updk_nvme_admin_process_completions(c));
	assert_ok(&d);
	cr_assert_eq((d.cpl.cdw0 & 0xffff) + 1, updk_nvme_ctrlr_max_qpairs(c));

	/* an opcode the controller does not know: the status comes back named */
	memset(&cmd, 0, sizeof(cmd));
	cmd.opc = 0xc3;
	cr_assert_eq(updk_nvme_admin_sync(c, &cmd, NULL, 0, &cpl), -EIO);
	assert_status(&cpl, UPDK_NVME_SCT_GENERIC, UPDK_NVME_SC_INVALID_OPCODE);

	cr_assert_eq(updk_nvme_ctrlr_get_log_page(c, 2, 0, &smart, 3, 0, io_done_cb, &d), -EINVAL);
	updk_nvme_ctrlr_close(c);
}

Test(nvme_ctrl, io_passthrough)
{
	struct rig r;
	struct updk_nvme_cmd cmd = {
		.opc = UPDK_NVME_OPC_WRITE, .nsid = 1, .cdw10 = 5, .cdw12 = 7
	};
	struct io_done d = { 0 };

	rig_open(&r, "sim:nvme?size=1M,lba=512", 7, 4096);
	fill(r.wbuf, 4096, 5);
	cr_assert_eq(updk_nvme_io_raw(r.qp, &cmd, r.wbuf, 4096, io_done_cb, &d), 0);
	wait_done(r.qp, &d);
	assert_ok(&d);
	memset(r.wbuf, 0, 4096);
	cmd.opc = UPDK_NVME_OPC_READ;
	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_io_raw(r.qp, &cmd, r.wbuf, 4096, io_done_cb, &d), 0);
	wait_done(r.qp, &d);
	assert_ok(&d);
	{
		uint8_t *ref = malloc(4096);

		fill(ref, 4096, 5);
		cr_assert_eq(memcmp(ref, r.wbuf, 4096), 0);
		free(ref);
	}
	/* LBA out of range reported by the device, named */
	cmd.cdw10 = 4096;
	memset(&d, 0, sizeof(d));
	cr_assert_eq(updk_nvme_io_raw(r.qp, &cmd, r.wbuf, 4096, io_done_cb, &d), 0);
	wait_done(r.qp, &d);
	assert_status(&d.cpl, UPDK_NVME_SCT_GENERIC, UPDK_NVME_SC_LBA_OUT_OF_RANGE);
	rig_close(&r);
}

Test(nvme_ctrl, reset_with_commands_in_flight)
{
	struct rig r;
	struct io_done d[8] = { 0 };
	struct updk_nvme_stats st;

	rig_open(&r, "sim:nvme?size=1M,lba=512", 15, 8 * 4096);
	/* completions held back long enough for the reset to find the commands in flight */
	sim_nvme_fault_delay(ctrlr_dev(r.c), 2000000);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.wbuf + i * 4096, (uint64_t)i * 8, 8,
					       io_done_cb, &d[i], 0),
			     0);
	updk_nvme_qpair_flush(r.qp);
	cr_assert_eq(updk_nvme_qpair_process_completions(r.qp, 0), 0);
	cr_assert_eq(updk_nvme_ctrlr_reset(r.c), 0);
	sim_nvme_fault_delay(ctrlr_dev(r.c), 0);
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(d[i].done, 1, "command %d completed by the reset", i);
		assert_status(&d[i].cpl, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
	}
	cr_assert_eq(updk_nvme_qpair_outstanding(r.qp), 0);
	/* the qpair works again, and the controller still has its namespaces */
	read_sync(&r, r.wbuf, 0, 8);
	cr_assert_eq(updk_nvme_ctrlr_first_active_ns(r.c), 1);
	updk_nvme_ctrlr_get_stats(r.c, &st);
	cr_assert_eq(st.resets, 1);
	rig_close(&r);
}

Test(nvme_ctrl, fatal_status_then_reset)
{
	struct rig r;
	struct io_done d = { 0 };
	int rc = 0;

	rig_open(&r, "sim:nvme?size=1M,lba=512", 15, 4096);
	sim_nvme_fault_fatal(ctrlr_dev(r.c));
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.wbuf, 0, 1, io_done_cb, &d, 0), 0);
	POLL_UNTIL(rc != 0, rc = updk_nvme_admin_process_completions(r.c));
	cr_assert_eq(rc, -ENXIO, "the admin poller sees CSTS.CFS");
	cr_assert(updk_nvme_ctrlr_is_failed(r.c));
	cr_assert_eq(updk_nvme_qpair_process_completions(r.qp, 0), -ENXIO);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.wbuf, 0, 1, io_done_cb, &d, 0), -ENXIO);
	cr_assert_eq(updk_nvme_ctrlr_reset(r.c), 0);
	cr_assert_eq(d.done, 1);
	assert_status(&d.cpl, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
	read_sync(&r, r.wbuf, 0, 1);
	rig_close(&r);
}

Test(nvme_ctrl, lost_completion_is_aborted)
{
	struct rig r;
	struct io_done d = { 0 };
	struct updk_nvme_stats st;

	rig_open(&r, "sim:nvme?size=1M,lba=512", 7, 4096);
	sim_nvme_fault_drop(ctrlr_dev(r.c), updk_nvme_qpair_id(r.qp));
	/* 50 ms for the dropped read only; once its Abort is out, the model has all the time it
	 * needs to complete it (nvme_util.h) */
	set_timeouts_ms(r.c, NVME_TEST_ADMIN_TIMEOUT_MS, 50);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.wbuf, 0, 1, io_done_cb, &d, 0), 0);
	POLL_UNTIL(d.done, {
		cr_assert_geq(updk_nvme_qpair_process_completions(r.qp, 0), 0);
		cr_assert_geq(updk_nvme_admin_process_completions(r.c), 0);
		if (aborts_sent(r.c))
			default_timeouts(r.c);
	});
	cr_assert_eq(d.done, 1);
	assert_status(&d.cpl, UPDK_NVME_SCT_GENERIC, UPDK_NVME_SC_ABORT_REQUESTED);
	updk_nvme_ctrlr_get_stats(r.c, &st);
	cr_assert_eq(st.timeouts, 1);
	cr_assert_eq(st.aborts_sent, 1);
	rig_close(&r);
}

/*
 * A lost completion whose Abort is lost too (the sim holds the read's completion, and the Abort
 * hangs): after twice the I/O timeout the driver resets the controller by itself. A second,
 * idle qpair shows the reset waits for every qpair's thread before bringing the queues back.
 */
Test(nvme_ctrl, unresolved_timeout_resets_the_controller)
{
	struct rig r;
	struct updk_nvme_qpair *idle;
	struct io_done d = { 0 }, rd = { 0 };
	struct updk_nvme_stats st;
	struct log_capture lc;
	uint16_t qid;
	char *log;

	rig_open(&r, "sim:nvme?size=1M,lba=512", 7, 4096);
	idle = alloc_qp(r.c, 7);
	qid = updk_nvme_qpair_id(r.qp);
	sim_nvme_fault_drop(ctrlr_dev(r.c), qid);
	sim_nvme_fault_hang(ctrlr_dev(r.c), 0, UPDK_NVME_OPC_ABORT);
	log_capture_start(&lc);
	/* 50 ms while only the faulted read and Abort are out; the bring-up's admin commands and
	 * the I/O after the reset get the defaults (nvme_util.h) */
	set_timeouts_ms(r.c, NVME_TEST_ADMIN_TIMEOUT_MS, 50);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.wbuf, 0, 1, io_done_cb, &d, 0), 0);
	POLL_UNTIL(d.done, {
		if (updk_nvme_ctrlr_is_failed(r.c))
			default_timeouts(r.c);
		updk_nvme_qpair_process_completions(r.qp, 0);
		updk_nvme_admin_process_completions(r.c);
	});
	cr_assert_eq(d.done, 1, "the read's callback ran once");
	assert_status(&d.cpl, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
	cr_assert_eq(d.cpl.cid, 0, "the command's own CID");
	cr_assert_eq(d.cpl.sqid, qid);

	/* the idle qpair's thread has not polled yet: the reset waits for it */
	for (int i = 0; i < 100; i++)
		cr_assert_eq(updk_nvme_admin_process_completions(r.c), -ENXIO);
	cr_assert(updk_nvme_ctrlr_is_failed(r.c));
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.wbuf, 0, 1, io_done_cb, &rd, 0), -ENXIO);
	cr_assert_eq(updk_nvme_qpair_process_completions(idle, 0), -ENXIO);
	cr_assert_eq(updk_nvme_admin_process_completions(r.c), 0, "brought back");
	log = log_capture_stop(&lc);
	cr_assert_not(updk_nvme_ctrlr_is_failed(r.c));
	cr_assert_not_null(strstr(log, "timed out: aborting it"), "%s", log);
	cr_assert_not_null(strstr(log, "still outstanding after its Abort: the "
				       "controller will be reset"),
			   "%s", log);
	cr_assert_not_null(strstr(log, "resetting the controller"), "%s", log);
	free(log);
	updk_nvme_ctrlr_get_stats(r.c, &st);
	cr_assert_eq(st.resets, 1);
	cr_assert_eq(st.aborts_sent, 1);
	cr_assert_eq(st.timeouts, 1);
	cr_assert_eq(updk_nvme_qpair_id(r.qp), qid, "the qpair came back with its id");

	/* new I/O on both qpairs works, data included */
	fill(r.wbuf, 4096, 77);
	write_sync(&r, r.wbuf, 8, 8, 0);
	cr_assert_eq(updk_nvme_ns_read(r.ns, idle, r.rbuf, 8, 8, io_done_cb, &rd, 0), 0);
	wait_done(idle, &rd);
	assert_ok(&rd);
	cr_assert_eq(memcmp(r.rbuf, r.wbuf, 4096), 0);
	updk_nvme_qpair_free(idle);
	rig_close(&r);
}

struct reset_worker {
	struct updk_nvme_ns *ns;
	struct updk_nvme_qpair *qp;
	volatile int armed; /* the main thread armed the faults */
	volatile int stop; /* the main thread gave up waiting */
	volatile int ok;
	int aborted_by_host, other_errors, enxio_polls;
	int refused; /* a submission's error other than -ENXIO, if one ended the loop */
	volatile int finished;
};

/* Reads one at a time on its own qpair and rides out a reset the admin thread performs. */
static void *reset_worker_main(void *arg)
{
	struct reset_worker *w = arg;
	uint8_t *b = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);

	while (w->ok < 40 && !w->stop) {
		struct io_done d = { 0 };
		int rc;

		if (w->ok == 20 && !w->armed)
			continue; /* the main thread arms the faults for the next read */
		rc = updk_nvme_ns_read(w->ns, w->qp, b, 0, 8, io_done_cb, &d, 0);
		/* -EAGAIN: the reset ended during the call (the driver's word for "submit again") */
		if (rc == -ENXIO || rc == -EAGAIN) {
			w->enxio_polls += updk_nvme_qpair_process_completions(w->qp, 0) == -ENXIO;
			continue;
		}
		if (rc) {
			w->refused = rc;
			break;
		}
		while (!d.done && !w->stop)
			w->enxio_polls += updk_nvme_qpair_process_completions(w->qp, 0) == -ENXIO;
		if (!d.done)
			break;
		if (!updk_nvme_cpl_is_error(&d.cpl))
			w->ok++;
		else if (updk_nvme_cpl_sct(&d.cpl) == UPDK_NVME_SCT_PATH &&
			 updk_nvme_cpl_sc(&d.cpl) == UPDK_NVME_SC_ABORTED_BY_HOST)
			w->aborted_by_host++;
		else
			w->other_errors++;
	}
	updk_dma_free(b);
	w->finished = 1;
	return NULL;
}

/* The qpair belongs to another thread: the reset completes its command there, not here. */
Test(nvme_ctrl, automatic_reset_with_a_qpair_on_another_thread)
{
	struct updk_nvme_ctrlr *c = open_ctrlr("sim:nvme?size=1M,lba=512");
	struct reset_worker w = { 0 };
	struct updk_nvme_stats st;
	pthread_t t;

	w.ns = updk_nvme_ns_get(c, 1);
	w.qp = alloc_qp(c, 7);
	cr_assert_eq(pthread_create(&t, NULL, reset_worker_main, &w), 0);
	POLL_UNTIL(w.ok >= 20, updk_nvme_admin_process_completions(c));
	sim_nvme_fault_drop(ctrlr_dev(c), updk_nvme_qpair_id(w.qp));
	sim_nvme_fault_hang(ctrlr_dev(c), 0, UPDK_NVME_OPC_ABORT);
	/* a short I/O timeout while the worker's one read is the dropped one; the defaults again
	 * once the reset has begun, for the bring-up and the 20 reads after it (nvme_util.h) */
	set_timeouts_ms(c, NVME_TEST_ADMIN_TIMEOUT_MS, 100);
	__atomic_store_n(&w.armed, 1, __ATOMIC_RELEASE);
	POLL_UNTIL(w.finished, {
		if (updk_nvme_ctrlr_is_failed(c))
			default_timeouts(c);
		updk_nvme_admin_process_completions(c);
	});
	w.stop = 1;
	pthread_join(t, NULL);
	cr_assert_eq(w.refused, 0, "a read refused with %d", w.refused);
	cr_assert_eq(w.ok, 40, "the worker got through the reset");
	cr_assert_eq(w.aborted_by_host, 1, "the stuck read, completed on its own thread");
	cr_assert_eq(w.other_errors, 0);
	cr_assert_gt(w.enxio_polls, 0, "the worker saw the controller being reset");
	updk_nvme_ctrlr_get_stats(c, &st);
	cr_assert_eq(st.resets, 1);
	updk_nvme_qpair_free(w.qp);
	updk_nvme_ctrlr_close(c);
}

/* An Abort that times out itself is not aborted in turn: the controller is reset. */
Test(nvme_ctrl, hung_abort_resets_the_controller)
{
	struct rig r;
	struct io_done d = { 0 };
	struct updk_nvme_stats st;
	struct log_capture lc;
	char *log;

	rig_open(&r, "sim:nvme?size=1M,lba=512", 7, 4096);
	sim_nvme_fault_drop(ctrlr_dev(r.c), updk_nvme_qpair_id(r.qp));
	sim_nvme_fault_hang(ctrlr_dev(r.c), 0, UPDK_NVME_OPC_ABORT);
	log_capture_start(&lc);
	/* 100 ms admin, 50 ms I/O while only the faulted read is out. Once its Abort is sent the
	 * I/O timeout goes back to the default, so the read cannot reach its second timeout
	 * before the Abort its first: whatever the scheduler does, the Abort's own timeout is
	 * what resets the controller. The bring-up after it runs with the defaults. */
	set_timeouts_ms(r.c, 100, 50);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.wbuf, 0, 1, io_done_cb, &d, 0), 0);
	POLL_UNTIL(d.done && !updk_nvme_ctrlr_is_failed(r.c), {
		if (updk_nvme_ctrlr_is_failed(r.c))
			default_timeouts(r.c);
		else if (aborts_sent(r.c))
			set_timeouts_ms(r.c, 100, NVME_TEST_IO_TIMEOUT_MS);
		updk_nvme_qpair_process_completions(r.qp, 0);
		updk_nvme_admin_process_completions(r.c);
	});
	log = log_capture_stop(&lc);
	cr_assert_eq(d.done, 1);
	assert_status(&d.cpl, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
	cr_assert_not(updk_nvme_ctrlr_is_failed(r.c));
	/* the Abort (opcode 08h) on the admin queue timed out, not the read a second time */
	cr_assert_not_null(strstr(log, "queue 0: command"), "%s", log);
	cr_assert_not_null(strstr(log, "(opcode 0x08) timed out and is itself an Abort: the "
				       "controller will be reset"),
			   "%s", log);
	cr_assert_null(strstr(log, "still outstanding after its Abort"), "%s", log);
	free(log);
	updk_nvme_ctrlr_get_stats(r.c, &st);
	cr_assert_eq(st.resets, 1);
	read_sync(&r, r.wbuf, 0, 1);
	rig_close(&r);
}

/* The same faults with no_auto_reset: the command is reported as timed out, nothing is reset
 * until the application asks for it. */
Test(nvme_ctrl, unresolved_timeout_without_auto_reset)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o), .no_auto_reset = true };
	struct rig r;
	struct io_done d = { 0 };
	struct updk_nvme_stats st;
	struct log_capture lc;
	char *log;
	int rc = 0;

	rig_open_opts(&r, "sim:nvme?size=1M,lba=512", &o, 7, 4096);
	sim_nvme_fault_drop(ctrlr_dev(r.c), updk_nvme_qpair_id(r.qp));
	sim_nvme_fault_hang(ctrlr_dev(r.c), 0, UPDK_NVME_OPC_ABORT);
	log_capture_start(&lc);
	/* 50 ms for the faulted read alone; the defaults for the reset and the read after it */
	set_timeouts_ms(r.c, NVME_TEST_ADMIN_TIMEOUT_MS, 50);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.wbuf, 0, 1, io_done_cb, &d, 0), 0);
	POLL_UNTIL(rc != 0, {
		rc = updk_nvme_qpair_process_completions(r.qp, 0);
		updk_nvme_admin_process_completions(r.c);
	});
	default_timeouts(r.c);
	log = log_capture_stop(&lc);
	cr_assert_eq(rc, -ENXIO, "the controller is marked failed");
	cr_assert(updk_nvme_ctrlr_is_failed(r.c));
	cr_assert_not_null(strstr(log, "still outstanding after its Abort: controller marked "
				       "failed (no automatic reset)"),
			   "%s", log);
	cr_assert_null(strstr(log, "resetting the controller"), "%s", log);
	free(log);
	/* the admin poller does not reset it, however often it runs */
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(updk_nvme_admin_process_completions(r.c), -ENXIO);
		cr_assert_eq(updk_nvme_qpair_process_completions(r.qp, 0), -ENXIO);
	}
	cr_assert_eq(d.done, 0, "the command is still the device's: no callback yet");
	updk_nvme_qpair_get_stats(r.qp, &st);
	cr_assert_eq(st.timeouts, 1, "reported as timed out");
	updk_nvme_ctrlr_get_stats(r.c, &st);
	cr_assert_eq(st.resets, 0);
	cr_assert_eq(st.aborts_sent, 1);

	/* the application's reset ends it */
	cr_assert_eq(updk_nvme_ctrlr_reset(r.c), 0);
	cr_assert_eq(d.done, 1);
	assert_status(&d.cpl, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
	read_sync(&r, r.wbuf, 0, 1);
	rig_close(&r);
}

/* Doorbell writes of the admin queue, as the driver counted them and as the device saw them. */
struct admin_db {
	uint64_t drv_mmio, drv_shadow, dev_mmio, dev_mmio_sq, dev_shadow, dev_bad;
};

static void admin_db_read(struct updk_nvme_ctrlr *c, struct admin_db *a)
{
	struct updk_nvme_stats st;
	struct sim_nvme_stats *sst = malloc(sizeof(*sst));

	cr_assert_not_null(sst);
	/* The model sees a doorbell at its next pass (the last CQ head write, say): wait for it,
	 * so the device's counts cover what the driver wrote up to now. */
	cr_assert_eq(sim_nvme_sync(ctrlr_dev(c)), 0);
	/* no I/O qpair is allocated: the controller's figures are the admin queue's */
	updk_nvme_ctrlr_get_stats(c, &st);
	cr_assert_eq(sim_nvme_stats(ctrlr_dev(c), sst), 0);
	a->drv_mmio = st.sq_doorbell_mmio + st.cq_doorbell_mmio;
	a->drv_shadow = st.shadow_doorbell_updates;
	a->dev_mmio = sst->mmio_sq_db + sst->mmio_cq_db;
	a->dev_mmio_sq = sst->mmio_sq_db;
	a->dev_shadow = sst->shadow_sq_db + sst->shadow_cq_db;
	a->dev_bad = sst->bad_db;
	free(sst);
}

/* @n Get Features (Number of Queues), one at a time; returns the doorbells they took. */
static struct admin_db get_features(struct updk_nvme_ctrlr *c, int n)
{
	struct admin_db before, after, delta;

	admin_db_read(c, &before);
	for (int i = 0; i < n; i++) {
		struct io_done d = { 0 };

		cr_assert_eq(updk_nvme_ctrlr_get_feature(c, UPDK_NVME_FEAT_NUMBER_OF_QUEUES, 0,
							 NULL, 0, io_done_cb, &d),
			     0);
		POLL_UNTIL(d.done, cr_assert_geq(updk_nvme_admin_process_completions(c), 0));
		cr_assert_eq(d.done, 1, "Get Features %d of %d", i, n);
		assert_ok(&d);
		cr_assert_eq(d.cpl.cdw0, 0x00010001, "2 SQs and 2 CQs granted, 0's based");
	}
	admin_db_read(c, &after);
	delta.drv_mmio = after.drv_mmio - before.drv_mmio;
	delta.drv_shadow = after.drv_shadow - before.drv_shadow;
	delta.dev_mmio = after.dev_mmio - before.dev_mmio;
	delta.dev_mmio_sq = after.dev_mmio_sq - before.dev_mmio_sq;
	delta.dev_shadow = after.dev_shadow - before.dev_shadow;
	delta.dev_bad = after.dev_bad;
	return delta;
}

/*
 * The admin queue through shadow doorbells (NVMe Base 2.0 §5.8): after Doorbell Buffer Config,
 * admin commands update the shadow and write MMIO only when EventIdx asks. The model keeps
 * EventIdx half a queue ahead, so 200 commands need next to no MMIO write; a reset issues
 * Doorbell Buffer Config again and starts the admin shadow over; an event-driven EventIdx (as
 * QEMU's) asks for MMIO on every update, the driver writes it and the model sees it.
 */
Test(nvme_ctrl, admin_queue_shadow_doorbells)
{
	struct updk_nvme_ctrlr *c = open_ctrlr("sim:nvme?size=1M,qpairs=2");
	struct sim_nvme_stats *sst = malloc(sizeof(*sst));
	struct admin_db a;
	uint64_t dev_sq0;

	cr_assert_not_null(sst);
	cr_assert(updk_nvme_ctrlr_shadow_doorbell(c));
	a = get_features(c, 200);
	cr_assert_lt(a.drv_mmio, 20, "%llu MMIO admin doorbells for 200 commands",
		     (unsigned long long)a.drv_mmio);
	cr_assert_leq(a.dev_mmio, a.drv_mmio, "the device saw no more MMIO writes");
	cr_assert_geq(a.drv_shadow, 400, "SQ tail and CQ head through the shadow each time");
	cr_assert_geq(a.dev_shadow, 200, "the device took the tails from the shadow");
	cr_assert_eq(a.dev_bad, 0);

	cr_assert_eq(updk_nvme_ctrlr_reset(c), 0);
	cr_assert(updk_nvme_ctrlr_shadow_doorbell(c));
	cr_assert_eq(sim_nvme_stats(ctrlr_dev(c), sst), 0);
	cr_assert_eq(sst->admin_cmds[UPDK_NVME_OPC_DOORBELL_BUFFER_CONFIG], 2, "DBBUF again");
	a = get_features(c, 200);
	cr_assert_lt(a.drv_mmio, 20, "after the reset: %llu MMIO admin doorbells",
		     (unsigned long long)a.drv_mmio);
	cr_assert_geq(a.dev_shadow, 200);
	cr_assert_eq(a.dev_bad, 0, "no doorbell value out of range after the reset");

	/*
	 * EventIdx at the consumed tail (as QEMU's): each admin command needs the MMIO doorbell.
	 * The model is paused while the driver submits, so it cannot take the tail from the
	 * shadow before the driver reads EventIdx (that would rightly spare the MMIO write and
	 * make the count depend on thread timing).
	 */
	cr_assert_eq(sim_nvme_set_eventidx_mode(ctrlr_dev(c), SIM_NVME_EI_TAIL), 0);
	POLL_UNTIL(__atomic_load_n(&pcie_ctrlr(c)->dbbuf_ei[0], __ATOMIC_ACQUIRE) ==
			   qp_pcie(c->adminq)->sq_tail, );
	cr_assert_eq(sim_nvme_stats(ctrlr_dev(c), sst), 0);
	dev_sq0 = sst->mmio_sq_db;
	for (int i = 0; i < 20; i++) {
		struct updk_nvme_stats before, after;
		struct io_done d = { 0 };

		updk_nvme_ctrlr_get_stats(c, &before);
		cr_assert_eq(sim_nvme_pause(ctrlr_dev(c), true), 0);
		/* published before the previous completion was posted */
		cr_assert_eq(__atomic_load_n(&pcie_ctrlr(c)->dbbuf_ei[0], __ATOMIC_ACQUIRE),
			     qp_pcie(c->adminq)->sq_tail,
			     "EventIdx of the admin SQ at its tail, command %d", i);
		cr_assert_eq(updk_nvme_ctrlr_get_feature(c, UPDK_NVME_FEAT_NUMBER_OF_QUEUES, 0,
							 NULL, 0, io_done_cb, &d),
			     0);
		updk_nvme_ctrlr_get_stats(c, &after);
		cr_assert_eq(after.sq_doorbell_mmio - before.sq_doorbell_mmio, 1,
			     "the rule asked for SQ doorbell %d", i);
		cr_assert_eq(sim_nvme_pause(ctrlr_dev(c), false), 0);
		POLL_UNTIL(d.done, cr_assert_geq(updk_nvme_admin_process_completions(c), 0));
		cr_assert_eq(d.done, 1, "Get Features %d", i);
		assert_ok(&d);
	}
	cr_assert_eq(sim_nvme_stats(ctrlr_dev(c), sst), 0);
	cr_assert_eq(sst->mmio_sq_db - dev_sq0, 20, "the model saw every MMIO admin tail");
	cr_assert_eq(sst->bad_db, 0);
	updk_nvme_ctrlr_close(c);
	free(sst);
}

/* A controller without Doorbell Buffer Config: every admin command takes MMIO doorbells. */
Test(nvme_ctrl, admin_queue_mmio_doorbells_without_dbbuf)
{
	struct updk_nvme_ctrlr *c = open_ctrlr("sim:nvme?size=1M,qpairs=2,dbbuf=0");
	struct sim_nvme_stats *sst = malloc(sizeof(*sst));
	struct admin_db a;

	cr_assert_not_null(sst);
	cr_assert_eq(updk_nvme_ctrlr_id(c)->oacs & (1u << 8), 0, "OACS bit 8 clear");
	cr_assert_not(updk_nvme_ctrlr_shadow_doorbell(c));
	cr_assert_eq(sim_nvme_stats(ctrlr_dev(c), sst), 0);
	cr_assert_eq(sst->admin_cmds[UPDK_NVME_OPC_DOORBELL_BUFFER_CONFIG], 0, "not even tried");
	a = get_features(c, 200);
	cr_assert_geq(a.drv_mmio, 400, "an SQ and a CQ doorbell per command: %llu",
		      (unsigned long long)a.drv_mmio);
	/* The device fetched each command after seeing its SQ tail. It reads CQ head doorbells
	 * when its thread gets to them: the last one may be unread yet, and two may be seen as
	 * one when that thread ran late, so they are not counted here. */
	cr_assert_geq(a.dev_mmio_sq, 200, "%llu SQ tail doorbells seen by the device",
		      (unsigned long long)a.dev_mmio_sq);
	cr_assert_eq(a.drv_shadow, 0);
	cr_assert_eq(a.dev_shadow, 0);
	updk_nvme_ctrlr_close(c);
	free(sst);
}

/* Several commands of one qpair time out together: each gets its own Abort (one at a time goes
 * to the admin thread), none waits into the controller's failure. */
Test(nvme_ctrl, lost_completions_each_aborted)
{
	struct rig r;
	struct io_done d[4] = { 0 };
	struct updk_nvme_stats st;

	/* every I/O command's completion is held until it is aborted */
	rig_open(&r, "sim:nvme?size=1M,faults=1,fault_kinds=drop", 7, 4096);
	/* 40 ms until the four Aborts are out (one per timeout check, so the first read is 3
	 * checks short of its second timeout then); after that the model has the default I/O
	 * timeout to complete them, however late its thread runs (nvme_util.h) */
	set_timeouts_ms(r.c, NVME_TEST_ADMIN_TIMEOUT_MS, 40);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(
			updk_nvme_ns_read(r.ns, r.qp, r.wbuf, (uint64_t)i, 1, io_done_cb, &d[i], 0),
			0);
	POLL_UNTIL(d[0].done + d[1].done + d[2].done + d[3].done == 4, {
		cr_assert_geq(updk_nvme_qpair_process_completions(r.qp, 0), 0);
		cr_assert_geq(updk_nvme_admin_process_completions(r.c), 0);
		if (aborts_sent(r.c) == 4)
			default_timeouts(r.c);
	});
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(d[i].done, 1, "read %d completed", i);
		assert_status(&d[i].cpl, UPDK_NVME_SCT_GENERIC, UPDK_NVME_SC_ABORT_REQUESTED);
	}
	cr_assert_not(updk_nvme_ctrlr_is_failed(r.c));
	updk_nvme_ctrlr_get_stats(r.c, &st);
	cr_assert_eq(st.timeouts, 4);
	cr_assert_eq(st.aborts_sent, 4);
	rig_close(&r);
}

static void bad_cqe_case(int which)
{
	struct rig r;
	struct io_done d = { 0 };
	struct updk_nvme_stats st;

	rig_open(&r, "sim:nvme?size=1M,lba=512", 7, 4096);
	if (which == 0)
		sim_nvme_fault_bogus_cid(ctrlr_dev(r.c), updk_nvme_qpair_id(r.qp), 5);
	else
		sim_nvme_fault_sqhd_beyond_tail(ctrlr_dev(r.c), updk_nvme_qpair_id(r.qp));
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.wbuf, 0, 1, io_done_cb, &d, 0), 0);
	POLL_UNTIL(r.qp->stats.bogus_completions, updk_nvme_qpair_process_completions(r.qp, 0));
	POLL_UNTIL(which == 0 || d.done, updk_nvme_qpair_process_completions(r.qp, 0));
	updk_nvme_qpair_get_stats(r.qp, &st);
	cr_assert_eq(st.bogus_completions, 1);
	if (which == 0)
		cr_assert_eq(d.done, 0, "a CQE naming a CID not outstanding completes nothing");
	else
		cr_assert_eq(d.done, 1, "the command itself completes; its SQ head is ignored");
	/* the qpair goes on working */
	read_sync(&r, r.wbuf, 0, 1);
	rig_close(&r); /* the qpair first */
	if (which == 0)
		cr_assert_eq(d.done, 1, "completed by the qpair's release");
}

Test(nvme_ctrl, bogus_cid_refused)
{
	bad_cqe_case(0);
}

Test(nvme_ctrl, sq_head_beyond_tail_refused)
{
	bad_cqe_case(1);
}

/*
 * A completion that names the wrong command, with other commands outstanding (NVMe Base 2.0
 * §4.6: the CID identifies the command the entry completes; the host must not trust it). The
 * model posts the first of four reads' completion with @cid instead of the read's own. The
 * entry is refused and logged with the device, the queue and why; the other three reads
 * complete normally with their own data and nothing completes twice; the read whose entry was
 * refused times out and comes back with an error (its Abort finds nothing, the controller is
 * reset); the qpair then works. @cid < 0: a CID in range that no command holds.
 */
static void lying_cid_case(int cid, const char *why)
{
	struct updk_nvme_ctrlr *c = open_ctrlr("sim:nvme?size=1M,lba=512");
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct updk_nvme_qpair *qp = alloc_qp(c, 7);
	uint16_t qid = updk_nvme_qpair_id(qp);
	uint8_t *buf = updk_dma_zalloc(5 * 4096, 4096, UPDK_NUMA_ANY, NULL);
	struct io_done w = { 0 }, d[5] = { 0 };
	struct updk_nvme_stats st;
	struct log_capture lc;
	char want[160], *log;
	int lost = -1;

	/* blocks 0..3 with known data, read back below into buf's pages 1..4 */
	fill(buf, 4 * 512, 41);
	cr_assert_eq(updk_nvme_ns_write(ns, qp, buf, 0, 4, io_done_cb, &w, 0), 0);
	wait_done(qp, &w);
	assert_ok(&w);

	/* the model stands still while the four reads go in and the fault is armed */
	cr_assert_eq(sim_nvme_pause(ctrlr_dev(c), true), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(updk_nvme_ns_read(ns, qp, buf + (i + 1) * 4096, (uint64_t)i, 1,
					       io_done_cb, &d[i], 0),
			     0);
	updk_nvme_qpair_flush(qp);
	cr_assert_eq(updk_nvme_qpair_outstanding(qp), 4);
	if (cid < 0)
		for (uint16_t i = 0; i < qp->depth; i++)
			if (qp->reqs[i].state == NVME_REQ_FREE)
				cid = i;
	cr_assert_geq(cid, 0);
	cr_assert_eq(sim_nvme_fault_bogus_cid(ctrlr_dev(c), qid, (uint16_t)cid), 0);
	log_capture_start(&lc);
	cr_assert_eq(sim_nvme_pause(ctrlr_dev(c), false), 0);
	POLL_UNTIL(qp->stats.bogus_completions &&
			   d[0].done + d[1].done + d[2].done + d[3].done == 3,
		   cr_assert_geq(updk_nvme_qpair_process_completions(qp, 0), 0));
	log = log_capture_stop(&lc);
	updk_nvme_qpair_get_stats(qp, &st);
	cr_assert_eq(st.bogus_completions, 1, "the lying entry refused, once");
	snprintf(want, sizeof(want), "%s: queue %u: completion refused (%s): cid %d",
		 updk_nvme_ctrlr_name(c), qid, why, cid);
	cr_assert_not_null(strstr(log, want), "the log lacks '%s':\n%s", want, log);
	free(log);
	for (int i = 0; i < 4; i++) {
		if (!d[i].done) {
			cr_assert_eq(lost, -1, "reads %d and %d both without a completion", lost,
				     i);
			lost = i;
			continue;
		}
		cr_assert_eq(d[i].done, 1, "read %d completed %d times", i, d[i].done);
		assert_ok(&d[i]);
		cr_assert_eq(memcmp(buf + (i + 1) * 4096, buf + i * 512, 512), 0,
			     "read %d brought another block's data", i);
	}
	cr_assert_neq(lost, -1, "the refused entry completed a command anyway");
	cr_assert_eq(updk_nvme_qpair_outstanding(qp), 1);

	/* the read whose entry was refused: timed out, aborted in vain, the controller reset */
	set_timeouts_ms(c, NVME_TEST_ADMIN_TIMEOUT_MS, 50);
	POLL_UNTIL(d[lost].done, {
		if (updk_nvme_ctrlr_is_failed(c))
			default_timeouts(c);
		updk_nvme_qpair_process_completions(qp, 0);
		updk_nvme_admin_process_completions(c);
	});
	default_timeouts(c);
	cr_assert_eq(d[lost].done, 1, "the read's callback ran once");
	cr_assert(updk_nvme_cpl_is_error(&d[lost].cpl), "the lost read came back without an error");
	cr_assert_eq(d[lost].cpl.sqid, qid);
	POLL_UNTIL(!updk_nvme_ctrlr_is_failed(c), updk_nvme_admin_process_completions(c));
	cr_assert_not(updk_nvme_ctrlr_is_failed(c), "the controller did not come back");

	/* the qpair works, and nothing completed twice */
	cr_assert_eq(updk_nvme_ns_read(ns, qp, buf + 4096, 2, 1, io_done_cb, &d[4], 0), 0);
	wait_done(qp, &d[4]);
	assert_ok(&d[4]);
	cr_assert_eq(memcmp(buf + 4096, buf + 2 * 512, 512), 0);
	updk_nvme_qpair_free(qp);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(d[i].done, 1, "command %d completed %d times", i, d[i].done);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
}

/* CID 7 on a qpair of depth 7: just past the last slot (CIDs run 0..6) */
Test(nvme_ctrl, cid_out_of_range_with_commands_outstanding)
{
	lying_cid_case(7, "CID out of range");
}

Test(nvme_ctrl, cid_out_of_range_ffff)
{
	lying_cid_case(0xffff, "CID out of range");
}

/* a CID in range whose slot holds no command */
Test(nvme_ctrl, cid_not_outstanding_with_commands_outstanding)
{
	lying_cid_case(-1, "CID not outstanding");
}

/* A callback that submits and rings the SQ doorbell, then waits until the controller has
 * posted that command's CQE, so the same poll reaps it, with an SQ head beyond the tail the
 * poll began with. */
struct ring_in_cb {
	struct updk_nvme_ns *ns;
	struct updk_nvme_qpair *qp;
	uint8_t *buf;
	struct io_done first, second, third;
};

static bool cqe_posted(const struct updk_nvme_qpair *qp, uint32_t ahead)
{
	const struct nvme_pcie_qpair *pq = qp_pcie(qp);
	uint32_t idx = (uint32_t)pq->cq_head + ahead;
	uint16_t phase = (uint16_t)pcie_cq_phase(pq);

	if (idx >= pq->qsize) {
		idx -= pq->qsize;
		phase ^= 1;
	}
	return (pq->cq[idx].status & 1) == phase;
}

static void ring_in_cb_done(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct ring_in_cb *r = arg;

	io_done_cb(&r->first, cpl);
	cr_assert_eq(updk_nvme_ns_read(r->ns, r->qp, r->buf, 2, 1, io_done_cb, &r->third, 0), 0);
	updk_nvme_qpair_flush(r->qp);
	/* the poll is still on this CQE (its head is stored after the batch): the second CQE is
	 * ahead by one, this command's by two */
	POLL_UNTIL(cqe_posted(r->qp, 2), sched_yield());
	cr_assert(cqe_posted(r->qp, 2), "the controller did not complete the third read");
}

Test(nvme_ctrl, doorbell_rung_in_a_callback_is_no_bogus_sq_head)
{
	struct rig t;
	struct ring_in_cb r;
	struct updk_nvme_stats st;

	rig_open(&t, "sim:nvme?size=1M,lba=512", 7, 4096);
	r = (struct ring_in_cb){ .ns = t.ns, .qp = t.qp, .buf = t.wbuf };
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.buf, 0, 1, ring_in_cb_done, &r, 0), 0);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.buf, 1, 1, io_done_cb, &r.second, 0), 0);
	updk_nvme_qpair_flush(r.qp);
	POLL_UNTIL(cqe_posted(r.qp, 1), sched_yield());
	cr_assert(cqe_posted(r.qp, 1), "the controller did not complete the first two reads");
	/* one poll: the first CQE's callback submits the third read and waits for its CQE */
	cr_assert_eq(updk_nvme_qpair_process_completions(r.qp, 0), 3);
	assert_ok(&r.first);
	assert_ok(&r.second);
	assert_ok(&r.third);
	updk_nvme_qpair_get_stats(r.qp, &st);
	cr_assert_eq(st.bogus_completions, 0, "a valid SQ head was refused");
	cr_assert_eq(st.cmds_completed, 3);
	rig_close(&t);
}

Test(nvme_ctrl, namespace_attribute_change)
{
	struct rig r;
	struct updk_nvme_ns *ns2;
	struct io_done d = { 0 };

	rig_open(&r, "sim:nvme?ns=2,size=1M", 7, 4096);
	ns2 = updk_nvme_ns_get(r.c, 2);
	cr_assert_not_null(ns2);
	cr_assert_eq(sim_nvme_ns_set_active(ctrlr_dev(r.c), 2, false), 0);
	POLL_UNTIL(!updk_nvme_ns_is_active(ns2),
		   cr_assert_geq(updk_nvme_admin_process_completions(r.c), 0));
	cr_assert_not(updk_nvme_ns_is_active(ns2), "the event re-read the namespaces");
	cr_assert_null(updk_nvme_ns_get(r.c, 2));
	cr_assert_eq(updk_nvme_ctrlr_next_active_ns(r.c, 1), 0);
	cr_assert_eq(updk_nvme_ns_read(ns2, r.qp, r.wbuf, 0, 1, io_done_cb, &d, 0), -ENODEV);
	/* and back: AERs were re-armed */
	cr_assert_eq(sim_nvme_ns_set_active(ctrlr_dev(r.c), 2, true), 0);
	POLL_UNTIL(updk_nvme_ns_is_active(ns2),
		   cr_assert_geq(updk_nvme_admin_process_completions(r.c), 0));
	cr_assert(updk_nvme_ns_is_active(ns2));
	cr_assert_eq(updk_nvme_ns_get(r.c, 2), ns2, "the same object, updated in place");
	rig_close(&r);
}

Test(nvme_ctrl, never_ready_after_reset)
{
	struct updk_nvme_ctrlr *c = open_ctrlr("sim:nvme?size=1M");
	struct updk_nvme_qpair *qp = alloc_qp(c, 7);
	struct timespec t0, t1;

	sim_nvme_fault_never_ready(ctrlr_dev(c), true);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(updk_nvme_ctrlr_reset(c), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 5, "bounded by CAP.TO (1 s here)");
	cr_assert(updk_nvme_ctrlr_is_failed(c));
	cr_assert_eq(updk_nvme_qpair_process_completions(qp, 0), -ENXIO);
	/* a failed controller still closes cleanly, qpair included */
	updk_nvme_ctrlr_close(c);
}

Test(nvme_ctrl, surprise_removal)
{
	struct updk_nvme_ctrlr *c = open_ctrlr("sim:nvme?size=1M");
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct updk_nvme_qpair *qp = alloc_qp(c, 7);
	uint8_t *buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	struct io_done d = { 0 };
	int rc = 0;

	cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, 0, 1, io_done_cb, &d, 0), 0);
	sim_nvme_fault_remove(ctrlr_dev(c));
	POLL_UNTIL(rc != 0, rc = updk_nvme_admin_process_completions(c));
	cr_assert_eq(rc, -ENXIO, "registers reading all ones mark the controller failed");
	cr_assert_eq(updk_nvme_ctrlr_reset(c), -ENODEV);
	cr_assert_eq(d.done, 1, "outstanding commands completed by the failed reset");
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
}
