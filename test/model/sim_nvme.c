// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim:nvme driven by hand, through the rig of test/common/nvme_rig.h: registers, queues in DMA
 * memory, commands encoded dword by dword from the specifications, doorbells as a driver writes
 * them. No NVMe driver involved.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <updk/mem.h>
#include <updk/mmio.h>
#include <updk/pci.h>

#include "sim/nvme/sim_nvme.h"

#include "test/common/nvme_rig.h"

static void setup(void)
{
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_4K_PAGES };

	cr_assert_eq(updk_mem_init(&o), 0);
}

TestSuite(sim_nvme, .init = setup, .timeout = 60);

Test(sim_nvme, registers_enable_disable_shutdown)
{
	struct h h;
	uint64_t cap;

	h_open_noenable(&h, "sim:nvme", 8);
	cap = updk_pci_reg_read64(h.dev, 0, CAP);
	cr_assert_eq(cap & 0xffff, 4095, "MQES");
	cr_assert(cap & (1ull << 16), "CQR");
	cr_assert_gt((cap >> 24) & 0xff, 0, "TO");
	cr_assert_eq((cap >> 32) & 0xf, 0, "DSTRD");
	cr_assert(cap & (1ull << 37), "CSS NVM");
	cr_assert_eq((cap >> 48) & 0xf, 0, "MPSMIN");
	cr_assert_eq((cap >> 52) & 0xf, 4, "MPSMAX");
	cr_assert_eq(updk_pci_reg_read32(h.dev, 0, VS), 0x00010400);
	cr_assert_eq(updk_pci_reg_read32(h.dev, 0, 0x38), 0, "CMBLOC");
	cr_assert_eq(updk_pci_reg_read32(h.dev, 0, 0x3c), 0, "CMBSZ");
	cr_assert_eq(csts(&h), 0);
	cr_assert_eq(updk_pci_reg_read32(h.dev, 0, AQA), 7u << 16 | 7u);
	cr_assert_eq(updk_pci_reg_read64(h.dev, 0, ASQ), h.aq.sq_iova);

	updk_pci_reg_write32(h.dev, 0, CC, CC_ENABLE);
	cr_assert_eq(csts(&h) & 3, 1, "ready at once (no delay asked)");
	cr_assert_eq(updk_pci_reg_read32(h.dev, 0, CC), CC_ENABLE);

	/* Disable: not ready, queues gone; enable again works with the same queues. */
	updk_pci_reg_write32(h.dev, 0, CC, 0);
	cr_assert_eq(csts(&h) & 1, 0);
	updk_pci_reg_write32(h.dev, 0, CC, CC_ENABLE);
	cr_assert_eq(csts(&h) & 3, 1);

	/* CC stored straight into the BAR (not through the hook) takes effect all the same. */
	updk_pci_reg_write32(h.dev, 0, CC, 0);
	updk_mmio_write32(h.bar + CC, CC_ENABLE);
	cr_assert(wait_csts(&h, 3, 1, WAIT));

	/* Normal shutdown: SHST complete; cleared when SHN goes back to 0. */
	updk_pci_reg_write32(h.dev, 0, CC, CC_ENABLE | 1u << 14);
	cr_assert_eq((csts(&h) >> 2) & 3, 2, "SHST complete");
	updk_pci_reg_write32(h.dev, 0, CC, 0);
	cr_assert_eq(csts(&h) & 0xd, 0);
	h_close(&h);
}

Test(sim_nvme, bad_configuration_is_fatal_until_reset)
{
	struct h h;

	h_open_noenable(&h, "sim:nvme", 8);
	updk_pci_reg_write32(h.dev, 0, CC, 1); /* IOSQES/IOCQES 0 */
	cr_assert_eq(csts(&h) & 3, 2, "CFS, not ready");
	updk_pci_reg_write32(h.dev, 0, CC, 0);
	cr_assert_eq(csts(&h) & 3, 0, "reset clears CFS");
	updk_pci_reg_write32(h.dev, 0, CC, CC_ENABLE | 5u << 7); /* MPS 128 KiB > MPSMAX */
	cr_assert_eq(csts(&h) & 3, 2);
	updk_pci_reg_write32(h.dev, 0, CC, 0);
	updk_pci_reg_write32(h.dev, 0, AQA, 0); /* one-entry queues */
	updk_pci_reg_write32(h.dev, 0, CC, CC_ENABLE);
	cr_assert_eq(csts(&h) & 3, 2);
	updk_pci_reg_write32(h.dev, 0, CC, 0);
	updk_pci_reg_write32(h.dev, 0, AQA, 7u << 16 | 7u);
	updk_pci_reg_write32(h.dev, 0, CC, CC_ENABLE);
	cr_assert_eq(csts(&h) & 3, 1);
	h_close(&h);
}

Test(sim_nvme, ready_delay)
{
	struct h h;
	double t0;

	h_open_noenable(&h, "sim:nvme?rdy_us=50000", 8);
	t0 = now();
	updk_pci_reg_write32(h.dev, 0, CC, CC_ENABLE);
	cr_assert_eq(csts(&h) & 1, 0, "not ready at once");
	cr_assert(wait_csts(&h, 1, 1, WAIT));
	cr_assert_geq(now() - t0, 0.045);
	h_close(&h);
}

static void strfield(char *out, const uint8_t *p, size_t len)
{
	memcpy(out, p, len);
	out[len] = 0;
	for (size_t i = len; i > 0 && out[i - 1] == ' '; i--)
		out[i - 1] = 0;
}

Test(sim_nvme, identify)
{
	struct h h;
	uint8_t *d = dma(4096, NULL);
	char s[41];
	uint32_t v;
	uint64_t nsze;

	h_open(&h, "sim:nvme?ns=3,size=16M,lba=4096,mdts=6");
	cr_assert_eq(identify(&h, 1, 0, d), 0);
	strfield(s, d + 24, 40);
	cr_assert_str_eq(s, "updk simulated NVMe");
	strfield(s, d + 4, 20);
	cr_assert_gt(strlen(s), 0, "serial number");
	cr_assert_eq(d[77], 6, "MDTS");
	memcpy(&v, d + 80, 4);
	cr_assert_eq(v, 0x00010400, "VER");
	cr_assert(d[256] == 0 && d[257] == 1, "OACS: Doorbell Buffer Config only");
	cr_assert_eq(d[512], 0x66, "SQES");
	cr_assert_eq(d[513], 0x44, "CQES");
	memcpy(&v, d + 516, 4);
	cr_assert_eq(v, 3, "NN");
	cr_assert_eq(d[520] & 0x0d, 0x0d, "ONCS compare, DSM, write zeroes");
	cr_assert_eq(d[525] & 1, 1, "VWC");
	memcpy(&v, d + 536, 4);
	cr_assert_eq(v & 3, 1, "SGLS");

	cr_assert_eq(identify(&h, 0, 2, d), 0);
	memcpy(&nsze, d, 8);
	cr_assert_eq(nsze, 16u << 20 >> 12, "NSZE");
	cr_assert_eq(d[128 + 4 * (d[26] & 0xf) + 2], 12, "LBADS of the format in use");
	cr_assert_eq(d[33] & 7, 1, "DLFEAT: deallocated reads zeroes");

	cr_assert_eq(identify(&h, 2, 1, d), 0, "active list after NSID 1");
	memcpy(&v, d, 4);
	cr_assert_eq(v, 2);
	memcpy(&v, d + 4, 4);
	cr_assert_eq(v, 3);
	memcpy(&v, d + 8, 4);
	cr_assert_eq(v, 0);

	cr_assert_eq(identify(&h, 3, 1, d), 0);
	cr_assert(d[0] == 2 && d[1] == 16, "NGUID descriptor first");
	cr_assert(d[20] == 3 && d[21] == 16, "UUID descriptor next");
	cr_assert(d[40] == 4 && d[41] == 1 && d[44] == 0, "CSI descriptor: NVM");
	cr_assert_eq(d[45], 0, "end of list");

	cr_assert_eq(identify(&h, 0, 4, d), SC_INVALID_NS);
	cr_assert_eq(identify(&h, 0, 0, d), SC_INVALID_NS);
	cr_assert_eq(identify(&h, 0x55, 0, d), SC_INVALID_FIELD);
	updk_dma_free(d);
	h_close(&h);
}

