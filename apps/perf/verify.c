/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The --verify pattern. Every logical block starts with a header (its LBA; then the tag "UPDK"
 * and the write's generation) and continues with words mixed from LBA, generation and the
 * word's index, so data from another block, an older write, a shifted DMA or a torn transfer
 * all show up as a mismatch, and the header says where misplaced data came from.
 */
#include <string.h>

#include "apps/perf/perf.h"

static inline uint64_t block_seed(uint64_t lba, uint32_t gen)
{
	/* Two odd constants (splitmix64's), so nearby LBAs and generations differ widely. */
	return lba * 0x9e3779b97f4a7c15ull ^ ((uint64_t)gen * 0xbf58476d1ce4e5b9ull);
}

static inline uint64_t pattern_word(uint64_t seed, uint64_t lba, uint32_t gen, uint32_t i)
{
	if (i == 0)
		return lba;
	if (i == 1)
		return (uint64_t)gen << 32 | PERF_PATTERN_TAG;
	return seed ^ ((uint64_t)i * 0x94d049bb133111ebull);
}

void perf_pattern_fill(void *buf, uint32_t len, uint32_t block, uint64_t lba, uint32_t gen)
{
	uint64_t *w = buf;
	uint32_t words = block / 8;

	for (uint32_t off = 0; off + block <= len; off += block, lba++, w += words) {
		uint64_t seed = block_seed(lba, gen);

		for (uint32_t i = 0; i < words; i++)
			w[i] = pattern_word(seed, lba, gen, i);
	}
}

uint32_t perf_pattern_check(const void *buf, uint32_t len, uint32_t block, uint64_t lba,
			    uint32_t gen, struct perf_mismatch *first)
{
	const uint64_t *w = buf;
	uint32_t words = block / 8, bad = 0;

	for (uint32_t off = 0; off + block <= len; off += block, lba++, w += words) {
		uint64_t seed = block_seed(lba, gen);

		for (uint32_t i = 0; i < words; i++) {
			uint64_t want = pattern_word(seed, lba, gen, i);

			if (w[i] == want)
				continue;
			if (!bad++ && first) {
				first->lba = lba;
				first->word = i;
				first->expected = want;
				first->found = w[i];
				first->found_tagged = (uint32_t)w[1] == PERF_PATTERN_TAG;
				first->found_lba = w[0];
				first->found_gen = (uint32_t)(w[1] >> 32);
			}
			break;
		}
	}
	return bad;
}
