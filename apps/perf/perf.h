/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk-perf internals: the pieces main.c puts together, kept in small files so the pure ones
 * (argument parsing, random offsets, histogram, verify pattern, report) are unit-tested on
 * their own without a device.
 */
#ifndef UPDK_APPS_PERF_H
#define UPDK_APPS_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------------------------------------------------------------------------------------
 * Arguments (args.c)
 */

#define PERF_MAX_CORES 256
#define PERF_MAX_TARGETS 32
#define PERF_ADDR_MAX 768 /* room for an NVMe/TCP transport id and its two NQNs */
#define PERF_ERR_MAX 512

/** One -r: a controller address and a namespace on it (0: every active namespace). */
struct perf_target {
	char addr
		[PERF_ADDR_MAX]; /* "0000:00:04.0" (normalised), "sim:nvme?..." or "trtype:TCP ..." */
	uint32_t nsid;
};

struct perf_args {
	uint32_t queue_depth; /* -q: I/Os outstanding per namespace per core */
	uint32_t io_size; /* -o: bytes */
	const char *workload; /* -w as given: read, write, randread, randwrite, rw, randrw */
	bool random; /* rand* workloads */
	uint32_t read_pct; /* -M resolved: 100 read, 0 write, else the mix */
	bool read_pct_given;
	uint32_t time_s; /* -t */
	uint32_t warmup_s; /* -a */
	unsigned ncores; /* -c, resolved to a list, ascending */
	uint16_t cores[PERF_MAX_CORES];
	bool cores_given;
	uint32_t qpairs_per_ns; /* -P */
	unsigned ntargets; /* -r */
	struct perf_target targets[PERF_MAX_TARGETS];
	unsigned latency; /* 0, 1 (-L percentiles), 2 (-LL histogram too) */
	bool tcp_hdgst, tcp_ddgst; /* -H, -I: NVMe/TCP header and data digests */
	bool json; /* --json */
	bool verify; /* --verify */
	bool no_shadow_doorbell; /* --no-shadow-doorbell, or --shadow-doorbell off */
	int shadow_doorbell; /* --shadow-doorbell: UPDK_NVME_SHADOW_AUTO (0), _ON, _OFF */
	bool doorbell_per_cmd; /* --doorbell-per-cmd: flush the SQ tail after every submission */
	uint32_t cpl_batch; /* --cpl-batch: most completions reaped per call, 0 all */
	uint64_t seed; /* --seed: random offsets (0: from the TSC) */
	uint32_t io_timeout_ms; /* --io-timeout: 0, the driver's default */
	bool one_pass; /* --one-pass: --verify -w write over each namespace once */
	bool interrupt_mode; /* --interrupt-mode: sleep in the hybrid loop when idle */
	uint32_t rate; /* --rate: I/Os a second over the whole run, paced (0: as fast as -q) */
	/* -e/--metadata: PRINFO as NVMe has it (bit 3 PRACT; bits 2:0 PRCHK Guard, Application
	 * Tag, Reference Tag); pi_given: -e was given, the namespaces must have PI */
	uint8_t prinfo;
	bool pi_given;
	bool progress; /* false with --no-progress */
	bool help; /* --help: print usage, nothing else */
	bool zone_append; /* -w zone-append or zone-write: the zoned workload (zoned.c) */
	bool zone_write; /* -w zone-write: writes at the write pointer instead of appends */
	uint32_t zones; /* --zones: zones written at once per namespace, 0: its open limit */
};

/** The default address when no -r is given: the simulated controller. */
#define PERF_DEFAULT_ADDR "sim:nvme"

/**
 * Parse argv into *@a (defaults first). Returns 0, or -EINVAL with a message naming the flag
 * and what it accepts in @err (PERF_ERR_MAX bytes). Pure: touches no device.
 */
int perf_args_parse(int argc, char **argv, struct perf_args *a, char *err);

/* Write the message to @err (PERF_ERR_MAX bytes) and return -EINVAL: `return perf_fail(...)`. */
int perf_fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* @s as a whole decimal number from @min to @max in *@out, or perf_fail() naming @flag (-t). */
int perf_flag_u32(const char *flag, const char *s, uint32_t min, uint32_t max, uint32_t *out,
		  char *err);

/* The option as the user wrote it ("--verify", "-q"), for messages about unknown flags and
 * missing values; @idx is getopt's optind after it returned @opt. */
const char *perf_opt_name(char **argv, int idx, int opt, char *buf, size_t len);

