// SPDX-License-Identifier: BSD-3-Clause
/*
 * The IPv4/UDP test frame the network benchmarks and the VM ring send: header only, so that a
 * benchmark (which links no test helper object) can include it too.
 */
#ifndef UPDK_TEST_UDP_FRAME_H
#define UPDK_TEST_UDP_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * A @len-byte frame (no FCS) from @src to @dst, zeroed, with its Ethernet, IPv4 (RFC 791: no
 * options, TTL 64, 198.18.0.1 to 198.18.0.2, the RFC 2544 benchmark range; checksum left 0)
 * and UDP (RFC 768: length) headers; the UDP ports and the payload are the caller's.
 */
static inline void udp_frame_headers(uint8_t *f, size_t len, const uint8_t dst[6],
				     const uint8_t src[6])
{
	memset(f, 0, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08; /* IPv4 */
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[22] = 64; /* TTL */
	f[23] = 17; /* UDP */
	f[26] = 198, f[27] = 18, f[28] = 0, f[29] = 1;
	f[30] = 198, f[31] = 18, f[32] = 0, f[33] = 2;
	f[38] = (uint8_t)((len - 34) >> 8);
	f[39] = (uint8_t)(len - 34);
}

#endif