Test(sim_nvme, queue_creation_rules)
{
	struct h h;
	struct tq q;

	h_open(&h, "sim:nvme?qpairs=4,mqes=63");
	tq_alloc(&q, 1, 64, 64);
	cr_assert_eq(create_sq(&h, 1, 64, q.sq_iova, 1), SC_CQ_INVALID, "CQ 1 does not exist");
	cr_assert_eq(create_cq(&h, 0, 64, q.cq_iova, true), SC_QID_INVALID);
	cr_assert_eq(create_cq(&h, 5, 64, q.cq_iova, true), SC_QID_INVALID, "beyond qpairs");
	cr_assert_eq(create_cq(&h, 1, 65, q.cq_iova, true), SC_QUEUE_SIZE, "beyond MQES");
	cr_assert_eq(create_cq(&h, 1, 1, q.cq_iova, true), SC_QUEUE_SIZE);
	cr_assert_eq(create_cq(&h, 1, 64, q.cq_iova, false), SC_INVALID_FIELD, "PC=0 with CQR");
	cr_assert_eq(create_cq(&h, 1, 64, q.cq_iova + 64, true), SC_PRP_OFFSET);
	cr_assert_eq(create_cq(&h, 1, 64, q.cq_iova, true), 0);
	cr_assert_eq(create_cq(&h, 1, 64, q.cq_iova, true), SC_QID_INVALID, "exists");
	cr_assert_eq(create_sq(&h, 1, 64, q.sq_iova, 1), 0);

	struct sqe del = mk(0x04, 0, 0, 0); /* Delete CQ 1 while SQ 1 uses it */
	del.dw[10] = 1;
	cr_assert_eq(cmd(&h, &h.aq, del, NULL), SC_QUEUE_DELETION);
	struct sqe dsq = mk(0x00, 0, 0, 0);
	dsq.dw[10] = 1;
	cr_assert_eq(cmd(&h, &h.aq, dsq, NULL), 0);
	cr_assert_eq(cmd(&h, &h.aq, dsq, NULL), SC_QID_INVALID, "already deleted");
	cr_assert_eq(cmd(&h, &h.aq, del, NULL), 0);

	/* Number of Queues: granted up to what the controller has, then fixed. */
	struct sqe nq = mk(0x09, 0, 0, 0);
	uint32_t dw0;
	nq.dw[10] = 0x07;
	nq.dw[11] = 63u << 16 | 63u;
	cr_assert_eq(cmd(&h, &h.aq, nq, &dw0), SC_CMD_SEQ, "queues were created already");
	updk_pci_reg_write32(h.dev, 0, CC, 0);
	h.aq.head = h.aq.tail = 0;
	h.aq.phase = 1;
	memset(h.aq.cq, 0, 32 * 16);
	updk_pci_reg_write32(h.dev, 0, CC, CC_ENABLE);
	cr_assert(wait_csts(&h, 1, 1, WAIT));
	cr_assert_eq(cmd(&h, &h.aq, nq, &dw0), 0);
	cr_assert_eq(dw0, 3u << 16 | 3u, "four pairs, 0-based");
	nq.dw[11] = 0;
	cr_assert_eq(cmd(&h, &h.aq, nq, &dw0), 0);
	cr_assert_eq(dw0, 0);
	cr_assert_eq(create_cq(&h, 2, 64, q.cq_iova, true), SC_QID_INVALID, "one pair granted");
	tq_free(&q);
	h_close(&h);
}

Test(sim_nvme, write_then_read)
{
	struct h h;
	size_t len = 64 * 1024;
	uint8_t *w = dma(len, NULL), *r = dma(len, NULL);

	h_open_io(&h, "sim:nvme", 64);
	fill(w, len, 7);
	cr_assert_eq(io(&h, 0x01, 1000, 128, w, len), 0);
	cr_assert_eq(io(&h, 0x02, 1000, 128, r, len), 0);
	cr_assert(!memcmp(w, r, len));
	/* A piece from the middle, at an unaligned (dword) buffer offset. */
	memset(r, 0, len);
	cr_assert_eq(io(&h, 0x02, 1010, 3, r + 2044, 3 * 512), 0);
	cr_assert(!memcmp(r + 2044, w + 10 * 512, 3 * 512));
	cr_assert_eq(r[2043], 0);
	cr_assert_eq(r[2044 + 1536], 0);
	/* Flush, then Compare: equal, then a changed byte fails as Compare Failure. */
	cr_assert_eq(cmd(&h, &h.io, mk(0x00, 1, 0, 0), NULL), 0);
	cr_assert_eq(cmd(&h, &h.io, mk(0x00, 0xffffffff, 0, 0), NULL), 0);
	cr_assert_eq(io(&h, 0x05, 1000, 128, w, len), 0);
	w[5000] ^= 1;
	cr_assert_eq(io(&h, 0x05, 1000, 128, w, len), SC_COMPARE);
	cr_assert_eq(stats(&h)->io_cmds[0x01], 1);
	cr_assert_eq(stats(&h)->io_cmds[0x02], 2);
	updk_dma_free(w);
	updk_dma_free(r);
	h_close(&h);
}

Test(sim_nvme, lba_range_namespace_mdts_opcode)
{
	struct h h;
	uint8_t *b = dma(256 * 1024, NULL);
	uint64_t nsze = (256u << 20) / 512;

	h_open_io(&h, "sim:nvme", 16);
	cr_assert_eq(io(&h, 0x02, nsze - 1, 1, b, 512), 0, "last block");
	cr_assert_eq(io(&h, 0x02, nsze - 1, 2, b, 1024), SC_LBA_RANGE);
	cr_assert_eq(io(&h, 0x01, nsze, 1, b, 512), SC_LBA_RANGE);
	cr_assert_eq(io(&h, 0x02, UINT64_MAX, 1, b, 512), SC_LBA_RANGE);
	cr_assert_eq(cmd(&h, &h.io, rw(0x02, 2, 0, 1, updk_iova(b), 0), NULL), SC_INVALID_NS);
	cr_assert_eq(cmd(&h, &h.io, rw(0x02, 0, 0, 1, updk_iova(b), 0), NULL), SC_INVALID_NS);
	/* MDTS 5: 128 KiB; one block more is refused before any data moves. */
	cr_assert_eq(io(&h, 0x02, 0, 256, b, 128 * 1024), 0);
	cr_assert_eq(io(&h, 0x02, 0, 257, b, 128 * 1024 + 512), SC_INVALID_FIELD);
	cr_assert_eq(cmd(&h, &h.io, mk(0x7e, 1, 0, 0), NULL), SC_INVALID_OPCODE);
	cr_assert_eq(cmd(&h, &h.aq, mk(0x7e, 0, 0, 0), NULL), SC_INVALID_OPCODE);
	updk_dma_free(b);
	h_close(&h);
}

