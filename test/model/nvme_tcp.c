// SPDX-License-Identifier: BSD-3-Clause
/*
 * The NVMe/TCP initiator (drivers/nvme/tcp) through the ordinary updk_nvme_* calls, against
 * updk-nvmf over loopback with sim:nvme behind it: bring-up through Property Get/Set, data
 * both ways (in the capsule, on R2T, C2HData, split above MDTS, with and without digests),
 * checked through a second, independent host (test/common/nvmf_host.c); the Discovery log;
 * Keep Alive over an idle spell longer than the target's timeout; and the refusals: nothing
 * listening, an unknown subsystem, a host not allowed, a connection lost with commands
 * outstanding (with a reset that gives up, and without one: every queue fails at once), a
 * controller that asks for in-band authentication.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/common/nvmf_host.h"
#include "test/common/perf_util.h"
#include "test/model/held.h"
#include "test/model/nvme_util.h"

#define NQN "nqn.2026-12.io.updk:tcp1"

static struct nvmf_target_proc tgt;

/* A test that fails halfway leaves no target running behind it. */
static void kill_target(void)
{
	if (tgt.pid > 0 && kill(tgt.pid, 0) == 0) {
		nvmf_target_stop(&tgt, SIGKILL);
		free(tgt.log);
	}
}

TestSuite(nvme_tcp, .init = nvme_test_mem_setup, .fini = kill_target, .timeout = 120);

static void start(const char *const *args)
{
	nvmf_target_start(&tgt, args);
}

static void start_sim(const char *dev)
{
	const char *args[] = { "--nqn", NQN, dev, NULL };

	start(args);
}

static void stop_clean(void)
{
	int st = nvmf_target_stop(&tgt, SIGTERM);

	cr_assert_eq(st, 0, "updk-nvmf exited with %d:\n%s", st, tgt.log);
	free(tgt.log);
}

/* The transport ID of @nqn on the running target, with the test's host NQN. */
static const char *trid(const char *nqn)
{
	static char s[512];

	snprintf(s, sizeof(s),
		 "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%d subnqn:%s "
		 "hostnqn:%s",
		 tgt.port, nqn, TEST_HOSTNQN);
	return s;
}

static void has(const char *text, const char *piece)
{
	cr_assert(strstr(text, piece), "the log lacks '%s':\n%s", piece, text);
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 9) * 13);
}

/* Run one read or write on @qp and wait for it: its status (0 success). */
static int rw_sync(struct updk_nvme_ctrlr *c, struct updk_nvme_qpair *qp, bool write, void *buf,
		   uint64_t lba, uint32_t nlb)
{
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct io_done d = { 0 };
	int rc = write ? updk_nvme_ns_write(ns, qp, buf, lba, nlb, io_done_cb, &d, 0) :
			 updk_nvme_ns_read(ns, qp, buf, lba, nlb, io_done_cb, &d, 0);

	cr_assert_eq(rc, 0, "submit: %d", rc);
	POLL_UNTIL(d.done, updk_nvme_qpair_process_completions(qp, 0));
	cr_assert_eq(d.done, 1, "no completion in 10 s");
	return d.cpl.status >> 1;
}

/* A second host, which updk had no part in, on I/O queue 1 of a controller of its own. */
static void other_host(struct nvmf_host *adm, struct nvmf_host *io)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_SET_FEATURES };
	struct updk_nvme_cpl cpl;

	cr_assert_eq(nvmf_host_admin(adm, tgt.port, NQN, TEST_HOSTNQN2), 0);
	cmd.cdw10 = UPDK_NVME_FEAT_NUMBER_OF_QUEUES;
	cr_assert_eq(nvmf_host_cmd(adm, &cmd, NULL, 0, NULL, 0, &cpl), 0);
	cr_assert_eq(nvmf_host_io(io, tgt.port, NQN, TEST_HOSTNQN2, adm->cntlid, 1), 0);
}

