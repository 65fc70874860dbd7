// SPDX-License-Identifier: BSD-3-Clause
/*
 * hello_nvme: the smallest complete updk program. It opens an NVMe controller, writes a pattern
 * to the first blocks of namespace 1, reads them back and checks every byte.
 *
 *   cc hello_nvme.c $(pkg-config --cflags --libs --static updk) -o hello_nvme
 *   ./hello_nvme                      # the simulated controller, sim:nvme
 *   ./hello_nvme 0000:01:00.0         # a controller bound to vfio-pci (scripts/setup.sh bind)
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <updk/mem.h>
#include <updk/nvme.h>

struct done {
	bool done;
	bool failed;
};

/* Runs inside updk_nvme_qpair_process_completions(), on the thread that polls. */
static void on_complete(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct done *d = arg;

	d->failed = updk_nvme_cpl_is_error(cpl);
	if (d->failed)
		fprintf(stderr, "hello_nvme: %s\n",
			updk_nvme_status_str(updk_nvme_cpl_sct(cpl), updk_nvme_cpl_sc(cpl)));
	d->done = true;
}

/* Submission only queues the command; polling rings the doorbell and reaps the completion. */
static int wait_for(struct updk_nvme_qpair *qp, struct done *d)
{
	while (!d->done)
		if (updk_nvme_qpair_process_completions(qp, 0) < 0)
			return -1;
	return d->failed ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *addr = argc > 1 ? argv[1] : "sim:nvme";
	struct updk_nvme_ctrlr *ctrlr = NULL;
	struct updk_nvme_qpair *qp = NULL;
	struct updk_nvme_ns *ns;
	struct done d = { 0 };
	unsigned char *wbuf = NULL, *rbuf = NULL;
	int rc = 1;

	if (updk_nvme_ctrlr_open(addr, NULL, &ctrlr)) {
		fprintf(stderr, "hello_nvme: cannot open %s\n", addr);
		return 1;
	}
	ns = updk_nvme_ns_get(ctrlr, 1);
	if (!ns || updk_nvme_qpair_alloc(ctrlr, NULL, &qp)) {
		fprintf(stderr, "hello_nvme: %s: no namespace 1 or no I/O queue\n", addr);
		goto out;
	}

	uint32_t nlb = 8, len = nlb * updk_nvme_ns_sector_size(ns);

	/* Device-visible buffers come from updk's DMA memory. */
	wbuf = updk_dma_alloc(len, 4096, UPDK_NUMA_ANY, NULL);
	rbuf = updk_dma_zalloc(len, 4096, UPDK_NUMA_ANY, NULL);
	if (!wbuf || !rbuf)
		goto out;
	for (uint32_t i = 0; i < len; i++)
		wbuf[i] = (unsigned char)(i * 7 + 1);

	if (updk_nvme_ns_write(ns, qp, wbuf, 0, nlb, on_complete, &d, 0) || wait_for(qp, &d))
		goto out;
	d = (struct done){ 0 };
	if (updk_nvme_ns_read(ns, qp, rbuf, 0, nlb, on_complete, &d, 0) || wait_for(qp, &d))
		goto out;
	if (memcmp(wbuf, rbuf, len)) {
		fprintf(stderr, "hello_nvme: %s: data read back differs from what was written\n",
			addr);
		goto out;
	}
	printf("hello_nvme: %s: wrote and read back %u bytes at LBA 0 of namespace 1\n", addr, len);
	rc = 0;
out:
	updk_dma_free(wbuf);
	updk_dma_free(rbuf);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(ctrlr);
	return rc;
}
