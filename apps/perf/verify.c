/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The --verify pattern. Every logical block starts with a header (its LBA; then the tag "UPDK"
 * and the write's generation) and continues with words mixed from LBA, generation and the
 * word's index, so data from another block, an older write, a shifted DMA or a torn transfer
 * all show up as a mismatch, and the header says where misplaced data came from. With metadata
 * interleaved (extended LBAs) a block is its data and its metadata, the pattern running on
 * through both; the PI in it, which the host or the controller writes, is left out of the
 * check (perf_pattern_check_skip()).
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

/* The low @n bytes of a word as stored (little endian): those a block's last word has. */
static inline uint64_t byte_mask(uint32_t n)
{
	return n >= 8 ? UINT64_MAX : (1ull << (8 * n)) - 1;
}

void perf_pattern_fill(void *buf, uint32_t len, uint32_t block, uint64_t lba, uint32_t gen)
{
	uint32_t words = (block + 7) / 8;
	uint8_t *b = buf;

	for (uint32_t off = 0; off + block <= len; off += block, lba++) {
		uint64_t seed = block_seed(lba, gen);

		for (uint32_t i = 0; i < words; i++) {
			uint64_t w = pattern_word(seed, lba, gen, i);
			uint32_t n = block - 8 * i < 8 ? block - 8 * i : 8;

			memcpy(b + off + 8 * i, &w, n);
		}
	}
}

uint32_t perf_pattern_check_skip(const void *buf, uint32_t len, uint32_t block, uint32_t skip_off,
				 uint32_t skip_len, uint64_t lba, uint32_t gen,
				 struct perf_mismatch *first)
{
	uint32_t words = (block + 7) / 8, bad = 0;
	const uint8_t *b = buf;

	for (uint32_t off = 0; off + block <= len; off += block, lba++) {
		uint64_t seed = block_seed(lba, gen);

		for (uint32_t i = 0; i < words; i++) {
			uint64_t want = pattern_word(seed, lba, gen, i), got = 0, mask, w0 = 0,
				 w1 = 0;
			uint32_t n = block - 8 * i < 8 ? block - 8 * i : 8, lo = 8 * i;

			memcpy(&got, b + off + lo, n);
			mask = byte_mask(n);
			/* the bytes of [skip_off, skip_off + skip_len) in this word are not compared */
			if (skip_len && skip_off < lo + n && skip_off + skip_len > lo) {
				uint32_t from = skip_off > lo ? skip_off - lo : 0;
				uint32_t to =
					skip_off + skip_len - lo < n ? skip_off + skip_len - lo : n;

				mask &= ~(byte_mask(to) & ~byte_mask(from));
			}
			if (((got ^ want) & mask) == 0)
				continue;
			if (!bad++ && first) {
				memcpy(&w0, b + off, block < 8 ? block : 8);
				if (block >= 16)
					memcpy(&w1, b + off + 8, 8);
				first->lba = lba;
				first->word = i;
				first->expected = want;
				first->found = got;
				first->found_tagged = (uint32_t)w1 == PERF_PATTERN_TAG;
				first->found_lba = w0;
				first->found_gen = (uint32_t)(w1 >> 32);
			}
			break;
		}
	}
	return bad;
}

uint32_t perf_pattern_check(const void *buf, uint32_t len, uint32_t block, uint64_t lba,
			    uint32_t gen, struct perf_mismatch *first)
{
	return perf_pattern_check_skip(buf, len, block, 0, 0, lba, gen, first);
}
