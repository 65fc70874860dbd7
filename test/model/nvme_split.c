// SPDX-License-Identifier: BSD-3-Clause
/*
 * I/O of any length on any qpair (drivers/nvme/split.c): a 64 MiB write and read on a controller
 * that takes 16 KiB a command, through a qpair of depth 2, bytes checked on the way back; split
 * I/Os complete in the order they were queued; -EAGAIN only when every split record is in use,
 * nothing of what was queued lost; children still waiting when the qpair is freed complete
 * with Command Aborted By Host, as the outstanding ones do.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "test/model/nvme_util.h"

TestSuite(nvme_split, .init = nvme_test_mem_setup, .timeout = 240);

#define MIB64 (64u << 20)

static void fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	uint32_t *w = (uint32_t *)p;

	for (size_t i = 0; i < len / 4; i++)
		w[i] = (uint32_t)i * 2654435761u + seed;
}

/* Thousands of commands one or two at a time: minutes, not 10 s, on a loaded machine. */
static void wait_long(struct updk_nvme_qpair *qp, struct io_done *d)
{
	double until = now_s() + 100;

	while (!d->done && now_s() < until)
		cr_assert_geq(updk_nvme_qpair_process_completions(qp, 0), 0);
	cr_assert(d->done, "the 64 MiB I/O did not complete in 100 s");
}

Test(nvme_split, write_and_read_64_mib_through_depth_2_at_16_kib_a_command)
{
	struct rig r;
	struct io_done d = { 0 };
	struct updk_nvme_stats st;

	/* MDTS 2: 16 KiB per command, 4096 children; 2 slots */
	rig_open(&r, "sim:nvme?size=128M,lba=512,mdts=2", 2, MIB64);
	fill_pattern(r.wbuf, MIB64, 7);
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf, 1000, MIB64 / 512, io_done_cb, &d, 0),
		     0);
	cr_assert_eq(updk_nvme_qpair_outstanding(r.qp), 2, "two children out, the rest waiting");
	wait_long(r.qp, &d);
	assert_ok(&d);
	d.done = 0;
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 1000, MIB64 / 512, io_done_cb, &d, 0),
		     0);
	wait_long(r.qp, &d);
	assert_ok(&d);
	cr_assert(!memcmp(r.wbuf, r.rbuf, MIB64), "64 MiB back as written");
	updk_nvme_qpair_get_stats(r.qp, &st);
	cr_assert_eq(st.split_ios, 2);
	cr_assert_eq(st.split_waited, 2);
	cr_assert_eq(st.cmds_submitted, 2 * 4096, "one command per 16 KiB");
	cr_assert_eq(updk_nvme_qpair_outstanding(r.qp), 0);
	rig_close(&r);
}

struct order {
	int seen[8];
	int n;
};

struct tagged {
	struct order *o;
	int tag;
	struct updk_nvme_cpl cpl;
};

static void order_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct tagged *t = arg;

	t->cpl = *cpl;
	t->o->seen[t->o->n++] = t->tag;
}

Test(nvme_split, split_ios_complete_in_order_and_eagain_only_when_the_pool_is_used_up)
{
	struct rig r;
	struct order o = { { 0 }, 0 };
	struct tagged t[4];
	size_t each = 256 * 1024; /* 32 children of 8 KiB */

	/* depth 2: two split records */
	rig_open(&r, "sim:nvme?size=16M,lba=512,mdts=1", 2, 4 * each);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct tagged){ &o, i, { 0 } };
		fill_pattern(r.wbuf + i * each, each, (uint32_t)i);
	}
	for (int i = 0; i < 2; i++)
		cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf + i * each, i * (each / 512),
						(uint32_t)(each / 512), order_cb, &t[i], 0),
			     0);
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf + 2 * each, 2 * (each / 512),
					(uint32_t)(each / 512), order_cb, &t[2], 0),
		     -EAGAIN, "every split record in use");
	/* a one-command I/O still finds no slot: -EAGAIN, as ever */
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf, 0, 1, order_cb, &t[3], 0), -EAGAIN);
	POLL_UNTIL(o.n == 2, updk_nvme_qpair_process_completions(r.qp, 0));
	cr_assert_eq(o.n, 2);
	cr_assert(o.seen[0] == 0 && o.seen[1] == 1, "queued first, completed first");
	cr_assert(!updk_nvme_cpl_is_error(&t[0].cpl) && !updk_nvme_cpl_is_error(&t[1].cpl));
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 0, (uint32_t)(2 * each / 512), order_cb,
				       &t[2], 0),
		     0);
	POLL_UNTIL(o.n == 3, updk_nvme_qpair_process_completions(r.qp, 0));
	cr_assert(!memcmp(r.wbuf, r.rbuf, 2 * each), "nothing of the two lost");
	rig_close(&r);
}

Test(nvme_split, waiting_children_fail_with_the_qpair)
{
	struct rig r;
	struct io_done d = { 0 };

	rig_open(&r, "sim:nvme?size=16M,lba=512,mdts=1", 1, 1 << 20);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 0, 2048, io_done_cb, &d, 0), 0);
	cr_assert_eq(d.done, 0);
	updk_nvme_qpair_free(r.qp);
	cr_assert_eq(d.done, 1, "completed once, by the free");
	assert_status(&d.cpl, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
	r.qp = NULL;
	rig_close(&r);
}

/* Slots freed by one-command I/Os, not children, reach the waiting children too. */
Test(nvme_split, children_wait_behind_other_commands_then_go)
{
	struct rig r;
	struct io_done a = { 0 }, b = { 0 }, s = { 0 };

	rig_open(&r, "sim:nvme?size=16M,lba=512,mdts=1", 2, 1 << 20);
	fill_pattern(r.wbuf, 1 << 20, 3);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 0, 1, io_done_cb, &a, 0), 0);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf + 4096, 8, 1, io_done_cb, &b, 0), 0);
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf, 0, 2048, io_done_cb, &s, 0), 0,
		     "no slot free: every child waits");
	cr_assert_eq(updk_nvme_qpair_outstanding(r.qp), 2);
	wait_done(r.qp, &s);
	assert_ok(&s);
	cr_assert(a.done && b.done);
	memset(r.rbuf, 0, 1 << 20);
	s.done = 0;
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 0, 2048, io_done_cb, &s, 0), 0);
	wait_done(r.qp, &s);
	cr_assert(!memcmp(r.wbuf, r.rbuf, 1 << 20));
	rig_close(&r);
}