static void round_trips(bool digests)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o),
					  .header_digest = digests,
					  .data_digest = digests };
	/* 512 B and 4-8 KiB in the capsule, 12 KiB to 128 KiB on R2T, 1 MiB split at MDTS */
	const uint32_t sizes[] = { 512, 4096, 8192, 12288, 65536, 131072, 1u << 20 };
	const size_t max = 1u << 20;
	uint8_t *out = malloc(max), *in = malloc(max);
	struct nvmf_host adm, io;
	struct updk_nvme_ctrlr *c;
	struct updk_nvme_qpair *qp;
	struct updk_nvme_ns *ns;
	struct updk_nvme_cpl cpl;
	uint64_t lba = 0;

	cr_assert(out && in);
	start_sim("sim:nvme?ns=1,size=64M,lba=512");
	c = open_ctrlr_opts(trid(NQN), &o);
	cr_assert_str_eq(updk_nvme_ctrlr_id(c)->subnqn, NQN);
	cr_assert_eq(updk_nvme_ctrlr_id(c)->cntrltype, UPDK_NVME_CNTRLTYPE_IO);
	/* CAP, VS and CSTS came through Property Get: the target's CAP.MQES is 127 */
	cr_assert_eq(updk_nvme_ctrlr_cap(c) & 0xffff, 127);
	cr_assert_eq(updk_nvme_ctrlr_version(c), 0x10300);
	cr_assert_eq(updk_nvme_ctrlr_max_xfer_size(c), 128 * 1024);
	cr_assert_eq(updk_nvme_ctrlr_num_ns(c), 1);
	ns = updk_nvme_ns_get(c, 1);
	cr_assert_eq(updk_nvme_ns_size(ns), 64u << 20);
	cr_assert_eq(updk_nvme_ns_sector_size(ns), 512);
	qp = alloc_qp(c, 32);
	other_host(&adm, &io);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t n = sizes[i], nlb = n / 512;

		/* updk writes, the other host reads */
		pattern(out, n, (unsigned)i);
		cr_assert_eq(rw_sync(c, qp, true, out, lba, nlb), 0, "write of %u bytes", n);
		memset(in, 0, n);
		for (uint32_t at = 0; at < n; at += 131072) {
			uint32_t k = n - at < 131072 ? n - at : 131072;

			cr_assert_eq(nvmf_host_rw(&io, false, 1, lba + at / 512, k / 512, in + at,
						  k, &cpl),
				     0);
		}
		cr_assert_arr_eq(in, out, n, "%u bytes written by updk, read by the other host", n);
		/* the other host writes, updk reads */
		pattern(out, n, (unsigned)i + 100);
		for (uint32_t at = 0; at < n; at += 131072) {
			uint32_t k = n - at < 131072 ? n - at : 131072;

			cr_assert_eq(nvmf_host_rw(&io, true, 1, lba + at / 512, k / 512, out + at,
						  k, &cpl),
				     0);
		}
		memset(in, 0, n);
		cr_assert_eq(rw_sync(c, qp, false, in, lba, nlb), 0, "read of %u bytes", n);
		cr_assert_arr_eq(in, out, n, "%u bytes written by the other host, read by updk", n);
		lba += nlb;
	}
	nvmf_host_close(&io);
	nvmf_host_close(&adm);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	free(out);
	free(in);
	stop_clean();
}

Test(nvme_tcp, data_both_ways)
{
	round_trips(false);
}

Test(nvme_tcp, data_both_ways_with_digests)
{
	round_trips(true);
}

/* 4 queues x 32 deep of random writes then reads, many PDUs interleaved on each socket. */
Test(nvme_tcp, queue_depth_on_several_queues)
{
	enum { NQ = 4, QD = 32, BS = 4096 };
	static uint8_t bufs[NQ][QD][BS];
	struct io_done d[NQ][QD];
	struct updk_nvme_ctrlr *c;
	struct updk_nvme_qpair *qp[NQ];
	struct updk_nvme_ns *ns;
	int done = 0;

	start_sim("sim:nvme?ns=1,size=16M,lba=4096");
	c = open_ctrlr(trid(NQN));
	ns = updk_nvme_ns_get(c, 1);
	for (int q = 0; q < NQ; q++)
		qp[q] = alloc_qp(c, QD);
	for (int pass = 0; pass < 2; pass++) {
		memset(d, 0, sizeof(d));
		for (int q = 0; q < NQ; q++)
			for (int i = 0; i < QD; i++) {
				uint64_t lba = (uint64_t)q * QD + i;

				if (pass == 0)
					pattern(bufs[q][i], BS, (unsigned)lba);
				else
					memset(bufs[q][i], 0, BS);
				cr_assert_eq(pass ? updk_nvme_ns_read(ns, qp[q], bufs[q][i], lba, 1,
								      io_done_cb, &d[q][i], 0) :
						    updk_nvme_ns_write(ns, qp[q], bufs[q][i], lba,
								       1, io_done_cb, &d[q][i], 0),
					     0);
			}
		done = 0;
		POLL_UNTIL(done == NQ * QD, {
			done = 0;
			for (int q = 0; q < NQ; q++) {
				updk_nvme_qpair_process_completions(qp[q], 0);
				for (int i = 0; i < QD; i++)
					done += d[q][i].done;
			}
		});
		cr_assert_eq(done, NQ * QD);
		for (int q = 0; q < NQ; q++)
			for (int i = 0; i < QD; i++)
				cr_assert_eq(d[q][i].cpl.status >> 1, 0);
	}
	for (int q = 0; q < NQ; q++)
		for (int i = 0; i < QD; i++) {
			static uint8_t want[BS];

			pattern(want, BS, (unsigned)(q * QD + i));
			cr_assert_arr_eq(bufs[q][i], want, BS, "queue %d block %d", q, i);
		}
	for (int q = 0; q < NQ; q++)
		updk_nvme_qpair_free(qp[q]);
	updk_nvme_ctrlr_close(c);
	stop_clean();
}

