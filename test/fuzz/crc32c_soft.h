/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/crc's CRC32C for the fuzz targets, which link no ISA-L: bit-reflected, polynomial
 * 0x82f63b78 (Castagnoli, the NVMe/TCP header and data digests),
 * table-driven. Include once per target.
 */
#ifndef TEST_FUZZ_CRC32C_SOFT_H
#define TEST_FUZZ_CRC32C_SOFT_H

#include <stddef.h>
#include <stdint.h>

uint32_t updk_crc32c(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t table[256];
	const uint8_t *p = buf;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = (c >> 1) ^ (0x82f63b78u & -(c & 1));
			table[i] = c;
		}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

#endif
