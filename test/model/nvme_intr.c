// SPDX-License-Identifier: BSD-3-Clause
/*
 * The NVMe driver's interrupt mode against sim:nvme (<updk/nvme_intr.h>): the vectors sim:nvme
 * raises wake a hybrid loop asleep with no timeout; an arm with a completion already posted
 * returns at once; no wake-up is lost over thousands of commands completed at random moments;
 * a controller closed with armed queues leaves nothing open; coalescing and a reset keep the
 * vectors; and the refusals (no interrupts, no vector left, the open-file limit, a qpair with
 * interrupts on a controller without) name the device and leave polling working.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>

#include <criterion/criterion.h>

#include <updk/loop.h>
#include <updk/nvme.h>
#include <updk/pci.h>

#include "sim/sim.h"
#include "test/common/loop_thread.h"
#include "test/model/held.h"
#include "test/model/nvme_util.h"

TestSuite(nvme_intr, .init = nvme_test_mem_setup, .timeout = 120);

static int open_fds(void)
{
	return held_count_dir("/proc/self/fd");
}

static struct updk_nvme_ctrlr *open_intr(const char *addr)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o), .interrupts = true };

	return open_ctrlr_opts(addr, &o);
}

static struct updk_nvme_qpair *alloc_intr_qp(struct updk_nvme_ctrlr *c, uint32_t depth)
{
	struct updk_nvme_qpair_opts o = { .opts_size = sizeof(o),
					  .depth = depth,
					  .interrupts = true };
	struct updk_nvme_qpair *qp = NULL;

	cr_assert_eq(updk_nvme_qpair_alloc(c, &o, &qp), 0);
	return qp;
}

/* A loop with the admin queue and @qp, sleeping at once when idle, for up to @max_sleep_ms. */
static struct updk_loop *loop_for(struct updk_nvme_ctrlr *c, struct updk_nvme_qpair *qp,
				  uint32_t max_sleep_ms)
{
	struct updk_loop_opts o = { .opts_size = sizeof(o),
				    .idle_us = UPDK_LOOP_IDLE_NONE,
				    .max_sleep_ms = max_sleep_ms };
	struct updk_loop_queue aq = updk_nvme_admin_loop_queue(c);
	struct updk_loop_queue q = updk_nvme_qpair_loop_queue(qp);
	struct updk_loop *l;

	cr_assert_eq(updk_loop_create(&o, &l), 0);
	cr_assert_eq(updk_loop_add(l, &aq), 0);
	cr_assert_eq(updk_loop_add(l, &q), 0);
	return l;
}

/* Run @l until @d completes: bounded by the test's timeout. */
static void loop_until(struct updk_loop *l, struct io_done *d)
{
	while (!d->done)
		cr_assert_geq(updk_loop_run_once(l), 0);
}

/* Get Features Interrupt Coalescing: its DW0. */
static uint32_t coalescing(struct updk_nvme_ctrlr *c)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_GET_FEATURES,
				     .cdw10 = UPDK_NVME_FEAT_INTERRUPT_COALESCING };
	struct updk_nvme_cpl cpl;

	cr_assert_eq(updk_nvme_admin_sync(c, &cmd, NULL, 0, &cpl), 0);
	return cpl.cdw0;
}

static uint64_t vector_raised(struct updk_nvme_ctrlr *c, struct updk_nvme_qpair *qp)
{
	uint64_t n;

	cr_assert_eq(sim_irq_stats(ctrlr_dev(c), (unsigned)qp->iv, &n, NULL), 0);
	return n;
}

/* Pause the model now and resume it from a thread of its own once @l has gone to sleep. */
struct resumer {
	struct updk_nvme_ctrlr *c;
	struct updk_loop *l;
	uint64_t sleeps; /* the loop's count when paused */
	pthread_t t;
};

static void *resume_main(void *arg)
{
	struct resumer *rs = arg;
	struct updk_loop_stats st;

	do {
		usleep(200);
		updk_loop_stats(rs->l, &st);
	} while (st.sleeps == rs->sleeps);
	cr_assert_eq(sim_nvme_pause(ctrlr_dev(rs->c), false), 0);
	return NULL;
}