Test(nvme_tcp, discovery_log)
{
	const char *args[] = { "--nqn",
			       NQN,
			       "sim:nvme?ns=1,size=1M",
			       "--nqn",
			       "nqn.2026-12.io.updk:tcp2",
			       "sim:nvme?ns=1,size=2M",
			       NULL };
	uint8_t *page = calloc(1, 4096);
	const struct updk_nvmf_disc_log *log = (const void *)page;
	struct updk_nvme_ctrlr *c;
	struct io_done d = { 0 };
	char port[8];

	cr_assert_not_null(page);
	start(args);
	c = open_ctrlr(trid(UPDK_NVMF_DISCOVERY_NQN));
	cr_assert_eq(updk_nvme_ctrlr_id(c)->cntrltype, UPDK_NVME_CNTRLTYPE_DISCOVERY);
	cr_assert_eq(updk_nvme_ctrlr_max_qpairs(c), 0);
	cr_assert_eq(updk_nvme_ctrlr_get_log_page(c, UPDK_NVMF_LOG_DISCOVERY, 0, page, 3072, 0,
						  io_done_cb, &d),
		     0);
	POLL_UNTIL(d.done, updk_nvme_admin_process_completions(c));
	cr_assert_eq(d.done, 1);
	cr_assert_not(updk_nvme_cpl_is_error(&d.cpl));
	cr_assert_eq(log->numrec, 2);
	snprintf(port, sizeof(port), "%d", tgt.port);
	for (int i = 0; i < 2; i++) {
		const struct updk_nvmf_disc_entry *e = (const void *)(page + 1024 * (i + 1));

		cr_assert_eq(e->trtype, UPDK_NVMF_TRTYPE_TCP);
		cr_assert_eq(e->adrfam, UPDK_NVMF_ADRFAM_IPV4);
		cr_assert_eq(e->subtype, UPDK_NVMF_SUBTYPE_NVME);
		cr_assert_eq(strncmp(e->trsvcid, port, strlen(port)), 0);
		cr_assert_eq(strncmp(e->traddr, "127.0.0.1", 9), 0);
		cr_assert_str_eq(e->subnqn, i ? "nqn.2026-12.io.updk:tcp2" : NQN);
	}
	updk_nvme_ctrlr_close(c);
	free(page);
	stop_clean();
}

/* A Keep Alive Timeout of 1 s, and 3 s without a command of ours: the association lives. */
Test(nvme_tcp, keep_alive_holds_an_idle_association)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o), .keep_alive_ms = 1000 };
	static uint8_t buf[4096];
	struct updk_nvme_ctrlr *c;
	struct updk_nvme_qpair *qp;
	struct updk_nvme_stats st;
	double until;
	char *log;

	start_sim("sim:nvme?ns=1,size=1M,lba=4096");
	c = open_ctrlr_opts(trid(NQN), &o);
	qp = alloc_qp(c, 8);
	for (until = now_s() + 3; now_s() < until;) {
		updk_nvme_admin_process_completions(c);
		usleep(10000);
	}
	cr_assert_not(updk_nvme_ctrlr_is_failed(c));
	cr_assert_eq(rw_sync(c, qp, true, buf, 0, 1), 0, "a write after 3 idle seconds");
	updk_nvme_ctrlr_get_stats(c, &st);
	cr_assert_eq(st.resets, 0, "the connection held: no reset");
	log = nvmf_target_log(&tgt);
	cr_assert_null(strstr(log, "keep alive"), "the target ended nothing:\n%s", log);
	free(log);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	stop_clean();
}

