// SPDX-License-Identifier: BSD-3-Clause
/*
 * The driver's Zoned Namespace API (<updk/nvme_zns.h>) on zoned namespaces of sim:nvme: the
 * zone geometry from the Zoned Identify data, Report Zones with its filters and partial
 * reports, the zone actions one zone at a time and with Select All, Zone Append and the LBA it
 * returns, the open and active limits, writes above the transfer limit sent child after child
 * at the write pointer, and bad input: a write off the write pointer, across a zone boundary,
 * an append above its limit or to a full zone, an open beyond the limit, a failure halfway
 * through a split write.
 * Each test looks at what the model saw (its command counters, the zones it reports) and at
 * the statuses and errors the caller gets; nothing else in flight is lost.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include <updk/nvme_zns.h>

#include "test/model/nvme_util.h"

TestSuite(nvme_zns, .init = nvme_test_mem_setup, .timeout = 60);

/* 16 zones of 256 blocks of 4 KiB, capacity 192; at most 2 open and 3 active; ZASL 2^1 pages */
#define ZONED                                                                       \
	"sim:nvme?lba=4096,size=16M,zoned=1,zone_size=1M,zone_cap=768K,max_open=2," \
	"max_active=3,zasl=1"
#define ZSZE 256
#define ZCAP 192

static uint64_t io_cmds(struct rig *r, uint8_t opc)
{
	struct sim_nvme_stats st;

	cr_assert_eq(sim_nvme_stats(ctrlr_dev(r->c), &st), 0);
	return st.io_cmds[opc];
}

static void send_sync(struct rig *r, uint64_t slba, enum updk_nvme_zone_action a, bool all,
		      struct io_done *d)
{
	d->done = 0;
	cr_assert_eq(updk_nvme_zns_zone_send(r->ns, r->qp, slba, a, all, io_done_cb, d), 0);
	wait_done(r->qp, d);
}

static uint64_t append_sync(struct rig *r, uint64_t zslba, uint32_t nlb, struct io_done *d)
{
	d->done = 0;
	cr_assert_eq(updk_nvme_zns_zone_append(r->ns, r->qp, r->wbuf, zslba, nlb, io_done_cb, d, 0),
		     0);
	wait_done(r->qp, d);
	return updk_nvme_zns_append_lba(&d->cpl);
}

/* Report from @slba with @filter into rbuf (@len bytes); returns the header's count. */
static uint64_t report_sync(struct rig *r, uint64_t slba, enum updk_nvme_zone_filter filter,
			    bool partial, uint32_t len)
{
	struct io_done d = { 0 };

	memset(r->rbuf, 0xa5, len);
	cr_assert_eq(updk_nvme_zns_report_zones(r->ns, r->qp, r->rbuf, len, slba, filter, partial,
						io_done_cb, &d),
		     0);
	wait_done(r->qp, &d);
	assert_ok(&d);
	return ((struct updk_nvme_zone_report *)r->rbuf)->nr_zones;
}

static const struct updk_nvme_zone_desc *zone(struct rig *r, unsigned i)
{
	return &((struct updk_nvme_zone_report *)r->rbuf)->descs[i];
}

