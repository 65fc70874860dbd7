// SPDX-License-Identifier: BSD-3-Clause
/*
 * lib/pi: PI generated in each layout and Guard format reads back as the specification lays it
 * out (NVM Command Set 1.0 §5.2.1: big-endian Guard, Application Tag, Reference Tag; the 64b
 * Guard of a 4 KiB block of zeroes is the spec's example value), and verification finds each
 * kind of mismatch at the right block, honours the tag mask and the FFFFh escapes.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include <updk/crc.h>
#include <updk/pi.h>

static uint64_t be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

Test(pi, layout_16b_separate_and_extended_agree)
{
	struct updk_pi_fmt sep = { .block_size = 512, .md_size = 8, .type = 1 };
	struct updk_pi_fmt ext = sep;
	struct updk_pi_tags t = { .ref = 1000, .app = 0xabcd, .app_mask = 0xffff };
	static uint8_t data[4 * 512], md[4 * 8], xbuf[4 * 520];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	cr_assert_eq(updk_pi_generate(&sep, data, md, 4, &t), 0);
	for (unsigned i = 0; i < 4; i++) {
		cr_assert_eq(be(md + 8 * i, 2), updk_crc16_t10dif(0, data + 512 * i, 512));
		cr_assert_eq(be(md + 8 * i + 2, 2), 0xabcd);
		cr_assert_eq(be(md + 8 * i + 4, 4), 1000 + i, "type 1 counts up");
	}
	ext.extended = true;
	for (unsigned i = 0; i < 4; i++)
		memcpy(xbuf + 520 * i, data + 512 * i, 512);
	cr_assert_eq(updk_pi_generate(&ext, xbuf, NULL, 4, &t), 0);
	for (unsigned i = 0; i < 4; i++)
		cr_assert(!memcmp(xbuf + 520 * i + 512, md + 8 * i, 8), "block %u", i);
	cr_assert_eq(updk_pi_verify(&ext, xbuf, NULL, 4, &t, UPDK_PI_CHECK_ALL, NULL), 0);
	cr_assert_eq(updk_pi_verify(&sep, data, md, 4, &t, UPDK_PI_CHECK_ALL, NULL), 0);
}

Test(pi, guard64_spec_example_and_48_bit_reference_tag)
{
	struct updk_pi_fmt f = { .block_size = 4096, .md_size = 16, .type = 2, .guard = 2 };
	struct updk_pi_tags t = { .ref = 0xfffffffffffeull, .app = 1 };
	static uint8_t data[2 * 4096], md[32];
	struct updk_pi_error e;

	cr_assert_eq(updk_pi_generate(&f, data, md, 2, &t), 0);
	cr_assert_eq(be(md, 8), 0x6482d367eb22b64eull, "64b Guard of 4 KiB of zeroes");
	cr_assert_eq(be(md + 10, 6), 0xfffffffffffeull);
	cr_assert_eq(be(md + 16 + 10, 6), 0xffffffffffffull);
	t.ref = 0x1fffffffffffeull; /* above 48 bits: only the low 48 are the tag */
	cr_assert_eq(updk_pi_verify(&f, data, md, 2, &t, UPDK_PI_CHECK_ALL, &e), 0);
	t.ref = 0xfffffffffffdull;
	cr_assert_eq(updk_pi_verify(&f, data, md, 2, &t, UPDK_PI_CHECK_ALL, &e), -EIO);
	cr_assert(e.kind == UPDK_PI_ERR_REF && e.block == 0 && e.actual == 0xfffffffffffeull);
}

Test(pi, guard32_is_crc32c_in_a_16_byte_tuple)
{
	struct updk_pi_fmt f = { .block_size = 512, .md_size = 16, .type = 1, .guard = 1 };
	struct updk_pi_tags t = { .ref = 0x1122334455667788ull, .app = 2 };
	static uint8_t data[512], md[16];

	memset(data, 0xff, sizeof(data));
	cr_assert_eq(updk_pi_generate(&f, data, md, 1, &t), 0);
	cr_assert_eq(be(md, 4), updk_crc32c(0, data, 512));
	cr_assert_eq(be(md + 6, 2), 0, "80-bit reference space: no storage tag");
	cr_assert_eq(be(md + 8, 8), 0x1122334455667788ull);
	cr_assert_eq(updk_pi_verify(&f, data, md, 1, &t, UPDK_PI_CHECK_ALL, NULL), 0);
}

