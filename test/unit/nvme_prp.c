// SPDX-License-Identifier: BSD-3-Clause
/*
 * drivers/nvme data pointers without a device: PRP entries and lists (NVMe Base 2.0 §4.1.1),
 * list chaining at a list page's last qword, the PRP layout rules for several segments, SGL
 * descriptors (§4.1.2), and the shadow doorbell EventIdx rule.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "drivers/nvme/pcie/pcie.h"

#define PG 4096ull

static uint64_t list[2048];
static struct updk_nvme_cmd cmd;
static struct nvme_dptr d;

/* A list area whose IOVA starts @off bytes into a page. */
static void setup(uint64_t list_off, bool sgl)
{
	memset(list, 0xee, sizeof(list));
	memset(&cmd, 0, sizeof(cmd));
	nvme_dptr_init(&d, &cmd, list, 0x700000 + list_off, 2048, sgl);
}

Test(nvme_prp, one_page_at_offset)
{
	setup(0, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x10000 + 0x200, 0x800), 0);
	nvme_dptr_finish(&d);
	cr_assert_eq(cmd.dptr.prp.prp1, 0x10200);
	cr_assert_eq(cmd.dptr.prp.prp2, 0);
	cr_assert_eq(cmd.flags & 0xc0, 0, "PSDT PRP");
}

Test(nvme_prp, exactly_one_page)
{
	setup(0, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x10000, PG), 0);
	nvme_dptr_finish(&d);
	cr_assert_eq(cmd.dptr.prp.prp1, 0x10000);
	cr_assert_eq(cmd.dptr.prp.prp2, 0, "a whole page needs no second entry");
}

Test(nvme_prp, crossing_into_second_page)
{
	setup(0, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x10000 + 0xf00, 0x200), 0);
	nvme_dptr_finish(&d);
	cr_assert_eq(cmd.dptr.prp.prp1, 0x10f00);
	cr_assert_eq(cmd.dptr.prp.prp2, 0x11000, "PRP2 is the second page, not a list");
}

Test(nvme_prp, two_whole_pages)
{
	setup(0, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x10000, 2 * PG), 0);
	nvme_dptr_finish(&d);
	cr_assert_eq(cmd.dptr.prp.prp2, 0x11000);
}

Test(nvme_prp, list_for_three_pages)
{
	setup(0x40, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x10004, 3 * PG - 4), 0);
	nvme_dptr_finish(&d);
	cr_assert_eq(cmd.dptr.prp.prp1, 0x10004);
	cr_assert_eq(cmd.dptr.prp.prp2, 0x700040, "PRP2 points at the list (offset allowed)");
	cr_assert_eq(list[0], 0x11000);
	cr_assert_eq(list[1], 0x12000);
	cr_assert_eq(d.pos, 2);
}

Test(nvme_prp, list_fills_exactly_one_page)
{
	/* 513 pages from a page boundary: PRP1 + 512 list entries: one full list page */
	setup(0, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x100000, 513 * PG), 0);
	nvme_dptr_finish(&d);
	cr_assert_eq(d.pos, 512);
	cr_assert_eq(list[511], 0x100000 + 512 * PG, "last qword holds data: nothing follows");
}

Test(nvme_prp, list_spans_second_list_page)
{
	/* 514 pages: 513 list entries: page one holds 511 entries and a chain pointer */
	setup(0, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x100000, 514 * PG), 0);
	nvme_dptr_finish(&d);
	cr_assert_eq(cmd.dptr.prp.prp2, 0x700000);
	for (int i = 0; i < 511; i++)
		cr_assert_eq(list[i], 0x100000 + (uint64_t)(i + 1) * PG, "entry %d", i);
	cr_assert_eq(list[511], 0x700000 + PG, "chain pointer to the next list page");
	cr_assert_eq(list[512], 0x100000 + 512 * PG);
	cr_assert_eq(list[513], 0x100000 + 513 * PG);
	cr_assert_eq(d.pos, 514);
}