Test(nvme_zns, geometry_from_the_zoned_identify_data)
{
	struct updk_nvme_zns_id_ctrl idc;
	struct rig r;

	rig_open(&r, ZONED ",mdts=3", 8, 65536);
	cr_assert(updk_nvme_ns_is_zoned(r.ns));
	cr_assert_eq(updk_nvme_zns_zone_size(r.ns), ZSZE);
	cr_assert_eq(updk_nvme_zns_num_zones(r.ns), 16);
	cr_assert_eq(updk_nvme_zns_max_open_zones(r.ns), 2);
	cr_assert_eq(updk_nvme_zns_max_active_zones(r.ns), 3);
	/* ZASL 1: two 4 KiB pages, below MDTS (2^3 pages) */
	cr_assert_eq(updk_nvme_zns_append_max_sectors(r.ns), 2);
	cr_assert_eq(updk_nvme_zns_ns_data(r.ns)->lbafe[0].zsze, ZSZE);
	cr_assert_eq(updk_nvme_zns_ns_data(r.ns)->ozcs & 1, 1, "reads cross zones");
	cr_assert_eq(updk_nvme_zns_identify_ctrlr(r.c, &idc), 0);
	cr_assert_eq(idc.zasl, 1);
	cr_assert_str_eq(updk_nvme_zone_state_str(UPDK_NVME_ZS_IMPLICIT_OPEN), "IMP_OPENED");
	rig_close(&r);

	/* without a limit of their own, appends go up to the transfer limit */
	rig_open(&r, "sim:nvme?lba=4096,size=16M,zoned=1,zone_size=1M,mdts=3", 8, 65536);
	cr_assert_eq(updk_nvme_zns_append_max_sectors(r.ns), 8);
	cr_assert_eq(updk_nvme_zns_max_open_zones(r.ns), 0, "no limit");
	rig_close(&r);
}

Test(nvme_zns, a_namespace_that_is_not_zoned_is_refused_by_name)
{
	struct updk_nvme_zns_id_ctrl idc;
	struct log_capture lc;
	struct io_done d = { 0 };
	struct rig r;
	char *log;

	rig_open(&r, "sim:nvme?lba=4096,size=16M", 8, 65536);
	cr_assert_not(updk_nvme_ns_is_zoned(r.ns));
	cr_assert_null(updk_nvme_zns_ns_data(r.ns));
	cr_assert_eq(updk_nvme_zns_zone_size(r.ns), 0);
	log_capture_start(&lc);
	cr_assert_eq(updk_nvme_zns_zone_append(r.ns, r.qp, r.wbuf, 0, 1, io_done_cb, &d, 0),
		     -EINVAL);
	cr_assert_eq(
		updk_nvme_zns_zone_send(r.ns, r.qp, 0, UPDK_NVME_ZSA_OPEN, false, io_done_cb, &d),
		-EINVAL);
	cr_assert_eq(updk_nvme_zns_identify_ctrlr(r.c, &idc), 0, "the model has the command set");
	log = log_capture_stop(&lc);
	cr_assert(strstr(log, "namespace 1: zone append needs a zoned namespace"), "%s", log);
	free(log);
	cr_assert_eq(io_cmds(&r, UPDK_NVME_OPC_ZONE_APPEND), 0, "nothing reached the device");
	rig_close(&r);
}

Test(nvme_zns, zone_append_returns_the_lba_and_the_data_is_there)
{
	struct io_done d = { 0 };
	struct rig r;

	rig_open(&r, ZONED, 8, 65536);
	fill(r.wbuf, 8192, 1);
	cr_assert_eq(append_sync(&r, ZSZE, 2, &d), ZSZE);
	assert_ok(&d);
	fill(r.wbuf, 8192, 2);
	cr_assert_eq(append_sync(&r, ZSZE, 2, &d), ZSZE + 2);
	read_sync(&r, r.rbuf, ZSZE + 2, 2);
	cr_assert_arr_eq(r.rbuf, r.wbuf, 8192);
	fill(r.wbuf, 8192, 1);
	read_sync(&r, r.rbuf, ZSZE, 2);
	cr_assert_arr_eq(r.rbuf, r.wbuf, 8192);
	cr_assert_eq(io_cmds(&r, UPDK_NVME_OPC_ZONE_APPEND), 2);
	/* the zone reports its write pointer there, implicitly opened */
	cr_assert_eq(report_sync(&r, ZSZE, UPDK_NVME_ZRASF_ALL, true, 128), 1);
	cr_assert_eq(zone(&r, 0)->zslba, ZSZE);
	cr_assert_eq(zone(&r, 0)->wp, ZSZE + 4);
	cr_assert_eq(zone(&r, 0)->zcap, ZCAP);
	cr_assert_eq(updk_nvme_zone_state_of(zone(&r, 0)), UPDK_NVME_ZS_IMPLICIT_OPEN);
	cr_assert_eq(zone(&r, 0)->zt, UPDK_NVME_ZONE_TYPE_SEQWRITE_REQ);
	rig_close(&r);
}

