// SPDX-License-Identifier: BSD-3-Clause
/*
 * CRC-16 T10-DIF, CRC-32C and the NVMe CRC-64 (include/updk/crc.h), computed by ISA-L
 * (libisal, Debian's libisal-dev), which picks the PCLMULQDQ/VPCLMULQDQ folding code the CPU
 * has. ISA-L names and conventions:
 * - crc16_t10dif(seed, buf, len): plain running CRC, no inversion; seed 0 starts.
 * - crc32_iscsi(buf, len, seed): the raw register, neither the seed nor the result inverted,
 *   so the CRC-32C of the specification is ~crc32_iscsi(buf, len, ~0).
 * - crc64_*_refl(seed, buf, len): inverts the seed and the result itself, so 0 starts and a
 *   result continues.
 * The NVMe CRC-64 polynomial ("rocksoft") is in ISA-L from 2.31 on; Debian bookworm ships
 * 2.30, so crc64.c supplies it when configure did not find crc64_rocksoft_refl().
 */
#include <isa-l/crc.h>

#include <updk/crc.h>

uint16_t updk_crc16_t10dif(uint16_t crc, const void *buf, size_t len)
{
	return crc16_t10dif(crc, buf, (uint64_t)len);
}

uint32_t updk_crc32c(uint32_t crc, const void *buf, size_t len)
{
	/* crc32_iscsi takes an int length: feed it in chunks so any size_t works. */
	const unsigned char *p = buf;
	uint32_t reg = ~crc;

	while (len) {
		int n = len > (1u << 30) ? 1 << 30 : (int)len;

		reg = crc32_iscsi((unsigned char *)p, n, reg);
		p += n;
		len -= (size_t)n;
	}
	return ~reg;
}