/* An open that fails with @want and logs @piece, leaving nothing behind. */
static void open_refused(const char *addr, int want, const char *piece)
{
	struct updk_nvme_ctrlr *c = (struct updk_nvme_ctrlr *)1;
	struct log_capture cap;
	struct held b = held_now();
	char *log;
	int rc;

	log_capture_start(&cap);
	rc = updk_nvme_ctrlr_open(addr, NULL, &c);
	log = log_capture_stop(&cap);
	cr_assert_eq(rc, want, "open %s: %d, not %d", addr, rc, want);
	cr_assert_null(c);
	has(log, piece);
	free(log);
	held_assert_same(b, addr);
}

Test(nvme_tcp, refusals)
{
	const char *args[] = { "--nqn", NQN, "--allow-host", TEST_HOSTNQN2, "sim:nvme?ns=1,size=1M",
			       NULL };
	char addr[512];
	int port;

	/* nothing listening: a port the target had, after it stopped */
	start_sim("sim:nvme?ns=1,size=1M");
	port = tgt.port;
	stop_clean();
	snprintf(addr, sizeof(addr), "trtype:TCP traddr:127.0.0.1 trsvcid:%d subnqn:%s", port, NQN);
	open_refused(addr, -ECONNREFUSED, "connection refused");

	start(args);
	snprintf(addr, sizeof(addr), "trtype:TCP traddr:127.0.0.1 trsvcid:%d subnqn:nqn.x:none",
		 tgt.port);
	open_refused(addr, -ENOENT, "the target has no subsystem nqn.x:none");
	open_refused(trid(NQN), -EACCES, "does not allow host " TEST_HOSTNQN);
	snprintf(addr, sizeof(addr), "trtype:TCP adrfam:IB traddr:127.0.0.1 trsvcid:%d", tgt.port);
	open_refused(addr, -EINVAL, "adrfam 'IB'");
	snprintf(addr, sizeof(addr), "trtype:TCP traddr:no-such-host.invalid trsvcid:%d", tgt.port);
	open_refused(addr, -EINVAL, "no-such-host.invalid");
	/* and the allowed host gets in */
	snprintf(addr, sizeof(addr), "trtype:TCP traddr:127.0.0.1 trsvcid:%d subnqn:%s hostnqn:%s",
		 tgt.port, NQN, TEST_HOSTNQN2);
	updk_nvme_ctrlr_close(open_ctrlr(addr));
	stop_clean();
}

/* Stop the target and wait until it is stopped: from then on it answers nothing. */
static void hold_target(void)
{
	int st;

	cr_assert_eq(kill(tgt.pid, SIGSTOP), 0);
	cr_assert_eq(waitpid(tgt.pid, &st, WUNTRACED), tgt.pid);
	cr_assert(WIFSTOPPED(st));
}

/* The target dies with commands outstanding: each completes with an error, none is lost, and
 * the controller is failed (the reset cannot reach the target), then closes cleanly. */