static void resume_when_asleep(struct resumer *rs)
{
	struct updk_loop_stats st;

	updk_loop_stats(rs->l, &st);
	rs->sleeps = st.sleeps;
	cr_assert_eq(sim_nvme_pause(ctrlr_dev(rs->c), true), 0);
	cr_assert_eq(pthread_create(&rs->t, NULL, resume_main, rs), 0);
}

Test(nvme_intr, model_vectors_wake_the_loop)
{
	struct updk_nvme_ctrlr *c = open_intr("sim:nvme?size=1M");
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct updk_nvme_qpair *qp = alloc_intr_qp(c, 15);
	uint8_t *buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	struct updk_loop_stats st;
	struct updk_loop *l;
	struct io_done d = { 0 };

	cr_assert_eq(updk_nvme_ctrlr_intr_vectors(c), 65, "sim:nvme offers 65 MSI-X vectors");
	cr_assert_eq(updk_pci_irq_type(ctrlr_dev(c)), UPDK_PCI_IRQ_MSIX);
	cr_assert_eq(qp->iv, 1, "the first qpair's vector (0 is the admin queue's)");
	cr_assert_neq(updk_nvme_qpair_intr_fd(qp), updk_nvme_admin_intr_fd(c));
	l = loop_for(c, qp, UPDK_LOOP_SLEEP_FOREVER);
	for (int i = 0; i < 5; i++) {
		struct resumer rs = { .c = c, .l = l };

		/* The model stands still until the loop sleeps: the read completes into a sleep
		 * with no timeout, however the threads are scheduled. */
		d.done = 0;
		resume_when_asleep(&rs);
		cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, 0, 8, io_done_cb, &d, 0), 0);
		loop_until(l, &d);
		cr_assert_eq(pthread_join(rs.t, NULL), 0);
		assert_ok(&d);
	}
	updk_loop_stats(l, &st);
	cr_assert_eq(st.wakeups, 5, "each read: a sleep woken by its vector");
	cr_assert_eq(st.arm_found_work, 0);
	cr_assert_eq(st.idle_wakeups, 0);
	cr_assert_eq(st.timeouts, 0);
	cr_assert_geq(vector_raised(c, qp), 5);
	updk_loop_destroy(l);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
}

Test(nvme_intr, arm_with_a_completion_posted_returns_at_once)
{
	struct updk_nvme_ctrlr *c = open_intr("sim:nvme?size=1M");
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct updk_nvme_qpair *qp = alloc_intr_qp(c, 15);
	uint8_t *buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	struct sim_nvme_stats st;
	struct io_done d = { 0 };
	uint64_t before;

	/* The model stands still until the first arm is made, so that arm cannot race its thread. */
	cr_assert_eq(sim_nvme_pause(ctrlr_dev(c), true), 0);
	cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, 0, 8, io_done_cb, &d, 0), 0);
	cr_assert_eq(sim_nvme_stats(ctrlr_dev(c), &st), 0);
	before = st.completions;
	/* The doorbell goes with the arm: nothing is waiting yet. */
	cr_assert_geq(updk_nvme_qpair_intr_ack(qp), 0);
	cr_assert_eq(updk_nvme_qpair_intr_arm(qp), 0, "armed: the command is not done yet");
	cr_assert_eq(sim_nvme_pause(ctrlr_dev(c), false), 0);
	/* Posted by the model, not reaped: the next arm sees it without waiting. */
	POLL_UNTIL(st.completions > before, sim_nvme_stats(ctrlr_dev(c), &st));
	cr_assert_gt(st.completions, before);
	cr_assert_geq(updk_nvme_qpair_intr_ack(qp), 0);
	cr_assert_eq(updk_nvme_qpair_intr_arm(qp), 1, "a completion waits: do not sleep");
	cr_assert_eq(d.done, 0, "arm reaps nothing");
	cr_assert_eq(updk_nvme_qpair_process_completions(qp, 0), 1);
	cr_assert_eq(d.done, 1);
	cr_assert_eq(updk_nvme_qpair_intr_arm(qp), 0);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
}

/* CQ head doorbell changes the model saw, through MMIO or the shadow buffer. */
static uint64_t cq_heads_seen(struct updk_nvme_ctrlr *c)
{
	static struct sim_nvme_stats st; /* large: admin commands by opcode */

	cr_assert_eq(sim_nvme_sync(ctrlr_dev(c)), 0);
	cr_assert_eq(sim_nvme_stats(ctrlr_dev(c), &st), 0);
	return st.mmio_cq_db + st.shadow_cq_db;
}