Test(nvme_zns, report_zones_filters_and_partial_reports)
{
	struct io_done d = { 0 };
	struct rig r;

	rig_open(&r, ZONED, 8, 65536);
	send_sync(&r, 2 * ZSZE, UPDK_NVME_ZSA_OPEN, false, &d);
	assert_ok(&d);
	send_sync(&r, 5 * ZSZE, UPDK_NVME_ZSA_FINISH, false, &d);
	assert_ok(&d);
	/* every zone, from zone 0: 16 descriptors fit in 64 + 16 * 64 bytes */
	cr_assert_eq(report_sync(&r, 0, UPDK_NVME_ZRASF_ALL, false, 64 + 16 * 64), 16);
	for (unsigned i = 0; i < 16; i++) {
		enum updk_nvme_zone_state want = i == 2 ? UPDK_NVME_ZS_EXPLICIT_OPEN :
						 i == 5 ? UPDK_NVME_ZS_FULL :
							  UPDK_NVME_ZS_EMPTY;

		cr_assert_eq(zone(&r, i)->zslba, (uint64_t)i * ZSZE);
		cr_assert_eq(updk_nvme_zone_state_of(zone(&r, i)), want, "zone %u", i);
	}
	cr_assert_eq(zone(&r, 5)->wp, 5 * ZSZE + ZCAP, "finished: the pointer at the capacity");
	/* filters */
	cr_assert_eq(report_sync(&r, 0, UPDK_NVME_ZRASF_EXPLICIT_OPEN, false, 4096), 1);
	cr_assert_eq(zone(&r, 0)->zslba, 2 * ZSZE);
	cr_assert_eq(report_sync(&r, 0, UPDK_NVME_ZRASF_FULL, false, 4096), 1);
	cr_assert_eq(zone(&r, 0)->zslba, 5 * ZSZE);
	cr_assert_eq(report_sync(&r, 0, UPDK_NVME_ZRASF_EMPTY, false, 4096), 14);
	/* from the middle of zone 3 on: zones 3..15 */
	cr_assert_eq(report_sync(&r, 3 * ZSZE + 7, UPDK_NVME_ZRASF_ALL, false, 4096), 13);
	cr_assert_eq(zone(&r, 0)->zslba, 3 * ZSZE);
	/* room for 2: a partial report counts those, a full one every zone that matches */
	cr_assert_eq(report_sync(&r, 0, UPDK_NVME_ZRASF_ALL, true, 64 + 2 * 64), 2);
	cr_assert_eq(report_sync(&r, 0, UPDK_NVME_ZRASF_ALL, false, 64 + 2 * 64), 16);
	cr_assert_eq(io_cmds(&r, UPDK_NVME_OPC_ZONE_MGMT_RECV), 7);
	rig_close(&r);
}

