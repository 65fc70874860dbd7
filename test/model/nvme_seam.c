// SPDX-License-Identifier: BSD-3-Clause
/*
 * The NVMe driver's seams against sim:nvme: addresses in SPDK's transport ID form pick the
 * transport (and an unknown one is refused by name), the PCIe transport's submit operation
 * puts a payload's separate metadata buffer in MPTR, and a qpair's data-path messages are
 * rate limited with the rest counted.
 */
#include <errno.h>
#include <string.h>

#include "test/common/perf_util.h"
#include "test/model/held.h"
#include "test/model/nvme_util.h"

TestSuite(nvme_seam, .init = nvme_test_mem_setup, .timeout = 60);

Test(nvme_seam, spdk_transport_ids_open_the_pcie_transport)
{
	static const char *const good[] = {
		"trtype:PCIe traddr:sim:nvme?size=1M", "traddr=sim:nvme?size=1M trtype=pcie",
		"  trtype:pcie   traddr:sim:nvme?size=1M  ",
		"traddr:sim:nvme?size=1M", /* no trtype: PCIe, as SPDK's default */
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct updk_nvme_ctrlr *c = open_ctrlr(good[i]);

		cr_assert_str_eq(updk_nvme_ctrlr_name(c), "sim:nvme", "%s", good[i]);
		cr_assert_not_null(updk_nvme_ns_get(c, 1), "%s", good[i]);
		updk_nvme_ctrlr_close(c);
	}
}

Test(nvme_seam, bad_transport_ids_are_refused_by_name)
{
	static const struct {
		const char *addr, *says;
	} bad[] = {
		{ "trtype:FC traddr:nn-0x1", "trtype 'FC' is not a transport this build of updk "
					     "has (it has: PCIe, TCP)" },
		{ "trtype:RDMA traddr:10.0.0.1", "trtype 'RDMA'" },
		{ "trtype:PCIe", "no traddr" },
		{ "trtype:PCIe traddr:sim:nvme?size=1M trsvcid:4420",
		  "trsvcid belongs to NVMe over Fabrics" },
		{ "trtype:PCIe traddr:sim:nvme?size=1M ns:1", "'ns:1' is not a transport ID key" },
		{ "trtype:PCIe trtype:PCIe traddr:sim:nvme", "trtype given twice" },
		{ "trtype: traddr:sim:nvme", "trtype '' is empty" },
		{ "trtype:PCIe traddr:0000:ff:1f.7", "0000:ff:1f.7" },
	};
	struct held before = held_now();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct updk_nvme_ctrlr *c = (void *)&before;
		struct log_capture lc;
		char *log;
		int rc;

		log_capture_start(&lc);
		rc = updk_nvme_ctrlr_open(bad[i].addr, NULL, &c);
		log = log_capture_stop(&lc);
		cr_assert_lt(rc, 0, "'%s' opened", bad[i].addr);
		cr_assert_null(c, "'%s': *ctrlr not cleared", bad[i].addr);
		cr_assert(strstr(log, bad[i].says), "'%s': the log lacks '%s':\n%s", bad[i].addr,
			  bad[i].says, log);
		free(log);
		held_assert_same(before, bad[i].addr);
	}
}

/* The PCIe transport's submit: MPTR is the metadata buffer's IOVA, in the SQE as the device
 * reads it; a metadata buffer that is not DMA memory is refused and nothing is queued. */
Test(nvme_seam, pcie_submit_puts_metadata_in_mptr)
{
	struct rig r;
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_READ, .nsid = 1 };
	struct iovec iov;
	struct nvme_payload pl = { .iov = &iov, .iovcnt = 1, .len = 4096 };
	struct nvme_pcie_qpair *pq;
	uint8_t *md, heap_md[64];
	uint64_t md_iova = 0;
	struct nvme_req *req;
	uint16_t tail;

	rig_open(&r, "sim:nvme?size=1M", 7, 4096);
	pq = qp_pcie(r.qp);
	md = updk_dma_zalloc(64, 64, UPDK_NUMA_ANY, &md_iova);
	cr_assert_not_null(md);
	iov = (struct iovec){ r.wbuf, 4096 };
	pl.md = md;
	pl.md_len = 64;
	tail = pq->sq_tail;
	req = nvme_slot_get(r.qp);
	cr_assert_eq(r.qp->ops->submit(r.qp, req, &cmd, &pl), 0);
	cr_assert_eq(pq->sq[tail].mptr, md_iova, "MPTR 0x%llx, the buffer is at 0x%llx",
		     (unsigned long long)pq->sq[tail].mptr, (unsigned long long)md_iova);
	cr_assert_eq(pq->sq[tail].cid, req->cid);
	cr_assert_eq(pq->sq[tail].dptr.prp.prp1, updk_iova(r.wbuf));
	cr_assert_eq(r.qp->ops->cancel_last(r.qp), req->cid, "taken back before any doorbell");
	cr_assert_eq(pq->sq_tail, tail);
	pl.md = heap_md;
	cr_assert_eq(r.qp->ops->submit(r.qp, req, &cmd, &pl), -EFAULT, "stack metadata");
	cr_assert_eq(pq->sq_tail, tail, "nothing queued");
	nvme_slot_put(r.qp, req);
	cr_assert_eq(updk_nvme_qpair_outstanding(r.qp), 0);
	/* the qpair goes on as before */
	read_sync(&r, r.rbuf, 0, 1);
	updk_dma_free(md);
	rig_close(&r);
}

/* A flood of refused arguments on one qpair logs NVME_LOG_BURST lines a second; the next line
 * after the window says how many were not logged. */
Test(nvme_seam, data_path_errors_are_rate_limited)
{
	struct rig r;
	struct io_done d = { 0 };
	struct log_capture lc;
	uint64_t n;
	char *log;

	rig_open(&r, "sim:nvme?size=1M", 7, 4096);
	n = updk_nvme_ns_num_sectors(r.ns);
	log_capture_start(&lc);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.wbuf, n, 1, io_done_cb, &d, 0),
			     -EINVAL);
	log = log_capture_stop(&lc);
	cr_assert_eq(perf_test_count(log, "are not within its"), NVME_LOG_BURST, "%s", log);
	free(log);
	usleep(1100 * 1000);
	log_capture_start(&lc);
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf, n, 1, io_done_cb, &d, 0), -EINVAL);
	log = log_capture_stop(&lc);
	cr_assert(strstr(log, "not within its"), "%s", log);
	cr_assert(strstr(log, "(and 90 similar messages of queue 1 not logged in the last second)"),
		  "%s", log);
	free(log);
	cr_assert_eq(d.done, 0);
	rig_close(&r);
}
