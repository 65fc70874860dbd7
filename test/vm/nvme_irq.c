// SPDX-License-Identifier: BSD-3-Clause
/*
 * The NVMe driver's interrupt mode on QEMU's NVMe (00:05.0) through vfio-pci, inside the test
 * guest: a run in the hybrid loop whose qpair and admin queue sleep on their MSI-X vectors,
 * which the guest's kernel lists in /proc/interrupts as vfio-msix[N](BDF) and counts as they
 * fire; every command completes; a paced run at a low rate sleeps between reads (its CPU time
 * printed); and the controller closed, the vectors are gone.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <updk/loop.h>
#include <updk/mem.h>
#include <updk/nvme.h>
#include <updk/tsc.h>

#include "test/vm/vm_util.h"

static const char *bdf;

static void give_back(void)
{
	if (bdf)
		vm_bind(bdf, "nvme");
}

TestSuite(nvme_irq_vm, .timeout = 300, .fini = give_back);

/* The run: @n reads of 4 KiB (one every @period_us, 0: back to back) through the loop. */
struct run {
	struct updk_nvme_ns *ns;
	struct updk_loop *loop;
	uint8_t *buf;
	unsigned n, submitted, completed, failed;
	uint64_t period, next_due;
};

static void on_read(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct run *r = arg;

	r->completed++;
	r->failed += updk_nvme_cpl_is_error(cpl);
}

static struct run *the_run; /* the loop passes the qpair; the run state is here */

static int poll_run(void *arg)
{
	struct updk_nvme_qpair *qp = arg;
	struct run *r = the_run;
	int work = 0, n;

	if (r->submitted < r->n && r->submitted == r->completed && updk_tsc() >= r->next_due) {
		uint64_t lba = (uint64_t)(r->submitted % 256) * 8;

		cr_assert_eq(updk_nvme_ns_read(r->ns, qp, r->buf, lba, 8, on_read, r, 0), 0);
		r->submitted++;
		r->next_due += r->period;
		work = 1;
	}
	if (r->period && r->submitted < r->n)
		updk_loop_wake_at(r->loop, r->next_due);
	n = updk_nvme_qpair_process_completions(qp, 0);
	return n < 0 ? n : work + n;
}

static void run_loop(struct updk_nvme_ctrlr *c, struct updk_nvme_qpair *qp, struct run *r,
		     struct updk_loop_stats *st)
{
	struct updk_loop_opts o = { .opts_size = sizeof(o), .idle_us = 20 };
	struct updk_loop_queue aq = updk_nvme_admin_loop_queue(c);
	struct updk_loop_queue q = updk_nvme_qpair_loop_queue(qp);

	cr_assert_eq(updk_loop_create(&o, &r->loop), 0);
	q.poll = poll_run;
	cr_assert_eq(updk_loop_add(r->loop, &aq), 0);
	cr_assert_eq(updk_loop_add(r->loop, &q), 0);
	the_run = r;
	r->next_due = updk_tsc();
	while (r->completed < r->n)
		cr_assert_geq(updk_loop_run_once(r->loop), 0);
	updk_loop_stats(r->loop, st);
	updk_loop_destroy(r->loop);
}

Test(nvme_irq_vm, msix_vectors_fire_and_every_read_completes)
{
	struct updk_nvme_ctrlr_opts o = { .opts_size = sizeof(o), .interrupts = true };
	struct updk_nvme_qpair_opts qo = { .opts_size = sizeof(qo), .interrupts = true };
	struct updk_nvme_ctrlr *c = NULL;
	struct updk_nvme_qpair *qp = NULL;
	struct run r = { .n = 2000 };
	struct updk_loop_stats st;
	long long before;
	double cpu, wall;

	bdf = vm_env("UPDK_VM_NVME2");
	vm_bind(bdf, "vfio-pci");
	cr_assert_eq(updk_nvme_ctrlr_open(bdf, &o, &c), 0);
	cr_assert_geq(updk_nvme_ctrlr_intr_vectors(c), 2);
	cr_assert_geq(vm_msix_count(bdf, 0), 0, "vfio-msix[0](%s) in /proc/interrupts", bdf);
	cr_assert_eq(updk_nvme_qpair_alloc(c, &qo, &qp), 0);
	cr_assert_eq(updk_nvme_qpair_id(qp), 1);
	r.ns = updk_nvme_ns_get(c, 1);
	r.buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	cr_assert(r.ns && r.buf);

	/* Back to back: the queue's vector fires as the reads complete. */
	before = vm_msix_count(bdf, 1);
	cr_assert_geq(before, 0, "vfio-msix[1](%s): the qpair's vector", bdf);
	run_loop(c, qp, &r, &st);
	cr_assert_eq(r.failed, 0);
	cr_log_info("%u reads back to back: vector 1 counted %lld, the loop slept %llu times "
		    "(%llu woken by the interrupt)",
		    r.n, vm_msix_count(bdf, 1) - before, (unsigned long long)st.sleeps,
		    (unsigned long long)st.wakeups);
	cr_assert_gt(vm_msix_count(bdf, 1), before, "the guest counted the qpair's vector");
	cr_assert_gt(st.wakeups, 0, "the loop slept and the vector woke it");

	/* Paced at 200 reads a second: asleep between reads. */
	r = (struct run){ .n = 200, .ns = r.ns, .buf = r.buf, .period = updk_tsc_hz() / 200 };
	before = vm_msix_count(bdf, 1);
	cpu = vm_thread_cpu_s();
	wall = vm_wall_s();
	run_loop(c, qp, &r, &st);
	cpu = vm_thread_cpu_s() - cpu;
	wall = vm_wall_s() - wall;
	cr_log_info("200 reads paced at 200/s: %.2f s, CPU %.3f s (%.1f%% of a core), %llu "
		    "sleeps, vector 1 counted %lld",
		    wall, cpu, 100 * cpu / wall, (unsigned long long)st.sleeps,
		    vm_msix_count(bdf, 1) - before);
	cr_assert_eq(r.failed, 0);
	cr_assert_geq(vm_msix_count(bdf, 1) - before, 100, "most reads woke the thread");
	/*
	 * Asleep between reads: a sleep for most reads, where a polling thread sleeps never.
	 * The CPU time is printed, not asserted (a time, and under TCG a guest's CPU time swells
	 * when the host is busy: 16% of a core on a quiet host, 86% at load 15); docs/benchmarks.md
	 * has it measured.
	 */
	cr_assert_geq(st.sleeps, r.n / 2, "%llu sleeps for %u reads", (unsigned long long)st.sleeps,
		      r.n);

	updk_nvme_qpair_free(qp);
	updk_nvme_ctrlr_close(c);
	updk_dma_free(r.buf);
	cr_assert_eq(vm_msix_count(bdf, 0), -1, "the vectors are gone with the controller");
}
