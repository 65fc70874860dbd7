// SPDX-License-Identifier: BSD-3-Clause
/*
 * The driver on a zoned namespace of sim:nvme: the controller is enabled with CC.CSS 110b
 * (its CAP.CSS offers a choice of I/O Command Sets), so the Zoned Namespace commands work
 * through updk_nvme_io_raw(): Zone Management Send (open), Zone Append with the LBA written in
 * the completion, a write off the write pointer named Zone Invalid Write.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "test/model/nvme_util.h"

TestSuite(nvme_zns, .init = nvme_test_mem_setup, .timeout = 60);

static int raw_sync(struct rig *r, struct updk_nvme_cmd *cmd, void *buf, uint32_t len,
		    struct io_done *d)
{
	int rc;

	d->done = 0;
	cmd->nsid = 1;
	rc = updk_nvme_io_raw(r->qp, cmd, buf, len, io_done_cb, d);
	if (!rc)
		wait_done(r->qp, d);
	return rc;
}

Test(nvme_zns, zone_commands_once_every_command_set_is_enabled)
{
	struct rig r;
	struct io_done d = { 0 };
	struct updk_nvme_cmd cmd;

	rig_open(&r, "sim:nvme?lba=4096,size=16M,zoned=1,zone_size=1M", 8, 16384);
	memset(&cmd, 0, sizeof(cmd));
	cmd.opc = 0x79; /* Zone Management Send: open zone 1 */
	cmd.cdw10 = 256;
	cmd.cdw13 = 0x03;
	cr_assert_eq(raw_sync(&r, &cmd, NULL, 0, &d), 0);
	assert_ok(&d);
	memset(&cmd, 0, sizeof(cmd));
	cmd.opc = 0x7d; /* Zone Append of 2 blocks to zone 1, twice */
	cmd.cdw10 = 256;
	cmd.cdw12 = 1;
	cr_assert_eq(raw_sync(&r, &cmd, r.wbuf, 8192, &d), 0);
	assert_ok(&d);
	cr_assert_eq(d.cpl.cdw0, 256, "the LBA Zone Append wrote");
	cr_assert_eq(raw_sync(&r, &cmd, r.wbuf, 8192, &d), 0);
	cr_assert_eq(d.cpl.cdw0 | (uint64_t)d.cpl.cdw1 << 32, 258);
	d.done = 0;
	cr_assert_eq(updk_nvme_ns_write(r.ns, r.qp, r.wbuf, 256, 1, io_done_cb, &d, 0), 0);
	wait_done(r.qp, &d);
	assert_status(&d.cpl, UPDK_NVME_SCT_CMD_SPECIFIC, UPDK_NVME_SC_ZONE_INVALID_WRITE);
	cr_assert_str_eq(updk_nvme_status_str(updk_nvme_cpl_sct(&d.cpl), updk_nvme_cpl_sc(&d.cpl)),
			 "Zone Invalid Write");
	rig_close(&r);
}