Test(nvme_zns, zone_actions_one_zone_and_select_all)
{
	struct io_done d = { 0 };
	struct rig r;

	rig_open(&r, ZONED, 8, 65536);
	fill(r.wbuf, 4096, 3);
	write_sync(&r, r.wbuf, 0, 1, 0);
	send_sync(&r, ZSZE, UPDK_NVME_ZSA_OPEN, false, &d);
	assert_ok(&d);
	send_sync(&r, 0, UPDK_NVME_ZSA_CLOSE, false, &d);
	assert_ok(&d);
	report_sync(&r, 0, UPDK_NVME_ZRASF_ALL, true, 64 + 2 * 64);
	cr_assert_eq(updk_nvme_zone_state_of(zone(&r, 0)), UPDK_NVME_ZS_CLOSED);
	cr_assert_eq(zone(&r, 0)->wp, 1);
	cr_assert_eq(updk_nvme_zone_state_of(zone(&r, 1)), UPDK_NVME_ZS_EXPLICIT_OPEN);
	/* closing an empty zone is no transition the state machine has */
	send_sync(&r, 4 * ZSZE, UPDK_NVME_ZSA_CLOSE, false, &d);
	assert_status(&d.cpl, UPDK_NVME_SCT_CMD_SPECIFIC,
		      UPDK_NVME_SC_INVALID_ZONE_STATE_TRANSITION);
	/* finish everything open or closed, then reset everything */
	send_sync(&r, 0, UPDK_NVME_ZSA_FINISH, true, &d);
	assert_ok(&d);
	cr_assert_eq(report_sync(&r, 0, UPDK_NVME_ZRASF_FULL, false, 4096), 2);
	send_sync(&r, 0, UPDK_NVME_ZSA_RESET, true, &d);
	assert_ok(&d);
	cr_assert_eq(report_sync(&r, 0, UPDK_NVME_ZRASF_EMPTY, false, 4096), 16);
	read_sync(&r, r.rbuf, 0, 1);
	cr_assert_eq(((uint32_t *)r.rbuf)[0], 0, "a reset zone reads zeroes");
	/* offline: only from read only (the media gave up) */
	send_sync(&r, 7 * ZSZE, UPDK_NVME_ZSA_OFFLINE, false, &d);
	assert_status(&d.cpl, UPDK_NVME_SCT_CMD_SPECIFIC,
		      UPDK_NVME_SC_INVALID_ZONE_STATE_TRANSITION);
	cr_assert_eq(sim_nvme_zone_read_only(ctrlr_dev(r.c), 1, 7 * ZSZE), 0);
	send_sync(&r, 7 * ZSZE, UPDK_NVME_ZSA_OFFLINE, false, &d);
	assert_ok(&d);
	cr_assert_eq(report_sync(&r, 0, UPDK_NVME_ZRASF_OFFLINE, false, 4096), 1);
	cr_assert_eq(zone(&r, 0)->zslba, 7 * ZSZE);
	cr_assert_eq(io_cmds(&r, UPDK_NVME_OPC_ZONE_MGMT_SEND), 7);
	rig_close(&r);
}

Test(nvme_zns, open_and_active_limits_are_named)
{
	struct io_done d = { 0 };
	struct rig r;

	rig_open(&r, ZONED, 8, 65536);
	send_sync(&r, 0, UPDK_NVME_ZSA_OPEN, false, &d);
	assert_ok(&d);
	send_sync(&r, ZSZE, UPDK_NVME_ZSA_OPEN, false, &d);
	assert_ok(&d);
	send_sync(&r, 2 * ZSZE, UPDK_NVME_ZSA_OPEN, false, &d);
	assert_status(&d.cpl, UPDK_NVME_SCT_CMD_SPECIFIC, UPDK_NVME_SC_TOO_MANY_OPEN_ZONES);
	cr_assert_str_eq(updk_nvme_status_str(updk_nvme_cpl_sct(&d.cpl), updk_nvme_cpl_sc(&d.cpl)),
			 "Too Many Open Zones");
	/* two closed and one more open: three active, the limit; a fourth zone cannot start */
	send_sync(&r, 0, UPDK_NVME_ZSA_CLOSE, true, &d);
	assert_ok(&d);
	send_sync(&r, 2 * ZSZE, UPDK_NVME_ZSA_OPEN, false, &d);
	assert_ok(&d);
	append_sync(&r, 3 * ZSZE, 1, &d);
	assert_status(&d.cpl, UPDK_NVME_SCT_CMD_SPECIFIC, UPDK_NVME_SC_TOO_MANY_ACTIVE_ZONES);
	/* finishing one frees its resource: the fourth zone takes appends */
	send_sync(&r, 0, UPDK_NVME_ZSA_FINISH, false, &d);
	assert_ok(&d);
	cr_assert_eq(append_sync(&r, 3 * ZSZE, 1, &d), 3 * ZSZE);
	assert_ok(&d);
	rig_close(&r);
}

