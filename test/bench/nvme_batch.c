// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench-nvme_batch: what the driver's hot path costs per I/O, with the device out of the way
 * (docs/benchmarks.md). 4 KiB random reads at queue depth QD on one qpair, in rounds: wait,
 * outside the measured code, until the controller has posted all QD completions (the bench
 * peeks at the CQ's phase tags); then one measured call, bench_round(), reaps them (the
 * callbacks resubmit QD reads) and writes the SQ doorbell. Under
 *
 *   valgrind --tool=callgrind --toggle-collect=bench_round build/test/bench-nvme_batch
 *
 * the instructions callgrind_annotate gives to the files of drivers/nvme, divided by the I/Os printed,
 * are the driver's submit + complete cost per I/O at that depth.
 *
 *   bench-nvme_batch [-q QD] [-n ROUNDS] [-b MAX] [--no-shadow-doorbell] [--doorbell-per-cmd]
 *                    [ADDR]      (defaults: 32, 2000, 0, sim:nvme?size=64M)
 * -b MAX reaps at most MAX completions per process_completions() call (0: all), calling it
 * until the round's QD are reaped: the completion batch size.
 * Besides instructions under callgrind, it prints the TSC cycles each measured round took per
 * I/O, natively (median and mean over the rounds): wall-clock figures, so they move with the
 * load of the machine, unlike the instruction counts.
 * --doorbell-per-cmd writes the SQ doorbell after every command (updk_nvme_qpair_flush()), the
 * "before" of batched doorbells. Prints figures; never fails on a speed.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <updk/mem.h>
#include <updk/nvme.h>
#include <updk/tsc.h>

#include "drivers/nvme/pcie/pcie.h"

struct bench {
	struct updk_nvme_ns *ns;
	struct updk_nvme_qpair *qp;
	uint64_t slots, rng, done, errors;
	uint32_t nlb;
	bool per_cmd;
	bool stop; /* the qpair is being freed: what it fails is not resubmitted */
};

struct task {
	struct bench *b;
	void *buf;
};

static void submit(struct task *t);

static void done(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct task *t = arg;

	if (t->b->stop)
		return;
	t->b->done++;
	t->b->errors += updk_nvme_cpl_is_error(cpl);
	submit(t);
}

static void submit(struct task *t)
{
	struct bench *b = t->b;
	uint64_t slot;

	/* wyrand and multiply-shift, as updk-perf does */
	b->rng += 0xa0761d6478bd642full;
	__uint128_t m = (__uint128_t)b->rng * (b->rng ^ 0xe7037ed1a0b428dbull);
	slot = (uint64_t)(((__uint128_t)((uint64_t)(m >> 64) ^ (uint64_t)m) * b->slots) >> 64);
	if (updk_nvme_ns_read(b->ns, b->qp, t->buf, slot * b->nlb, b->nlb, done, t, 0)) {
		fprintf(stderr, "bench-nvme_batch: submission refused\n");
		exit(1);
	}
	if (b->per_cmd)
		updk_nvme_qpair_flush(b->qp);
}

/* True once the controller has posted @n completions from the CQ head on (peeking at the
 * phase tags; the driver's own reaper is not involved). */
