// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim:nvme's namespace formats, driven by hand through the rig of test/common/nvme_rig.h: metadata in a
 * separate buffer (MPTR, also as an SGL) and interleaved (extended LBA), protection information
 * of types 1, 2 and 3 with the 16b and 64b Guards (generated with PRACT, checked with PRCHK;
 * the expected PI is computed here from NVM Command Set 1.0 §5.2.1's layouts), and zoned
 * namespaces (ZNS 1.1): write pointers, Zone Append, Report Zones, the state machine and the
 * active and open limits.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include <updk/crc.h>
#include <updk/mem.h>
#include <updk/pci.h>

#include "test/common/nvme_rig.h"

static void setup(void)
{
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_4K_PAGES };

	cr_assert_eq(updk_mem_init(&o), 0);
}

TestSuite(sim_nvme_fmt, .init = setup, .timeout = 60);

/* The 16b Guard PI of one block (§5.2.1.1), over its data and @pre metadata bytes before it. */
static void pi16(uint8_t *pi, const uint8_t *data, size_t bs, const uint8_t *pre, size_t npre,
		 uint16_t app, uint32_t ref)
{
	be_put(pi, 2, updk_crc16_t10dif(updk_crc16_t10dif(0, data, bs), pre, npre));
	be_put(pi + 2, 2, app);
	be_put(pi + 4, 4, ref);
}

Test(sim_nvme_fmt, identify_reports_the_format)
{
	struct h h;
	uint8_t *d = dma(4096, &(uint64_t){ 0 });
	uint16_t ms;

	h_open(&h, "sim:nvme?lba=4096,ms=16,mset=1,pi=2,pil=1");
	cr_assert_eq(identify(&h, 0, 1, d), 0);
	memcpy(&ms, d + 128, 2);
	cr_assert_eq(ms, 16, "LBAF0 MS");
	cr_assert_eq(d[128 + 2], 12, "LBADS");
	cr_assert_eq(d[26], 0x10, "FLBAS: format 0, extended LBA");
	cr_assert_eq(d[27], 0x3, "MC: extended and separate");
	cr_assert_eq(d[28], 0x1f, "DPC: types 1-3, first or last");
	cr_assert_eq(d[29], 0x2 | 0x8, "DPS: type 2, PI first");
	h_close(&h);
	updk_dma_free(d);
}

Test(sim_nvme_fmt, separate_metadata_round_trip_and_pointer_rules)
{
	struct h h;
	uint64_t li, ui;
	uint64_t *list = dma(4096, &li);
	uint8_t *w = dma(16384, &li), *r = dma(16384, &li), *mw = dma(4096, &li),
		*mr = dma(4096, &li), *u = unmapped(4096, &ui);
	uint32_t sgl[4];
	struct sqe c;

	h_open_io(&h, "sim:nvme?lba=4096,ms=16", 16);
	fill(w, 16384, 3);
	fill(mw, 64, 9);
	cr_assert_eq(io_md(&h, rwm(0x01, 8, 4, w, 16384, mw, list)), 0);
	cr_assert_eq(io_md(&h, rwm(0x02, 8, 4, r, 16384, mr, list)), 0);
	cr_assert(!memcmp(w, r, 16384), "data");
	cr_assert(!memcmp(mw, mr, 64), "metadata, 16 bytes a block");

	/* MPTR off a dword: Invalid Field; unmapped: Data Transfer Error; nothing written */
	c = rwm(0x01, 8, 4, r, 16384, mr, list);
	c.dw[4] += 2;
	cr_assert_eq(io_md(&h, c), SC_INVALID_FIELD);
	c = rwm(0x01, 8, 4, r, 16384, NULL, list);
	c.dw[4] = (uint32_t)ui;
	c.dw[5] = (uint32_t)(ui >> 32);
	cr_assert_eq(io_md(&h, c), SC_DATA_XFER);
	memset(mr, 0, 64);
	cr_assert_eq(io_md(&h, rwm(0x02, 8, 4, r, 16384, mr, list)), 0);
	cr_assert(!memcmp(mw, mr, 64), "metadata as the good write left it");

	/* PSDT 10b: MPTR holds the address of one SGL Data Block descriptor */
	memset(mr, 0, 64);
	sgl_desc(sgl, updk_iova(mr + 64), 64, 0);
	memcpy(mr, sgl, 16);
	c = rwm(0x02, 8, 4, r, 16384, mr, list);
	sgl_desc(&c.dw[6], updk_iova(r), 16384, 0);
	c.dw[0] |= 2u << 14;
	cr_assert_eq(io_md(&h, c), 0);
	cr_assert(!memcmp(mw, mr + 64, 64), "metadata through the SGL");
	h_close(&h);
	munmap(u, 4096);
	updk_dma_free(list);
	updk_dma_free(w);
	updk_dma_free(r);
	updk_dma_free(mw);
	updk_dma_free(mr);
}