Test(nvme_tcp, lost_connection_fails_outstanding_commands)
{
	enum { QD = 16 };
	static uint8_t bufs[QD][8192];
	struct io_done d[QD] = { 0 };
	struct updk_nvme_ctrlr *c;
	struct updk_nvme_qpair *qp;
	struct updk_nvme_ns *ns;
	int done = 0;

	start_sim("sim:nvme?ns=1,size=1M,lba=4096");
	c = open_ctrlr(trid(NQN));
	ns = updk_nvme_ns_get(c, 1);
	qp = alloc_qp(c, QD);
	/* stopped (and seen stopped: a signal is not delivered at once), the target takes in
	 * nothing: every command stays outstanding */
	hold_target();
	for (int i = 0; i < QD; i++)
		cr_assert_eq(i % 2 ? updk_nvme_ns_read(ns, qp, bufs[i], (uint64_t)i * 2, 2,
						       io_done_cb, &d[i], 0) :
				     updk_nvme_ns_write(ns, qp, bufs[i], (uint64_t)i * 2, 2,
							io_done_cb, &d[i], 0),
			     0);
	updk_nvme_qpair_process_completions(qp, 0);
	cr_assert_eq(updk_nvme_qpair_outstanding(qp), QD);
	nvmf_target_stop(&tgt, SIGKILL);
	free(tgt.log);
	POLL_UNTIL(done == QD, {
		updk_nvme_admin_process_completions(c);
		updk_nvme_qpair_process_completions(qp, 0);
		done = 0;
		for (int i = 0; i < QD; i++)
			done += d[i].done;
		usleep(1000);
	});
	cr_assert_eq(done, QD, "%d of %d commands completed", done, QD);
	for (int i = 0; i < QD; i++) {
		cr_assert_eq(d[i].done, 1);
		cr_assert(updk_nvme_cpl_is_error(&d[i].cpl), "command %d succeeded", i);
	}
	cr_assert(updk_nvme_ctrlr_is_failed(c));
	cr_assert_eq(updk_nvme_ns_read(ns, qp, bufs[0], 0, 1, io_done_cb, &d[0], 0), -ENXIO);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
}

/* The same without an automatic reset: the controller is failed at once, and every queue's
 * commands fail with Host Pathing Error at their owner's next poll, without waiting for a
 * timeout (an hour here) or a reset; the admin queue's with them; new ones are refused. */
Test(nvme_tcp, failed_controller_fails_every_queue_at_once)
{
	enum { QD = 8 };
	static uint8_t bufs[2][QD][4096];
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o),
					  .no_auto_reset = true,
					  .io_timeout_ms = 3600 * 1000 };
	struct io_done d[2][QD] = { 0 };
	struct updk_nvme_qpair *qp[2];
	struct updk_nvme_ctrlr *c;
	struct updk_nvme_ns *ns;
	int done = 0;

	start_sim("sim:nvme?ns=1,size=1M,lba=4096");
	c = open_ctrlr_opts(trid(NQN), &o);
	ns = updk_nvme_ns_get(c, 1);
	qp[0] = alloc_qp(c, QD);
	qp[1] = alloc_qp(c, QD);
	hold_target();
	for (int q = 0; q < 2; q++) {
		for (int i = 0; i < QD; i++)
			cr_assert_eq(i % 2 ? updk_nvme_ns_read(ns, qp[q], bufs[q][i], (uint64_t)i,
							       1, io_done_cb, &d[q][i], 0) :
					     updk_nvme_ns_write(ns, qp[q], bufs[q][i], (uint64_t)i,
								1, io_done_cb, &d[q][i], 0),
				     0);
		updk_nvme_qpair_process_completions(qp[q], 0);
		cr_assert_eq(updk_nvme_qpair_outstanding(qp[q]), QD);
	}
	nvmf_target_stop(&tgt, SIGKILL);
	free(tgt.log);
	/* queue 1's owner alone polls: it finds the connection gone */
	POLL_UNTIL(done == QD, {
		updk_nvme_qpair_process_completions(qp[0], 0);
		done = 0;
		for (int i = 0; i < QD; i++)
			done += d[0][i].done;
		usleep(1000);
	});
	cr_assert_eq(done, QD, "%d of %d commands completed", done, QD);
	cr_assert(updk_nvme_ctrlr_is_failed(c));
	cr_assert_not(updk_nvme_ctrlr_is_resetting(c));
	/* queue 2's owner, whose connection nobody has read: one poll fails all of its own */
	cr_assert_eq(updk_nvme_qpair_process_completions(qp[1], 0), -ENXIO);
	for (int q = 0; q < 2; q++) {
		cr_assert_eq(updk_nvme_qpair_outstanding(qp[q]), 0);
		for (int i = 0; i < QD; i++) {
			cr_assert_eq(d[q][i].done, 1, "queue %d command %d: %d completions", q, i,
				     d[q][i].done);
			cr_assert_eq(updk_nvme_cpl_sct(&d[q][i].cpl), UPDK_NVME_SCT_PATH);
			cr_assert_eq(updk_nvme_cpl_sc(&d[q][i].cpl),
				     UPDK_NVME_SC_HOST_PATHING_ERROR,
				     "queue %d command %d: sc 0x%x", q, i,
				     updk_nvme_cpl_sc(&d[q][i].cpl));
		}
	}
	cr_assert_eq(updk_nvme_admin_process_completions(c), -ENXIO);
	cr_assert_eq(updk_nvme_ns_read(ns, qp[1], bufs[0][0], 0, 1, io_done_cb, &d[0][0], 0),
		     -ENXIO);
	updk_nvme_qpair_free(qp[0]);
	updk_nvme_qpair_free(qp[1]);
	updk_nvme_ctrlr_close(c);
}

