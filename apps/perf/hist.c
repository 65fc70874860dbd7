/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Latency histogram: log-linear buckets (perf.h). Bucket r·128 + s, for r ≥ 1, holds the values
 * whose top eight bits are 1sssssss and that have r - 1 bits below them; r = 0 holds 0..127
 * exactly. So every bucket is at most 1/128 of its lower bound wide.
 */
#include <string.h>

#include "apps/perf/perf.h"

uint64_t perf_hist_bucket_low(unsigned idx)
{
	unsigned r = idx >> PERF_HIST_SUB_BITS, s = idx & (PERF_HIST_SUB - 1);

	if (r == 0)
		return s;
	return (uint64_t)(PERF_HIST_SUB + s) << (r - 1);
}

uint64_t perf_hist_bucket_high(unsigned idx)
{
	if (idx + 1 >= PERF_HIST_BUCKETS)
		return UINT64_MAX;
	return perf_hist_bucket_low(idx + 1) - 1;
}

void perf_hist_merge(struct perf_hist *dst, const struct perf_hist *src)
{
	for (unsigned i = 0; i < PERF_HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
}

uint64_t perf_hist_percentile(const struct perf_hist *h, double pct)
{
	uint64_t rank, seen = 0;

	if (!h->count)
		return 0;
	if (pct >= 100.0)
		rank = h->count;
	else if (pct <= 0.0)
		rank = 1;
	else {
		/* ceil() without libm */
		double x = pct / 100.0 * (double)h->count;

		rank = (uint64_t)x;
		if ((double)rank < x)
			rank++;
	}
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (unsigned i = 0; i < PERF_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank)
			return perf_hist_bucket_high(i);
	}
	/* Bucket counts lag count only if a sample was added to count alone: never. */
	return perf_hist_bucket_high(PERF_HIST_BUCKETS - 1);
}
