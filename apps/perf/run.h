/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk-perf's NVMe run: controllers and namespaces opened from the arguments (run.c), one
 * poller thread per core owning its qpairs and I/O tasks (io.c), and the counters the main
 * thread reads while it runs.
 */
#ifndef UPDK_APPS_PERF_RUN_H
#define UPDK_APPS_PERF_RUN_H

#include <pthread.h>
#include <stddef.h>

#include <updk/loop.h>
#include <updk/nvme.h>

#include "apps/perf/perf.h"
#include "apps/perf/pollers.h"

struct perf_ctrlr {
	char addr[PERF_ADDR_MAX];
	struct updk_nvme_ctrlr *ctrlr;
	int numa;
	/* Set (atomically) by the main thread when the controller has failed and no automatic
	 * reset will bring it back: the pollers stop. Until then -ENXIO is a reset to ride out. */
	int dead;
	uint64_t resets_base; /* the controller's reset count when the run started */
};

struct perf_ns {
	struct perf_ctrlr *pc;
	struct updk_nvme_ns *ns;
	uint32_t nsid;
	uint32_t sector_size;
	uint32_t nlb; /* blocks per I/O */
	uint32_t children; /* commands per I/O after the driver's MDTS split */
	uint64_t nslots; /* I/O-sized slots in the namespace */
	uint32_t ntasks; /* tasks on this namespace, all cores together (--verify partition) */
	/* the format (pi.c): bytes a block takes in the data buffer and in the separate
	 * metadata buffer (0: none) with the run's PRINFO flags (-e) */
	uint32_t xfer_block, md_block, io_flags;
	bool ext; /* I/O through the _ext calls: separate metadata or PRINFO */
	bool host_pi; /* -e PRCHK without PRACT: the host generates and verifies the PI */
	/* --verify: the bytes of each block in the data buffer the pattern check leaves out (the
	 * PI the host or the controller writes there), 0 long when none */
	uint32_t pi_skip_off, pi_skip_len;
	struct updk_pi_fmt pi;
};

struct perf_ctx;

/* One I/O in flight, reused for the whole run. */
struct perf_task {
	struct perf_ctx *ctx;
	struct updk_nvme_qpair *qp;
	void *buf;
	void *md; /* the separate metadata of the I/O, when the namespace keeps it apart */
	uint64_t submit_tsc;
	uint64_t lba;
	uint64_t seq; /* --verify sequential: next slot of this task */
	uint32_t slot0; /* --verify: this task owns slots slot0 + k × ns->ntasks */
	uint32_t gen;
	bool is_read;
	bool verify_read; /* --verify: the read-back of a write */
	bool pass_done; /* --one-pass: the task has had each of its slots once */
	bool finished; /* --one-pass: ... and its last read-back completed: no more I/O */
	uint32_t zslot, zidx; /* -w zone-append: its zone slot, the zone of its append */
};

/* A namespace on a core: a row of the report. */
struct perf_ctx {
	struct perf_ns *ns;
	struct perf_worker *w;
	struct updk_nvme_qpair **qps;
	unsigned nqps;
	struct perf_task *tasks;
	unsigned ntasks;
	/* tasks refused with -EAGAIN, or with -ENXIO while the controller is being reset:
	 * retried at the next pass whose polls succeed */
	struct perf_task **pending;
	unsigned npending;
	/* --rate: tasks waiting for their turn (io.c pace()) */
	struct perf_task **ready;
	unsigned nready;
	/* --interrupt-mode: the qpairs as queues of the poller's loop (io.c) */
	struct perf_lq *lqs;
	uint64_t rng;
	uint64_t seq_next; /* sequential workloads: next slot */
	uint64_t read_threshold;
	/* Written only by the poller; the main thread reads ios and lat_sum while it runs. */
	struct perf_stats s;
	struct perf_hist *hist;
	struct updk_nvme_stats *db_base; /* per qpair, at the start of measuring */
	struct updk_nvme_stats *db_end; /* per qpair, when measuring stopped */
	struct perf_mismatch first_mismatch;
	int submit_err; /* first error a submission returned, other than -EAGAIN */
	bool in_reset; /* the last pass found a qpair of the row being reset */
	bool after_reset; /* a reset of the row's controller has ended (ios_after_reset) */
	struct perf_zoned *zoned; /* -w zone-append: the row's zones (zoned.c) */
};

/* --interrupt-mode: qpair @q of a row as a queue of the poller's hybrid loop. */
struct perf_lq {
	struct perf_ctx *ctx;
	unsigned q;
};