/* PI last in 16 bytes of metadata: its Guard covers the 8 bytes before it. */
Test(pi, guard_covers_metadata_before_a_last_pi)
{
	struct updk_pi_fmt f = { .block_size = 512, .md_size = 16, .type = 3 };
	struct updk_pi_tags t = { .ref = 5, .app = 0x77, .app_mask = 0xff };
	static uint8_t data[512], md[16];
	struct updk_pi_error e;

	memset(md, 0x5a, 8);
	cr_assert_eq(updk_pi_generate(&f, data, md, 1, &t), 0);
	cr_assert_eq(be(md + 8, 2), updk_crc16_t10dif(updk_crc16_t10dif(0, data, 512), md, 8));
	cr_assert_eq(be(md, 1), 0x5a, "metadata outside the PI left alone");
	md[3] ^= 1;
	cr_assert_eq(updk_pi_verify(&f, data, md, 1, &t, UPDK_PI_CHECK_GUARD, &e), -EIO);
	cr_assert_eq(e.kind, UPDK_PI_ERR_GUARD);
	cr_assert_str_eq(updk_pi_err_str(e.kind), "Guard");
}

Test(pi, checks_masks_and_escapes)
{
	struct updk_pi_fmt f = { .block_size = 512, .md_size = 8, .type = 1 };
	struct updk_pi_tags t = { .ref = 10, .app = 0x1234, .app_mask = 0xffff };
	static uint8_t data[3 * 512], md[24];
	struct updk_pi_error e;

	memset(data, 0x3c, sizeof(data)); /* the CRC-16 of zeroes is 0, like a zeroed Guard */
	cr_assert_eq(updk_pi_generate(&f, data, md, 3, &t), 0);
	data[512 * 2 + 9] ^= 0x10;
	cr_assert_eq(updk_pi_verify(&f, data, md, 3, &t, UPDK_PI_CHECK_ALL, &e), -EIO);
	cr_assert(e.kind == UPDK_PI_ERR_GUARD && e.block == 2, "guard of block 2");
	cr_assert_eq(updk_pi_verify(&f, data, md, 3, &t, UPDK_PI_CHECK_REF, NULL), 0, "unchecked");
	data[512 * 2 + 9] ^= 0x10;
	t.app = 0x12ff;
	cr_assert_eq(updk_pi_verify(&f, data, md, 3, &t, UPDK_PI_CHECK_ALL, &e), -EIO);
	cr_assert(e.kind == UPDK_PI_ERR_APP && e.block == 0);
	t.app_mask = 0xff00;
	cr_assert_eq(updk_pi_verify(&f, data, md, 3, &t, UPDK_PI_CHECK_ALL, NULL), 0);
	/* Application Tag FFFFh: the block is not checked (type 1) */
	memset(md + 8, 0, 8);
	md[10] = md[11] = 0xff;
	cr_assert_eq(updk_pi_verify(&f, data, md, 3, &t, UPDK_PI_CHECK_ALL, NULL), 0);
	/* type 3 needs the Reference Tag all ones too */
	f.type = 3;
	cr_assert_eq(updk_pi_verify(&f, data, md, 3, &t, UPDK_PI_CHECK_GUARD, &e), -EIO);
	cr_assert_eq(e.block, 1);
	memset(md + 12, 0xff, 4);
	cr_assert_eq(updk_pi_verify(&f, data, md, 3, &t, UPDK_PI_CHECK_GUARD, NULL), 0);
}

Test(pi, bad_formats_refused)
{
	struct updk_pi_fmt f = { .block_size = 512, .md_size = 8, .type = 1, .guard = 2 };
	struct updk_pi_tags t = { 0 };
	static uint8_t data[512], md[16];

	cr_assert_eq(updk_pi_fmt_check(&f), -EINVAL, "64b PI does not fit 8 bytes");
	f.guard = 3;
	cr_assert_eq(updk_pi_fmt_check(&f), -EINVAL);
	f.guard = 0;
	f.type = 0;
	cr_assert_eq(updk_pi_generate(&f, data, md, 1, &t), -EINVAL, "no PI type");
	f.type = 1;
	cr_assert_eq(updk_pi_generate(&f, data, NULL, 1, &t), -EINVAL, "no metadata buffer");
	cr_assert_eq(updk_pi_generate(&f, data, md, 1, &t), 0);
}