Test(nvme_zns, bad_writes_get_named_statuses_and_lose_nothing_else)
{
	struct io_done d = { 0 }, a = { 0 }, w = { 0 };
	struct log_capture lc;
	uint64_t before;
	struct rig r;
	char *log;

	rig_open(&r, ZONED ",mdts=2", 8, 65536);
	fill(r.wbuf, 65536, 7);
	/* off the write pointer, with an append to another zone in flight beside it */
	cr_assert_eq(updk_nvme_zns_zone_append(r.ns, r.qp, r.wbuf, 4 * ZSZE, 2, io_done_cb, &a, 0),
		     0);
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf, ZSZE + 1, 1, io_done_cb, &w, 0), 0);
	wait_done(r.qp, &a);
	wait_done(r.qp, &w);
	assert_ok(&a);
	cr_assert_eq(updk_nvme_zns_append_lba(&a.cpl), 4 * ZSZE);
	assert_status(&w.cpl, UPDK_NVME_SCT_CMD_SPECIFIC, UPDK_NVME_SC_ZONE_INVALID_WRITE);
	/* across the zone's capacity */
	write_sync(&r, r.wbuf, 0, 4, 0);
	send_sync(&r, 0, UPDK_NVME_ZSA_OPEN, false, &d);
	for (uint64_t lba = 4; lba + 4 <= ZCAP - 2; lba += 4)
		write_sync(&r, r.wbuf, lba, 4, 0);
	write_sync(&r, r.wbuf, ZCAP - 4, 2, 0);
	d.done = 0;
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf, ZCAP - 2, 4, io_done_cb, &d, 0), 0);
	wait_done(r.qp, &d);
	assert_status(&d.cpl, UPDK_NVME_SCT_CMD_SPECIFIC, UPDK_NVME_SC_ZONE_BOUNDARY_ERROR);
	write_sync(&r, r.wbuf, ZCAP - 2, 2, 0);
	/* the zone is full: appends are refused by name */
	append_sync(&r, 0, 1, &d);
	assert_status(&d.cpl, UPDK_NVME_SCT_CMD_SPECIFIC, UPDK_NVME_SC_ZONE_IS_FULL);
	read_sync(&r, r.rbuf, 4 * ZSZE, 2);
	cr_assert_arr_eq(r.rbuf, r.wbuf, 8192, "the append beside the bad write landed");
	/* what the driver refuses itself, before the device sees it */
	before = io_cmds(&r, UPDK_NVME_OPC_ZONE_APPEND) + io_cmds(&r, UPDK_NVME_OPC_WRITE);
	log_capture_start(&lc);
	cr_assert_eq(updk_nvme_zns_zone_append(r.ns, r.qp, r.wbuf, 6 * ZSZE, 3, io_done_cb, &d, 0),
		     -EINVAL, "above ZASL");
	cr_assert_eq(
		updk_nvme_zns_zone_append(r.ns, r.qp, r.wbuf, 6 * ZSZE + 1, 1, io_done_cb, &d, 0),
		-EINVAL, "not a zone's start");
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf, 7 * ZSZE - 4, 8, io_done_cb, &d, 0),
		     -EINVAL, "a write split at MDTS (4 blocks) across two zones");
	cr_assert_eq(updk_nvme_zns_report_zones(r.ns, r.qp, r.rbuf, 60, 0, UPDK_NVME_ZRASF_ALL,
						false, io_done_cb, &d),
		     -EINVAL, "a report needs 64 bytes");
	cr_assert_eq(updk_nvme_zns_zone_send(r.ns, r.qp, 0, (enum updk_nvme_zone_action)9, false,
					     io_done_cb, &d),
		     -EINVAL);
	log = log_capture_stop(&lc);
	cr_assert(strstr(log, "zone append: LBA 1537 is not the start of a zone"), "%s", log);
	cr_assert(strstr(log, "crosses from zone 6 into zone 7 (zones of 256 blocks)"), "%s", log);
	cr_assert(strstr(log, "a zone append of 3 blocks is above the Zone Append Size Limit (2 "
			      "blocks) and cannot be split"),
		  "%s", log);
	free(log);
	cr_assert_eq(io_cmds(&r, UPDK_NVME_OPC_ZONE_APPEND) + io_cmds(&r, UPDK_NVME_OPC_WRITE),
		     before);
	cr_assert_eq(updk_nvme_qpair_outstanding(r.qp), 0);
	rig_close(&r);
}