/*
 * The reaper gives CQ entries back lazily (once half the ring less the slots is reaped), but an
 * owner about to sleep must give back all it reaped: a pin-based or MSI vector stays asserted
 * while its CQs hold entries not consumed through the head doorbell (QEMU's NVMe deasserts INTx
 * only when head and tail meet), so the sleep would end at once, every time.
 */
Test(nvme_intr, arm_gives_the_reaped_entries_back)
{
	struct updk_nvme_ctrlr *c = open_intr("sim:nvme?size=1M");
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct updk_nvme_qpair *qp = alloc_intr_qp(c, 1);
	uint8_t *buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	uint64_t seen;

	seen = cq_heads_seen(c);
	for (int i = 0; i < 10; i++) {
		struct io_done d = { 0 };

		cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, (uint64_t)i * 8, 8, io_done_cb, &d, 0),
			     0);
		while (!d.done)
			cr_assert_geq(updk_nvme_qpair_process_completions(qp, 0), 0);
		cr_assert_not(updk_nvme_cpl_is_error(&d.cpl));
	}
	cr_assert_eq(cq_heads_seen(c), seen, "polled at QD 1: no CQ head doorbell yet");
	cr_assert_geq(updk_nvme_qpair_intr_ack(qp), 0);
	cr_assert_eq(updk_nvme_qpair_intr_arm(qp), 0, "nothing waits: sleep");
	cr_assert_eq(cq_heads_seen(c), seen + 1, "the arm gave the 10 entries back");
	cr_assert_eq(updk_nvme_qpair_intr_arm(qp), 0);
	cr_assert_eq(cq_heads_seen(c), seen + 1, "nothing more to give back: no doorbell");
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
}

/*
 * Random device timing: sim:nvme delays each completion by 0 to 100 µs (jitter_us), so it lands
 * before the poll, between poll and arm, inside the arm or during the sleep. 10,000 commands one
 * after the other (the model's thread backs off to 1 ms sleeps when idle: more would take
 * long); a sleep slept through would end by its 10 s timeout only. The million-post version of
 * the same race, without a model, is the unit test loop::no_lost_wakeup.
 */
Test(nvme_intr, no_lost_wakeup_with_random_completion_times)
{
	struct updk_nvme_ctrlr *c = open_intr("sim:nvme?size=1M,jitter_us=100,seed=7");
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct updk_nvme_qpair *qp = alloc_intr_qp(c, 15);
	uint8_t *buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	struct updk_loop *l = loop_for(c, qp, 10000);
	struct updk_loop_stats st;
	struct io_done d = { 0 };

	for (int i = 0; i < 10000; i++) {
		d.done = 0;
		cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, (uint64_t)(i % 64) * 8, 8, io_done_cb,
					       &d, 0),
			     0);
		loop_until(l, &d);
		assert_ok(&d);
	}
	updk_loop_stats(l, &st);
	cr_log_info("10000 commands: %llu sleeps, %llu woken by an interrupt, %llu arms found a "
		    "completion",
		    (unsigned long long)st.sleeps, (unsigned long long)st.wakeups,
		    (unsigned long long)st.arm_found_work);
	cr_assert_eq(st.timeouts, 0, "a wake-up was lost: a sleep ran into its 10 s timeout");
	cr_assert_gt(st.wakeups, 100, "the loop did sleep");
	updk_loop_destroy(l);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
}

/* Closed with its queues armed and a command held by the controller: nothing stays open. */
Test(nvme_intr, close_with_armed_queues)
{
	struct held before = held_now();
	struct updk_nvme_ctrlr *c = open_intr("sim:nvme?size=1M");
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct updk_nvme_qpair *qp = alloc_intr_qp(c, 15);
	uint8_t *buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	struct loop_thread lt;
	struct io_done d = { 0 };

	cr_assert_gt(open_fds(), before.fds + 60, "an eventfd per vector");
	cr_assert_eq(sim_nvme_fault_drop(ctrlr_dev(c), 1), 0);
	cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, 0, 8, io_done_cb, &d, 0), 0);
	loop_thread_start_asleep(&lt, loop_for(c, qp, UPDK_LOOP_SLEEP_FOREVER));
	cr_assert_eq(loop_thread_stop(&lt), 0);
	cr_assert_eq(d.done, 0, "the held command is still outstanding");
	/* The queues were armed last; the controller goes with them and the command. */
	updk_nvme_ctrlr_close(c);
	cr_assert_eq(d.done, 1, "completed by the close (aborted with its queue's deletion)");
	cr_assert(updk_nvme_cpl_is_error(&d.cpl));
	updk_loop_destroy(lt.l);
	updk_dma_free(buf);
	held_assert_same(before, "the close");
}