/* A target of the test's own for one connection: ICResp, then a Connect response whose AUTHREQ
 * asks for DH-HMAC-CHAP (NVMe Base 2.0 §8.13), as the kernel's nvmet does for a host with a
 * key; it then waits for the host to close. */
struct auth_target {
	int lfd, port;
	pthread_t thr;
};

static bool read_full(int fd, void *buf, size_t len)
{
	for (size_t at = 0; at < len;) {
		ssize_t n = read(fd, (uint8_t *)buf + at, len - at);

		if (n <= 0)
			return false;
		at += (size_t)n;
	}
	return true;
}

static void *auth_target_run(void *arg)
{
	struct auth_target *t = arg;
	struct updk_nvme_tcp_icresp ir = { 0 };
	struct updk_nvme_tcp_rsp rsp = { 0 };
	static uint8_t pdu[8192 + 128];
	struct updk_nvme_tcp_ch *ch = (void *)pdu;
	int fd = accept(t->lfd, NULL, NULL);

	if (fd < 0 || !read_full(fd, pdu, 128))
		goto out;
	ir.pfv = UPDK_NVME_TCP_PFV_1_0;
	ir.maxh2cdata = 131072;
	updk_nvme_tcp_pdu_finish(&ir, UPDK_NVME_TCP_ICRESP, 0, 0, false, false, 0);
	if (write(fd, &ir, sizeof(ir)) != sizeof(ir) || !read_full(fd, pdu, 8) ||
	    ch->plen > sizeof(pdu) || ch->plen < 72 || !read_full(fd, pdu + 8, ch->plen - 8))
		goto out;
	rsp.rccqe.cid = ((struct updk_nvme_tcp_cmd *)pdu)->ccsqe.cid;
	rsp.rccqe.cdw0 = 1 | UPDK_NVMF_CONNECT_AUTHREQ_ATR; /* controller 1, authenticate */
	updk_nvme_tcp_pdu_finish(&rsp, UPDK_NVME_TCP_CAPSULE_RESP, 0, 0, false, false, 0);
	if (write(fd, &rsp, sizeof(rsp)) != sizeof(rsp))
		goto out;
	while (read(fd, pdu, sizeof(pdu)) > 0)
		;
out:
	if (fd >= 0)
		close(fd);
	return NULL;
}

Test(nvme_tcp, a_controller_that_asks_for_authentication_is_refused)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct auth_target t;
	struct updk_nvme_ctrlr *c = NULL;
	char addr[256];

	t.lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(t.lfd, 0);
	cr_assert_eq(bind(t.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(t.lfd, 1), 0);
	cr_assert_eq(getsockname(t.lfd, (struct sockaddr *)&a, &al), 0);
	t.port = ntohs(a.sin_port);
	cr_assert_eq(pthread_create(&t.thr, NULL, auth_target_run, &t), 0);
	snprintf(addr, sizeof(addr), "trtype:TCP traddr:127.0.0.1 trsvcid:%d subnqn:%s hostnqn:%s",
		 t.port, NQN, TEST_HOSTNQN);
	cr_assert_eq(updk_nvme_ctrlr_open(addr, NULL, &c), -EACCES);
	cr_assert_null(c);
	pthread_join(t.thr, NULL);
	close(t.lfd);
}

/* Is @fd readable within @ms? */
static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* Interrupt mode: a qpair's fd is readable once its socket has a PDU, not before; the arm
 * says whether to sleep; the admin queue's vector wakes for Keep Alive's answers and for a
 * reset asked for from another thread. The target is stopped to hold its answers back, so
 * nothing here races it. */
