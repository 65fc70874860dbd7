// SPDX-License-Identifier: BSD-3-Clause
/* updk-perf's latency histogram and random-offset generator. */
#include <string.h>

#include <criterion/criterion.h>

#include "apps/perf/hist.c"

static void check_value(uint64_t v)
{
	unsigned idx = perf_hist_index(v);

	cr_assert_lt(idx, PERF_HIST_BUCKETS, "%llu: index %u", (unsigned long long)v, idx);
	cr_assert_leq(perf_hist_bucket_low(idx), v, "%llu below its bucket", (unsigned long long)v);
	cr_assert_geq(perf_hist_bucket_high(idx), v, "%llu above its bucket",
		      (unsigned long long)v);
}

Test(perf_hist, buckets_cover_every_value)
{
	uint64_t s = 1;

	for (uint64_t v = 0; v < 70000; v++)
		check_value(v);
	for (unsigned b = 0; b < 64; b++) {
		uint64_t p = 1ull << b;

		check_value(p);
		check_value(p - 1);
		check_value(p + 1);
	}
	check_value(UINT64_MAX);
	cr_assert_eq(perf_hist_index(UINT64_MAX), PERF_HIST_BUCKETS - 1);
	for (int i = 0; i < 100000; i++)
		check_value(perf_rand(&s) >> (i % 64));
}

Test(perf_hist, buckets_are_contiguous_and_narrow)
{
	for (unsigned i = 0; i + 1 < PERF_HIST_BUCKETS; i++) {
		uint64_t lo = perf_hist_bucket_low(i), hi = perf_hist_bucket_high(i);

		cr_assert_eq(hi + 1, perf_hist_bucket_low(i + 1), "gap after bucket %u", i);
		cr_assert_eq(perf_hist_index(lo), i);
		cr_assert_eq(perf_hist_index(hi), i);
		if (i < PERF_HIST_SUB)
			cr_assert_eq(lo, hi, "bucket %u is exact", i);
		else
			cr_assert_leq(hi - lo + 1, lo / PERF_HIST_SUB, "bucket %u is too wide", i);
	}
}

Test(perf_hist, percentiles_exact_range)
{
	static struct perf_hist h;

	memset(&h, 0, sizeof(h));
	cr_assert_eq(perf_hist_percentile(&h, 50), 0, "empty");
	for (uint64_t v = 1; v <= 100; v++)
		perf_hist_add(&h, v);
	cr_assert_eq(h.count, 100);
	cr_assert_eq(perf_hist_percentile(&h, 1), 1);
	cr_assert_eq(perf_hist_percentile(&h, 50), 50);
	cr_assert_eq(perf_hist_percentile(&h, 50.5), 51, "rank is ceil(p × n)");
	cr_assert_eq(perf_hist_percentile(&h, 99), 99);
	cr_assert_eq(perf_hist_percentile(&h, 99.99), 100);
	cr_assert_eq(perf_hist_percentile(&h, 100), 100);
	cr_assert_eq(perf_hist_percentile(&h, 0), 1, "0 means the smallest");
}

Test(perf_hist, percentiles_within_one_percent)
{
	static struct perf_hist h;
	uint64_t s = 7;

	memset(&h, 0, sizeof(h));
	/* 1000 samples at 1000, 2000, ... 1000000 ticks: the k-th percentile is 10000·k */
	for (uint64_t v = 1000; v <= 1000000; v += 1000)
		perf_hist_add(&h, v);
	for (unsigned k = 1; k <= 100; k++) {
		double want = 10000.0 * k, got = (double)perf_hist_percentile(&h, k);

		cr_assert(got >= want && got <= want * 1.01, "p%u: %.0f, want %.0f", k, got, want);
	}
	/* merging doubles every bucket and leaves percentiles alone */
	static struct perf_hist h2;
	memset(&h2, 0, sizeof(h2));
	perf_hist_merge(&h2, &h);
	perf_hist_merge(&h2, &h);
	cr_assert_eq(h2.count, 2000);
	for (unsigned k = 1; k <= 100; k += 7)
		cr_assert_eq(perf_hist_percentile(&h2, k), perf_hist_percentile(&h, k));
	(void)s;
}

Test(perf_rand, range_bounds)
{
	static const uint64_t ns[] = { 1,	  2,	 3,	     10,
				       1000,	  65536, 1ull << 40, (1ull << 63) + 1,
				       UINT64_MAX };
	uint64_t s = 12345;

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		for (int k = 0; k < 10000; k++)
			cr_assert_lt(perf_rand_range(&s, ns[i]), ns[i]);
	for (int k = 0; k < 1000; k++)
		cr_assert_eq(perf_rand_range(&s, 1), 0);
}

Test(perf_rand, repeatable_and_even)
{
	uint64_t a = 99, b = 99, s = 2024;
	unsigned count[10] = { 0 };

	for (int i = 0; i < 1000; i++)
		cr_assert_eq(perf_rand(&a), perf_rand(&b), "same seed, same sequence");
	/* 100000 draws over 10 slots: each within 5% of 10000 (the seed is fixed: repeatable) */
	for (int i = 0; i < 100000; i++)
		count[perf_rand_range(&s, 10)]++;
	for (int i = 0; i < 10; i++)
		cr_assert(count[i] > 9500 && count[i] < 10500, "slot %d drawn %u times", i,
			  count[i]);
	/* every slot of a small namespace gets visited */
	unsigned seen[37] = { 0 };
	for (int i = 0; i < 10000; i++)
		seen[perf_rand_range(&s, 37)] = 1;
	for (int i = 0; i < 37; i++)
		cr_assert(seen[i], "slot %d never drawn", i);
}

Test(perf_rand, read_mix)
{
	static const uint32_t pcts[] = { 1, 30, 50, 70, 99 };
	uint64_t s = 5;

	cr_assert_eq(perf_read_threshold(0), 0, "0%: no value is below the threshold");
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		uint64_t th = perf_read_threshold(pcts[i]);
		unsigned reads = 0;

		for (int k = 0; k < 100000; k++)
			reads += perf_rand(&s) < th;
		cr_assert(reads > pcts[i] * 1000 - 500 && reads < pcts[i] * 1000 + 500,
			  "%u%%: %u reads in 100000", pcts[i], reads);
	}
}