/* Pin-based only: one INTx vector for every queue, unmasked after each interrupt. */
Test(nvme_intr, intx_shared_by_every_queue)
{
	struct updk_nvme_ctrlr *c = open_intr("sim:nvme?size=1M,msix=0");
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct updk_nvme_qpair *a = alloc_intr_qp(c, 15), *b = alloc_intr_qp(c, 15);
	uint8_t *buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	struct updk_loop_opts o = { .opts_size = sizeof(o),
				    .idle_us = UPDK_LOOP_IDLE_NONE,
				    .max_sleep_ms = UPDK_LOOP_SLEEP_FOREVER };
	struct updk_loop_queue qa = updk_nvme_qpair_loop_queue(a),
			       qb = updk_nvme_qpair_loop_queue(b);
	struct updk_loop_queue aq = updk_nvme_admin_loop_queue(c);
	struct updk_loop_stats st;
	struct updk_loop *l;

	cr_assert_eq(updk_pci_irq_type(ctrlr_dev(c)), UPDK_PCI_IRQ_INTX);
	cr_assert_eq(updk_nvme_ctrlr_intr_vectors(c), 1);
	cr_assert(a->iv == 0 && b->iv == 0);
	cr_assert_eq(updk_loop_create(&o, &l), 0);
	cr_assert_eq(updk_loop_add(l, &aq), 0);
	cr_assert_eq(updk_loop_add(l, &qa), 0);
	cr_assert_eq(updk_loop_add(l, &qb), 0);
	cr_assert_eq(sim_nvme_fault_delay(ctrlr_dev(c), 5000), 0);
	for (int i = 0; i < 20; i++) {
		struct io_done da = { 0 }, db = { 0 };

		cr_assert_eq(updk_nvme_ns_read(ns, a, buf, 0, 8, io_done_cb, &da, 0), 0);
		cr_assert_eq(updk_nvme_ns_read(ns, b, buf, 8, 8, io_done_cb, &db, 0), 0);
		loop_until(l, &da);
		loop_until(l, &db);
		assert_ok(&da);
		assert_ok(&db);
	}
	updk_loop_stats(l, &st);
	cr_assert_geq(st.wakeups, 20);
	cr_assert_eq(st.timeouts, 0);
	updk_loop_destroy(l);
	updk_nvme_qpair_free(a);
	updk_nvme_qpair_free(b);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
}

/* A refused request names the device, and the controller (or a polled one) still works. */
static void expect_log(struct log_capture *lc, const char *a, const char *b)
{
	char *log = log_capture_stop(lc);

	cr_assert(strstr(log, a) && strstr(log, b), "wanted '%s' and '%s' in: %s", a, b, log);
	free(log);
}

static void polled_io_works(const char *addr)
{
	struct rig r;

	rig_open(&r, addr, 15, 4096);
	memset(r.wbuf, 0x5a, 4096);
	write_sync(&r, r.wbuf, 0, 8, 0);
	read_sync(&r, r.rbuf, 0, 8);
	cr_assert(!memcmp(r.wbuf, r.rbuf, 4096));
	rig_close(&r);
}

Test(nvme_intr, function_without_interrupts_refused)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o), .interrupts = true };
	const char *addr = "sim:nvme?size=1M,msix=0,intx=0";
	struct updk_nvme_ctrlr *c = NULL;
	struct held before = held_now();
	struct log_capture lc;

	log_capture_start(&lc);
	cr_assert_eq(updk_nvme_ctrlr_open(addr, &o, &c), -ENOSPC);
	expect_log(&lc, "sim:nvme", "offers no interrupts");
	cr_assert_null(c);
	held_assert_same(before, "the failed open");
	polled_io_works(addr);
}

