// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf over loopback with sim:nvme behind it, driven by a small NVMe/TCP host
 * (test/common/nvmf_host.c): the Fabrics commands, Identify of the fabric controller and its
 * namespaces, data written through the target and read back (in the capsule, on R2T, with and
 * without digests), the Discovery log, and a clean stop on SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "test/common/nvmf_host.h"

#define NQN "nqn.2026-12.io.updk:test1"

static struct nvmf_target_proc tgt;

static void start(const char *dev)
{
	const char *args[] = { "--nqn", NQN, dev, NULL };

	nvmf_target_start(&tgt, args);
}

static void stop_clean(void)
{
	int st = nvmf_target_stop(&tgt, SIGTERM);

	cr_assert_eq(st, 0, "updk-nvmf exited with %d:\n%s", st, tgt.log);
	free(tgt.log);
}

/* Admin queue connected and enabled, queues granted, I/O queue 1 connected. */
static void connect_both(struct nvmf_host *adm, struct nvmf_host *io)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_SET_FEATURES };
	struct updk_nvme_cpl cpl;

	cr_assert_eq(nvmf_host_admin(adm, tgt.port, NQN, TEST_HOSTNQN), 0);
	cmd.cdw10 = UPDK_NVME_FEAT_NUMBER_OF_QUEUES;
	cmd.cdw11 = 3 << 16 | 3;
	cr_assert_eq(nvmf_host_cmd(adm, &cmd, NULL, 0, NULL, 0, &cpl), 0);
	cr_assert_not(updk_nvme_cpl_is_error(&cpl));
	cr_assert_eq(cpl.cdw0, 3u << 16 | 3);
	cr_assert_eq(nvmf_host_io(io, tgt.port, NQN, TEST_HOSTNQN, adm->cntlid, 1), 0);
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 9));
}

Test(nvmf_target, identify_the_fabric_controller)
{
	struct nvmf_host adm;
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_IDENTIFY };
	struct updk_nvme_cpl cpl;
	static struct updk_nvme_id_ctrl id;
	static struct updk_nvme_id_ns ns;
	uint32_t list[1024];

	start("sim:nvme?ns=2,size=16M,lba=4096");
	cr_assert_eq(nvmf_host_admin(&adm, tgt.port, NQN, TEST_HOSTNQN), 0);
	cmd.cdw10 = 1;
	cr_assert_eq(nvmf_host_cmd(&adm, &cmd, NULL, 0, &id, sizeof(id), &cpl), 0);
	cr_assert_not(updk_nvme_cpl_is_error(&cpl));
	cr_assert_str_eq(id.subnqn, NQN);
	cr_assert_eq(id.cntlid, adm.cntlid);
	cr_assert_eq(id.cntrltype, UPDK_NVME_CNTRLTYPE_IO);
	cr_assert_eq(id.nn, 2);
	cr_assert_eq(id.ioccsz, (64 + 8192) / 16);
	cr_assert_eq(id.iorcsz, 1);
	cr_assert_eq(id.icdoff, 0);
	cr_assert_eq(id.sgls & 3, 1);
	cr_assert_gt(id.kas, 0);
	cr_assert_eq(id.sqes, 0x66);
	cr_assert_eq(id.maxcmd, 128);

	cmd = (struct updk_nvme_cmd){ .opc = UPDK_NVME_OPC_IDENTIFY, .nsid = 2, .cdw10 = 0 };
	cr_assert_eq(nvmf_host_cmd(&adm, &cmd, NULL, 0, &ns, sizeof(ns), &cpl), 0);
	cr_assert_not(updk_nvme_cpl_is_error(&cpl));
	cr_assert_eq(ns.nsze, 16u * 1024 * 1024 / 4096);
	cr_assert_eq(ns.lbaf[ns.flbas & 0xf].lbads, 12);
	cr_assert_eq(ns.lbaf[0].ms, 0);

	cmd = (struct updk_nvme_cmd){ .opc = UPDK_NVME_OPC_IDENTIFY, .nsid = 0, .cdw10 = 2 };
	cr_assert_eq(nvmf_host_cmd(&adm, &cmd, NULL, 0, list, sizeof(list), &cpl), 0);
	cr_assert_eq(list[0], 1);
	cr_assert_eq(list[1], 2);
	cr_assert_eq(list[2], 0);

	cmd = (struct updk_nvme_cmd){ .opc = UPDK_NVME_OPC_IDENTIFY, .nsid = 3, .cdw10 = 0 };
	cr_assert_eq(nvmf_host_cmd(&adm, &cmd, NULL, 0, &ns, sizeof(ns), &cpl), 0);
	cr_assert_eq(updk_nvme_cpl_sc(&cpl), UPDK_NVME_SC_INVALID_NAMESPACE);
	nvmf_host_close(&adm);
	stop_clean();
}