/*
 * An SGL for metadata (PSDT 10b, NVMe Base 2.0 §4.2 Figure 92): MPTR points at a segment of one
 * qword-aligned descriptor, a Last Segment here whose two Data Blocks split the buffer; Identify
 * SGLS bit 19 says so with msgl=1 only; msgl=0 refuses PSDT 10b; the descriptor's rules.
 */
Test(sim_nvme_fmt, metadata_sgl_segments_and_their_checks)
{
	struct h h;
	uint64_t li;
	uint64_t *list = dma(4096, &li);
	uint8_t *w = dma(16384, &li), *r = dma(16384, &li), *mw = dma(4096, &li),
		*seg = dma(4096, &li), *id = dma(4096, &li);
	uint32_t sgls, *d = (uint32_t *)seg;
	struct sqe c;

	h_open_io(&h, "sim:nvme?lba=4096,ms=16,msgl=1", 16);
	cr_assert_eq(identify(&h, 1, 0, id), 0);
	memcpy(&sgls, id + 536, 4);
	cr_assert_eq(sgls, 1u | 1u << 19, "SGLS: byte-aligned Data Blocks, SGLs for metadata");
	fill(w, 16384, 4);
	fill(mw, 64, 8);
	/* the four blocks' 64 bytes of metadata from two places: 24 at mw + 2048, 40 at mw */
	memcpy(mw + 2048, mw, 24);
	memmove(mw, mw + 24, 40);
	sgl_desc(d + 4, updk_iova(mw + 2048), 24, 0);
	sgl_desc(d + 8, updk_iova(mw), 40, 0);
	sgl_desc(d, updk_iova(seg + 16), 32, 3); /* Last Segment: the two Data Blocks */
	c = rwm(0x01, 8, 4, w, 16384, seg, list);
	sgl_desc(&c.dw[6], updk_iova(w), 16384, 0);
	c.dw[0] |= 2u << 14;
	cr_assert_eq(io_md(&h, c), 0);
	cr_assert_eq(stats(&h)->md_sgls, 1);
	memset(id, 0, 64);
	cr_assert_eq(io_md(&h, rwm(0x02, 8, 4, r, 16384, id, list)), 0, "read by MPTR");
	cr_assert(!memcmp(r, w, 16384));
	cr_assert(!memcmp(id, mw + 2048, 24) && !memcmp(id + 24, mw, 40),
		  "the metadata that reached the namespace, in the SGL's order");
	/* MPTR off a qword; a segment 8 bytes short of the metadata; nothing written */
	c.dw[4] += 4;
	cr_assert_eq(io_md(&h, c), SC_INVALID_FIELD);
	c.dw[4] -= 4;
	d[10] = 32;
	cr_assert_eq(io_md(&h, c), 0x010, "Metadata SGL Length Invalid");
	cr_assert_eq(stats(&h)->md_sgls, 1);
	h_close(&h);

	/* msgl=0: not reported, and refused */
	h_open_io(&h, "sim:nvme?lba=4096,ms=16,msgl=0", 16);
	cr_assert_eq(identify(&h, 1, 0, id), 0);
	memcpy(&sgls, id + 536, 4);
	cr_assert_eq(sgls, 1u);
	d[10] = 40;
	cr_assert_eq(io_md(&h, c), SC_INVALID_FIELD);
	h_close(&h);
	updk_dma_free(list);
	updk_dma_free(w);
	updk_dma_free(r);
	updk_dma_free(mw);
	updk_dma_free(seg);
	updk_dma_free(id);
}

