// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf against hosts that get things wrong: an unknown NQN, a host not on the allowed
 * list, a command before Connect, malformed, truncated and oversized PDUs, digest errors,
 * transfer tags no R2T gave, a host vanishing halfway through a write. Each gets a clean
 * error for its own connection (a status, or a C2HTermReq naming the field); the other
 * connections keep working, what was written stays written, and the target still stops
 * cleanly.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "test/common/nvmf_host.h"

#define NQN "nqn.2026-12.io.updk:bad"

static struct nvmf_target_proc tgt;
static struct nvmf_host adm, io;
static uint8_t blk[65536], back[65536];

static void start_with(const char *const *args)
{
	nvmf_target_start(&tgt, args);
}

static void start(void)
{
	const char *args[] = { "--nqn", NQN, "sim:nvme?size=16M", NULL };

	start_with(args);
}

static void stop_clean(void)
{
	int st = nvmf_target_stop(&tgt, SIGTERM);

	cr_assert_eq(st, 0, "updk-nvmf exited with %d:\n%s", st, tgt.log);
	free(tgt.log);
}

/* An admin queue and I/O queue 1 of one controller: the connections that must keep working. */
static void connect_good(void)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_SET_FEATURES };
	struct updk_nvme_cpl cpl;

	cr_assert_eq(nvmf_host_admin(&adm, tgt.port, NQN, TEST_HOSTNQN), 0);
	cmd.cdw10 = UPDK_NVME_FEAT_NUMBER_OF_QUEUES;
	cmd.cdw11 = 3 << 16 | 3;
	cr_assert_eq(nvmf_host_cmd(&adm, &cmd, NULL, 0, NULL, 0, &cpl), 0);
	cr_assert_eq(nvmf_host_io(&io, tgt.port, NQN, TEST_HOSTNQN, adm.cntlid, 1), 0);
}

/* The good connections still write and read back, and the admin queue answers. */
static void still_working(unsigned seed)
{
	struct updk_nvme_cmd cmd = { .opc = 0x18 /* Keep Alive */ };
	struct updk_nvme_cpl cpl;

	for (size_t i = 0; i < 8192; i++)
		blk[i] = (uint8_t)(i ^ seed);
	cr_assert_eq(nvmf_host_rw(&io, true, 1, seed, 16, blk, 8192, &cpl), 0);
	cr_assert_eq(nvmf_host_rw(&io, false, 1, seed, 16, back, 8192, &cpl), 0);
	cr_assert_eq(memcmp(blk, back, 8192), 0);
	cr_assert_eq(nvmf_host_cmd(&adm, &cmd, NULL, 0, NULL, 0, &cpl), 0);
	cr_assert_not(updk_nvme_cpl_is_error(&cpl));
}

static void close_good(void)
{
	nvmf_host_close(&io);
	nvmf_host_close(&adm);
}

Test(nvmf_bad_input, unknown_nqn_and_wrong_controller)
{
	struct nvmf_host h;
	struct updk_nvme_cpl cpl;

	start();
	connect_good();
	cr_assert_eq(nvmf_host_open(&h, tgt.port, false, false), 0);
	cr_assert_eq(nvmf_host_fconnect(&h, "nqn.2026-12.io.updk:nope", TEST_HOSTNQN, 0, 31, 0xffff,
					0, &cpl),
		     0);
	cr_assert_eq(updk_nvme_cpl_sct(&cpl), UPDK_NVME_SCT_CMD_SPECIFIC);
	cr_assert_eq(updk_nvme_cpl_sc(&cpl), UPDK_NVMF_SC_CONNECT_INVALID_PARAMETERS);
	cr_assert_eq(cpl.cdw0, 256 | UPDK_NVMF_CONNECT_IPO_DATA, "IPO/IATTR %#x", cpl.cdw0);
	nvmf_host_close(&h);

	/* an I/O queue of a controller that does not exist, then of another host's */
	cr_assert_eq(nvmf_host_open(&h, tgt.port, false, false), 0);
	cr_assert_eq(nvmf_host_fconnect(&h, NQN, TEST_HOSTNQN, 2, 127, 999, 0, &cpl), 0);
	cr_assert_eq(updk_nvme_cpl_sc(&cpl), UPDK_NVMF_SC_CONNECT_INVALID_PARAMETERS);
	cr_assert_eq(cpl.cdw0, 16 | UPDK_NVMF_CONNECT_IPO_DATA);
	nvmf_host_close(&h);
	cr_assert_eq(nvmf_host_open(&h, tgt.port, false, false), 0);
	cr_assert_eq(nvmf_host_fconnect(&h, NQN, TEST_HOSTNQN2, 2, 127, adm.cntlid, 0, &cpl), 0);
	cr_assert_eq(updk_nvme_cpl_sc(&cpl), UPDK_NVMF_SC_CONNECT_INVALID_PARAMETERS);
	nvmf_host_close(&h);
	/* an I/O queue ID taken already, and one beyond those granted */
	cr_assert_eq(nvmf_host_open(&h, tgt.port, false, false), 0);
	cr_assert_eq(nvmf_host_fconnect(&h, NQN, TEST_HOSTNQN, 1, 127, adm.cntlid, 0, &cpl), 0);
	cr_assert_eq(updk_nvme_cpl_sc(&cpl), UPDK_NVMF_SC_CONNECT_INVALID_PARAMETERS);
	cr_assert_eq(cpl.cdw0, 42, "IPO %#x: the QID in the command", cpl.cdw0);
	nvmf_host_close(&h);
	cr_assert_eq(nvmf_host_open(&h, tgt.port, false, false), 0);
	cr_assert_eq(nvmf_host_fconnect(&h, NQN, TEST_HOSTNQN, 5, 127, adm.cntlid, 0, &cpl), 0);
	cr_assert_eq(updk_nvme_cpl_sc(&cpl), UPDK_NVMF_SC_CONNECT_INVALID_PARAMETERS);
	nvmf_host_close(&h);
	still_working(1);
	close_good();
	stop_clean();
}