Test(nvme_intr, more_qpairs_than_vectors_refused)
{
	struct updk_nvme_ctrlr *c = open_intr("sim:nvme?size=1M,msix=3");
	struct updk_nvme_qpair_opts o = { .opts_size = sizeof(o), .interrupts = true };
	struct updk_nvme_qpair *a = alloc_intr_qp(c, 15), *b = alloc_intr_qp(c, 15), *x = NULL;
	struct updk_nvme_qpair *p;
	struct log_capture lc;
	struct io_done d = { 0 };
	uint8_t *buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);

	cr_assert_eq(updk_nvme_ctrlr_intr_vectors(c), 3);
	log_capture_start(&lc);
	cr_assert_eq(updk_nvme_qpair_alloc(c, &o, &x), -ENOSPC);
	expect_log(&lc, "sim:nvme", "no interrupt vector left");
	cr_assert_null(x);
	/* Polled, it is fine; and a freed qpair's vector is given again. */
	p = alloc_qp(c, 15);
	cr_assert_eq(updk_nvme_qpair_intr_fd(p), -EINVAL);
	cr_assert_eq(updk_nvme_ns_read(updk_nvme_ns_get(c, 1), p, buf, 0, 8, io_done_cb, &d, 0), 0);
	wait_done(p, &d);
	assert_ok(&d);
	updk_nvme_qpair_free(b);
	cr_assert_eq(updk_nvme_qpair_alloc(c, &o, &x), 0);
	cr_assert_eq(x->iv, 2);
	updk_nvme_qpair_free(x);
	updk_nvme_qpair_free(p);
	updk_nvme_qpair_free(a);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
}

Test(nvme_intr, open_file_limit_refused)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o), .interrupts = true };
	struct updk_nvme_ctrlr *c = NULL;
	struct held before = held_now();
	struct rlimit saved, low;
	struct log_capture lc;
	int rc;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = (rlim_t)before.fds + 20; /* not 65 eventfds */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	log_capture_start(&lc);
	rc = updk_nvme_ctrlr_open("sim:nvme?size=1M", &o, &c);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
	cr_assert_eq(rc, -EMFILE);
	expect_log(&lc, "sim:nvme", "ulimit -n");
	held_assert_same(before, "the failed open");
	polled_io_works("sim:nvme?size=1M");
}

Test(nvme_intr, interrupts_on_a_polled_controller_refused)
{
	struct rig r;
	struct updk_nvme_qpair_opts o = { .opts_size = sizeof(o), .interrupts = true };
	struct updk_nvme_qpair *qp = NULL;
	struct log_capture lc;
	struct updk_loop_queue q;

	rig_open(&r, "sim:nvme?size=1M", 15, 4096);
	log_capture_start(&lc);
	cr_assert_eq(updk_nvme_qpair_alloc(r.c, &o, &qp), -EINVAL);
	cr_assert_eq(updk_nvme_admin_intr_fd(r.c), -EINVAL);
	cr_assert_eq(updk_nvme_qpair_intr_arm(r.qp), -EINVAL);
	expect_log(&lc, "sim:nvme", "updk_nvme_ctrlr_opts.interrupts");
	q = updk_nvme_qpair_loop_queue(r.qp);
	cr_assert_lt(q.fd, 0, "a polled qpair's loop queue has no fd");
	cr_assert_eq(updk_nvme_ctrlr_intr_vectors(r.c), 0);
	read_sync(&r, r.rbuf, 0, 8);
	rig_close(&r);
}

Test(nvme_intr, coalescing_set_and_kept_across_a_reset)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o),
					  .interrupts = true,
					  .intr_coal_threshold = 3 };
	struct updk_nvme_ctrlr *c = open_ctrlr_opts("sim:nvme?size=1M", &o);
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct updk_nvme_qpair *qp = alloc_intr_qp(c, 15);
	uint8_t *buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	struct io_done d[4] = { 0 };
	uint64_t raised;

	/* Four completions (THR 3, 0's based) raise the vector once. */
	for (int round = 0; round < 2; round++) {
		raised = vector_raised(c, qp);
		for (int i = 0; i < 4; i++) {
			d[i].done = 0;
			cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, 0, 8, io_done_cb, &d[i], 0), 0);
			wait_done(qp, &d[i]);
		}
		POLL_UNTIL(vector_raised(c, qp) > raised, usleep(100));
		usleep(20000);
		cr_assert_eq(vector_raised(c, qp) - raised, 1, "round %d: one interrupt for four",
			     round);
		/* A reset forgets features; the driver sets it again, and IEN/IV with the queue. */
		if (round == 0)
			cr_assert_eq(updk_nvme_ctrlr_reset(c), 0);
	}
	cr_assert_eq(coalescing(c) & 0xffff, 3);
	cr_assert_eq(updk_nvme_ctrlr_set_intr_coalescing(c, 0, 5), 0);
	cr_assert_eq(coalescing(c) & 0xffff, 5u << 8);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
}