/*
 * I/O queue 1 again, on a new connection with these digests. The target learns that the old
 * connection closed on its poller's next turn and refuses the queue ID as already connected
 * until then, as a host that reconnects at once may see: try again on a new connection.
 */
static void reconnect_io(struct nvmf_host *io, const struct nvmf_host *adm, bool hdgst, bool ddgst)
{
	struct updk_nvme_cpl cpl;

	for (int tries = 0;; tries++) {
		cr_assert_eq(nvmf_host_open(io, tgt.port, hdgst, ddgst), 0);
		cr_assert_eq(io->hdgst, hdgst);
		cr_assert_eq(io->ddgst, ddgst);
		io->icd_max = 8192;
		cr_assert_eq(
			nvmf_host_fconnect(io, NQN, TEST_HOSTNQN, 1, 127, adm->cntlid, 0, &cpl), 0);
		if (!updk_nvme_cpl_is_error(&cpl))
			return;
		cr_assert_lt(tries, 1000, "I/O queue 1 still refused after 10 s: status %#x",
			     cpl.status);
		nvmf_host_close(io);
		usleep(10000);
	}
}

/* Write and read back through the target: in the capsule, on R2T, small and large. */
static void round_trips(bool hdgst, bool ddgst)
{
	struct nvmf_host adm, io;
	static uint8_t out[128 * 1024], in[128 * 1024];
	struct updk_nvme_cpl cpl;
	const uint32_t sizes[] = { 4096, 8192, 12288, 65536, 131072 };

	start("sim:nvme?ns=1,size=64M,lba=512");
	connect_both(&adm, &io);
	if (hdgst || ddgst) {
		nvmf_host_close(&io);
		reconnect_io(&io, &adm, hdgst, ddgst);
	}
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint32_t n = sizes[k];

		for (int icd = 0; icd < 2; icd++) {
			io.icd = icd;
			pattern(out, n, k * 2 + (unsigned)icd);
			memset(in, 0, n);
			cr_assert_eq(nvmf_host_rw(&io, true, 1, 1000 * k, n / 512, out, n, &cpl), 0,
				     "write %u bytes (icd %d): status %#x", n, icd, cpl.status);
			cr_assert_eq(nvmf_host_rw(&io, false, 1, 1000 * k, n / 512, in, n, &cpl),
				     0);
			cr_assert_not(io.ddgst_error);
			cr_assert_eq(memcmp(in, out, n), 0, "%u bytes (icd %d) read back differ", n,
				     icd);
		}
	}
	nvmf_host_close(&io);
	nvmf_host_close(&adm);
	stop_clean();
}

Test(nvmf_target, data_round_trips)
{
	round_trips(false, false);
}

Test(nvmf_target, data_round_trips_with_digests)
{
	round_trips(true, true);
}

Test(nvmf_target, discovery_log_lists_the_subsystem)
{
	struct nvmf_host d;
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_GET_LOG_PAGE };
	struct updk_nvme_cpl cpl;
	static uint8_t page[4096];
	const struct updk_nvmf_disc_log *hdr = (const void *)page;
	const struct updk_nvmf_disc_entry *e = (const void *)(page + 1024);
	static struct updk_nvme_id_ctrl id;
	char port[16];

	start("sim:nvme");
	cr_assert_eq(nvmf_host_admin(&d, tgt.port, UPDK_NVMF_DISCOVERY_NQN, TEST_HOSTNQN), 0);
	cmd.cdw10 = UPDK_NVMF_LOG_DISCOVERY | (uint32_t)(sizeof(page) / 4 - 1) << 16;
	cr_assert_eq(nvmf_host_cmd(&d, &cmd, NULL, 0, page, sizeof(page), &cpl), 0);
	cr_assert_not(updk_nvme_cpl_is_error(&cpl));
	cr_assert_eq(hdr->numrec, 1);
	cr_assert_eq(e->trtype, UPDK_NVMF_TRTYPE_TCP);
	cr_assert_eq(e->adrfam, UPDK_NVMF_ADRFAM_IPV4);
	cr_assert_eq(e->subtype, UPDK_NVMF_SUBTYPE_NVME);
	cr_assert_str_eq(e->subnqn, NQN);
	cr_assert_str_eq(e->traddr, "127.0.0.1");
	snprintf(port, sizeof(port), "%d", tgt.port);
	cr_assert_str_eq(e->trsvcid, port);
	cr_assert_eq(e->cntlid, 0xffff);

	cmd = (struct updk_nvme_cmd){ .opc = UPDK_NVME_OPC_IDENTIFY, .cdw10 = 1 };
	cr_assert_eq(nvmf_host_cmd(&d, &cmd, NULL, 0, &id, sizeof(id), &cpl), 0);
	cr_assert_eq(id.cntrltype, UPDK_NVME_CNTRLTYPE_DISCOVERY);
	cr_assert_str_eq(id.subnqn, UPDK_NVMF_DISCOVERY_NQN);
	nvmf_host_close(&d);
	stop_clean();
}