Test(sim_nvme_fmt, extended_lba_interleaves_and_counts_against_mdts)
{
	struct h h;
	uint64_t li;
	uint64_t *list = dma(4096, &li);
	uint8_t *w = dma(16 * 520, &li), *r = dma(16 * 520, &li);

	/* MDTS 1: 8 KiB, metadata included when interleaved: 15 blocks of 520 fit, 16 do not */
	h_open_io(&h, "sim:nvme?ms=8,mset=1,mdts=1", 16);
	fill(w, 16 * 520, 5);
	cr_assert_eq(io_md(&h, rwm(0x01, 0, 15, w, 15 * 520, NULL, list)), 0);
	cr_assert_eq(io_md(&h, rwm(0x02, 0, 15, r, 15 * 520, NULL, list)), 0);
	cr_assert(!memcmp(w, r, 15 * 520));
	cr_assert_eq(io_md(&h, rwm(0x01, 0, 16, w, 16 * 520, NULL, list)), SC_INVALID_FIELD);
	/* block 3's metadata is bytes 512..519 of its 520 */
	memset(r, 0, 16 * 520);
	cr_assert_eq(io_md(&h, rwm(0x02, 3, 1, r, 520, NULL, list)), 0);
	cr_assert(!memcmp(r, w + 3 * 520, 520));
	h_close(&h);
	updk_dma_free(list);
	updk_dma_free(w);
	updk_dma_free(r);
}

/* Type 1, 16b Guard, PI the whole metadata: PRACT makes it, PRCHK checks each field. */
Test(sim_nvme_fmt, pi_type1_generated_and_checked)
{
	struct h h;
	uint64_t li;
	uint64_t *list = dma(4096, &li);
	uint8_t *w = dma(8192, &li), *r = dma(8192, &li), *md = dma(4096, &li), want[8];
	struct sqe c;

	h_open_io(&h, "sim:nvme?lba=512,ms=8,pi=1", 16);
	fill(w, 8192, 1);
	/* PRACT=1 and MS = 8: no metadata crosses; PI = CRC, LBAT, SLBA + i */
	c = rwm(0x01, 100, 16, w, 8192, NULL, list);
	c.dw[12] |= PRACT | PRCHK_ALL;
	c.dw[14] = 100;
	c.dw[15] = 0xffff0000u | 0x1234;
	cr_assert_eq(io_md(&h, c), 0);
	c = rwm(0x02, 100, 16, r, 8192, md, list);
	c.dw[12] |= PRCHK_ALL;
	c.dw[14] = 100;
	c.dw[15] = 0xffff0000u | 0x1234;
	cr_assert_eq(io_md(&h, c), 0);
	cr_assert(!memcmp(w, r, 8192));
	for (unsigned i = 0; i < 16; i++) {
		pi16(want, w + 512 * i, 512, NULL, 0, 0x1234, 100 + i);
		cr_assert(!memcmp(md + 8 * i, want, 8), "PI of block %u", i);
	}

	/* each check names its field; type 1's tag must be the LBA */
	c.dw[15] = 0xffff0000u | 0x4321;
	cr_assert_eq(io_md(&h, c), SC_APPTAG);
	c.dw[15] = 0xff000000u | 0x1299; /* the mask leaves the high byte only */
	cr_assert_eq(io_md(&h, c), 0);
	c.dw[14] = 101;
	cr_assert_eq(io_md(&h, c), SC_INVALID_PI);

	/* a write whose PI does not match its data: Guard Check Error, nothing written */
	c = rwm(0x01, 100, 1, r + 512, 512, md, list); /* block 101's data, block 100's PI */
	c.dw[12] |= PRCHK_GUARD;
	cr_assert_eq(io_md(&h, c), SC_GUARD);
	c = rwm(0x02, 100, 1, r, 512, NULL, list);
	c.dw[12] |= PRACT | PRCHK_ALL;
	c.dw[14] = 100;
	c.dw[15] = 0xffff0000u | 0x1234;
	cr_assert_eq(io_md(&h, c), 0, "block 100 as the good write left it");
	cr_assert(!memcmp(r, w, 512));

	/* blocks never written read as all FFh: every check off */
	c = rwm(0x02, 5000, 2, r, 1024, md, list);
	c.dw[12] |= PRCHK_ALL;
	c.dw[14] = 5000;
	cr_assert_eq(io_md(&h, c), 0);
	cr_assert_eq(md[0], 0xff);
	h_close(&h);
	updk_dma_free(list);
	updk_dma_free(w);
	updk_dma_free(r);
	updk_dma_free(md);
}