static bool posted(struct updk_nvme_qpair *qp, uint32_t n)
{
	const struct nvme_pcie_qpair *pq = pcie_qp(qp);
	uint32_t idx = (uint32_t)pq->cq_head + n - 1;
	uint16_t phase = (uint16_t)pcie_cq_phase(pq);

	if (idx >= pq->qsize) {
		idx -= pq->qsize;
		phase ^= 1;
	}
	return (pq->cq[idx].status & 1) == phase;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The measured code: one round of completions and resubmissions, one SQ doorbell. */
__attribute__((noinline)) int bench_round(struct updk_nvme_qpair *qp, uint32_t qd, uint32_t max);
__attribute__((noinline)) int bench_round(struct updk_nvme_qpair *qp, uint32_t qd, uint32_t max)
{
	int n = 0, k;

	do {
		k = updk_nvme_qpair_process_completions(qp, max);
		if (k < 0)
			return k;
		n += k;
	} while (max && k && (uint32_t)n < qd);
	updk_nvme_qpair_flush(qp);
	return n;
}

int main(int argc, char **argv)
{
	const char *addr = "sim:nvme?size=64M";
	uint32_t qd = 32, rounds = 2000, full = 0, max = 0;
	struct updk_nvme_ctrlr_opts co = { .opts_size = sizeof(co) };
	struct updk_nvme_qpair_opts qo = { .opts_size = sizeof(qo) };
	struct updk_nvme_ctrlr *ctrlr;
	struct updk_nvme_stats st;
	struct bench b = { .rng = 1 };
	struct task *tasks;
	uint64_t t0, t1, *cycles, sum = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-q") && i + 1 < argc)
			qd = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "-n") && i + 1 < argc)
			rounds = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "-b") && i + 1 < argc)
			max = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-shadow-doorbell"))
			co.no_shadow_doorbell = true;
		else if (!strcmp(argv[i], "--doorbell-per-cmd"))
			b.per_cmd = true;
		else if (argv[i][0] != '-')
			addr = argv[i];
		else {
			fprintf(stderr, "usage: bench-nvme_batch [-q QD] [-n ROUNDS] [-b MAX] "
					"[--no-shadow-doorbell] [--doorbell-per-cmd] [ADDR]\n");
			return 2;
		}
	}
	if (!qd || qd > 1024 || !rounds) {
		fprintf(stderr, "bench-nvme_batch: -q 1..1024, -n at least 1\n");
		return 2;
	}
	if (updk_nvme_ctrlr_open(addr, &co, &ctrlr))
		return 1;
	b.ns = updk_nvme_ns_get(ctrlr, updk_nvme_ctrlr_first_active_ns(ctrlr));
	qo.depth = qd;
	if (!b.ns || updk_nvme_qpair_alloc(ctrlr, &qo, &b.qp)) {
		updk_nvme_ctrlr_close(ctrlr);
		return 1;
	}
	b.nlb = 4096 / updk_nvme_ns_sector_size(b.ns);
	b.slots = updk_nvme_ns_num_sectors(b.ns) / b.nlb;
	tasks = calloc(qd, sizeof(*tasks));
	for (uint32_t i = 0; tasks && i < qd; i++) {
		tasks[i].b = &b;
		tasks[i].buf = updk_dma_alloc(4096, 4096, UPDK_NUMA_ANY, NULL);
		if (!tasks[i].buf)
			return 1;
	}
	if (!tasks)
		return 1;

	cycles = calloc(rounds, sizeof(*cycles));
	if (!cycles)
		return 1;
	t0 = updk_tsc();
	for (uint32_t i = 0; i < qd; i++)
		submit(&tasks[i]);
	updk_nvme_qpair_flush(b.qp);
	for (uint32_t r = 0; r < rounds; r++) {
		uint64_t deadline = updk_tsc() + updk_tsc_hz(); /* a second at most */

		while (!posted(b.qp, qd) && updk_tsc() < deadline)
			sched_yield();
		full += posted(b.qp, qd);
		cycles[r] = updk_tsc();
		if (bench_round(b.qp, qd, max) < 0) {
			fprintf(stderr, "bench-nvme_batch: the controller failed\n");
			return 1;
		}
		cycles[r] = updk_tsc() - cycles[r];
		sum += cycles[r];
	}
	t1 = updk_tsc();
	updk_nvme_qpair_get_stats(b.qp, &st);
	printf("%s: %llu I/Os in %u rounds at QD %u (%u rounds found all %u posted), reaping %u "
	       "at most per call, %llu errors, %.1f s\n",
	       addr, (unsigned long long)b.done, rounds, qd, full, qd, max,
	       (unsigned long long)b.errors, (double)updk_tsc_to_ns(t1 - t0) / 1e9);
	printf("shadow doorbells %s, SQ doorbell %s: %.3f MMIO doorbell writes per I/O "
	       "(SQ %.3f, CQ %.3f), %.3f shadow updates per I/O\n",
	       updk_nvme_ctrlr_shadow_doorbell(ctrlr) ? "on" : "off",
	       b.per_cmd ? "per command" : "per round", (double)st.mmio_doorbell_writes / b.done,
	       (double)st.sq_doorbell_mmio / b.done, (double)st.cq_doorbell_mmio / b.done,
	       (double)st.shadow_doorbell_updates / b.done);
	qsort(cycles, rounds, sizeof(*cycles), cmp_u64);
	printf("TSC cycles per I/O inside bench_round: median %.1f, mean %.1f (%.2f GHz TSC)\n",
	       (double)cycles[rounds / 2] / qd, (double)sum / rounds / qd,
	       (double)updk_tsc_hz() / 1e9);
	free(cycles);
	b.stop = true;
	updk_nvme_qpair_free(b.qp);
	updk_nvme_ctrlr_close(ctrlr);
	for (uint32_t i = 0; i < qd; i++)
		updk_dma_free(tasks[i].buf);
	free(tasks);
	return b.errors ? 1 : 0;
}