/*
 * Check the @ncores cores from -c (@given) against the CPUs this process may run on, or with
 * no -c pick the first of them. Returns 0, or -errno after a message naming the core and the
 * CPUs available.
 */
int perf_resolve_cores(uint16_t *cores, unsigned *ncores, bool given);

/** Print --help to @out. */
void perf_usage(FILE *out);

/**
 * Parse -e: comma-separated PRACT[=0|1] and PRCHK[=GUARD|REFTAG|APPTAG] (bare PRCHK: all three;
 * '|' or '+' between them), spdk_nvme_perf's keys, into *@prinfo. 0 or -EINVAL (@err).
 */
int perf_parse_pi(const char *s, uint8_t *prinfo, char *err);

/** Parse an I/O size: "4096", "4k", "128K", "1M", "4KiB". 0 or -EINVAL. */
int perf_parse_size(const char *s, uint64_t *out);

/** Parse a core mask ("0x3", "3") or list ("0,1", "[0-3,6]") into ascending cores. */
int perf_parse_cores(const char *s, uint16_t *cores, unsigned *n, char *err);

/**
 * Parse one -r: "trtype:PCIe traddr:0000:00:04.0 ns:1" (key:value or key=value, any order),
 * "sim:nvme?ns=2 ns:2", or a bare "0000:00:04.0"/"00:04.0".
 */
int perf_parse_target(const char *s, struct perf_target *t, char *err);

/* ---------------------------------------------------------------------------------------------
 * Random offsets (inline: the cost is per I/O). wyrand: one add, one 64×64→128 multiply; the
 * range is reduced by multiply-shift (Lemire), so no division whatever the namespace size.
 */

static inline uint64_t perf_rand(uint64_t *state)
{
	*state += 0xa0761d6478bd642full;
	__uint128_t m = (__uint128_t)*state * (*state ^ 0xe7037ed1a0b428dbull);

	return (uint64_t)(m >> 64) ^ (uint64_t)m;
}

/** A value in [0, @n): the high half of rand × n. */
static inline uint64_t perf_rand_range(uint64_t *state, uint64_t n)
{
	return (uint64_t)(((__uint128_t)perf_rand(state) * n) >> 64);
}

/**
 * The threshold a random 64-bit value is compared with to pick a read: reads happen when
 * rand < threshold, i.e. with probability @pct/100; 100% reads are told apart by the caller.
 */
static inline uint64_t perf_read_threshold(uint32_t pct)
{
	return (uint64_t)((((__uint128_t)pct) << 64) / 100);
}

/* ---------------------------------------------------------------------------------------------
 * Latency histogram (hist.c): log-linear buckets over TSC ticks, 128 per power of two (under
 * 1% relative error), exact below 128 ticks. Adding a sample is a clz and two shifts.
 */

#define PERF_HIST_SUB_BITS 7
#define PERF_HIST_SUB (1u << PERF_HIST_SUB_BITS)
#define PERF_HIST_BUCKETS ((64 - PERF_HIST_SUB_BITS + 1) * PERF_HIST_SUB)

struct perf_hist {
	uint64_t count;
	uint64_t bucket[PERF_HIST_BUCKETS];
};

static inline unsigned perf_hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < PERF_HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - PERF_HIST_SUB_BITS;
	return ((shift + 1) << PERF_HIST_SUB_BITS) + (unsigned)((v >> shift) - PERF_HIST_SUB);
}

static inline void perf_hist_add(struct perf_hist *h, uint64_t v)
{
	h->bucket[perf_hist_index(v)]++;
	h->count++;
}

/** The smallest value that falls in bucket @idx. */
uint64_t perf_hist_bucket_low(unsigned idx);
/** The largest value that falls in bucket @idx. */
uint64_t perf_hist_bucket_high(unsigned idx);
/** Add every sample of @src to @dst. */
void perf_hist_merge(struct perf_hist *dst, const struct perf_hist *src);
/**
 * The value at percentile @pct (0 < pct ≤ 100): the upper bound of the bucket holding the
 * sample of rank ceil(pct/100 × count). 0 when empty.
 */
uint64_t perf_hist_percentile(const struct perf_hist *h, double pct);

/* ---------------------------------------------------------------------------------------------
 * Verify pattern (verify.c). Each logical block carries its LBA, a tag, the write's generation
 * and words derived from both, so a block read back from the wrong place or an older write is
 * told apart from a good one.
 */

#define PERF_PATTERN_TAG 0x4b445055u /* "UPDK" */