/* Type 2 takes any initial tag; type 3 has no reference tag to check. */
Test(sim_nvme_fmt, pi_type2_and_type3_reference_tags)
{
	struct h h;
	uint64_t li;
	uint64_t *list = dma(4096, &li);
	uint8_t *w = dma(4096, &li), *r = dma(4096, &li);
	struct sqe c;

	h_open_io(&h, "sim:nvme?ms=8,pi=2", 16);
	fill(w, 4096, 2);
	c = rwm(0x01, 7, 8, w, 4096, NULL, list);
	c.dw[12] |= PRACT;
	c.dw[14] = 0xabc00000u;
	cr_assert_eq(io_md(&h, c), 0);
	c = rwm(0x02, 7, 8, r, 4096, NULL, list);
	c.dw[12] |= PRACT | PRCHK_ALL;
	c.dw[14] = 0xabc00000u;
	cr_assert_eq(io_md(&h, c), 0);
	c.dw[14] = 0xabc00001u;
	cr_assert_eq(io_md(&h, c), SC_REFTAG);
	h_close(&h);

	h_open_io(&h, "sim:nvme?ms=8,pi=3", 16);
	c = rwm(0x01, 7, 8, w, 4096, NULL, list);
	c.dw[12] |= PRACT;
	cr_assert_eq(io_md(&h, c), 0);
	c = rwm(0x02, 7, 8, r, 4096, NULL, list);
	c.dw[12] |= PRACT | PRCHK_ALL;
	cr_assert_eq(io_md(&h, c), SC_INVALID_PI, "type 3: PRCHK reference tag");
	c.dw[12] = (c.dw[12] & 0xffff) | PRACT | PRCHK_GUARD | 2u << 26;
	cr_assert_eq(io_md(&h, c), 0);
	cr_assert(!memcmp(w, r, 4096));
	h_close(&h);
	updk_dma_free(list);
	updk_dma_free(w);
	updk_dma_free(r);
}

/* The 64b Guard (§5.2.1.3): CRC-64 of the data, 48-bit tag from CDW14 and CDW3 15:0; and the
 * PI last in 24 bytes of metadata, its Guard covering the 8 bytes before it. */
Test(sim_nvme_fmt, pi_64b_guard_last_in_the_metadata)
{
	struct h h;
	uint64_t li, ref = 0x123400000007ull;
	uint64_t *list = dma(4096, &li);
	uint8_t *w = dma(8192, &li), *md = dma(4096, &li), want[16];
	struct sqe c;

	h_open_io(&h, "sim:nvme?lba=4096,ms=24,pi=2,pif=2", 16);
	fill(w, 8192, 4);
	fill(md, 48, 6);
	c = rwm(0x01, 7, 2, w, 8192, md, list);
	c.dw[3] = (uint32_t)(ref >> 32);
	c.dw[14] = (uint32_t)ref;
	c.dw[15] = 0x0000beef;
	c.dw[12] |= PRACT;
	cr_assert_eq(io_md(&h, c), 0);
	memset(md, 0, 48);
	c.dw[0] = (c.dw[0] & ~0xffu) | 0x02;
	c.dw[12] = (c.dw[12] & 0xffff) | PRCHK_ALL;
	c.dw[15] = 0xffffbeef;
	cr_assert_eq(io_md(&h, c), 0);
	for (unsigned i = 0; i < 2; i++) {
		be_put(want, 8,
		       updk_crc64_nvme(updk_crc64_nvme(0, w + 4096 * i, 4096), md + 24 * i, 8));
		be_put(want + 8, 2, 0xbeef);
		be_put(want + 10, 6, ref + i);
		cr_assert(!memcmp(md + 24 * i + 8, want, 16), "PI of block %u", i);
	}
	c.dw[3] = 0;
	cr_assert_eq(io_md(&h, c), SC_REFTAG, "the upper 16 bits of the tag count");
	h_close(&h);
	updk_dma_free(list);
	updk_dma_free(w);
	updk_dma_free(md);
}

Test(sim_nvme_fmt, bad_format_options_refused)
{
	struct updk_pci_dev *dev;

	cr_assert_eq(updk_pci_open("sim:nvme?pi=1", &dev), -EINVAL, "PI without metadata");
	cr_assert_eq(updk_pci_open("sim:nvme?ms=8,pi=1,pif=2", &dev), -EINVAL, "64b PI in 8");
	cr_assert_eq(updk_pci_open("sim:nvme?ms=8,pi=1,pif=1", &dev), -EINVAL, "32b PI in 8");
	cr_assert_eq(updk_pci_open("sim:nvme?zoned=1,ms=8,pi=1", &dev), -EINVAL);
	cr_assert_eq(updk_pci_open("sim:nvme?zoned=1,size=16M,zone_size=3M", &dev), -EINVAL);
	cr_assert_eq(updk_pci_open("sim:nvme?zoned=1,zone_cap=128M", &dev), -EINVAL);
	cr_assert_eq(updk_pci_open("sim:nvme?zoned=1,max_active=1,max_open=2", &dev), -EINVAL);
}