Test(nvmf_bad_input, host_not_allowed)
{
	const char *args[] = {
		"--nqn", NQN, "--allow-host", TEST_HOSTNQN, "sim:nvme?size=16M", NULL
	};
	struct nvmf_host h;
	struct updk_nvme_cpl cpl;
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_GET_LOG_PAGE };
	static uint8_t page[4096];

	start_with(args);
	cr_assert_eq(nvmf_host_open(&h, tgt.port, false, false), 0);
	cr_assert_eq(nvmf_host_fconnect(&h, NQN, TEST_HOSTNQN2, 0, 31, 0xffff, 0, &cpl), 0);
	cr_assert_eq(updk_nvme_cpl_sct(&cpl), UPDK_NVME_SCT_CMD_SPECIFIC);
	cr_assert_eq(updk_nvme_cpl_sc(&cpl), UPDK_NVMF_SC_CONNECT_INVALID_HOST);
	cr_assert_eq(cpl.cdw0, 512 | UPDK_NVMF_CONNECT_IPO_DATA);
	nvmf_host_close(&h);
	/* the Discovery log shows that host nothing */
	cr_assert_eq(nvmf_host_admin(&h, tgt.port, UPDK_NVMF_DISCOVERY_NQN, TEST_HOSTNQN2), 0);
	cmd.cdw10 = UPDK_NVMF_LOG_DISCOVERY | (uint32_t)(sizeof(page) / 4 - 1) << 16;
	cr_assert_eq(nvmf_host_cmd(&h, &cmd, NULL, 0, page, sizeof(page), &cpl), 0);
	cr_assert_eq(((struct updk_nvmf_disc_log *)page)->numrec, 0);
	nvmf_host_close(&h);
	connect_good(); /* the allowed host */
	still_working(2);
	close_good();
	stop_clean();
}

Test(nvmf_bad_input, command_before_connect)
{
	struct nvmf_host h;
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_IDENTIFY, .cdw10 = 1 };
	struct updk_nvme_cpl cpl;
	static uint8_t id[4096];

	start();
	cr_assert_eq(nvmf_host_open(&h, tgt.port, false, false), 0);
	cr_assert_eq(nvmf_host_cmd(&h, &cmd, NULL, 0, id, sizeof(id), &cpl), 0);
	cr_assert_eq(updk_nvme_cpl_sc(&cpl), UPDK_NVME_SC_COMMAND_SEQUENCE_ERROR);
	nvmf_host_close(&h);
	stop_clean();
}

/* Send @len raw bytes on a fresh I/O queue connection; expect a C2HTermReq (@fes, @fei). */
static void term_for(const void *pdu, size_t len, bool hdgst, uint16_t fes, uint32_t fei)
{
	struct nvmf_host h;
	struct updk_nvme_cpl cpl;

	cr_assert_eq(nvmf_host_open(&h, tgt.port, hdgst, false), 0);
	cr_assert_eq(nvmf_host_fconnect(&h, NQN, TEST_HOSTNQN, 2, 127, adm.cntlid, 0, &cpl), 0);
	cr_assert_not(updk_nvme_cpl_is_error(&cpl), "status %#x", cpl.status);
	cr_assert_eq(nvmf_host_send(&h, pdu, len), 0);
	cr_assert_eq(nvmf_host_expect_term(&h, 10000), 1, "no C2HTermReq");
	cr_assert_eq(h.term_fes, fes, "FES %u, not %u", h.term_fes, fes);
	cr_assert_eq(h.term_fei, fei, "FEI %u, not %u", h.term_fei, fei);
	nvmf_host_close(&h);
}

