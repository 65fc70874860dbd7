/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CRCs of NVMe end-to-end protection and NVMe/TCP digests.
 *
 * Each function continues a CRC: pass 0 to start, and the value returned for a buffer to go
 * on over the next one, so crc(crc(0, a), b) equals crc(0, a || b). The value returned is the
 * finished CRC (final XOR applied), the one written to the wire or the PI field.
 */
#ifndef UPDK_CRC_H
#define UPDK_CRC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * CRC-16 T10-DIF: the 16b Guard of NVMe protection information (NVM Command Set 1.0 §5.2.1.1):
 * polynomial 8BB7h, initial value 0, not reflected, no final XOR. crc(0, "123456789") = D0DBh.
 */
uint16_t updk_crc16_t10dif(uint16_t crc, const void *buf, size_t len);

/*
 * CRC-32C (Castagnoli): the 32b Guard (NVM Command Set 1.0 §5.2.1.2, polynomial 1EDC6F41h)
 * and the NVMe/TCP header and data digests (NVMe TCP Transport 1.0 §3.6.2.4): reflected,
 * initial value and final XOR FFFFFFFFh. crc(0, "123456789") = E3069283h.
 */
uint32_t updk_crc32c(uint32_t crc, const void *buf, size_t len);

/*
 * The NVMe 64-bit CRC: the 64b Guard (NVM Command Set 1.0 §5.2.1.3, polynomial
 * AD93D23594C93659h, "CRC-64/NVME", the Rocksoft model): reflected, initial value and final
 * XOR all ones. crc(0, "123456789") = AE8B14860A799888h.
 */
uint64_t updk_crc64_nvme(uint64_t crc, const void *buf, size_t len);

/* "isa-l" when updk_crc64_nvme() runs ISA-L's crc64_rocksoft_refl(), "table" for the fallback
 * used with ISA-L older than 2.31 (which has no NVMe polynomial). */
const char *updk_crc64_nvme_impl(void);

#ifdef __cplusplus
}
#endif

#endif