/* A page-aligned buffer whose IOVA was mapped once and is mapped no more. */
Test(sim_nvme, unmapped_iova_is_data_transfer_error)
{
	struct h h;
	uint8_t *w = dma(8192, NULL), *r = dma(8192, NULL);
	uint64_t iu;
	uint8_t *u = unmapped(4096, &iu);

	h_open_io(&h, "sim:nvme", 16);
	fill(w, 8192, 1);
	cr_assert_eq(io(&h, 0x01, 0, 16, w, 8192), 0);
	/* Write whose second page is unmapped: fails whole, namespace unchanged. */
	cr_assert_eq(cmd(&h, &h.io, rw(0x01, 1, 0, 16, updk_iova(r), iu), NULL), SC_DATA_XFER);
	cr_assert_eq(cmd(&h, &h.io, rw(0x01, 1, 0, 8, iu, 0), NULL), SC_DATA_XFER);
	cr_assert_eq(io(&h, 0x02, 0, 16, r, 8192), 0);
	cr_assert(!memcmp(w, r, 8192), "namespace untouched by the failed writes");
	/* Read into it: nothing written anywhere, the first page included. */
	memset(r, 0x5a, 8192);
	cr_assert_eq(cmd(&h, &h.io, rw(0x02, 1, 0, 16, updk_iova(r), iu), NULL), SC_DATA_XFER);
	for (int i = 0; i < 4096; i++)
		cr_assert_eq(r[i], 0x5a);
	cr_assert_eq(stats(&h)->dma_faults, 3);
	/* The controller goes on. */
	cr_assert_eq(io(&h, 0x02, 0, 16, r, 8192), 0);
	cr_assert_eq(csts(&h) & 3, 1);
	munmap(u, 4096);
	updk_dma_free(w);
	updk_dma_free(r);
	h_close(&h);
}

Test(sim_nvme, prp_lists)
{
	struct h h;
	size_t len = 600 * 4096; /* more entries than one list page holds: a chained list */
	uint8_t *w = dma(len + 4096, NULL), *r = dma(len + 4096, NULL);
	uint64_t li, *list = dma(2 * 4096, &li), p1;
	size_t np = 0;

	h_open_io(&h, "sim:nvme?mdts=10,lba=4096,size=64M", 16);
	fill(w, len + 4096, 9);

	/* Buffer across pages with an offset: PRP1 + 5-entry list. */
	cr_assert_eq(io(&h, 0x01, 10, 5, w + 100 * 4, 5 * 4096), 0);
	cr_assert_eq(io(&h, 0x02, 10, 5, r + 3000, 5 * 4096), 0);
	cr_assert(!memcmp(w + 400, r + 3000, 5 * 4096));
	/* Exactly one page, exactly two pages (PRP2 is a page, not a list). */
	cr_assert_eq(io(&h, 0x02, 10, 1, r, 4096), 0);
	cr_assert(!memcmp(w + 400, r, 4096));
	cr_assert_eq(io(&h, 0x02, 10, 2, r, 2 * 4096), 0);
	cr_assert(!memcmp(w + 400, r, 2 * 4096));

	/* 600 pages: list page 1 has 511 data entries + a chain pointer, page 2 the rest. */
	for (size_t i = 1; i < 600; i++) {
		if (np == 511)
			list[np++] = li + 4096;
		list[np++] = updk_iova(w + i * 4096);
	}
	p1 = updk_iova(w);
	cr_assert_eq(cmd(&h, &h.io, rw(0x01, 1, 1000, 600, p1, li), NULL), 0);
	np = 0;
	for (size_t i = 1; i < 600; i++) {
		if (np == 511)
			list[np++] = li + 4096;
		list[np++] = updk_iova(r + i * 4096);
	}
	memset(r, 0, len);
	cr_assert_eq(cmd(&h, &h.io, rw(0x02, 1, 1000, 600, updk_iova(r), li), NULL), 0);
	cr_assert(!memcmp(w, r, len));

	/* Offset rules: a list entry or a two-page PRP2 not page aligned is refused. */
	list[0] = updk_iova(r + 4096) + 512;
	cr_assert_eq(cmd(&h, &h.io, rw(0x02, 1, 0, 3, updk_iova(r), li), NULL), SC_PRP_OFFSET);
	cr_assert_eq(cmd(&h, &h.io, rw(0x02, 1, 0, 2, updk_iova(r), updk_iova(r + 4096) + 8), NULL),
		     SC_PRP_OFFSET);
	cr_assert_eq(cmd(&h, &h.io, rw(0x02, 1, 0, 1, updk_iova(r) + 2, 0), NULL), SC_PRP_OFFSET,
		     "PRP1 not dword aligned");
	updk_dma_free(w);
	updk_dma_free(r);
	updk_dma_free(list);
	h_close(&h);
}

Test(sim_nvme, sgl)
{
	struct h h;
	uint8_t *w = dma(16384, NULL), *r = dma(16384, NULL);
	uint64_t si;
	uint32_t *seg = dma(4096, &si);
	struct sqe c;

	h_open_io(&h, "sim:nvme", 16);
	fill(w, 16384, 3);

	/* One data block descriptor in the command: 4 KiB at an odd offset. */
	c = rw(0x01, 1, 0, 8, 0, 0);
	c.dw[0] |= 1u << 14; /* PSDT 01b */
	sgl_desc(&c.dw[6], updk_iova(w + 1), 4096, 0x0);
	cr_assert_eq(cmd(&h, &h.io, c, NULL), 0);
	cr_assert_eq(io(&h, 0x02, 0, 8, r, 4096), 0);
	cr_assert(!memcmp(w + 1, r, 4096));

	/* Segment -> [block, block, last segment] -> [block]: 3 pieces, 6 KiB. */
	sgl_desc(&seg[0], updk_iova(w + 100), 1000, 0x0);
	sgl_desc(&seg[4], updk_iova(w + 5000), 3000, 0x0);
	sgl_desc(&seg[8], si + 1024, 16, 0x3);
	sgl_desc(&seg[256], updk_iova(w + 9000), 2144, 0x0);
	c = rw(0x01, 1, 100, 12, 0, 0);
	c.dw[0] |= 1u << 14;
	sgl_desc(&c.dw[6], si, 48, 0x2);
	cr_assert_eq(cmd(&h, &h.io, c, NULL), 0);
	cr_assert_eq(io(&h, 0x02, 100, 12, r, 6144), 0);
	cr_assert(!memcmp(r, w + 100, 1000));
	cr_assert(!memcmp(r + 1000, w + 5000, 3000));
	cr_assert(!memcmp(r + 4000, w + 9000, 2144));

	/* Too short a list: Data SGL Length Invalid. SGL on an admin command: Invalid Field. */
	c = rw(0x02, 1, 0, 8, 0, 0);
	c.dw[0] |= 1u << 14;
	sgl_desc(&c.dw[6], updk_iova(r), 4000, 0x0);
	cr_assert_eq(cmd(&h, &h.io, c, NULL), SC_SGL_DATA_LEN);
	c = mk(0x06, 0, 0, 0);
	c.dw[0] |= 1u << 14;
	c.dw[10] = 1;
	sgl_desc(&c.dw[6], updk_iova(r), 4096, 0x0);
	cr_assert_eq(cmd(&h, &h.aq, c, NULL), SC_INVALID_FIELD);
	updk_dma_free(w);
	updk_dma_free(r);
	updk_dma_free(seg);
	h_close(&h);
}