Test(nvmf_bad_input, malformed_pdus_end_their_connection_only)
{
	uint8_t pdu[256] = { 0 };
	struct updk_nvme_tcp_cmd *c = (void *)pdu;
	struct updk_nvme_tcp_data *d = (void *)pdu;

	start();
	connect_good();
	/* a CapsuleCmd with the wrong HLEN */
	c->ccsqe.opc = UPDK_NVME_OPC_READ;
	updk_nvme_tcp_pdu_finish(c, UPDK_NVME_TCP_CAPSULE_CMD, 0, 0, false, false, 0);
	c->ch.hlen = 70;
	term_for(pdu, 72, false, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 2);
	still_working(3);
	/* a PDU type a controller never receives */
	memset(pdu, 0, sizeof(pdu));
	updk_nvme_tcp_pdu_finish(pdu, UPDK_NVME_TCP_R2T, 0, 0, false, false, 0);
	term_for(pdu, 24, false, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 0);
	/* an oversized capsule: 64 KiB of in-capsule data where 8 KiB is the limit */
	memset(pdu, 0, sizeof(pdu));
	updk_nvme_tcp_pdu_finish(c, UPDK_NVME_TCP_CAPSULE_CMD, 0, 65536, false, false, 0);
	term_for(pdu, 72, false, UPDK_NVME_TCP_FES_DATA_LIMIT_EXCEEDED, 4);
	/* a header digest that does not match */
	memset(pdu, 0, sizeof(pdu));
	updk_nvme_tcp_pdu_finish(c, UPDK_NVME_TCP_CAPSULE_CMD, 0, 0, true, false, 0);
	pdu[72] ^= 0xff;
	term_for(pdu, 76, true, UPDK_NVME_TCP_FES_HEADER_DIGEST_ERROR, 0);
	/* H2CData for a transfer tag no R2T gave */
	memset(pdu, 0, sizeof(pdu));
	d->ttag = 7;
	d->datal = 512;
	updk_nvme_tcp_pdu_finish(d, UPDK_NVME_TCP_H2C_DATA, UPDK_NVME_TCP_F_LAST_PDU, 512, false,
				 false, 0);
	term_for(pdu, 24, false, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD, 10);
	still_working(4);
	close_good();
	stop_clean();
}

Test(nvmf_bad_input, icreq_with_unknown_format_version)
{
	struct updk_nvme_tcp_icreq q = { .pfv = 1 };
	struct nvmf_host h;

	start();
	cr_assert_eq(nvmf_host_open_raw(&h, tgt.port), 0);
	updk_nvme_tcp_pdu_finish(&q, UPDK_NVME_TCP_ICREQ, 0, 0, false, false, 0);
	cr_assert_eq(nvmf_host_send(&h, &q, sizeof(q)), 0);
	cr_assert_eq(nvmf_host_expect_term(&h, 10000), 1);
	cr_assert_eq(h.term_fes, UPDK_NVME_TCP_FES_UNSUPPORTED_PARAMETER);
	cr_assert_eq(h.term_fei, 8, "FEI %u: PFV is at byte 8", h.term_fei);
	nvmf_host_close(&h);
	/* and a CapsuleCmd before any ICReq */
	cr_assert_eq(nvmf_host_open_raw(&h, tgt.port), 0);
	memset(&q, 0, sizeof(q));
	updk_nvme_tcp_pdu_finish(&q, UPDK_NVME_TCP_CAPSULE_CMD, 0, 0, false, false, 0);
	cr_assert_eq(nvmf_host_send(&h, &q, 72), 0);
	cr_assert_eq(nvmf_host_expect_term(&h, 10000), 1);
	cr_assert_eq(h.term_fes, UPDK_NVME_TCP_FES_INVALID_HEADER_FIELD);
	nvmf_host_close(&h);
	stop_clean();
}