/* ---- zoned namespaces ---- */

/* 16 zones of 1 MiB (256 blocks of 4 KiB), capacity 192 blocks. */
#define ZONED "sim:nvme?lba=4096,size=16M,zoned=1,zone_size=1M,zone_cap=768K"

Test(sim_nvme_fmt, zones_identify_and_command_set_selection)
{
	struct h h;
	uint8_t *d = dma(4096, &(uint64_t){ 0 });
	uint64_t zsze;
	uint32_t v;
	struct sqe c;

	/* CC.CSS 000b: the namespace is there, its zone commands are not */
	h_open_io(&h, ZONED ",max_open=2,max_active=3,zasl=1", 16);
	cr_assert_eq(zsend(&h, 0, 0x03, false), SC_INVALID_OPCODE);
	h_close(&h);

	z_open(&h, ZONED ",max_open=2,max_active=3,zasl=1");
	cr_assert_eq(identify(&h, 3, 1, d), 0);
	cr_assert(d[40] == 4 && d[44] == 2, "CSI descriptor: Zoned Namespace");
	c = mk(0x06, 1, updk_iova(d), 0);
	c.dw[10] = 0x05;
	c.dw[11] = 2u << 24;
	cr_assert_eq(cmd(&h, &h.aq, c, NULL), 0);
	memcpy(&v, d + 4, 4);
	cr_assert_eq(v, 2, "MAR, 0-based");
	memcpy(&v, d + 8, 4);
	cr_assert_eq(v, 1, "MOR, 0-based");
	memcpy(&zsze, d + 2816, 8);
	cr_assert_eq(zsze, 256, "LBAFE0 ZSZE in blocks");
	c.dw[10] = 0x06;
	cr_assert_eq(cmd(&h, &h.aq, c, NULL), 0);
	cr_assert_eq(d[0], 1, "ZASL");
	c.dw[10] = 0x05;
	c.dw[1] = 1;
	c.dw[11] = 1u << 24;
	cr_assert_eq(cmd(&h, &h.aq, c, NULL), SC_INVALID_FIELD, "no such command set");
	h_close(&h);
	updk_dma_free(d);
}