Test(sim_nvme, write_zeroes_and_deallocate_read_zeroes)
{
	struct h h;
	size_t len = 128 * 1024;
	uint8_t *w = dma(len, NULL), *r = dma(len, NULL), *z = calloc(1, len);
	uint64_t ri;
	uint32_t *ranges = dma(4096, &ri);
	struct sqe c;

	h_open_io(&h, "sim:nvme", 16);
	fill(w, len, 5);
	cr_assert_eq(io(&h, 0x01, 0, 256, w, len), 0);
	cr_assert_eq(io(&h, 0x01, 256, 256, w, len), 0);

	c = rw(0x08, 1, 10, 20, 0, 0); /* Write Zeroes 10..29 */
	cr_assert_eq(cmd(&h, &h.io, c, NULL), 0);
	cr_assert_eq(io(&h, 0x02, 0, 256, r, len), 0);
	cr_assert(!memcmp(r, w, 10 * 512));
	cr_assert(!memcmp(r + 10 * 512, z, 20 * 512));
	cr_assert(!memcmp(r + 30 * 512, w + 30 * 512, len - 30 * 512));

	/* DSM deallocate two ranges: 256..511 (whole pages) and 3 blocks at 5. */
	ranges[1] = 256;
	ranges[2] = 256;
	ranges[5] = 3;
	ranges[6] = 5;
	c = mk(0x09, 1, ri, 0);
	c.dw[10] = 1; /* two ranges, 0-based */
	c.dw[11] = 1u << 2; /* AD */
	cr_assert_eq(cmd(&h, &h.io, c, NULL), 0);
	cr_assert_eq(io(&h, 0x02, 256, 256, r, len), 0);
	cr_assert(!memcmp(r, z, len));
	cr_assert_eq(io(&h, 0x02, 0, 10, r, 5120), 0);
	cr_assert(!memcmp(r, w, 5 * 512));
	cr_assert(!memcmp(r + 5 * 512, z, 3 * 512));
	/* A range past the end: LBA Out of Range. */
	memset(ranges, 0, 32);
	ranges[1] = 8;
	ranges[2] = (256u << 20) / 512 - 4;
	c.dw[10] = 0;
	cr_assert_eq(cmd(&h, &h.io, c, NULL), SC_LBA_RANGE);
	free(z);
	updk_dma_free(w);
	updk_dma_free(r);
	updk_dma_free(ranges);
	h_close(&h);
}

Test(sim_nvme, options)
{
	static const char *const bad[] = {
		"sim:nvme?colour=blue",
		"sim:nvme?lba=1000",
		"sim:nvme?lba=256",
		"sim:nvme?size=0",
		"sim:nvme?size=6k,lba=4096",
		"sim:nvme?mdts=16",
		"sim:nvme?qpairs=0",
		"sim:nvme?qpairs=512",
		"sim:nvme?ns=129",
		"sim:nvme?mqes=0",
		"sim:nvme?mqes=70000",
		"sim:nvme?ns=two",
		"sim:nvme?size=1G,lba=4096,mdts=-1",
		"sim:nvme?jitter_us=2000000",
		"sim:nvme?dbbuf=2",
	};
	struct updk_pci_dev *dev;
	struct h h;
	uint8_t *d = dma(4096, NULL);
	uint64_t nsze, si, ei;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dev = NULL;
		cr_assert_eq(updk_pci_open(bad[i], &dev), -EINVAL, "%s", bad[i]);
		cr_assert_null(dev);
	}
	h_open(&h, "sim:nvme?ns=0");
	cr_assert_eq(identify(&h, 1, 0, d), 0);
	memcpy(&nsze, d + 516, 4);
	cr_assert_eq(nsze & 0xffffffff, 0, "no namespaces");
	cr_assert_eq(identify(&h, 0, 1, d), SC_INVALID_NS);
	h_close(&h);
	h_open(&h, "sim:nvme?ns=2,size=1G,lba=4096,mdts=5,mqes=255,qpairs=8");
	cr_assert_eq(updk_pci_reg_read64(h.dev, 0, CAP) & 0xffff, 255);
	cr_assert_eq(identify(&h, 0, 2, d), 0);
	memcpy(&nsze, d, 8);
	cr_assert_eq(nsze, (1ull << 30) / 4096);
	cr_assert_eq(identify(&h, 1, 0, d), 0);
	cr_assert_eq(d[256] | d[257] << 8, 1u << 8, "OACS: Doorbell Buffer Config by default");
	h_close(&h);
	/* dbbuf=0: no Doorbell Buffer Config, in OACS or as a command */
	h_open(&h, "sim:nvme?dbbuf=0");
	cr_assert_eq(identify(&h, 1, 0, d), 0);
	cr_assert_eq(d[256] | d[257] << 8, 0, "OACS bit 8 clear");
	h.shadow = dma(4096, &si);
	h.eventidx = dma(4096, &ei);
	cr_assert_eq(cmd(&h, &h.aq, mk(0x7c, 0, si, ei), NULL), SC_INVALID_OPCODE);
	updk_dma_free(d);
	h_close(&h);
}

Test(sim_nvme, cq_full_holds_completions_and_ring_wraps)
{
	struct h h;
	uint8_t *b = dma(512, NULL);
	struct cqe e;
	struct sqe c = rw(0x02, 1, 0, 1, 0, 0);

	h_open(&h, "sim:nvme");
	tq_alloc(&h.io, 1, 8, 4);
	cr_assert_eq(create_cq(&h, 1, 4, h.io.cq_iova, true), 0); /* CQ of 4: 3 usable */
	cr_assert_eq(create_sq(&h, 1, 8, h.io.sq_iova, 1), 0);
	c.dw[6] = (uint32_t)updk_iova(b);
	c.dw[7] = (uint32_t)(updk_iova(b) >> 32);
	for (int i = 0; i < 6; i++)
		put(&h, &h.io, &c);
	ring(&h, &h.io);
	/* Without a head doorbell the controller may post only three. */
	for (int i = 0; i < 3; i++) {
		volatile struct cqe *s = &h.io.cq[i];
		double deadline = now() + WAIT;

		while (!((s->dw3 >> 16) & 1))
			cr_assert_lt(now(), deadline);
	}
	usleep(20000);
	cr_assert_eq((h.io.cq[3].dw3 >> 16) & 1, 0, "slot 3 must stay free");
	cr_assert_eq(stats(&h)->completions, 2 + 3);
	for (int i = 0; i < 6; i++) {
		cr_assert(reap(&h, &h.io, &e, WAIT), "completion %d", i);
		cr_assert_eq(status(&e), 0);
		cr_assert_eq(e.dw3 & 0xffff, h.cid - 5 + i);
	}
	/* Many commands through small rings: phases flip on both. */
	for (int i = 0; i < 100; i++) {
		uint16_t cid = submit(&h, &h.io, &c);

		cr_assert(reap(&h, &h.io, &e, WAIT));
		cr_assert_eq(e.dw3 & 0xffff, cid);
		cr_assert_eq(e.dw2 & 0xffff, h.io.tail);
	}
	updk_dma_free(b);
	h_close(&h);
}

/* The EventIdx rule a host follows with shadow doorbells (NVMe Base 2.0 §5.8). */
static bool need_event(uint16_t ei, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - ei - 1) < (uint16_t)(new_idx - old);
}

/* One read on the I/O queue, SQ tail through the shadow buffer and the EventIdx rule. */
static uint16_t shadow_submit(struct h *h, void *buf)
{
	struct tq *q = &h->io;
	struct sqe c = rw(0x02, 1, 0, 1, updk_iova(buf), 0);
	uint16_t old = q->tail, cid = put(h, q, &c);

	updk_wmb();
	__atomic_store_n(&h->shadow[2], q->tail, __ATOMIC_RELEASE);
	updk_mb();
	if (need_event((uint16_t)__atomic_load_n(&h->eventidx[2], __ATOMIC_ACQUIRE), q->tail,
		       old)) {
		updk_mmio_write32(db(h, 1, false), q->tail);
		h->sq_mmio_writes++;
	}
	return cid;
}