Test(nvmf_bad_input, truncated_pdu_then_gone)
{
	struct nvmf_host h;
	struct updk_nvme_cpl cpl;
	uint8_t pdu[72] = { 0 };

	start();
	connect_good();
	cr_assert_eq(nvmf_host_open(&h, tgt.port, false, false), 0);
	cr_assert_eq(nvmf_host_fconnect(&h, NQN, TEST_HOSTNQN, 2, 127, adm.cntlid, 0, &cpl), 0);
	updk_nvme_tcp_pdu_finish(pdu, UPDK_NVME_TCP_CAPSULE_CMD, 0, 0, false, false, 0);
	cr_assert_eq(nvmf_host_send(&h, pdu, 30), 0); /* 30 of 72 bytes, then the host is gone */
	nvmf_host_close(&h);
	still_working(5);
	close_good();
	stop_clean();
}

/*
 * A Write capsule built by hand into @pdu: @nlb blocks at @slba of namespace 1, its data
 * (@len bytes) in the capsule when @icd, else asked for by R2T. Returns the header's length.
 */
static size_t write_capsule(uint8_t *pdu, uint16_t cid, uint32_t slba, uint32_t nlb, uint32_t len,
			    bool icd, bool ddgst)
{
	struct updk_nvme_tcp_cmd *c = (void *)pdu;
	struct updk_nvme_sgl *sgl = (void *)c->ccsqe.dptr.sgl1;

	memset(pdu, 0, 72);
	c->ccsqe.opc = UPDK_NVME_OPC_WRITE;
	c->ccsqe.flags = 0x40; /* PSDT: SGL */
	c->ccsqe.cid = cid;
	c->ccsqe.nsid = 1;
	c->ccsqe.cdw10 = slba;
	c->ccsqe.cdw12 = nlb - 1;
	sgl->type = icd ? UPDK_NVME_TCP_SGL_ICD : UPDK_NVME_TCP_SGL_TRANSPORT;
	sgl->length = len;
	return updk_nvme_tcp_pdu_finish(c, UPDK_NVME_TCP_CAPSULE_CMD, 0, icd ? len : 0, false,
					ddgst, 0);
}

/* A data digest error fails that command with Transient Transport Error; the queue goes on. */
Test(nvmf_bad_input, data_digest_error_fails_the_command)
{
	struct nvmf_host h;
	struct updk_nvme_cpl cpl;
	uint8_t pdu[72 + 512 + 4] = { 0 };
	uint32_t bad = 0x12345678;

	start();
	connect_good();
	cr_assert_eq(nvmf_host_open(&h, tgt.port, false, true), 0);
	h.icd_max = 8192;
	cr_assert_eq(nvmf_host_fconnect(&h, NQN, TEST_HOSTNQN, 2, 127, adm.cntlid, 0, &cpl), 0);
	cr_assert_not(updk_nvme_cpl_is_error(&cpl));
	cr_assert_eq(write_capsule(pdu, 77, 100, 1, 512, true, true), 72);
	memset(pdu + 72, 0xee, 512);
	memcpy(pdu + 72 + 512, &bad, 4);
	cr_assert_eq(nvmf_host_send(&h, pdu, sizeof(pdu)), 0);
	/* the next command's response comes after the failed one's */
	h.cid = 77;
	cr_assert_eq(
		nvmf_host_cmd(&h, &(struct updk_nvme_cmd){ .opc = 0x18 }, NULL, 0, NULL, 0, &cpl),
		-EBADMSG); /* CID 77's response: the failed write */
	cr_assert_eq(cpl.cid, 77);
	cr_assert_eq(updk_nvme_cpl_sc(&cpl), UPDK_NVME_SC_TRANSIENT_TRANSPORT_ERROR);
	nvmf_host_close(&h);
	/* the block was not written */
	memset(blk, 0, 512);
	cr_assert_eq(nvmf_host_rw(&io, false, 1, 100, 1, back, 512, &cpl), 0);
	cr_assert_eq(memcmp(blk, back, 512), 0);
	still_working(6);
	close_good();
	stop_clean();
}