Test(sim_nvme_fmt, zones_write_pointer_append_report_reset)
{
	struct h h;
	uint64_t li, lba;
	uint8_t *w = dma(8192, &li), *r = dma(8192, &li), *rep = dma(4096, &li);
	struct zdesc z[3];

	z_open(&h, ZONED);
	fill(w, 8192, 7);
	cr_assert_eq(io(&h, 0x01, 256, 2, w, 8192), 0, "at zone 1's write pointer");
	cr_assert_eq(io(&h, 0x01, 256, 1, w, 4096), SC_ZONE_INVALID_WRITE, "behind it");
	cr_assert_eq(io(&h, 0x01, 260, 1, w, 4096), SC_ZONE_INVALID_WRITE, "ahead of it");
	cr_assert_eq(zappend(&h, 256, 1, w, &lba), 0);
	cr_assert_eq(lba, 258, "Zone Append returns the LBA it wrote");
	cr_assert_eq(zappend(&h, 257, 1, w, &lba), SC_INVALID_FIELD, "not a zone start");
	cr_assert_eq(zreport(&h, 0, rep, z, 3), 16);
	cr_assert(z[0].zt == 2 && z[0].zs == 1 && z[0].wp == 0 && z[0].zcap == 192);
	cr_assert(z[1].zslba == 256 && z[1].zs == 2 && z[1].wp == 259, "implicitly opened");
	cr_assert_eq(io(&h, 0x02, 256, 2, r, 8192), 0);
	cr_assert(!memcmp(w, r, 8192));

	/* the capacity ends the zone: 192 blocks in, the write crossing it is refused */
	cr_assert_eq(io(&h, 0x01, 259, 2, w, 8192), 0);
	for (uint64_t at = 261; at < 256 + 190; at += 2)
		cr_assert_eq(io(&h, 0x01, at, 2, w, 8192), 0, "at %lu", (unsigned long)at);
	cr_assert_eq(io(&h, 0x01, 256 + 191, 2, w, 8192), SC_ZONE_BOUNDARY);
	cr_assert_eq(io(&h, 0x01, 256 + 191, 1, w, 4096), 0);
	zreport(&h, 256, rep, z, 1);
	cr_assert(z[0].zs == 0xe && z[0].wp == 256 + 192, "full at its capacity");
	cr_assert_eq(zappend(&h, 256, 1, w, &lba), SC_ZONE_FULL);
	cr_assert_eq(io(&h, 0x01, 256 + 192, 1, w, 4096), SC_ZONE_FULL);

	/* finish, reset, offline */
	cr_assert_eq(zsend(&h, 512, 0x02, false), 0);
	zreport(&h, 512, rep, z, 1);
	cr_assert(z[0].zs == 0xe && z[0].wp == 512 + 192);
	cr_assert_eq(zsend(&h, 256, 0x04, false), 0);
	zreport(&h, 256, rep, z, 1);
	cr_assert(z[0].zs == 1 && z[0].wp == 256, "reset: empty");
	memset(r, 0xaa, 4096);
	cr_assert_eq(io(&h, 0x02, 256, 1, r, 4096), 0);
	cr_assert_eq(r[0] | r[4095], 0, "reset zone reads zeroes");
	cr_assert_eq(zsend(&h, 256, 0x05, false), SC_ZONE_TRANSITION, "offline from empty");
	cr_assert_eq(zsend(&h, 256, 0x01, false), SC_ZONE_TRANSITION, "close from empty");
	cr_assert_eq(sim_nvme_zone_read_only(h.dev, 1, 768), 0);
	cr_assert_eq(zsend(&h, 768, 0x05, false), 0);
	cr_assert_eq(io(&h, 0x02, 768, 1, r, 4096), SC_ZONE_OFFLINE);
	cr_assert_eq(zsend(&h, 0, 0x04, true), 0, "reset all");
	zreport(&h, 0, rep, z, 3);
	cr_assert_eq(z[2].zs, 1, "zone 2 was full, now empty");
	h_close(&h);
	updk_dma_free(w);
	updk_dma_free(r);
	updk_dma_free(rep);
}

Test(sim_nvme_fmt, zones_open_and_active_limits)
{
	struct h h;
	uint64_t li, lba;
	uint8_t *w = dma(4096, &li), *rep = dma(4096, &li);
	struct zdesc z[4];

	z_open(&h, ZONED ",max_open=2,max_active=3,zasl=0");
	cr_assert_eq(zsend(&h, 0, 0x03, false), 0);
	cr_assert_eq(zsend(&h, 256, 0x03, false), 0);
	cr_assert_eq(zsend(&h, 512, 0x03, false), SC_TOO_MANY_OPEN, "third explicit open");
	cr_assert_eq(io(&h, 0x01, 512, 1, w, 4096), SC_TOO_MANY_OPEN, "implicit open at the limit");
	cr_assert_eq(zsend(&h, 256, 0x01, false), 0, "close: active, not open");
	cr_assert_eq(io(&h, 0x01, 512, 1, w, 4096), 0, "room for one implicit open");
	/* active: 0 (open), 1 (closed), 2 (open): a fourth zone cannot become active; at the
	 * open limit zone 2, implicitly opened, is closed first (as QEMU's controller does) */
	cr_assert_eq(zappend(&h, 768, 1, w, &lba), SC_TOO_MANY_ACTIVE);
	cr_assert_eq(io(&h, 0x01, 256, 1, w, 4096), 0, "zone 1 reopened: one open left");
	zreport(&h, 0, rep, z, 4);
	cr_assert_eq(z[0].zs, 3, "explicitly opened");
	cr_assert_eq(z[1].zs, 2, "implicitly opened by the write");
	cr_assert_eq(z[2].zs, 4, "closed to make room for the refused append");
	cr_assert_eq(z[3].zs, 1);
	cr_assert_eq(zsend(&h, 0, 0x02, true), 0, "finish all: every active zone full");
	cr_assert_eq(zappend(&h, 768, 1, w, &lba), 0);
	cr_assert_eq(lba, 768);
	h_close(&h);
	updk_dma_free(w);
	updk_dma_free(rep);
}
