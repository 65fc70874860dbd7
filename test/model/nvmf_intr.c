// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf in interrupt mode (--interrupt-mode), over loopback with sim:nvme behind it: the
 * backing qpairs' vectors are in each poller's epoll set, so a poller with nothing to do sleeps
 * even while commands are in flight on the controller, and the completion's interrupt wakes
 * it. sim:nvme delays every completion (faults=1, fault_kinds=delay) so that commands are
 * still in flight when the poller looks for work. The target's report at exit (stdout) says
 * how often it slept, with commands in flight or not, and what woke it: a completion found
 * only after a sleep the timer ended (100 ms) is a lost wake-up, and counted.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "test/common/nvmf_host.h"

#define NQN "nqn.2026-12.io.updk:intr"
/* every I/O completion posted 1 µs to 2 ms after the command ran */
#define DELAYED "sim:nvme?size=64M,faults=1,fault_kinds=delay,fault_delay_us=2000"

static struct nvmf_target_proc tgt;
static uint32_t nns = 1; /* the subsystem's namespaces: queue i uses nsid i % nns + 1 */

/* The pollers' reports, summed. */
struct report {
	unsigned pollers, interrupts; /* pollers; those in interrupt mode */
	unsigned long long turns, sleeps, sleeps_inflight, nvme, sock, inbox, timer, arm_found,
		late, ios;
	double dev_us; /* the last poller's mean time of an I/O command on the controller */
};

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	cr_assert_not_null(buf);
	if (f) {
		n = fread(buf, 1, (1 << 20) - 1, f);
		buf[n] = 0;
		fclose(f);
	}
	return buf;
}

/* SIGTERM; wait for the exit (status 0 asserted); parse the reports on its stdout. */
static void stop(struct report *r)
{
	char *out, *p;
	int st;

	memset(r, 0, sizeof(*r));
	/* nvmf_target_stop() removes the output files: keep stdout first, once it has exited */
	kill(tgt.pid, SIGTERM);
	cr_assert_eq(waitpid(tgt.pid, &st, 0), tgt.pid);
	out = read_file(tgt.out_path);
	tgt.log = read_file(tgt.err_path);
	unlink(tgt.out_path);
	unlink(tgt.err_path);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "updk-nvmf exited with %#x:\n%s", st,
		  tgt.log);
	for (p = out; (p = strstr(p, "updk-nvmf: poller ")); p++) {
		unsigned id;
		char mode[32];
		unsigned long long v[10];

		cr_assert_eq(sscanf(p,
				    "updk-nvmf: poller %u (%31[^)]): %llu turns, %llu sleeps (%llu "
				    "with commands in flight); woken by NVMe %llu, sockets %llu, "
				    "inbox %llu, timer %llu; %llu arms found a completion; %llu "
				    "completions found late; %llu I/O commands, %lf us on the "
				    "controller each",
				    &id, mode, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
				    &v[7], &v[8], &v[9], &r->dev_us),
			     13, "a report that does not parse:\n%s", out);
		r->pollers++;
		r->interrupts += !strcmp(mode, "interrupts");
		r->turns += v[0];
		r->sleeps += v[1];
		r->sleeps_inflight += v[2];
		r->nvme += v[3];
		r->sock += v[4];
		r->inbox += v[5];
		r->timer += v[6];
		r->arm_found += v[7];
		r->late += v[8];
		r->ios += v[9];
	}
	cr_assert_gt(r->pollers, 0, "no poller report on stdout:\n%s", out);
	cr_log_info("%s", out);
	free(out);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 8));
}

/* A host's admin queue with @nq I/O queues granted. */
static void admin_with_queues(struct nvmf_host *adm, unsigned nq)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_SET_FEATURES };
	struct updk_nvme_cpl cpl;

	cr_assert_eq(nvmf_host_admin(adm, tgt.port, NQN, TEST_HOSTNQN), 0);
	cmd.cdw10 = UPDK_NVME_FEAT_NUMBER_OF_QUEUES;
	cmd.cdw11 = (nq - 1) << 16 | (nq - 1);
	cr_assert_eq(nvmf_host_cmd(adm, &cmd, NULL, 0, NULL, 0, &cpl), 0);
	cr_assert_not(updk_nvme_cpl_is_error(&cpl));
}

/* One I/O queue's host: @rounds writes of 4 KiB, each read back and compared. */
struct worker {
	int port;
	uint16_t cntlid, qid;
	uint32_t nsid;
	int rounds;
	int bad;
	struct updk_nvme_cpl last;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	w->bad = nvmf_host_round_trips(w->port, NQN, w->cntlid, w->qid, w->nsid, w->rounds,
				       &w->last);
	return NULL;
}