struct perf_mismatch {
	uint64_t lba; /* block that differs */
	uint32_t word; /* first differing 8-byte word in it */
	uint64_t expected, found;
	uint64_t found_lba; /* what the block's header claims, when it carries our tag */
	uint32_t found_gen;
	bool found_tagged;
};

/**
 * Fill @len bytes (whole blocks of @block bytes: a block's data, and its metadata when that is
 * interleaved) for blocks @lba.. with generation @gen.
 */
void perf_pattern_fill(void *buf, uint32_t len, uint32_t block, uint64_t lba, uint32_t gen);

/** Blocks of @buf that differ from the pattern; the first one is described in *@first. */
uint32_t perf_pattern_check(const void *buf, uint32_t len, uint32_t block, uint64_t lba,
			    uint32_t gen, struct perf_mismatch *first);

/** As perf_pattern_check(), bytes @skip_off.. (@skip_len of them) of each block not compared. */
uint32_t perf_pattern_check_skip(const void *buf, uint32_t len, uint32_t block, uint32_t skip_off,
				 uint32_t skip_len, uint64_t lba, uint32_t gen,
				 struct perf_mismatch *first);

/* ---------------------------------------------------------------------------------------------
 * Results and their report (report.c)
 */

/** Counters of one row: a namespace on a core, or the total. Latencies in TSC ticks. */
struct perf_stats {
	uint64_t ios, reads, writes, errors, mismatches;
	/* --verify, over the whole run: read-backs compared; I/Os that failed (not compared) */
	uint64_t verified, write_errors, read_errors;
	uint64_t lat_sum, lat_min, lat_max;
	/* driver counters of the row's qpairs over the measured interval */
	uint64_t cmds_submitted, cmds_completed, sq_db_mmio, cq_db_mmio, shadow_updates;
	uint64_t queue_full, timeouts;
	/* resets of the row's controller over the whole run (as perf_report.controller_resets:
	 * rows on one controller show the same ones; the Total row shows controller_resets) */
	uint64_t resets;
	/* over the whole run: I/Os completed without error after an automatic controller reset
	 * of the row's controller had ended */
	uint64_t ios_after_reset;
	/* -e, over the whole run: I/Os failed by the controller's PI checks (End-to-end
	 * Guard/Application Tag/Reference Tag Check Error), reads whose PI the host refused */
	uint64_t pi_errors, pi_host_errors;
};

struct perf_row {
	char name[160]; /* "sim:nvme NSID 1 from core 0" */
	char device[PERF_ADDR_MAX];
	uint32_t nsid;
	unsigned core;
	double seconds; /* measured interval of the row's core */
	struct perf_stats s;
	const struct perf_hist *hist;
	bool shadow_doorbell;
	const char *shadow_why; /* updk_nvme_ctrlr_shadow_doorbell_why() */
};

struct perf_core_result {
	unsigned core;
	double seconds;
	uint64_t ios; /* completed in the measured interval on this core */
	uint64_t loop_cycles; /* TSC cycles in the poll loop while measuring */
	uint64_t busy_cycles; /* of those, in passes that reaped a completion */
	uint64_t cpu_ns; /* the poller thread's CPU time while measuring (getrusage) */
	uint64_t sleeps, wakeups; /* --interrupt-mode, while measuring: the loop's sleeps, and
				   * those an interrupt ended */
};

struct perf_report {
	const struct perf_args *args;
	uint64_t tsc_hz;
	uint64_t seed; /* of the random offsets, to repeat the run with --seed */
	bool interrupted; /* stopped by SIGINT/SIGTERM */
	bool failed; /* a controller failed during the run */
	bool pass_complete; /* --one-pass: every slot of every namespace written and read back */
	uint64_t controller_resets; /* automatic resets of all controllers during the run */
	unsigned nrows;
	const struct perf_row *rows;
	unsigned ncores;
	const struct perf_core_result *cores;
	struct perf_hist *total_hist; /* scratch room for the merged histogram, may be NULL */
	struct perf_mismatch first_mismatch;
	bool has_mismatch;
};

/** Add row counters @b into @a (sums, and min/max). */
void perf_stats_add(struct perf_stats *a, const struct perf_stats *b);
/** Print the human-readable report (SPDK's table and more) to @out. */
void perf_report_text(FILE *out, const struct perf_report *r);
/** Print the report as one JSON object to @out. */
void perf_report_json(FILE *out, const struct perf_report *r);
/** Percentiles printed with -L (and in JSON). */
extern const double perf_percentiles[];
extern const unsigned perf_npercentiles;

#endif
