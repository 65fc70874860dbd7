// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvme zns on zoned namespaces of sim:nvme, as a user runs it: nvme-cli's subcommands,
 * option names and JSON fields (id-ctrl, id-ns, report-zones, the zone actions, zone-append),
 * and the message and status for each kind of bad input. Each run is its own process, with a
 * fresh simulated namespace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "test/model/tool_run.h"

TestSuite(nvme_zns_tool, .timeout = 60);

/* 16 zones of 256 blocks of 4 KiB, capacity 192, at most 2 open; ZASL 2 pages */
#define DEV "'sim:nvme?lba=4096,size=16M,zoned=1,zone_size=1M,zone_cap=768K,max_open=2,zasl=1'"

Test(nvme_zns_tool, id_ctrl_and_id_ns)
{
	char *o;

	cr_assert_eq(run(&o, "$T zns id-ctrl " DEV " 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "NVMe ZNS Identify Controller:"), "%s", o);
	cr_expect(strstr(o, "zasl      : 1"), "%s", o);
	free(o);
	cr_assert_eq(run(&o, "$T zns id-ns " DEV " -n 1 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "mor       : 0x1"), "%s", o);
	cr_expect(strstr(o, "mar       : 0xffffffff"), "no active limit: %s", o);
	cr_expect(strstr(o, "lbafe  0: zsze:0x100 zdes:0 (in use)"), "%s", o);
	free(o);
	cr_assert_eq(run(&o, "$T zns id-ns " DEV " -o json 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "\"mor\":1,"), "%s", o);
	cr_expect(strstr(o, "\"ozcs\":1,"), "%s", o);
	cr_expect(strstr(o, "\"lbafe\":["), "%s", o);
	cr_expect(strstr(o, "\"zsze\":256,"), "%s", o);
	free(o);
}

Test(nvme_zns_tool, report_zones_normal_json_and_filters)
{
	char *o;

	cr_assert_eq(run(&o, "$T zns report-zones " DEV " 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "nr_zones: 16\n"), "%s", o);
	cr_expect(strstr(o, "SLBA: 0xf00      WP: 0xf00      Cap: 0xc0       State: EMPTY"), "%s",
		  o);
	cr_expect(strstr(o, "Type: SEQWRITE_REQ"), "%s", o);
	free(o);
	cr_assert_eq(run(&o, "$T zns report-zones " DEV " -s 0x300 -d 2 -o json 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "\"nr_zones\":2,"), "%s", o);
	cr_expect(strstr(o, "\"zone_list\":["), "%s", o);
	cr_expect(strstr(o, "\"slba\":768,"), "%s", o);
	cr_expect(strstr(o, "\"slba\":1024,"), "%s", o);
	cr_expect_not(strstr(o, "\"slba\":1280,"), "two zones only: %s", o);
	cr_expect(strstr(o, "\"state\":\"EMPTY\""), "%s", o);
	cr_expect(strstr(o, "\"cap\":192,"), "%s", o);
	cr_expect(strstr(o, "\"attrs_info\":0"), "%s", o);
	free(o);
	cr_assert_eq(run(&o, "$T zns report-zones " DEV " --state 5 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "nr_zones: 0\n"), "no full zone: %s", o);
	free(o);
}

Test(nvme_zns_tool, zone_actions_and_append)
{
	char *o;

	cr_assert_eq(run(&o, "$T zns open-zone " DEV " -s 0x100 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "zns-open-zone: Success, action:3 zone:100 all:0 nsid:1"), "%s", o);
	free(o);
	cr_assert_eq(run(&o, "$T zns reset-zone " DEV " -a 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "zns-reset-zone: Success, action:4 zone:0 all:1 nsid:1"), "%s", o);
	free(o);
	cr_assert_eq(run(&o, "$T zns finish-zone " DEV " --start-lba 0 2>&1"), 0, "%s", o);
	free(o);
	cr_assert_eq(run(&o, "$T zns close-zone " DEV " -a 2>&1"), 0, "%s", o);
	free(o);
	cr_assert_eq(run(&o, "$T zns zone-mgmt-send " DEV " -s 0x200 --zsa 2 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "zns-zone-mgmt-send: Success, action:2 zone:200"), "%s", o);
	free(o);
	cr_assert_eq(run(&o, "echo hello | $T zns zone-append " DEV " --zslba 0x300 -z 8192 2>&1"),
		     0, "%s", o);
	cr_expect(strstr(o, "Success appended data to LBA 300"), "%s", o);
	free(o);
}

Test(nvme_zns_tool, bad_input_is_refused_with_a_reason)
{
	static const struct tool_case cases[] = {
		{ "zns id-ns sim:nvme", 1, "namespace 1 is not zoned (its command set is 00h" },
		{ "zns report-zones " DEV " --state 9", 2, "--state is 0..7, not 9" },
		{ "zns open-zone " DEV " -s 1", 1, "LBA 1 is not the start of a zone" },
		{ "zns offline-zone " DEV " -s 0", 1,
		  "NVMe status: Invalid Zone State Transition (sct 0x1, sc 0xbf)" },
		{ "zns zone-mgmt-send " DEV " -s 0", 2, "--zsa is 1 close, 2 finish" },
		{ "zns zone-append " DEV " -s 0 -z 100", 1,
		  "must be a multiple of the block size" },
		{ "zns zone-append " DEV " -s 0 -z 12288", 1, "at most 2 blocks" },
		{ "zns zone-append " DEV " -s 0 -z 4096 --zsa 1", 2, "is not valid here" },
		{ "zns report-zones", 2, "give one device" },
		{ "zns frobnicate " DEV, 2, "unknown command 'frobnicate'" },
		{ "zns report-zones " DEV " -n 7", 1, "namespace 7 is not active" },
	};
	char *o;

	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
	cr_assert_eq(run(&o, "$T zns help"), 0);
	cr_expect(strstr(o, "report-zones") && strstr(o, "zone-append") && strstr(o, "reset-zone"));
	free(o);
}