/* @nq queues of one controller, each in a thread of its own, @rounds round trips each. */
static void run_queues(unsigned nq, int rounds)
{
	struct nvmf_host adm;
	struct worker w[8];
	pthread_t t[8];

	admin_with_queues(&adm, nq);
	for (unsigned i = 0; i < nq; i++) {
		w[i] = (struct worker){ .port = tgt.port,
					.cntlid = adm.cntlid,
					.qid = (uint16_t)(i + 1),
					.nsid = i % nns + 1,
					.rounds = rounds };
		cr_assert_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (unsigned i = 0; i < nq; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(w[i].bad, 0, "queue %u: %d of %d round trips failed (last status %#x)",
			     i + 1, w[i].bad, rounds, w[i].last.status);
	}
	nvmf_host_close(&adm);
}

/* Every command waits for a delayed completion: the poller sleeps through it, and the
 * completion's interrupt wakes it. */
Test(nvmf_intr, io_completes_with_the_poller_asleep, .timeout = 120)
{
	const char *args[] = { "--interrupt-mode", "--idle-us", "0", "--nqn", NQN, DELAYED, NULL };
	struct report r;

	nvmf_target_start(&tgt, args);
	run_queues(1, 100);
	stop(&r);
	cr_assert_eq(r.interrupts, r.pollers, "not every poller used interrupts:\n%s", tgt.log);
	cr_expect_gt(r.sleeps_inflight, 0, "never slept with commands in flight");
	cr_expect_gt(r.nvme, 0, "no sleep ended by a completion's interrupt");
	cr_expect_eq(r.late, 0, "%llu completions found only by the timer: wake-ups lost", r.late);
	free(tgt.log);
}

/*
 * The same I/O in poll mode: a poller never sleeps with a command in flight, and with none it
 * sleeps until a socket wakes it, not a millisecond at a time (the timer ends a sleep at most
 * every 100 ms, for the deadlines). The report counts the I/O commands and their mean time on
 * the controller (each completion delayed 1 µs to 2 ms).
 */
Test(nvmf_intr, poll_mode_never_sleeps_with_commands_in_flight, .timeout = 120)
{
	const char *args[] = { "--poll-mode", "--idle-us", "0", "--nqn", NQN, DELAYED, NULL };
	struct timespec t0, t1;
	struct report r;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	nvmf_target_start(&tgt, args);
	run_queues(1, 30);
	usleep(500 * 1000); /* idle, with nothing in flight */
	stop(&r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	cr_assert_eq(r.interrupts, 0);
	cr_expect_eq(r.sleeps_inflight, 0);
	cr_expect_eq(r.nvme, 0);
	cr_expect_leq((double)r.timer, ms / 100 + 2,
		      "%llu sleeps ended by the timer in %.0f ms: a poller with nothing in flight "
		      "should wait for its sockets",
		      r.timer, ms);
	cr_expect_eq(r.ios, 60, "30 writes and 30 reads, the report says %llu I/O commands", r.ios);
	cr_expect_gt(r.dev_us, 0.0);
	free(tgt.log);
}

/* Two pollers (a vector each), four queues writing and reading back at once, every
 * completion delayed by up to 300 µs: over thousands of sleep and wake cycles no completion
 * is slept through. */
Test(nvmf_intr, no_completion_lost_over_many_cycles, .timeout = 180)
{
	const char *args[] = { "--interrupt-mode",
			       "--idle-us",
			       "0",
			       "-c",
			       "0,1",
			       "--nqn",
			       NQN,
			       "sim:nvme?size=64M,faults=1,fault_kinds=delay,fault_delay_us=300",
			       NULL };
	struct report r;

	nvmf_target_start(&tgt, args);
	run_queues(4, 500);
	stop(&r);
	cr_assert_eq(r.pollers, 2);
	cr_assert_eq(r.interrupts, 2, "%s", tgt.log);
	cr_expect_gt(r.nvme, 0);
	cr_expect_eq(r.late, 0, "%llu completions found only by the timer: wake-ups lost", r.late);
	free(tgt.log);
}

/* SIGTERM while a command waits on a sleeping poller's armed qpair (its completion delayed up
 * to 300 ms): it completes and is answered, then the target closes the connection and exits 0,
 * the qpairs freed armed. Had the stop come before the write reached the target, the write is
 * not taken and the connection just closes: never an error status, never a hang. */
struct one_write {
	struct nvmf_host *h;
	int rc;
	struct updk_nvme_cpl cpl;
};

static void *write_once(void *arg)
{
	struct one_write *o = arg;
	static uint8_t buf[4096];

	fill(buf, sizeof(buf), 5);
	o->rc = nvmf_host_rw(o->h, true, 1, 64, 8, buf, sizeof(buf), &o->cpl);
	return NULL;
}

Test(nvmf_intr, stop_with_a_command_in_flight_and_the_qpairs_armed, .timeout = 120)
{
	const char *args[] = { "--interrupt-mode", "--nqn", NQN,
			       "sim:nvme?size=64M,faults=1,fault_kinds=delay,fault_delay_us=300000",
			       NULL };
	struct nvmf_host adm, io;
	struct one_write o = { .h = &io };
	pthread_t t;
	struct report r;

	nvmf_target_start(&tgt, args);
	admin_with_queues(&adm, 1);
	cr_assert_eq(nvmf_host_io(&io, tgt.port, NQN, TEST_HOSTNQN, adm.cntlid, 1), 0);
	io.icd = true;
	cr_assert_eq(pthread_create(&t, NULL, write_once, &o), 0);
	usleep(50000);
	stop(&r);
	pthread_join(t, NULL);
	cr_expect(o.rc == 0 || o.rc == -ECONNRESET || o.rc == -EPIPE, "the write: %d (%s)", o.rc,
		  strerror(-o.rc));
	if (o.rc == 0)
		cr_expect_eq(o.cpl.status & 0xfffe, 0, "the write failed at the stop: status %#x",
			     o.cpl.status);
	cr_expect_eq(r.late, 0);
	cr_log_info("the write: %s; %llu sleeps with commands in flight",
		    o.rc ? "not taken" : "answered", r.sleeps_inflight);
	nvmf_host_close(&io);
	nvmf_host_close(&adm);
	free(tgt.log);
}

/* A controller that has no interrupts, and one with fewer vectors than the pollers need: each
 * said once, naming it; both polled, and I/O to them works. */
#define NOINTR "sim:nvme?size=64M,msix=0,intx=0 gives no interrupts"
#define FEWINTR "sim:nvme?size=64M,msix=2 has 2 interrupt vectors"

Test(nvmf_intr, controllers_without_enough_vectors_are_polled, .timeout = 120)
{
	const char *args[] = { "--interrupt-mode",
			       "-c",
			       "0,1",
			       "--nqn",
			       NQN,
			       "sim:nvme?size=64M,msix=0,intx=0",
			       "sim:nvme?size=64M,msix=2",
			       NULL };
	struct report r;
	char *p;

	nvmf_target_start(&tgt, args);
	nns = 2;
	run_queues(2, 20);
	nns = 1;
	stop(&r);
	p = strstr(tgt.log, NOINTR);
	cr_expect_not_null(p, "no message about the controller without interrupts:\n%s", tgt.log);
	cr_expect(p && !strstr(p + 1, NOINTR), "said more than once:\n%s", tgt.log);
	p = strstr(tgt.log, FEWINTR);
	cr_expect_not_null(p, "no message about the controller with 2 vectors:\n%s", tgt.log);
	cr_expect(p && !strstr(p + 1, FEWINTR), "said more than once:\n%s", tgt.log);
	cr_expect_eq(r.interrupts, 0, "a poller slept on a polled controller");
	cr_expect_eq(r.sleeps_inflight, 0);
	free(tgt.log);
}

/* The backing controller resets while two queues write and read back (sim:nvme holds the
 * 150th I/O's completion and ignores the Abort): the sleeping pollers are woken for the
 * reset's steps, the held commands go again after it, and every command succeeds. */
Test(nvmf_intr, backing_controller_reset_with_the_pollers_asleep, .timeout = 120)
{
	const char *args[] = { "--interrupt-mode",
			       "--io-timeout",
			       "300",
			       "--nqn",
			       NQN,
			       "sim:nvme?size=64M,drop_io=150,hang_abort=1",
			       NULL };
	struct report r;

	nvmf_target_start(&tgt, args);
	run_queues(2, 120);
	stop(&r);
	/* (the reset may be over before the main thread sees it under way: every command
	 * having succeeded says the controller came back) */
	cr_expect(strstr(tgt.log, "resetting the controller"), "no reset happened:\n%s", tgt.log);
	cr_expect_eq(r.interrupts, r.pollers);
	cr_expect_gt(r.sleeps, 0);
	free(tgt.log);
}

/* The options: one mode; --idle-us has no meaning with --busy-poll. */
Test(nvmf_intr, mode_options_refused_together)
{
	const char *bad[][8] = {
		{ "--interrupt-mode", "--poll-mode", "--nqn", NQN, "sim:nvme", NULL },
		{ "--busy-poll", "--interrupt-mode", "--nqn", NQN, "sim:nvme", NULL },
		{ "--busy-poll", "--idle-us", "10", "--nqn", NQN, "sim:nvme", NULL },
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char exe[4096], cmd[8192];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		int st;

		cr_assert_gt(n, 0);
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		/* (timeout: were the options taken, the target would serve until killed) */
		snprintf(cmd, sizeof(cmd), "timeout 20 %s/../bin/updk-nvmf --listen 127.0.0.1:0",
			 exe);
		for (const char *const *a = bad[i]; *a; a++) {
			strcat(cmd, " '");
			strcat(cmd, *a);
			strcat(cmd, "'");
		}
		strcat(cmd, " 2>&1 | grep -q -e 'choose one' -e 'no meaning'");
		st = system(cmd);
		cr_expect_eq(st, 0, "not refused as expected: %s", cmd);
	}
}