/* Its completion, CQ head through the shadow buffer and the rule; returns the status. */
static uint16_t shadow_reap(struct h *h, uint16_t cid)
{
	struct tq *q = &h->io;
	volatile struct cqe *e = &q->cq[q->head];
	double deadline = now() + WAIT;
	uint16_t st, old;

	while (((e->dw3 >> 16) & 1) != q->phase)
		cr_assert_lt(now(), deadline, "shadow-doorbell command not completed");
	updk_rmb();
	cr_assert_eq(e->dw3 & 0xffff, cid);
	st = (e->dw3 >> 17) & 0x7ff;
	old = q->head;
	if (++q->head == q->cqsize) {
		q->head = 0;
		q->phase ^= 1;
	}
	__atomic_store_n(&h->shadow[3], q->head, __ATOMIC_RELEASE);
	updk_mb();
	if (need_event((uint16_t)__atomic_load_n(&h->eventidx[3], __ATOMIC_ACQUIRE), q->head, old))
		updk_mmio_write32(db(h, 1, true), q->head);
	return st;
}

static uint16_t shadow_read(struct h *h, void *buf)
{
	return shadow_reap(h, shadow_submit(h, buf));
}

Test(sim_nvme, shadow_doorbells_and_eventidx)
{
	struct h h;
	uint8_t *b = dma(4096, NULL);
	uint64_t si, ei, mmio0, shadow0;
	double deadline;
	uint8_t *d = dma(4096, NULL);

	h_open_io(&h, "sim:nvme", 16);
	h.shadow = dma(4096, &si);
	h.eventidx = dma(4096, &ei);
	cr_assert_eq(cmd(&h, &h.aq, mk(0x7c, 0, si + 8, ei), NULL), SC_INVALID_FIELD, "unaligned");
	cr_assert_eq(cmd(&h, &h.aq, mk(0x7c, 0, si, ei), NULL), 0);
	/* The model publishes EventIdx for the queues it polls. */
	deadline = now() + WAIT;
	while (__atomic_load_n(&h.eventidx[2], __ATOMIC_ACQUIRE) != 8)
		cr_assert_lt(now(), deadline, "EventIdx of SQ 1 half a queue from the tail");

	mmio0 = stats(&h)->mmio_sq_db;
	shadow0 = stats(&h)->shadow_sq_db;
	for (int i = 0; i < 100; i++)
		cr_assert_eq(shadow_read(&h, b), 0);
	cr_assert_eq(stats(&h)->shadow_sq_db - shadow0, 100);
	cr_assert_eq(stats(&h)->mmio_sq_db - mmio0, 0, "a polling controller needs no MMIO");
	/* Each head update is seen, the last perhaps not yet. */
	cr_assert_geq(stats(&h)->shadow_cq_db, 99);

	/*
	 * As an event-driven controller: EventIdx = consumed tail, so the rule asks the host for an
	 * MMIO write each time. The model is paused while the host updates the shadow and reads
	 * EventIdx: running, it may take the new tail from the shadow in between and publish an
	 * EventIdx that rightly spares the MMIO write, which would make the count a matter of
	 * thread timing.
	 */
	cr_assert_eq(sim_nvme_set_eventidx_mode(h.dev, SIM_NVME_EI_TAIL), 0);
	deadline = now() + WAIT;
	while (__atomic_load_n(&h.eventidx[2], __ATOMIC_ACQUIRE) != h.io.tail)
		cr_assert_lt(now(), deadline, "EventIdx of SQ 1 at the consumed tail");
	mmio0 = stats(&h)->mmio_sq_db;
	shadow0 = stats(&h)->shadow_sq_db;
	h.sq_mmio_writes = 0;
	for (int i = 0; i < 20; i++) {
		uint16_t cid;

		cr_assert_eq(sim_nvme_pause(h.dev, true), 0);
		/* published before the previous completion was posted */
		cr_assert_eq(__atomic_load_n(&h.eventidx[2], __ATOMIC_ACQUIRE), h.io.tail,
			     "EventIdx of SQ 1 at the consumed tail, command %d", i);
		cid = shadow_submit(&h, b);
		cr_assert_eq(h.sq_mmio_writes, (uint64_t)i + 1, "the rule asked for SQ doorbell %d",
			     i);
		cr_assert_eq(sim_nvme_pause(h.dev, false), 0);
		cr_assert_eq(shadow_reap(&h, cid), 0);
	}
	cr_assert_eq(stats(&h)->mmio_sq_db - mmio0, 20, "the model saw every MMIO tail");
	cr_assert_eq(stats(&h)->shadow_sq_db - shadow0, 20, "and every shadow tail");

	/* The admin queue on MMIO only (as Linux and SPDK do) still works. */
	cr_assert_eq(identify(&h, 1, 0, d), 0);
	/* MMIO alone on the I/O queue too: the controller honours it. */
	cr_assert_eq(io(&h, 0x02, 0, 1, b, 512), 0);
	updk_dma_free(b);
	updk_dma_free(d);
	h_close(&h);
}

static bool no_completion(struct tq *q, double secs)
{
	volatile struct cqe *e = &q->cq[q->head];

	usleep((useconds_t)(secs * 1e6));
	return ((e->dw3 >> 16) & 1) != q->phase;
}

/*
 * Abort (NVMe Base 2.0 §5.1: CDW10 the CID and SQ id) of @cid on I/O queue 1, which the
 * controller holds: DW0 bit 0 clear says it was aborted, and the command completes with Command
 * Abort Requested. Returns the Abort, to send again.
 */
static struct sqe abort_held(struct h *h, uint16_t cid)
{
	struct sqe ab = mk(0x08, 0, 0, 0);
	struct cqe e;
	uint32_t dw0;

	ab.dw[10] = (uint32_t)cid << 16 | 1;
	cr_assert_eq(cmd(h, &h->aq, ab, &dw0), 0);
	cr_assert_eq(dw0 & 1, 0, "aborted");
	cr_assert(reap(h, &h->io, &e, WAIT));
	cr_assert_eq(e.dw3 & 0xffff, cid);
	cr_assert_eq(status(&e), SC_ABORT_REQ);
	return ab;
}

Test(sim_nvme, fault_dropped_completion_then_abort)
{
	struct h h;
	uint8_t *b = dma(4096, NULL);
	struct sqe c = rw(0x02, 1, 0, 1, updk_iova(b), 0), ab;
	uint32_t dw0;
	uint16_t cid;

	h_open_io(&h, "sim:nvme", 16);
	cr_assert_eq(sim_nvme_fault_drop(h.dev, 1), 0);
	cid = submit(&h, &h.io, &c);
	cr_assert(no_completion(&h.io, 0.05), "the completion is held");
	ab = abort_held(&h, cid);
	/* Abort of a command that is not there: DW0 bit 0 says not aborted. */
	cr_assert_eq(cmd(&h, &h.aq, ab, &dw0), 0);
	cr_assert_eq(dw0 & 1, 1);
	cr_assert_eq(cmd(&h, &h.io, c, NULL), 0, "the next command completes normally");
	updk_dma_free(b);
	h_close(&h);
}

