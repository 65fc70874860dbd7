// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: what the NVMe driver takes from the Identify Controller page (CNS 01h,
 * 4096 bytes written by the device): drivers/nvme/setup.c (nvme_ctrlr_apply_id and the rest of
 * nvme_ctrlr_setup, at open and again after a reset) and drivers/nvme/aer.c (AERL, OAES).
 *
 * Input: a flags byte (bit 0 no_sgl, bit 1 a max_xfer_size option, bit 2 an I/O qpair open
 * across the reset), max_xfer_size (4 bytes), the queues the controller grants at open and
 * after the reset (one byte each), the admin queue size (one byte), the qid of the open qpair
 * (one byte), then the page Identify returns at open and the one after the reset (each padded
 * with zeroes; once the input is used up Identify fails).
 * Properties: no crash or overread; the driver keeps the page as the device wrote it, except
 * that SN, MN and FR bytes outside printable ASCII read '?'; the
 * transfer limit is whole pages from 4 KiB to 4 MiB, follows MDTS and never exceeds the option;
 * SGLs are used only for SGLS bits 1:0 of 01b or 10b; the AERs kept outstanding are at most
 * AERL + 1, 4 and half the admin queue; after a reset with a qpair open the transfer limit and
 * the queue count do not grow, and a qpair the controller no longer grants fails the reset.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/nvme/aer.c"
#include "drivers/nvme/setup.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *in;
static size_t in_left;
static uint8_t last_page[4096];
static uint32_t granted;
static unsigned aers_sent;

/* The controller's side of the admin commands setup.c and aer.c send. */
int nvme_identify(struct updk_nvme_ctrlr *ctrlr, uint8_t cns, uint32_t nsid, void *buf)
{
	size_t n = in_left < 4096 ? in_left : 4096;

	if (cns != NVME_CNS_CTRLR || !in_left)
		return -EIO;
	memset(last_page, 0, sizeof(last_page));
	memcpy(last_page, in, n);
	memcpy(buf, last_page, sizeof(last_page));
	in += n;
	in_left -= n;
	return 0;
}

int nvme_set_num_queues(struct updk_nvme_ctrlr *c)
{
	c->max_qpairs = granted;
	return 0;
}

int nvme_ns_scan(struct updk_nvme_ctrlr *c)
{
	return 0;
}

int nvme_admin_submit(struct updk_nvme_ctrlr *c, const struct updk_nvme_cmd *cmd, void *buf,
		      uint32_t len, updk_nvme_cb cb, void *arg, uint8_t reqflags)
{
	if (cmd->opc == UPDK_NVME_OPC_ASYNC_EVENT_REQUEST)
		aers_sent++;
	return 0;
}

int nvme_admin_sync_quiet(struct updk_nvme_ctrlr *c, const struct updk_nvme_cmd *cmd, void *buf,
			  uint32_t len, struct updk_nvme_cpl *cpl)
{
	return 0;
}

void nvme_log_cpl(const struct updk_nvme_ctrlr *c, const char *what,
		  const struct updk_nvme_cpl *cpl)
{
}

/* intr.c: Interrupt Coalescing is set only when the controller was opened with interrupts. */
void nvme_intr_coalescing_apply(struct updk_nvme_ctrlr *c)
{
}