/*
 * The driver wakes a sleeping owner itself: the admin thread sleeps with no timeout, and only
 * the qpair thread's timeout (an Abort to send, then a reset to do) can end its sleep, through
 * the admin vector's fd; the reset in turn ends the qpair thread's sleep.
 */
struct owner {
	struct updk_nvme_ctrlr *c;
	struct updk_nvme_qpair *qp;
	struct updk_loop *admin_loop; /* woken when this thread is done */
	struct io_done d;
	volatile int finished;
};

static void *qpair_owner(void *arg)
{
	struct owner *w = arg;
	struct updk_loop_opts o = { .opts_size = sizeof(o),
				    .idle_us = UPDK_LOOP_IDLE_NONE,
				    .max_sleep_ms = 20 }; /* its timeouts age when it wakes */
	struct updk_loop_queue q = updk_nvme_qpair_loop_queue(w->qp);
	uint8_t *b = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	struct updk_loop *l;

	cr_assert_eq(updk_loop_create(&o, &l), 0);
	cr_assert_eq(updk_loop_add(l, &q), 0);
	cr_assert_eq(
		updk_nvme_ns_read(updk_nvme_ns_get(w->c, 1), w->qp, b, 0, 8, io_done_cb, &w->d, 0),
		0);
	while (!w->d.done)
		cr_assert_geq(updk_loop_run_once(l), 0);
	updk_loop_destroy(l);
	updk_dma_free(b);
	w->finished = 1;
	updk_loop_wake(w->admin_loop);
	return NULL;
}

Test(nvme_intr, timeouts_and_reset_wake_sleeping_owners)
{
	struct updk_nvme_ctrlr *c = open_intr("sim:nvme?size=1M");
	struct owner w = { .c = c, .qp = alloc_intr_qp(c, 15) };
	struct updk_loop_opts o = { .opts_size = sizeof(o),
				    .idle_us = UPDK_LOOP_IDLE_NONE,
				    .max_sleep_ms = UPDK_LOOP_SLEEP_FOREVER };
	struct updk_loop_queue aq = updk_nvme_admin_loop_queue(c);
	struct updk_nvme_stats st;
	struct updk_loop_stats ls;
	struct updk_loop *l;
	pthread_t t;

	cr_assert_eq(updk_loop_create(&o, &l), 0);
	cr_assert_eq(updk_loop_add(l, &aq), 0);
	w.admin_loop = l;
	sim_nvme_fault_drop(ctrlr_dev(c), updk_nvme_qpair_id(w.qp));
	sim_nvme_fault_hang(ctrlr_dev(c), 0, UPDK_NVME_OPC_ABORT);
	/* 100 ms for the dropped read; the defaults once the reset has begun (nvme_util.h) */
	set_timeouts_ms(c, NVME_TEST_ADMIN_TIMEOUT_MS, 100);
	cr_assert_eq(pthread_create(&t, NULL, qpair_owner, &w), 0);
	while (!w.finished || updk_nvme_ctrlr_is_failed(c)) {
		if (updk_nvme_ctrlr_is_failed(c))
			default_timeouts(c);
		cr_assert_geq(updk_loop_run_once(l), 0);
	}
	pthread_join(t, NULL);
	assert_status(&w.d.cpl, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
	updk_loop_stats(l, &ls);
	/* Asleep with no timeout, the admin thread got on only through the driver's wake-ups,
	 * for the Abort and for the reset: each ended a sleep, or was found by the arm before
	 * one (a thread kept off the CPU until the request came). */
	cr_assert_geq(ls.wakeups + ls.arm_found_work, 2, "woken for the Abort and the reset");
	cr_assert_eq(ls.timeouts, 0, "it has none");
	cr_assert_leq(ls.stops, 1, "at most the last wake-up was the test's own");
	updk_nvme_ctrlr_get_stats(c, &st);
	cr_assert_eq(st.aborts_sent, 1);
	cr_assert_eq(st.resets, 1);
	updk_loop_destroy(l);
	updk_nvme_qpair_free(w.qp);
	updk_nvme_ctrlr_close(c);
}

/*
 * A qpair owner whose loop passes while the admin thread is beginning an automatic reset: the
 * controller is marked failed and being disabled, the owners not told yet. That is idle time
 * for the owner's loop, not an error (it was one: the loop asked the admin thread's flags,
 * which say "resetting" only from a later step, and the qpair thread of
 * timeouts_and_reset_wake_sleeping_owners failed now and then under load). The reset fails the
 * admin commands at that very moment, so a hung admin command's callback makes the owner's
 * pass there, on one thread, with nothing left to timing.
 */
struct in_reset {
	struct updk_nvme_ctrlr *c;
	struct updk_loop *owner;
	int called;
	bool failed;
	int rc;
};

static void pass_in_reset_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct in_reset *b = arg;

	(void)cpl;
	b->called++;
	b->failed = updk_nvme_ctrlr_is_failed(b->c);
	b->rc = updk_loop_run_once(b->owner);
}