Test(nvme_tcp, interrupts_wake_when_the_socket_has_data)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o), .interrupts = true };
	struct updk_nvme_qpair_opts qo = { .opts_size = sizeof(qo),
					   .depth = 8,
					   .interrupts = true };
	static uint8_t buf[2][16384];
	struct io_done d[2] = { 0 };
	struct updk_nvme_ctrlr *c;
	struct updk_nvme_qpair *qp = NULL, *qp2 = NULL;
	struct updk_nvme_ns *ns;
	int fd, fd2;

	start_sim("sim:nvme?ns=1,size=1M,lba=4096");
	c = open_ctrlr_opts(trid(NQN), &o);
	cr_assert_geq(updk_nvme_ctrlr_intr_vectors(c), 2);
	ns = updk_nvme_ns_get(c, 1);
	cr_assert_eq(updk_nvme_qpair_alloc(c, &qo, &qp), 0);
	cr_assert_eq(updk_nvme_qpair_alloc(c, &qo, &qp2), 0);
	fd = updk_nvme_qpair_intr_fd(qp);
	fd2 = updk_nvme_qpair_intr_fd(qp2);
	cr_assert_geq(fd, 0);
	cr_assert_neq(fd, fd2, "each qpair a vector of its own");
	cr_assert_geq(updk_nvme_admin_intr_fd(c), 0);
	cr_assert_geq(updk_nvme_qpair_intr_ack(qp), 0);
	cr_assert_eq(updk_nvme_qpair_intr_arm(qp), 0, "idle: sleep");
	cr_assert_not(readable(fd, 0));

	/* a write (16 KiB: on R2T) and a read (on C2HData), their answers held back */
	hold_target();
	cr_assert_eq(updk_nvme_ns_write(ns, qp, buf[0], 0, 4, io_done_cb, &d[0], 0), 0);
	cr_assert_eq(updk_nvme_ns_read(ns, qp, buf[1], 4, 4, io_done_cb, &d[1], 0), 0);
	cr_assert_geq(updk_nvme_qpair_intr_ack(qp), 0);
	cr_assert_eq(updk_nvme_qpair_intr_arm(qp), 0, "commands sent, nothing back: sleep");
	cr_assert_not(readable(fd, 20), "nothing came: the fd stays quiet");
	kill(tgt.pid, SIGCONT);
	while (d[0].done + d[1].done < 2) {
		cr_assert(readable(fd, 10000), "no wake-up in 10 s with %d of 2 done",
			  d[0].done + d[1].done);
		cr_assert_geq(updk_nvme_qpair_intr_ack(qp), 0);
		cr_assert_geq(updk_nvme_qpair_process_completions(qp, 0), 0);
		if (d[0].done + d[1].done < 2 && updk_nvme_qpair_intr_arm(qp) > 0)
			cr_assert_geq(updk_nvme_qpair_process_completions(qp, 0), 0);
	}
	cr_assert_eq(d[0].cpl.status, 0);
	cr_assert_eq(d[1].cpl.status, 0);
	cr_assert_not(readable(fd2, 0), "the other qpair's vector was not woken");
	cr_assert_eq(updk_nvme_qpair_intr_arm(qp), 0);

	/* the connection lost: the fd wakes (the socket's end), the poll sees it through */
	nvmf_target_stop(&tgt, SIGKILL);
	free(tgt.log);
	cr_assert(readable(fd2, 10000), "a closed connection wakes its vector");
	updk_nvme_qpair_process_completions(qp2, 0);
	cr_assert_eq(updk_nvme_qpair_intr_arm(qp2), 1, "a reset or failure: poll, do not sleep");
	updk_nvme_qpair_free(qp);
	updk_nvme_qpair_free(qp2);
	updk_nvme_ctrlr_close(c);
}