struct perf_worker {
	struct perf_poller poller; /* first: the thread, its core and its flags */
	struct perf_run *run;
	struct perf_ctx **ctxs;
	unsigned nctxs;
	bool measuring, stopping;
	uint64_t measure_start, measure_end;
	uint64_t loop_cycles, busy_cycles;
	int failed; /* -ENXIO from a qpair: its controller failed */
	unsigned ntasks, finished; /* --one-pass: tasks of the poller, and those done */
	struct updk_loop *loop; /* --interrupt-mode: the poller's hybrid loop */
	uint64_t period; /* --rate: TSC ticks between this poller's submissions (0: unpaced) */
	uint64_t next_due; /* --rate: when the next submission is due */
	unsigned rr; /* --rate: the row the next paced task comes from */
	uint64_t cpu_start_ns, cpu_ns; /* thread CPU time: at measuring's start, then its length */
	uint64_t sleeps, wakeups; /* the loop's counters at measuring's start, then the deltas */
};

/* pollers.h walks the workers by their first member. */
_Static_assert(offsetof(struct perf_worker, poller) == 0, "the poller comes first");

struct perf_run {
	const struct perf_args *args;
	uint64_t tsc_hz;
	uint64_t start_tsc, warmup_end, end_tsc; /* set just before the pollers go */
	int stop; /* set by the signal handler (atomically) */
	int go; /* set (atomically) once the deadlines are: the pollers start */
	struct perf_ctrlr *ctrlrs;
	unsigned nctrlrs;
	struct perf_ns *nss;
	unsigned nns;
	struct perf_worker *workers;
	unsigned nworkers;
	struct perf_ctx *ctxs;
	unsigned nctxs;
	uint64_t seed;
};

/* How long the pollers wait for outstanding I/O when the run ends; what is left after this is
 * failed by updk_nvme_qpair_free() in perf_release_qpairs(), and counted as errors. */
#define PERF_DRAIN_SECONDS 5

/** A poller's thread (io.c): the I/O loop over its rows, then the drain. */
void *perf_worker_main(void *arg);
/** --interrupt-mode (io.c): the poller's hybrid loop with its qpairs' vectors. 0 or -errno,
 * printed; what was made is freed by perf_teardown(). */
int perf_worker_loop_setup(struct perf_worker *w);

/** Open the controllers and namespaces, spread them over the cores, allocate qpairs and
 * buffers. Returns 0 or a negative errno with the reason printed; perf_teardown() either way. */
int perf_setup(struct perf_run *run, const struct perf_args *args);
/** Start the pollers (signals must be blocked in the caller: the threads inherit the mask). */
int perf_start(struct perf_run *run);
/** Wait for the pollers, then gather the report's rows. */
void perf_join(struct perf_run *run);
/** From the main thread while the pollers run: poll each controller's admin queue, and tell
 * the pollers when a controller has failed for good (not when it is being reset). */
void perf_admin_poll(struct perf_run *run);
/** After perf_join(): finish an automatic reset the pollers left under way (their qpairs are
 * the main thread's now), so the controllers are closed in a known state. */
void perf_settle_resets(struct perf_run *run);
/** After perf_settle_resets(): free the qpairs, failing (and so counting as errors) the I/Os
 * still outstanding after the drain; says on stderr how many there were. */
void perf_release_qpairs(struct perf_run *run);
/** Free qpairs, buffers and controllers (shutdown); safe on a half-set-up run. */
void perf_teardown(struct perf_run *run);
/** Free the host memory left (histograms included): after the report is printed. */
void perf_free(struct perf_run *run);
/** Fill @rows (nctxs of them) and @cores (nworkers) from a joined run; *@pass_complete tells
 * whether --one-pass wrote and read back every slot without an error. */
void perf_collect(struct perf_run *run, struct perf_row *rows, struct perf_core_result *cores,
		  struct perf_mismatch *first, bool *has_mismatch, bool *failed,
		  bool *pass_complete, uint64_t *resets);

/* zoned.c: -w zone-append, and the workloads a zoned namespace cannot take refused up front */
int perf_zoned_check_ns(const struct perf_args *a, const struct perf_ns *pn);
int perf_zoned_ctx_init(struct perf_run *run, struct perf_ctx *ctx);
void perf_zoned_free(struct perf_ctx *ctx);
bool perf_zoned_pick(struct perf_task *t);
int perf_zoned_append(struct perf_task *t, updk_nvme_cb cb);
void perf_zoned_append_done(struct perf_task *t, const struct updk_nvme_cpl *cpl);
void perf_zoned_poll(struct perf_ctx *ctx);
void perf_zoned_counts(const struct perf_ctx *ctx, uint64_t *resets, uint64_t *finishes);
/* pi.c: the format of @pn's namespace and what -e asks of it, refused (with a message) when
 * the run cannot drive it; 0 or -errno */
int perf_ns_format(struct perf_ns *pn, const struct perf_args *a, const char *addr);
/* pi.c: submit @t through the _ext calls (host-made PI first on a write, with host_pi) */
int perf_task_issue_ext(struct perf_task *t, updk_nvme_cb cb);
/* pi.c: host_pi: the PI of @t's read does not verify */
bool perf_task_pi_bad(const struct perf_task *t);

#endif