Test(nvme_intr, owner_passing_as_a_reset_begins_sees_no_error)
{
	struct updk_nvme_ctrlr *c = open_intr("sim:nvme?size=1M");
	struct updk_nvme_ns *ns = updk_nvme_ns_get(c, 1);
	struct updk_nvme_qpair *qp = alloc_intr_qp(c, 15);
	struct updk_nvme_cmd gf = { .opc = UPDK_NVME_OPC_GET_FEATURES,
				    .cdw10 = UPDK_NVME_FEAT_INTERRUPT_COALESCING };
	struct updk_loop_opts o = { .opts_size = sizeof(o), .idle_us = UPDK_LOOP_IDLE_NONE };
	struct updk_loop_queue q = updk_nvme_qpair_loop_queue(qp);
	uint8_t *buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	struct in_reset b = { .c = c };
	struct io_done d = { 0 };
	struct updk_nvme_stats st;

	cr_assert_eq(updk_loop_create(&o, &b.owner), 0);
	cr_assert_eq(updk_loop_add(b.owner, &q), 0);
	/* A read the reset will abort, and an admin command the controller never completes. */
	cr_assert_eq(sim_nvme_fault_drop(ctrlr_dev(c), updk_nvme_qpair_id(qp)), 0);
	cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, 0, 8, io_done_cb, &d, 0), 0);
	cr_assert_eq(sim_nvme_fault_hang(ctrlr_dev(c), 0, UPDK_NVME_OPC_GET_FEATURES), 0);
	cr_assert_eq(updk_nvme_admin_raw(c, &gf, NULL, 0, pass_in_reset_cb, &b), 0);
	/* Both rung and taken by the model (so neither fault waits for the recreated queues). */
	updk_nvme_qpair_flush(qp);
	cr_assert_geq(updk_nvme_admin_process_completions(c), 0);
	cr_assert_eq(sim_nvme_sync(ctrlr_dev(c)), 0);
	cr_assert_eq(b.called, 0, "the Get Features hangs");
	/* What a timeout the Abort did not resolve asks for (qpair.c), then the admin's poll. */
	cr_assert(nvme_reset_request(c));
	cr_assert_eq(updk_nvme_admin_process_completions(c), -ENXIO, "waiting for the owner");
	cr_assert_eq(b.called, 1);
	cr_assert(b.failed, "the callback ran with the controller failed, in the reset");
	cr_assert_geq(b.rc, 0, "the owner's pass as the reset began: %d", b.rc);
	/* The owner's loop then sees the reset through: its read aborted, the controller back. */
	while (!d.done || updk_nvme_ctrlr_is_failed(c)) {
		cr_assert_geq(updk_loop_run_once(b.owner), 0);
		updk_nvme_admin_process_completions(c);
	}
	assert_status(&d.cpl, UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST);
	updk_nvme_ctrlr_get_stats(c, &st);
	cr_assert_eq(st.resets, 1);
	d.done = 0;
	cr_assert_eq(updk_nvme_ns_read(ns, qp, buf, 0, 8, io_done_cb, &d, 0), 0);
	while (!d.done)
		cr_assert_geq(updk_loop_run_once(b.owner), 0);
	assert_ok(&d);
	updk_loop_destroy(b.owner);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(buf);
}