/* Run "sh -c CMD" with BIN standing for build/bin: its exit status, stdout+stderr in *@out. */
static int sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(char **out, const char *fmt, ...)
{
	char exe[PATH_MAX], cmd[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t len = 0, cap = 1 << 16, at;
	va_list ap;
	FILE *p;
	int st;

	cr_assert_gt(n, 0);
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	at = (size_t)snprintf(cmd, sizeof(cmd), "BIN=%s/../bin; exec 2>&1; ", exe);
	va_start(ap, fmt);
	vsnprintf(cmd + at, sizeof(cmd) - at, fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	cr_assert(p);
	*out = malloc(cap);
	cr_assert(*out);
	while (len < cap - 1) {
		size_t k = fread(*out + len, 1, cap - 1 - len, p);

		if (!k)
			break;
		len += k;
	}
	(*out)[len] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

Test(nvme_tcp, updk_nvme_tool_over_tcp)
{
	const char *args[] = { "--nqn",
			       NQN,
			       "sim:nvme?ns=1,size=4M,lba=512",
			       "--nqn",
			       "nqn.2026-12.io.updk:tcp2",
			       "sim:nvme?ns=1,size=2M",
			       NULL };
	char *out, want[64];

	start(args);
	/* discover: nvme-cli's shape, both subsystems */
	cr_assert_eq(sh(&out, "$BIN/updk-nvme discover -t tcp -a 127.0.0.1 -s %d -q %s", tgt.port,
			TEST_HOSTNQN),
		     0, "%s", out);
	has(out, "Discovery Log Number of Records 2, Generation counter");
	has(out, "=====Discovery Log Entry 1======\ntrtype:  tcp\nadrfam:  ipv4\nsubtype: nvme "
		 "subsystem\n");
	has(out, "subnqn:  " NQN "\n");
	has(out, "subnqn:  nqn.2026-12.io.updk:tcp2\ntraddr:  127.0.0.1\n");
	snprintf(want, sizeof(want), "trsvcid: %d\n", tgt.port);
	has(out, want);
	free(out);
	cr_assert_eq(
		sh(&out, "$BIN/updk-nvme discover -t tcp -a 127.0.0.1 -s %d -o json", tgt.port), 0,
		"%s", out);
	has(out, "\"subnqn\":\"nqn.2026-12.io.updk:tcp2\"");
	has(out, "\"trtype\":\"tcp\"");
	free(out);
	cr_assert_eq(sh(&out, "$BIN/updk-nvme discover -t rdma -a 127.0.0.1"), 2, "%s", out);
	has(out, "only tcp");
	free(out);
	/* write, then read back and compare, through the transport ID */
	cr_assert_eq(sh(&out,
			"head -c 65536 /dev/urandom > /tmp/updk-tcp-$$ && "
			"$BIN/updk-nvme write 'trtype:TCP traddr:127.0.0.1 trsvcid:%d subnqn:%s' "
			"-s 3 -c 127 -d /tmp/updk-tcp-$$ && "
			"$BIN/updk-nvme read 'trtype:TCP traddr:127.0.0.1 trsvcid:%d subnqn:%s' "
			"-s 3 -c 127 -z 65536 | cmp - /tmp/updk-tcp-$$; st=$?; "
			"rm -f /tmp/updk-tcp-$$; exit $st",
			tgt.port, NQN, tgt.port, NQN),
		     0, "%s", out);
	free(out);
	stop_clean();
}

Test(nvme_tcp, updk_perf_verify_over_tcp)
{
	char *out;

	start_sim("sim:nvme?ns=1,size=16M,lba=4096");
	cr_assert_eq(sh(&out,
			"$BIN/updk-perf -r 'trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%d "
			"subnqn:%s ns:1' -H -I -q 8 -t 1 -w randrw --verify --json --no-progress",
			tgt.port, NQN),
		     0, "%s", out);
	has(out, "\"verify\": true");
	perf_test_check_consistent(strchr(out, '{'));
	cr_assert_gt(perf_test_jnum(strchr(out, '{'), "\"total\": {", "reads"), 0);
	free(out);
	stop_clean();
}

/* updk-perf --interrupt-mode over NVMe/TCP: paced reads and writes, verified, the poller asleep
 * between them on its qpair's socket. */
Test(nvme_tcp, updk_perf_interrupt_mode_over_tcp)
{
	char *out, *json;

	start_sim("sim:nvme?ns=1,size=16M,lba=4096");
	cr_assert_eq(sh(&out,
			"$BIN/updk-perf -r 'trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%d "
			"subnqn:%s ns:1' -q 4 -t 1 -w randrw --rate 200 --interrupt-mode --verify "
			"--json --no-progress",
			tgt.port, NQN),
		     0, "%s", out);
	json = strchr(out, '{');
	cr_assert(json, "%s", out);
	has(json, "\"interrupt_mode\": true");
	perf_test_check_consistent(json);
	cr_assert_gt(perf_test_jnum(json, "\"total\": {", "ios"), 0);
	cr_assert_gt(perf_test_jnum(json, "\"pollers\": [", "sleeps"), 0, "%s", json);
	free(out);
	stop_clean();
}