Test(sim_nvme, fault_hung_command_and_hung_abort)
{
	struct h h;
	uint8_t *b = dma(4096, NULL);
	struct sqe c = rw(0x02, 1, 0, 1, updk_iova(b), 0), ab;
	struct sim_nvme_stats st;
	struct cqe e;
	uint32_t dw0;
	uint16_t cid;

	h_open_io(&h, "sim:nvme", 16);
	/* a hung read is not executed: an Abort still finds it */
	cr_assert_eq(sim_nvme_fault_hang(h.dev, 1, 0x02), 0);
	cid = submit(&h, &h.io, &c);
	cr_assert(no_completion(&h.io, 0.05), "a hung command does not complete");
	cr_assert_eq(sim_nvme_stats(h.dev, &st), 0);
	cr_assert_eq(st.io_cmds[0x02], 0, "nor is it executed");
	ab = abort_held(&h, cid);

	/* a dropped completion and a hung Abort: neither ends */
	cr_assert_eq(sim_nvme_fault_drop(h.dev, 1), 0);
	cr_assert_eq(sim_nvme_fault_hang(h.dev, 0, 0x08), 0);
	cid = submit(&h, &h.io, &c);
	cr_assert(no_completion(&h.io, 0.05), "the completion is held");
	ab.dw[10] = (uint32_t)cid << 16 | 1;
	submit(&h, &h.aq, &ab);
	cr_assert(no_completion(&h.aq, 0.05), "the Abort hangs");
	cr_assert(no_completion(&h.io, 0.01), "and did not abort the command");
	/* the next Abort acts again */
	cr_assert_eq(cmd(&h, &h.aq, ab, &dw0), 0);
	cr_assert_eq(dw0 & 1, 0, "aborted");
	cr_assert(reap(&h, &h.io, &e, WAIT));
	cr_assert_eq(status(&e), SC_ABORT_REQ);
	cr_assert_eq(cmd(&h, &h.io, c, NULL), 0, "the next command completes normally");
	updk_dma_free(b);
	h_close(&h);
}

Test(sim_nvme, fault_bogus_cid_wrong_phase_sqhd)
{
	struct h h;
	uint8_t *b = dma(4096, NULL);
	struct sqe c = rw(0x02, 1, 0, 1, updk_iova(b), 0);
	struct cqe e;
	uint16_t cid;

	h_open_io(&h, "sim:nvme", 16);
	cr_assert_eq(sim_nvme_fault_bogus_cid(h.dev, 1, 0xbeef), 0);
	submit(&h, &h.io, &c);
	cr_assert(reap(&h, &h.io, &e, WAIT));
	cr_assert_eq(e.dw3 & 0xffff, 0xbeef);

	cr_assert_eq(sim_nvme_fault_sqhd_beyond_tail(h.dev, -1), 0);
	submit(&h, &h.io, &c);
	cr_assert(reap(&h, &h.io, &e, WAIT));
	cr_assert_eq(e.dw2 & 0xffff, (h.io.tail + 1) % 16u, "SQ head one beyond the tail");

	cr_assert_eq(sim_nvme_fault_wrong_phase(h.dev, 1), 0);
	cid = submit(&h, &h.io, &c);
	cr_assert(no_completion(&h.io, 0.05), "an entry with the old phase is not new");
	cr_assert_eq(h.io.cq[h.io.head].dw3 & 0xffff, cid, "it was written, with the wrong tag");
	updk_dma_free(b);
	h_close(&h);
}

Test(sim_nvme, fault_delay)
{
	struct h h;
	uint8_t *b = dma(4096, NULL);
	double t0;

	h_open_io(&h, "sim:nvme", 16);
	cr_assert_eq(sim_nvme_fault_delay(h.dev, 30000), 0);
	t0 = now();
	cr_assert_eq(io(&h, 0x02, 0, 1, b, 512), 0);
	cr_assert_geq(now() - t0, 0.029);
	cr_assert_eq(sim_nvme_fault_delay(h.dev, 0), 0);
	cr_assert_eq(io(&h, 0x02, 0, 1, b, 512), 0);
	updk_dma_free(b);
	h_close(&h);
}

Test(sim_nvme, fault_fatal_never_ready_removal)
{
	struct h h;
	uint8_t *b = dma(4096, NULL);
	struct sqe c = rw(0x02, 1, 0, 1, updk_iova(b), 0);
	uint32_t v;

	h_open_io(&h, "sim:nvme", 16);
	cr_assert_eq(sim_nvme_fault_fatal(h.dev), 0);
	cr_assert_eq(csts(&h) & 3, 3, "CFS");
	submit(&h, &h.io, &c);
	cr_assert(no_completion(&h.io, 0.05), "nothing is processed after a fatal error");
	updk_pci_reg_write32(h.dev, 0, CC, 0);
	cr_assert_eq(csts(&h) & 3, 0, "a controller reset clears it");

	cr_assert_eq(sim_nvme_fault_never_ready(h.dev, true), 0);
	updk_pci_reg_write32(h.dev, 0, CC, CC_ENABLE);
	cr_assert(!wait_csts(&h, 1, 1, 0.1), "never ready");
	updk_pci_reg_write32(h.dev, 0, CC, 0);
	cr_assert_eq(sim_nvme_fault_never_ready(h.dev, false), 0);
	updk_pci_reg_write32(h.dev, 0, CC, CC_ENABLE);
	cr_assert(wait_csts(&h, 1, 1, WAIT));

	cr_assert_eq(sim_nvme_fault_remove(h.dev), 0);
	cr_assert_eq(csts(&h), UINT32_MAX);
	cr_assert_eq(updk_pci_reg_read64(h.dev, 0, CAP), UINT64_MAX);
	cr_assert_eq(updk_mmio_read32(h.bar + VS), UINT32_MAX);
	cr_assert_eq(updk_pci_cfg_read(h.dev, &v, 4, 0), 0);
	cr_assert_eq(v, UINT32_MAX);
	updk_dma_free(b);
	h_close(&h);
}

Test(sim_nvme, fault_identify_garbage)
{
	struct h h;
	uint8_t *d = dma(4096, NULL);
	uint32_t nn;

	h_open(&h, "sim:nvme");
	cr_assert_eq(sim_nvme_fault_identify(h.dev, SIM_NVME_ID_BAD_STRINGS | SIM_NVME_ID_BAD_NN |
							    SIM_NVME_ID_BAD_MDTS |
							    SIM_NVME_ID_BAD_LBAF),
		     0);
	cr_assert_eq(identify(&h, 1, 0, d), 0);
	memcpy(&nn, d + 516, 4);
	cr_assert_eq(nn, UINT32_MAX);
	cr_assert_eq(d[77], 0xff);
	for (int i = 4; i < 72; i++)
		cr_assert(d[i] != ' ' && (d[i] < 0x20 || d[i] > 0x7e), "byte %d", i);
	cr_assert_eq(identify(&h, 0, 1, d), 0);
	cr_assert_gt(d[26] & 0xf, d[25] > 63 ? 0 : d[25]);
	cr_assert_eq(d[128 + 4 * (d[26] & 0xf) + 2], 63);
	cr_assert_eq(sim_nvme_fault_identify(h.dev, 0), 0);
	cr_assert_eq(identify(&h, 1, 0, d), 0);
	memcpy(&nn, d + 516, 4);
	cr_assert_eq(nn, 1);
	updk_dma_free(d);
	h_close(&h);
}

static uint16_t get_log(struct h *h, uint8_t lid, uint32_t nsid, void *buf, uint32_t len,
			uint64_t off)
{
	struct sqe c = mk(0x02, nsid, updk_iova(buf), 0);

	c.dw[10] = (len / 4 - 1) << 16 | lid;
	c.dw[12] = (uint32_t)off;
	c.dw[13] = (uint32_t)(off >> 32);
	return cmd(h, &h->aq, c, NULL);
}

