// SPDX-License-Identifier: BSD-3-Clause
/*
 * The NVMe CRC-64 (64b Guard, NVM Command Set 1.0 §5.2.1.3): ISA-L's crc64_rocksoft_refl()
 * where the installed ISA-L has it (2.31 and later; configure defines UPDK_HAVE_ISAL_ROCKSOFT),
 * else a slice-by-8 loop over tables derived at load time from the polynomial, since no
 * library Debian bookworm ships offers this polynomial. The unit tests hold both to the
 * specification's check values.
 */
#include <updk/crc.h>

#ifdef UPDK_HAVE_ISAL_ROCKSOFT
#include <isa-l/crc64.h>

uint64_t updk_crc64_nvme(uint64_t crc, const void *buf, size_t len)
{
	return crc64_rocksoft_refl(crc, buf, (uint64_t)len);
}

const char *updk_crc64_nvme_impl(void)
{
	return "isa-l";
}
#else
#include <endian.h>
#include <string.h>

/* AD93D23594C93659h bit-reversed, for the reflected (LSB-first) register. */
#define CRC64_NVME_POLY_REFL 0x9a6c9329ac4bc9b5ull

static uint64_t crc64_tab[8][256];

__attribute__((constructor)) static void crc64_tab_init(void)
{
	for (unsigned int i = 0; i < 256; i++) {
		uint64_t c = i;

		for (int b = 0; b < 8; b++)
			c = (c >> 1) ^ (c & 1 ? CRC64_NVME_POLY_REFL : 0);
		crc64_tab[0][i] = c;
	}
	/* tab[k][i]: the byte i followed by k zero bytes. */
	for (unsigned int i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			crc64_tab[k][i] = (crc64_tab[k - 1][i] >> 8) ^
					  crc64_tab[0][crc64_tab[k - 1][i] & 0xff];
}

uint64_t updk_crc64_nvme(uint64_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t c = ~crc;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c ^= le64toh(w);
		c = crc64_tab[7][c & 0xff] ^ crc64_tab[6][(c >> 8) & 0xff] ^
		    crc64_tab[5][(c >> 16) & 0xff] ^ crc64_tab[4][(c >> 24) & 0xff] ^
		    crc64_tab[3][(c >> 32) & 0xff] ^ crc64_tab[2][(c >> 40) & 0xff] ^
		    crc64_tab[1][(c >> 48) & 0xff] ^ crc64_tab[0][c >> 56];
	}
	while (len--)
		c = (c >> 8) ^ crc64_tab[0][(c ^ *p++) & 0xff];
	return ~c;
}

const char *updk_crc64_nvme_impl(void)
{
	return "table";
}
#endif
