/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Big-endian fields of any width up to 16 bytes, as the protection information tuples lay them
 * out (NVM Command Set 1.0 §5.2.1: a 2-, 4- or 8-byte Guard, 2-byte Application Tag, 4-, 6- or
 * 10-byte Reference Tag). Only the low 64 bits are carried: a wider field reads as its low 8
 * bytes and is written with zeroes above them.
 */
#ifndef UPDK_UTIL_BE_H
#define UPDK_UTIL_BE_H

#include <stdint.h>

/* The @n bytes at @p, most significant first; above 8 bytes, the low 64 bits. */
static inline uint64_t be_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* @v into the @n bytes at @p, most significant first; bytes above the low 8 are zero. */
static inline void be_put(uint8_t *p, unsigned n, uint64_t v)
{
	for (unsigned i = n; i-- > 0;) {
		p[i] = (uint8_t)v;
		v = n - i >= 8 ? 0 : v >> 8;
	}
}

#endif