Test(sim_nvme, async_event_on_namespace_change)
{
	struct h h;
	uint8_t *d = dma(4096, NULL);
	struct sqe c;
	struct cqe e;
	uint32_t v;
	uint16_t aer;

	h_open_io(&h, "sim:nvme?ns=3,size=1M", 16);
	c = mk(0x09, 0, 0, 0); /* Asynchronous Event Configuration: namespace attribute notices */
	c.dw[10] = 0x0b;
	c.dw[11] = 1u << 8;
	cr_assert_eq(cmd(&h, &h.aq, c, NULL), 0);
	c = mk(0x0c, 0, 0, 0);
	aer = submit(&h, &h.aq, &c);
	cr_assert(no_completion(&h.aq, 0.03), "an AER stays outstanding");
	cr_assert_eq(sim_nvme_ns_set_active(h.dev, 2, false), 0);
	cr_assert(reap(&h, &h.aq, &e, WAIT));
	cr_assert_eq(e.dw3 & 0xffff, aer);
	cr_assert_eq(status(&e), 0);
	cr_assert_eq(e.dw0 & 7, 2, "notice");
	cr_assert_eq((e.dw0 >> 8) & 0xff, 0, "namespace attribute changed");
	cr_assert_eq((e.dw0 >> 16) & 0xff, 4, "changed namespace list");

	cr_assert_eq(get_log(&h, 4, 0xffffffff, d, 4096, 0), 0);
	memcpy(&v, d, 4);
	cr_assert_eq(v, 2);
	memcpy(&v, d + 4, 4);
	cr_assert_eq(v, 0);
	cr_assert_eq(identify(&h, 2, 0, d), 0);
	memcpy(&v, d, 4);
	cr_assert_eq(v, 1);
	memcpy(&v, d + 4, 4);
	cr_assert_eq(v, 3);
	cr_assert_eq(identify(&h, 0, 2, d), 0, "inactive: zero-filled");
	memcpy(&v, d, 4);
	cr_assert_eq(v, 0);
	cr_assert_eq(cmd(&h, &h.io, rw(0x02, 2, 0, 1, updk_iova(d), 0), NULL), SC_INVALID_FIELD);
	cr_assert_eq(get_log(&h, 4, 0xffffffff, d, 4096, 0), 0);
	memcpy(&v, d, 4);
	cr_assert_eq(v, 0, "the log was cleared by reading it");
	updk_dma_free(d);
	h_close(&h);
}

Test(sim_nvme, smart_and_error_logs_features)
{
	struct h h;
	uint8_t *b = dma(64 * 1024, NULL), *d = dma(4096, NULL);
	uint64_t v, cnt;
	uint16_t cid;
	uint32_t dw0;
	struct sqe c;

	h_open_io(&h, "sim:nvme", 16);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(io(&h, 0x01, 0, 128, b, 64 * 1024), 0);
	cr_assert_eq(io(&h, 0x02, 0, 1, b, 512), 0);
	cr_assert_eq(get_log(&h, 2, 0xffffffff, d, 512, 0), 0);
	memcpy(&v, d + 48, 8);
	cr_assert_eq(v, 1, "384 units of 512 bytes written: 1 thousand, rounded up");
	memcpy(&v, d + 32, 8);
	cr_assert_eq(v, 1);
	memcpy(&v, d + 80, 8);
	cr_assert_eq(v, 3, "host write commands");
	memcpy(&v, d + 64, 8);
	cr_assert_eq(v, 1, "host read commands");
	cr_assert_eq(get_log(&h, 2, 1, d, 512, 0), SC_INVALID_FIELD, "no per-namespace SMART");
	cr_assert_eq(get_log(&h, 2, 0xffffffff, d, 512, 8), 0, "with an offset");
	memcpy(&v, d + 40, 8);
	cr_assert_eq(v, 1);

	/* A failing command leaves an error log entry with its CID and status. */
	cr_assert_eq(io(&h, 0x02, 1ull << 40, 1, b, 512), SC_LBA_RANGE);
	cid = h.cid;
	cr_assert_eq(get_log(&h, 1, 0, d, 64, 0), 0);
	memcpy(&cnt, d, 8);
	cr_assert_geq(cnt, 2); /* the per-namespace SMART attempt, then this one */
	memcpy(&v, d + 8, 8);
	cr_assert_eq(v & 0xffff, 1, "SQ id");
	cr_assert_eq((v >> 16) & 0xffff, cid);
	cr_assert_eq(((v >> 32) & 0xffff) >> 1, SC_LBA_RANGE);
	cr_assert_eq(get_log(&h, 0x7f, 0, d, 64, 0), 0x109, "Invalid Log Page");

	/* Features: Volatile Write Cache defaults on, can be turned off; unknown FID refused. */
	c = mk(0x0a, 0, 0, 0);
	c.dw[10] = 0x06;
	cr_assert_eq(cmd(&h, &h.aq, c, &dw0), 0);
	cr_assert_eq(dw0, 1);
	c.dw[0] = 0x09;
	c.dw[11] = 0;
	cr_assert_eq(cmd(&h, &h.aq, c, NULL), 0);
	c.dw[0] = 0x0a;
	cr_assert_eq(cmd(&h, &h.aq, c, &dw0), 0);
	cr_assert_eq(dw0, 0);
	c.dw[10] = 0x06 | 1u << 8; /* default */
	cr_assert_eq(cmd(&h, &h.aq, c, &dw0), 0);
	cr_assert_eq(dw0, 1);
	c.dw[10] = 0x07; /* Number of Queues, current */
	cr_assert_eq(cmd(&h, &h.aq, c, &dw0), 0);
	cr_assert_eq(dw0, 63u << 16 | 63u);
	c.dw[10] = 0x01; /* Arbitration */
	c.dw[0] = 0x09;
	c.dw[11] = 7;
	cr_assert_eq(cmd(&h, &h.aq, c, NULL), 0);
	c.dw[0] = 0x0a;
	cr_assert_eq(cmd(&h, &h.aq, c, &dw0), 0);
	cr_assert_eq(dw0, 7);
	c.dw[10] = 0x42;
	cr_assert_eq(cmd(&h, &h.aq, c, &dw0), SC_INVALID_FIELD);
	cr_assert_eq(io(&h, 0x02, 0, 1, b, 512), 0, "arbitration burst 'no limit' works");
	updk_dma_free(b);
	updk_dma_free(d);
	h_close(&h);
}

Test(sim_nvme, invalid_doorbell_value_raises_an_error_event)
{
	struct h h;
	uint8_t *d = dma(4096, NULL);
	struct sqe c = mk(0x0c, 0, 0, 0);
	struct cqe e;
	uint16_t aer;
	uint64_t cnt;

	h_open_io(&h, "sim:nvme", 16);
	aer = submit(&h, &h.aq, &c);
	updk_mmio_write32(db(&h, 1, false), 16); /* tail beyond a 16-entry queue */
	cr_assert(reap(&h, &h.aq, &e, WAIT));
	cr_assert_eq(e.dw3 & 0xffff, aer);
	cr_assert_eq(e.dw0 & 7, 0, "error status");
	cr_assert_eq((e.dw0 >> 8) & 0xff, 1, "invalid doorbell write value");
	cr_assert_eq((e.dw0 >> 16) & 0xff, 1, "error information log");
	cr_assert_eq(stats(&h)->bad_db, 1);
	cr_assert_eq(get_log(&h, 1, 0, d, 64, 0), 0);
	memcpy(&cnt, d, 8);
	cr_assert_eq(cnt, 0, "no command failed");
	/* The queue still works from where it was. */
	updk_mmio_write32(db(&h, 1, false), 0);
	cr_assert_eq(cmd(&h, &h.io, mk(0x00, 1, 0, 0), NULL), 0);
	updk_dma_free(d);
	h_close(&h);
}

