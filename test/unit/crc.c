// SPDX-License-Identifier: BSD-3-Clause
/*
 * lib/crc against published check values: the CRC catalogue's check ("123456789") for each
 * model, the 64b Guard examples of NVM Command Set 1.0 §5.2.1.3 (4 KiB of 00h, FFh,
 * incrementing, decrementing) and RFC 3720 B.4's CRC-32C vectors (32 bytes); then chaining
 * and lengths that take every tail of the 8-byte loop.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <updk/crc.h>

static const char check[] = "123456789";

static void fill(unsigned char *b, size_t n, int kind)
{
	for (size_t i = 0; i < n; i++)
		b[i] = kind == 0 ? 0 :
		       kind == 1 ? 0xff :
		       kind == 2 ? (unsigned char)i :
				   (unsigned char)(n - 1 - i);
}

Test(crc, check_values)
{
	cr_assert_eq(updk_crc16_t10dif(0, check, 9), 0xd0db);
	cr_assert_eq(updk_crc32c(0, check, 9), 0xe3069283u);
	cr_assert_eq(updk_crc64_nvme(0, check, 9), 0xae8b14860a799888ull, "%s: %#lx",
		     updk_crc64_nvme_impl(), (unsigned long)updk_crc64_nvme(0, check, 9));
}

Test(crc, crc64_nvme_spec_examples)
{
	static const uint64_t want[4] = { 0x6482d367eb22b64eull, 0xc0ddba7302eca3acull,
					  0x3e729f5f6750449cull, 0x9a2df64b8e9e517eull };
	unsigned char b[4096];

	for (int k = 0; k < 4; k++) {
		/* decrementing in the spec runs FFh..00h per 256 bytes */
		if (k == 3)
			for (size_t i = 0; i < sizeof(b); i++)
				b[i] = (unsigned char)(0xff - (i & 0xff));
		else
			fill(b, sizeof(b), k);
		cr_assert_eq(updk_crc64_nvme(0, b, sizeof(b)), want[k], "pattern %d", k);
	}
}

Test(crc, crc32c_rfc3720_and_crc16_vectors)
{
	static const uint32_t want32[4] = { 0x8a9136aau, 0x62a8ab43u, 0x46dd794eu, 0x113fdb5cu };
	static const uint16_t want16[3] = { 0x0000, 0xa293, 0x0224 };
	unsigned char b[32];

	for (int k = 0; k < 4; k++) {
		fill(b, sizeof(b), k);
		cr_assert_eq(updk_crc32c(0, b, sizeof(b)), want32[k], "pattern %d", k);
		if (k < 3)
			cr_assert_eq(updk_crc16_t10dif(0, b, sizeof(b)), want16[k], "pattern %d",
				     k);
	}
}

/* The bit-at-a-time definition, to hold the fast code to at every length. */
static uint64_t crc64_bitwise(const unsigned char *p, size_t n)
{
	uint64_t c = ~0ull;

	while (n--) {
		c ^= *p++;
		for (int b = 0; b < 8; b++)
			c = (c >> 1) ^ (c & 1 ? 0x9a6c9329ac4bc9b5ull : 0);
	}
	return ~c;
}

Test(crc, chained_equals_whole_at_every_split)
{
	unsigned char b[300];

	srand(7);
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)rand();
	for (size_t len = 0; len <= 40; len++)
		cr_assert_eq(updk_crc64_nvme(0, b + 3, len), crc64_bitwise(b + 3, len), "len %zu",
			     len);
	for (size_t cut = 0; cut <= sizeof(b); cut += 7) {
		size_t rest = sizeof(b) - cut;

		cr_assert_eq(updk_crc16_t10dif(updk_crc16_t10dif(0, b, cut), b + cut, rest),
			     updk_crc16_t10dif(0, b, sizeof(b)));
		cr_assert_eq(updk_crc32c(updk_crc32c(0, b, cut), b + cut, rest),
			     updk_crc32c(0, b, sizeof(b)));
		cr_assert_eq(updk_crc64_nvme(updk_crc64_nvme(0, b, cut), b + cut, rest),
			     updk_crc64_nvme(0, b, sizeof(b)));
	}
}