static uint64_t cmds_submitted(struct updk_nvme_qpair *qp)
{
	struct updk_nvme_stats st;

	updk_nvme_qpair_get_stats(qp, &st);
	return st.cmds_submitted;
}

/* The zone at @zslba as Report Zones gives it (into rbuf). */
static const struct updk_nvme_zone_desc *zone_at(struct rig *r, uint64_t zslba)
{
	cr_assert_geq(report_sync(r, zslba, UPDK_NVME_ZRASF_ALL, true, 128), 1);
	cr_assert_eq(zone(r, 0)->zslba, zslba);
	return zone(r, 0);
}

Test(nvme_zns, a_write_above_mdts_goes_child_after_child_at_the_write_pointer)
{
	struct updk_pci_dev *dev;
	struct io_done a = { 0 }, b = { 0 }, rd = { 0 };
	uint64_t before;
	struct rig r;

	/* 16 KiB a command (4 blocks); three slots (and split records), so children also wait
	 * for slots */
	rig_open(&r, ZONED ",mdts=2", 3, 1 << 20);
	dev = ctrlr_dev(r.c);
	fill(r.wbuf, 1 << 20, 11);
	/* with the controller standing still, only the first child of 16 is sent: a second
	 * one could be run before it and miss the write pointer */
	before = cmds_submitted(r.qp);
	cr_assert_eq(sim_nvme_pause(dev, true), 0);
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf, 0, 64, io_done_cb, &a, 0), 0);
	for (int i = 0; i < 100; i++)
		cr_assert_geq(updk_nvme_qpair_process_completions(r.qp, 0), 0);
	cr_assert_eq(cmds_submitted(r.qp) - before, 1, "one child at a time");
	cr_assert_eq(a.done, 0);
	/* a second zone's write and a split read beside it take the other slots */
	cr_assert_eq(
		updk_nvme_ns_write(r.ns, r.qp, r.wbuf + (64 << 12), ZSZE, 128, io_done_cb, &b, 0),
		0);
	cr_assert_eq(updk_nvme_ns_read(r.ns, r.qp, r.rbuf, 8 * ZSZE, 64, io_done_cb, &rd, 0), 0);
	cr_assert_eq(cmds_submitted(r.qp) - before, 3, "one child of each, the read's rest wait");
	cr_assert_eq(sim_nvme_pause(dev, false), 0);
	wait_done(r.qp, &a);
	wait_done(r.qp, &b);
	wait_done(r.qp, &rd);
	assert_ok(&a);
	assert_ok(&b);
	assert_ok(&rd);
	cr_assert_eq(a.done + b.done + rd.done, 3, "each completed once");
	cr_assert_eq(io_cmds(&r, UPDK_NVME_OPC_WRITE), 16 + 32);
	cr_assert_eq(updk_nvme_qpair_outstanding(r.qp), 0);
	/* the write pointers where the writes ended, and the bytes there */
	cr_assert_eq(zone_at(&r, 0)->wp, 64);
	cr_assert_eq(updk_nvme_zone_state_of(zone(&r, 0)), UPDK_NVME_ZS_IMPLICIT_OPEN);
	cr_assert_eq(zone_at(&r, ZSZE)->wp, ZSZE + 128);
	memset(r.rbuf, 0, 1 << 20);
	read_sync(&r, r.rbuf, 0, 64);
	read_sync(&r, r.rbuf + (64 << 12), ZSZE, 128);
	cr_assert_arr_eq(r.rbuf, r.wbuf, 192 << 12);
	/* on from the write pointer, up to the zone's capacity: the zone is full */
	a.done = 0;
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf, 64, ZCAP - 64, io_done_cb, &a, 0), 0);
	wait_done(r.qp, &a);
	assert_ok(&a);
	cr_assert_eq(zone_at(&r, 0)->wp, ZCAP);
	cr_assert_eq(updk_nvme_zone_state_of(zone(&r, 0)), UPDK_NVME_ZS_FULL);
	rig_close(&r);
}