Test(nvme_prp, list_starting_mid_page_chains_at_page_end)
{
	/* list area starts 16 qwords before a page end: the 16th qword becomes the chain */
	setup(PG - 16 * 8, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x200000, 40 * PG), 0);
	nvme_dptr_finish(&d);
	for (int i = 0; i < 15; i++)
		cr_assert_eq(list[i], 0x200000 + (uint64_t)(i + 1) * PG);
	cr_assert_eq(list[15], 0x701000, "chain at the last qword of the first list page");
	cr_assert_eq(list[16], 0x200000 + 16 * PG);
	cr_assert_eq(list[39], 0x200000 + 39 * PG);
	cr_assert_eq(d.pos, 40);
}

Test(nvme_prp, dword_alignment_required)
{
	setup(0, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x10002, 512), -EINVAL);
}

Test(nvme_prp, segments_must_meet_at_page_boundaries)
{
	setup(0, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x10800, 0x800), 0, "first: any offset, ends on a page");
	cr_assert_eq(nvme_dptr_add(&d, 0x40000, 2 * PG), 0, "interior: whole pages");
	cr_assert_eq(nvme_dptr_add(&d, 0x90000, 0x100), 0, "last: may end mid page");
	nvme_dptr_finish(&d);
	cr_assert_eq(cmd.dptr.prp.prp1, 0x10800);
	cr_assert_eq(cmd.dptr.prp.prp2, 0x700000);
	cr_assert_eq(list[0], 0x40000);
	cr_assert_eq(list[1], 0x41000);
	cr_assert_eq(list[2], 0x90000);

	setup(0, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x10000, 0x800), 0);
	cr_assert_eq(nvme_dptr_add(&d, 0x40000, PG), -EINVAL, "previous ended mid page");
	setup(0, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x10000, PG), 0);
	cr_assert_eq(nvme_dptr_add(&d, 0x40200, PG), -EINVAL, "next starts mid page");
}

Test(nvme_prp, list_capacity_enforced)
{
	memset(&cmd, 0, sizeof(cmd));
	nvme_dptr_init(&d, &cmd, list, 0x700000, 4, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x10000, 5 * PG), 0, "PRP1 + 4 list entries fit");
	nvme_dptr_init(&d, &cmd, list, 0x700000, 4, false);
	cr_assert_eq(nvme_dptr_add(&d, 0x10000, 6 * PG), -EINVAL);
}

Test(nvme_prp, list_size_covers_the_limit)
{
	/* the list area sized for a limit holds a worst-case (dword offset) transfer of it */
	uint32_t sizes[] = { 4096, 8192, 128 * 1024, 512 * 1024, 2 * 1024 * 1024 };

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (uint64_t loff = 0; loff < PG; loff += 8 * 61) {
			memset(&cmd, 0, sizeof(cmd));
			nvme_dptr_init(&d, &cmd, list, 0x700000 + loff, nvme_list_qwords(sizes[i]),
				       false);
			cr_assert_eq(nvme_dptr_add(&d, 0x100004, sizes[i]), 0,
				     "limit %u, list offset %llu", sizes[i],
				     (unsigned long long)loff);
		}
	}
}

Test(nvme_prp, sgl_single_and_segment)
{
	struct nvme_sgl_desc *sgl1 = (struct nvme_sgl_desc *)cmd.dptr.sgl1;
	struct nvme_sgl_desc *descs = (struct nvme_sgl_desc *)list;

	setup(0, true);
	cr_assert_eq(nvme_dptr_add(&d, 0x10002, 100), 0);
	nvme_dptr_finish(&d);
	cr_assert_eq(cmd.flags & 0xc0, 0x40, "PSDT 01b");
	cr_assert_eq(sgl1->addr, 0x10002);
	cr_assert_eq(sgl1->len, 100);
	cr_assert_eq(sgl1->id, 0x00, "data block descriptor");

	setup(0x80, true);
	cr_assert_eq(nvme_dptr_add(&d, 0x10000, 0x300), 0);
	cr_assert_eq(nvme_dptr_add(&d, 0x20100, 0x200), 0, "SGL accepts what PRPs cannot");
	nvme_dptr_finish(&d);
	cr_assert_eq(sgl1->id, 0x30, "last segment descriptor");
	cr_assert_eq(sgl1->addr, 0x700080);
	cr_assert_eq(sgl1->len, 32);
	cr_assert_eq(descs[0].addr, 0x10000);
	cr_assert_eq(descs[0].len, 0x300);
	cr_assert_eq(descs[1].addr, 0x20100);
	cr_assert_eq(descs[1].len, 0x200);
	cr_assert_eq(descs[1].id, 0);
}

