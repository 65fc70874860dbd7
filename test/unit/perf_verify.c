// SPDX-License-Identifier: BSD-3-Clause
/* updk-perf's --verify pattern: what it accepts and every way it tells bad data apart. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "apps/perf/verify.c"

static void *buffer(size_t len)
{
	/* C11: the size must be a multiple of the alignment */
	void *p = aligned_alloc(4096, (len + 4095) & ~(size_t)4095);

	cr_assert(p);
	return p;
}

Test(perf_verify, written_reads_back)
{
	static const uint32_t blocks[] = { 512, 4096 };

	for (size_t i = 0; i < 2; i++) {
		uint32_t len = 4 * blocks[i];
		uint8_t *b = buffer(len);

		perf_pattern_fill(b, len, blocks[i], 1000, 7);
		cr_assert_eq(perf_pattern_check(b, len, blocks[i], 1000, 7, NULL), 0);
		free(b);
	}
}

Test(perf_verify, one_flipped_bit)
{
	uint8_t *b = buffer(8192);
	struct perf_mismatch m = { 0 };

	perf_pattern_fill(b, 8192, 512, 64, 3);
	b[512 * 5 + 100] ^= 0x10; /* block 5 (LBA 69), word 12 */
	memset(&m, 0, sizeof(m));
	cr_assert_eq(perf_pattern_check(b, 8192, 512, 64, 3, &m), 1);
	cr_assert_eq(m.lba, 69);
	cr_assert_eq(m.word, 12);
	cr_assert_neq(m.expected, m.found);
	cr_assert(m.found_tagged);
	cr_assert_eq(m.found_lba, 69);
	cr_assert_eq(m.found_gen, 3);
	free(b);
}

Test(perf_verify, older_generation)
{
	uint8_t *b = buffer(4096);
	struct perf_mismatch m = { 0 };

	perf_pattern_fill(b, 4096, 512, 8, 41);
	cr_assert_eq(perf_pattern_check(b, 4096, 512, 8, 42, &m), 8, "every block is stale");
	cr_assert_eq(m.lba, 8);
	cr_assert_eq(m.word, 1, "the header's generation word differs first");
	cr_assert(m.found_tagged);
	cr_assert_eq(m.found_gen, 41);
	free(b);
}

Test(perf_verify, misplaced_data)
{
	uint8_t *b = buffer(4096);
	struct perf_mismatch m = { 0 };

	perf_pattern_fill(b, 4096, 4096, 8, 5);
	cr_assert_eq(perf_pattern_check(b, 4096, 4096, 16, 5, &m), 1);
	cr_assert_eq(m.word, 0);
	cr_assert(m.found_tagged);
	cr_assert_eq(m.found_lba, 8, "the header says where the data belonged");
	free(b);
}

Test(perf_verify, no_data_moved)
{
	uint8_t *b = buffer(4096);
	struct perf_mismatch m = { 0 };

	memset(b, 0xa5, 4096);
	cr_assert_eq(perf_pattern_check(b, 4096, 512, 0, 1, &m), 8);
	cr_assert(!m.found_tagged);
	memset(b, 0, 4096);
	cr_assert_eq(perf_pattern_check(b, 4096, 512, 0, 0, &m), 8, "zeroes never pass");
	free(b);
}

Test(perf_verify, torn_tail)
{
	uint8_t *b = buffer(4096);
	struct perf_mismatch m = { 0 };

	perf_pattern_fill(b, 4096, 4096, 3, 9);
	memset(b + 4088, 0, 8); /* the last word only */
	cr_assert_eq(perf_pattern_check(b, 4096, 4096, 3, 9, &m), 1);
	cr_assert_eq(m.word, 511);
	free(b);
}

/* Blocks with metadata interleaved: 512 bytes of data and 8 or 12 of metadata each. */
Test(perf_verify, metadata_interleaved_checked_but_the_pi)
{
	uint8_t *b = buffer(4 * 524);
	struct perf_mismatch m = { 0 };

	perf_pattern_fill(b, 4 * 520, 520, 100, 4);
	cr_assert_eq(perf_pattern_check(b, 4 * 520, 520, 100, 4, NULL), 0);
	b[520 * 2 + 515] ^= 1; /* block 2's metadata */
	cr_assert_eq(perf_pattern_check(b, 4 * 520, 520, 100, 4, &m), 1);
	cr_assert_eq(m.lba, 102);
	cr_assert_eq(m.word, 64, "the metadata word");
	/* the PI there (the last 8 bytes) is the host's or the controller's: not compared */
	cr_assert_eq(perf_pattern_check_skip(b, 4 * 520, 520, 512, 8, 100, 4, NULL), 0);
	b[520 * 3 + 100] ^= 1; /* data still is */
	cr_assert_eq(perf_pattern_check_skip(b, 4 * 520, 520, 512, 8, 100, 4, &m), 1);
	cr_assert_eq(m.lba, 103);
	/* a block that is no whole number of words: the tail is compared byte for byte, and a
	 * skip inside a word leaves the rest of that word compared */
	perf_pattern_fill(b, 4 * 524, 524, 7, 1);
	cr_assert_eq(perf_pattern_check(b, 4 * 524, 524, 7, 1, NULL), 0);
	b[524 + 523] ^= 0x80;
	cr_assert_eq(perf_pattern_check(b, 4 * 524, 524, 7, 1, &m), 1);
	cr_assert_eq(m.word, 65);
	cr_assert_eq(perf_pattern_check_skip(b, 4 * 524, 524, 516, 8, 7, 1, NULL), 0);
	b[524 * 2 + 515] ^= 0x80; /* before the skipped bytes, in the same word as them */
	cr_assert_eq(perf_pattern_check_skip(b, 4 * 524, 524, 516, 8, 7, 1, &m), 1);
	cr_assert_eq(m.lba, 9);
	free(b);
}