Test(sim_nvme, deleting_a_queue_aborts_what_it_holds)
{
	struct h h;
	uint8_t *b = dma(4096, NULL);
	struct sqe c = rw(0x02, 1, 0, 1, updk_iova(b), 0), del = mk(0x00, 0, 0, 0);
	struct cqe e;
	uint16_t cid;

	h_open_io(&h, "sim:nvme", 16);
	cr_assert_eq(sim_nvme_fault_drop(h.dev, 1), 0);
	cid = submit(&h, &h.io, &c);
	cr_assert(no_completion(&h.io, 0.03));
	del.dw[10] = 1;
	cr_assert_eq(cmd(&h, &h.aq, del, NULL), 0);
	cr_assert(reap(&h, &h.io, &e, WAIT), "held command completed by the deletion");
	cr_assert_eq(e.dw3 & 0xffff, cid);
	cr_assert_eq(status(&e), 0x008, "Command Aborted due to SQ Deletion");
	updk_dma_free(b);
	h_close(&h);
}

Test(sim_nvme, jitter_completes_out_of_order)
{
	struct h h;
	uint8_t *w = dma(32 * 4096, NULL), *r = dma(32 * 4096, NULL);
	uint16_t first, order[32];
	struct cqe e;
	bool inorder = true;

	h_open_io(&h, "sim:nvme?jitter_us=3000,lba=4096", 64);
	fill(w, 32 * 4096, 11);
	for (int i = 0; i < 32; i++) {
		struct sqe c = rw(0x01, 1, (uint64_t)i * 7, 1, updk_iova(w + i * 4096), 0);

		put(&h, &h.io, &c);
	}
	ring(&h, &h.io);
	for (int i = 0; i < 32; i++) {
		cr_assert(reap(&h, &h.io, &e, WAIT));
		cr_assert_eq(status(&e), 0);
	}
	first = h.cid + 1;
	for (int i = 0; i < 32; i++) {
		struct sqe c = rw(0x02, 1, (uint64_t)i * 7, 1, updk_iova(r + i * 4096), 0);

		put(&h, &h.io, &c);
	}
	ring(&h, &h.io);
	for (int i = 0; i < 32; i++) {
		cr_assert(reap(&h, &h.io, &e, WAIT));
		cr_assert_eq(status(&e), 0);
		order[i] = (uint16_t)(e.dw3 & 0xffff);
		inorder &= order[i] == first + i;
	}
	cr_assert(!inorder, "32 completions with 3 ms of jitter came back in submission order");
	cr_assert(!memcmp(w, r, 32 * 4096));
	cr_assert_eq(sim_nvme_fault_jitter(h.dev, 0), 0);
	cr_assert_eq(io(&h, 0x02, 0, 1, r, 4096), 0);
	updk_dma_free(w);
	updk_dma_free(r);
	h_close(&h);
}

/* One read per command for @n commands; bit i of the result set when read i failed, which must
 * be with Unrecovered Read Error and DNR clear (a random fault, error kind). */
static void random_errors(const char *addr, unsigned n, uint8_t *failed, uint64_t *injected)
{
	struct h h;
	uint8_t *b = dma(4096, NULL);
	struct cqe e;

	h_open_io(&h, addr, 16);
	memset(failed, 0, (n + 7) / 8);
	for (unsigned i = 0; i < n; i++) {
		struct sqe c = rw(0x02, 1, i, 1, updk_iova(b), 0);

		submit(&h, &h.io, &c);
		cr_assert(reap(&h, &h.io, &e, WAIT));
		if (!status(&e))
			continue;
		cr_assert_eq(status(&e), 0x281, "read %u: status 0x%x", i, status(&e));
		cr_assert_eq(e.dw3 >> 31, 0, "an injected error may be retried (DNR clear)");
		failed[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	*injected = stats(&h)->injected_errors;
	updk_dma_free(b);
	h_close(&h);
}

Test(sim_nvme, random_faults)
{
	static const char *const bad[] = {
		"sim:nvme?faults=2",
		"sim:nvme?faults=1.5",
		"sim:nvme?faults=101%",
		"sim:nvme?faults=-0.1",
		"sim:nvme?faults=.5",
		"sim:nvme?faults=1e-3",
		"sim:nvme?faults=0.5.",
		"sim:nvme?faults=0.0000000001",
		"sim:nvme?faults=%",
		"sim:nvme?faults=1%,fault_kinds=error+bogus",
		"sim:nvme?faults=1%,fault_kinds=error++delay",
		"sim:nvme?faults=1%,fault_kinds=",
		"sim:nvme?fault_kinds=delay",
		"sim:nvme?fault_delay_us=100",
		"sim:nvme?faults=1%,fault_delay_us=0",
		"sim:nvme?seed=x",
		"sim:nvme?never_ready=2",
		"sim:nvme?bad_identify=nn+x",
	};
	uint8_t a[32], b[32], c[32];
	uint64_t na, nb, nc, zero;
	struct updk_pci_dev *dev;
	unsigned fails = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dev = NULL;
		cr_assert_eq(updk_pci_open(bad[i], &dev), -EINVAL, "%s accepted", bad[i]);
		cr_assert_null(dev);
	}
	/* the same seed gives the same decisions, another seed others */
	random_errors("sim:nvme?faults=30%,fault_kinds=error,seed=7", 256, a, &na);
	random_errors("sim:nvme?faults=0.3,fault_kinds=error,seed=7", 256, b, &nb);
	random_errors("sim:nvme?faults=30%,fault_kinds=error,seed=8", 256, c, &nc);
	cr_assert_eq(memcmp(a, b, sizeof(a)), 0, "faults=30%% and faults=0.3 with one seed agree");
	cr_assert_neq(memcmp(a, c, sizeof(a)), 0, "seeds 7 and 8 pick the same commands");
	for (unsigned i = 0; i < 256; i++)
		fails += (a[i / 8] >> (i % 8)) & 1;
	cr_assert_eq(na, fails, "every injected error was seen, no other");
	cr_assert_eq(nb, fails);
	/* 30% of 256 is 77: more than 6 standard deviations (7.3) away is a broken generator */
	cr_assert(fails > 32 && fails < 122, "%u of 256 failed at 30%%", fails);
	random_errors("sim:nvme?faults=0,seed=7", 64, a, &zero);
	cr_assert_eq(zero, 0);
	cr_assert_eq(a[0] | a[1] | a[2] | a[3] | a[4] | a[5] | a[6] | a[7], 0, "faults=0: none");
}

Test(sim_nvme, random_fault_kinds)
{
	struct h h;
	uint8_t *b = dma(4096, NULL);
	struct sqe c = rw(0x01, 1, 0, 1, updk_iova(b), 0);
	uint16_t cid;
	double t0;

	/* error: a write fails with Write Fault; admin commands are never touched */
	h_open_io(&h, "sim:nvme?faults=1,fault_kinds=error", 16);
	cr_assert_eq(cmd(&h, &h.io, c, NULL), 0x280);
	cr_assert_eq(stats(&h)->injected_errors, 1);
	h_close(&h);

	/* delay: the command runs, its completion comes later, successful */
	h_open_io(&h, "sim:nvme?faults=100%,fault_kinds=delay,fault_delay_us=40000,seed=3", 16);
	t0 = now();
	for (int i = 0; i < 8; i++)
		cr_assert_eq(io(&h, 0x02, 0, 1, b, 512), 0);
	cr_assert_gt(now() - t0, 0.02, "eight delays of up to 40 ms each took nothing");
	cr_assert_eq(stats(&h)->injected_delays, 8);
	h_close(&h);

	/* drop: held until the host aborts it */
	h_open_io(&h, "sim:nvme?faults=1,fault_kinds=drop", 16);
	cid = submit(&h, &h.io, &c);
	cr_assert(no_completion(&h.io, 0.05), "the completion is held");
	abort_held(&h, cid);
	cr_assert_eq(stats(&h)->injected_drops, 1);
	updk_dma_free(b);
	h_close(&h);
}