/* The host asks for a 64 KiB write, sends half its data, and vanishes. */
Test(nvmf_bad_input, host_vanishes_mid_write)
{
	struct nvmf_host h;
	struct updk_nvme_cpl cpl;
	uint8_t pdu[72] = { 0 }, hdr[24] = { 0 };
	struct updk_nvme_tcp_data *d = (void *)hdr;
	int ev;

	start();
	connect_good();
	/* what is there before: a pattern, acknowledged */
	for (size_t i = 0; i < sizeof(blk); i++)
		blk[i] = (uint8_t)(i * 3);
	cr_assert_eq(nvmf_host_rw(&io, true, 1, 2048, 128, blk, sizeof(blk), &cpl), 0);
	cr_assert_eq(nvmf_host_open(&h, tgt.port, false, false), 0);
	cr_assert_eq(nvmf_host_fconnect(&h, NQN, TEST_HOSTNQN, 2, 127, adm.cntlid, 0, &cpl), 0);
	write_capsule(pdu, 9, 2048, 128, 65536, false, false);
	cr_assert_eq(nvmf_host_send(&h, pdu, sizeof(pdu)), 0);
	do {
		ev = updk_nvme_tcp_rx_next(&h.rx);
		if (ev == UPDK_NVME_TCP_RX_MORE)
			cr_assert_gt(updk_nvme_tcp_rx_recv(&h.rx, h.fd), 0);
	} while (ev == UPDK_NVME_TCP_RX_MORE);
	cr_assert_eq(ev, UPDK_NVME_TCP_RX_HDR);
	cr_assert_eq(h.rx.hdr.ch.pdu_type, UPDK_NVME_TCP_R2T);
	cr_assert_eq(h.rx.hdr.r2t.r2tl, 65536);
	d->cccid = 9;
	d->ttag = h.rx.hdr.r2t.ttag;
	d->datal = 65536;
	updk_nvme_tcp_pdu_finish(d, UPDK_NVME_TCP_H2C_DATA, UPDK_NVME_TCP_F_LAST_PDU, 65536, false,
				 false, 0);
	memset(back, 0x5a, sizeof(back));
	cr_assert_eq(nvmf_host_send(&h, hdr, sizeof(hdr)), 0);
	cr_assert_eq(nvmf_host_send(&h, back, 30000), 0);
	nvmf_host_close(&h);
	/* the acknowledged data is intact, the other queues work */
	usleep(100000);
	cr_assert_eq(nvmf_host_rw(&io, false, 1, 2048, 128, back, sizeof(back), &cpl), 0);
	cr_assert_eq(memcmp(blk, back, sizeof(blk)), 0);
	still_working(7);
	close_good();
	stop_clean();
}

/*
 * The backing controller resets while four hosts' queues write and read back: sim:nvme holds
 * the completion of its 150th I/O and never answers the Abort (drop_io, hang_abort), so the
 * driver resets the controller by itself (--io-timeout 300). The commands the reset aborts and
 * those that come meanwhile are held and submitted again: every host sees every command
 * succeed, and every block reads back as written.
 */
#define RQ 4
#define ROUNDS 120

struct rq_host {
	int port;
	uint16_t cntlid, qid;
	int bad, done;
	struct updk_nvme_cpl last;
};

static void *reset_worker(void *arg)
{
	struct rq_host *w = arg;

	w->bad = nvmf_host_round_trips(w->port, NQN, w->cntlid, w->qid, 1, ROUNDS, &w->last);
	w->done = w->bad < 0 ? 0 : ROUNDS;
	return NULL;
}

Test(nvmf_bad_input, backing_controller_reset_under_load, .timeout = 120)
{
	const char *args[] = { "--io-timeout",
			       "300",
			       "--nqn",
			       NQN,
			       "sim:nvme?size=64M,drop_io=150,hang_abort=1",
			       NULL };
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_SET_FEATURES };
	struct updk_nvme_cpl cpl;
	struct rq_host w[RQ];
	pthread_t t[RQ];
	char *log;

	start_with(args);
	cr_assert_eq(nvmf_host_admin(&adm, tgt.port, NQN, TEST_HOSTNQN), 0);
	cmd.cdw10 = UPDK_NVME_FEAT_NUMBER_OF_QUEUES;
	cmd.cdw11 = (RQ - 1) << 16 | (RQ - 1);
	cr_assert_eq(nvmf_host_cmd(&adm, &cmd, NULL, 0, NULL, 0, &cpl), 0);
	for (int i = 0; i < RQ; i++) {
		w[i] = (struct rq_host){ .port = tgt.port,
					 .cntlid = adm.cntlid,
					 .qid = (uint16_t)(i + 1) };
		cr_assert_eq(pthread_create(&t[i], NULL, reset_worker, &w[i]), 0);
	}
	for (int i = 0; i < RQ; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(w[i].bad, 0, "queue %d: %d of %d round trips failed (last status %#x)",
			     i + 1, w[i].bad, w[i].done, w[i].last.status);
		cr_expect_eq(w[i].done, ROUNDS);
	}
	nvmf_host_close(&adm);
	log = nvmf_target_log(&tgt);
	cr_expect(strstr(log, "resetting"), "no reset happened:\n%s", log);
	cr_expect(strstr(log, "working"), "the controller did not come back:\n%s", log);
	free(log);
	stop_clean();
}