Test(nvme_zns, a_failure_halfway_fails_the_write_and_sends_nothing_after_it)
{
	struct io_done d = { 0 }, ap = { 0 };
	uint64_t writes;
	struct rig r;

	rig_open(&r, ZONED ",mdts=2", 8, 1 << 20);
	fill(r.wbuf, 1 << 20, 5);
	/* 182 blocks in, 10 left of the capacity (192) */
	write_sync(&r, r.wbuf, 0, 182, 0);
	writes = io_cmds(&r, UPDK_NVME_OPC_WRITE);
	cr_assert_eq(writes, 46);
	/* 32 blocks: children at 182 and 186 fit, the one at 190 crosses the capacity, five
	 * more would follow; an append to another zone is in flight beside it */
	fill(r.wbuf, 1 << 20, 6);
	cr_assert_eq(updk_nvme_zns_zone_append(r.ns, r.qp, r.wbuf + (512 << 10), 3 * ZSZE, 2,
					       io_done_cb, &ap, 0),
		     0);
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf, 182, 32, io_done_cb, &d, 0), 0);
	wait_done(r.qp, &d);
	wait_done(r.qp, &ap);
	cr_assert_eq(d.done, 1);
	assert_status(&d.cpl, UPDK_NVME_SCT_CMD_SPECIFIC, UPDK_NVME_SC_ZONE_BOUNDARY_ERROR);
	cr_assert_eq(io_cmds(&r, UPDK_NVME_OPC_WRITE) - writes, 3,
		     "nothing sent after the failure");
	cr_assert_eq(updk_nvme_qpair_outstanding(r.qp), 0);
	assert_ok(&ap);
	cr_assert_eq(updk_nvme_zns_append_lba(&ap.cpl), 3 * ZSZE);
	/* the blocks before the failure are written, the write pointer after them */
	cr_assert_eq(zone_at(&r, 0)->wp, 190);
	read_sync(&r, r.rbuf, 182, 8);
	cr_assert_arr_eq(r.rbuf, r.wbuf, 8 << 12);
	read_sync(&r, r.rbuf, 3 * ZSZE, 2);
	cr_assert_arr_eq(r.rbuf, r.wbuf + (512 << 10), 2 << 12, "the append beside it landed");
	/* the rest of the capacity still takes the write it was meant for */
	write_sync(&r, r.wbuf + (8 << 12), 190, 2, 0);
	cr_assert_eq(updk_nvme_zone_state_of(zone_at(&r, 0)), UPDK_NVME_ZS_FULL);
	rig_close(&r);
}

Test(nvme_zns, a_split_write_waiting_for_its_next_child_fails_with_the_qpair)
{
	struct io_done d = { 0 };
	struct rig r;

	rig_open(&r, ZONED ",mdts=2", 4, 1 << 20);
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf, 0, 64, io_done_cb, &d, 0), 0);
	/* not polled: the first child is all that was sent, done or not by now; the qpair
	 * being freed sends no other, and ends the write once */
	updk_nvme_qpair_free(r.qp);
	cr_assert_eq(d.done, 1, "completed once, by the free");
	cr_assert(updk_nvme_cpl_is_error(&d.cpl));
	r.qp = alloc_qp(r.c, 4);
	cr_assert_leq(zone_at(&r, 0)->wp, 4, "the first child at most reached the zone");
	rig_close(&r);
}
