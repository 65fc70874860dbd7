// SPDX-License-Identifier: BSD-3-Clause
/*
 * hybrid_loop: an NVMe reader that sleeps when it has nothing to do. It reads namespace 1 at a
 * steady pace, one read every 2 ms, from one thread running updk's hybrid loop (<updk/loop.h>):
 * the loop polls while a read is out and, once idle, arms the queue's interrupt and sleeps until
 * the completion's vector fires or the next read is due. At the end it prints what the loop
 * did and the CPU time the thread used: a small part of the time that passed, where a thread
 * that only polls would have used all of it.
 *
 *   cc hybrid_loop.c $(pkg-config --cflags --libs --static updk) -o hybrid_loop
 *   ./hybrid_loop                      # the simulated controller, sim:nvme
 *   ./hybrid_loop 0000:01:00.0         # a controller bound to vfio-pci
 */
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include <updk/loop.h>
#include <updk/mem.h>
#include <updk/nvme.h>
#include <updk/tsc.h>

#define READS 500
#define PERIOD_US 2000

/* What the loop's poll function works with (it gets the qpair as its argument). */
static struct {
	struct updk_loop *loop;
	struct updk_nvme_ns *ns;
	void *buf;
	uint64_t next_due; /* TSC of the next read */
	uint64_t period; /* TSC ticks between reads */
	int submitted, completed, failed;
} app;

static void on_read(void *arg, const struct updk_nvme_cpl *cpl)
{
	(void)arg;
	app.completed++;
	if (updk_nvme_cpl_is_error(cpl))
		app.failed++;
}

/*
 * The qpair's poll in the loop: submit the read that is due, tell the loop when the next one
 * is (so its sleep ends then), and reap. Returns the work done: 0 lets the loop go idle.
 */
static int poll_reader(void *arg)
{
	struct updk_nvme_qpair *qp = arg;
	int work = 0, n;

	if (app.submitted < READS && updk_tsc() >= app.next_due) {
		if (updk_nvme_ns_read(app.ns, qp, app.buf, 0, 8, on_read, NULL, 0))
			return -1;
		app.submitted++;
		app.next_due += app.period;
		work++;
	}
	if (app.submitted < READS)
		updk_loop_wake_at(app.loop, app.next_due);
	n = updk_nvme_qpair_process_completions(qp, 0);
	return n < 0 ? n : work + n;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static double wall_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	const char *addr = argc > 1 ? argv[1] : "sim:nvme";
	struct updk_nvme_ctrlr_opts copts = { .opts_size = sizeof(copts), .interrupts = true };
	struct updk_nvme_qpair_opts qopts = { .opts_size = sizeof(qopts), .interrupts = true };
	struct updk_loop_opts lopts = { .opts_size = sizeof(lopts), .idle_us = 20 };
	struct updk_nvme_ctrlr *ctrlr = NULL;
	struct updk_nvme_qpair *qp = NULL;
	struct updk_loop_queue admin, reader;
	struct updk_loop_stats st;
	double cpu0, wall0;
	int rc = 1;

	if (updk_nvme_ctrlr_open(addr, &copts, &ctrlr)) {
		fprintf(stderr, "hybrid_loop: cannot open %s with interrupts\n", addr);
		return 1;
	}
	app.ns = updk_nvme_ns_get(ctrlr, 1);
	app.buf = updk_dma_alloc(64 * 1024, 4096, UPDK_NUMA_ANY, NULL);
	if (!app.ns || !app.buf || updk_nvme_qpair_alloc(ctrlr, &qopts, &qp) ||
	    updk_loop_create(&lopts, &app.loop))
		goto out;
	/* The admin queue as it comes; the qpair with our poll, its interrupt as it comes. */
	admin = updk_nvme_admin_loop_queue(ctrlr);
	reader = updk_nvme_qpair_loop_queue(qp);
	reader.poll = poll_reader;
	if (updk_loop_add(app.loop, &admin) || updk_loop_add(app.loop, &reader))
		goto out;

	app.period = updk_tsc_hz() / 1000000 * PERIOD_US;
	app.next_due = updk_tsc();
	cpu0 = cpu_seconds();
	wall0 = wall_seconds();
	while (app.completed < READS)
		if (updk_loop_run_once(app.loop) < 0)
			goto out;
	updk_loop_stats(app.loop, &st);
	printf("hybrid_loop: %s: %d reads in %.2f s, %d failed; the thread used %.3f s of CPU; "
	       "the loop slept %llu times (%llu woken by an interrupt, %llu at a deadline)\n",
	       addr, app.completed, wall_seconds() - wall0, app.failed, cpu_seconds() - cpu0,
	       (unsigned long long)st.sleeps, (unsigned long long)st.wakeups,
	       (unsigned long long)st.timeouts);
	rc = app.failed ? 1 : 0;
out:
	updk_loop_destroy(app.loop);
	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(ctrlr);
	updk_dma_free(app.buf);
	return rc;
}