Test(nvme_prp, sgl_dword_granularity)
{
	/* SGLS 10b: Data Blocks dword aligned and a whole number of dwords (Figure 275) */
	setup(0, true);
	d.sgl_dword = true;
	cr_assert_eq(nvme_dptr_add(&d, 0x10002, 100), -EINVAL, "address off a dword");
	cr_assert_eq(nvme_dptr_add(&d, 0x10004, 102), -EINVAL, "length off a dword");
	cr_assert_eq(nvme_dptr_add(&d, 0x10004, 100), 0);
	cr_assert_eq(nvme_dptr_add(&d, 0x20100, 0x200), 0);
	nvme_dptr_finish(&d);
	cr_assert_eq(cmd.flags & 0xc0, 0x40, "PSDT 01b");
}

Test(nvme_prp, dbbuf_event_idx_rule)
{
	/* the controller wants a doorbell when its EventIdx lies in [old, new) */
	cr_assert(nvme_dbbuf_need_event(5, 6, 5));
	cr_assert(nvme_dbbuf_need_event(5, 10, 3));
	cr_assert_not(nvme_dbbuf_need_event(5, 5, 3), "event index not yet passed");
	cr_assert_not(nvme_dbbuf_need_event(10, 12, 11), "already told beyond it");
	cr_assert(nvme_dbbuf_need_event(0xffff, 2, 0xfffe), "wraps at 16 bits");
	cr_assert_not(nvme_dbbuf_need_event(3, 2, 0xfffe));
}

Test(nvme_prp, dbbuf_event_idx_rule_as_linux_writes_it)
{
	/* Linux's nvme_dbbuf_need_event() form, new - event_idx - 1 < new - old (mod 2^16): the
	 * same answer at and around every boundary, from old values around the wrap */
	static const uint16_t olds[] = { 0, 1, 127, 255, 0x7fff, 0x8000, 0xfffe, 0xffff };
	static const uint16_t dists[] = {
		0, 1, 2, 3, 100, 255, 256, 0x7fff, 0x8000, 0xfffe, 0xffff
	};

	for (unsigned i = 0; i < sizeof(olds) / sizeof(olds[0]); i++)
		for (unsigned j = 0; j < sizeof(dists) / sizeof(dists[0]); j++) {
			uint16_t o = olds[i], nv = (uint16_t)(o + dists[j]);
			/* EventIdx at these distances from old, and around new */
			int32_t as[] = { 0,
					 1,
					 2,
					 77,
					 0x7fff,
					 0x8000,
					 0xfffe,
					 0xffff,
					 dists[j] - 2,
					 dists[j] - 1,
					 dists[j],
					 dists[j] + 1,
					 dists[j] + 2 };

			for (unsigned k = 0; k < sizeof(as) / sizeof(as[0]); k++) {
				uint16_t ei = (uint16_t)(o + as[k]);
				bool linux_form = (uint16_t)(nv - ei - 1) < (uint16_t)(nv - o);

				cr_assert_eq(nvme_dbbuf_need_event(ei, nv, o), linux_form,
					     "old %u new %u EventIdx %u", o, nv, ei);
			}
		}
}

Test(nvme_prp, doorbell_offsets)
{
	cr_assert_eq(nvme_sq_db_off(0, 0), 0x1000);
	cr_assert_eq(nvme_cq_db_off(0, 0), 0x1004);
	cr_assert_eq(nvme_sq_db_off(3, 0), 0x1018);
	cr_assert_eq(nvme_cq_db_off(3, 2), 0x1000 + 7 * 16);
}