static void check_limits(const struct updk_nvme_ctrlr *c, uint32_t admin_depth)
{
	const struct updk_nvme_id_ctrl *id = &c->id;
	uint32_t sgls = id->sgls & 3;

	/* SN, MN, FR: bytes 4..71 (Figure 275); every other byte as written */
	for (size_t i = 0; i < sizeof(last_page); i++) {
		uint8_t want = last_page[i], got = ((const uint8_t *)id)[i];

		if (i >= 4 && i < 72 && (want < 0x20 || want > 0x7e))
			want = '?';
		if (got != want)
			abort();
	}
	if (c->max_xfer < 4096 || c->max_xfer > (4u << 20) || c->max_xfer % 4096)
		abort();
	if (c->opts.max_xfer_size && c->max_xfer > c->opts.max_xfer_size)
		abort();
	/* MDTS 1..10 is a limit of 8 KiB..4 MiB the driver must honour */
	if (id->mdts && id->mdts <= 10 && c->max_xfer > (4096u << id->mdts))
		abort();
	if (c->sgl != (!c->opts.no_sgl && (sgls == 1 || sgls == 2)) || c->sgl_dword != (sgls == 2))
		abort();
	/* SGLs for metadata by default only where SGLs are in use and SGLS bit 19 says so */
	if (c->md_sgl !=
	    (c->sgl && (id->sgls & (1u << 19)) ? UPDK_NVME_MD_SGL_AUTO : UPDK_NVME_MD_SGL_OFF))
		abort();
	if (c->aer_limit > id->aerl + 1u || c->aer_limit > 4 || c->aer_limit > admin_depth / 2 ||
	    aers_sent != c->aer_limit)
		abort();
}

/* A transport with no setup of its own (PCIe's is its shadow doorbells, not under test). */
static const struct nvme_transport_ops no_transport_setup = { .name = "fuzz" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct updk_nvme_ctrlr c;
	struct updk_nvme_qpair adminq, ioq;
	uint8_t flags, grant_open, grant_reset;
	uint32_t opt_xfer, old_xfer, old_qpairs;
	int rc;

	if (size < 9)
		return 0;
	flags = data[0];
	memcpy(&opt_xfer, data + 1, 4);
	grant_open = data[5];
	grant_reset = data[6];
	memset(&c, 0, sizeof(c));
	memset(&adminq, 0, sizeof(adminq));
	memset(&ioq, 0, sizeof(ioq));
	strcpy(c.name, "fuzz");
	c.ops = &no_transport_setup;
	c.opts.no_sgl = flags & 1;
	c.opts.max_xfer_size = flags & 2 ? opt_xfer : 0;
	adminq.depth = (uint16_t)(1 + data[7]);
	c.adminq = &adminq;
	in = data + 9;
	in_left = size - 9;

	granted = 1 + grant_open % 64;
	aers_sent = 0;
	rc = nvme_ctrlr_setup(&c);
	if (rc) {
		/* refused only for an option below a page, or no page at all */
		if (!(rc == -EINVAL && c.opts.max_xfer_size && c.opts.max_xfer_size < 4096) &&
		    !(rc == -EIO && size == 9))
			abort();
		free(c.qid_used);
		return 0;
	}
	/* A Discovery controller (NVMe Base 2.0 §3.1.2.3) is given no I/O queues at all. */
	if (c.id.cntrltype == UPDK_NVME_CNTRLTYPE_DISCOVERY) {
		if (c.max_qpairs != 0 || !c.qid_used)
			abort();
		free(c.qid_used);
		return 0;
	}
	if (c.max_qpairs != granted || !c.qid_used)
		abort();
	check_limits(&c, adminq.depth);

	/* A reset: the controller answers Identify again, perhaps differently. */
	if (flags & 4) {
		ioq.qid = (uint16_t)(1 + data[8] % c.max_qpairs);
		c.qpairs = &ioq;
	}
	old_xfer = c.max_xfer;
	old_qpairs = c.max_qpairs;
	granted = 1 + grant_reset % 64;
	aers_sent = 0;
	rc = nvme_ctrlr_setup(&c);
	if (rc == 0) {
		check_limits(&c, adminq.depth);
		if (c.max_qpairs > old_qpairs || (c.qpairs && c.max_xfer > old_xfer) ||
		    (c.qpairs && ioq.qid > c.max_qpairs))
			abort();
	} else if (rc == -EIO) {
		/* the open qpair is beyond what the controller now grants, or no page came */
		if (!(c.qpairs && ioq.qid > granted) && in_left &&
		    !(c.qpairs && c.id.cntrltype == UPDK_NVME_CNTRLTYPE_DISCOVERY))
			abort();
	} else if (rc != -EINVAL) {
		abort();
	}
	free(c.qid_used);
	return 0;
}
