/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * End-to-end protection information in software (NVM Command Set 1.0 §5.2): generate the PI of
 * blocks before a write the controller will check (PRACT=0, PRCHK), and verify what a read
 * brought back, as a host does for the whole path (SPDK's DIF/DIX library does the same job).
 *
 * A block's PI sits in its metadata, in the first or the last bytes; the metadata follows each
 * block's data in the data buffer (extended LBA) or lies in a separate buffer, ms bytes a block.
 * The fields are big endian:
 *   16b Guard (§5.2.1.1): Guard CRC-16 T10-DIF (2), Application Tag (2), Reference Tag (4)
 *   32b Guard (§5.2.1.2): Guard CRC-32C (4), Application Tag (2), Reference Tag (10, here at
 *                         most 64 bits: no Storage Tag)
 *   64b Guard (§5.2.1.3): Guard NVMe CRC-64 (8), Application Tag (2), Reference Tag (6)
 * The Guard covers the block's data, and the metadata bytes before the PI when the PI is last.
 */
#ifndef UPDK_PI_H
#define UPDK_PI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Protection information types (Identify Namespace DPS bits 2:0). */
enum updk_pi_type {
	UPDK_PI_NONE = 0,
	UPDK_PI_TYPE1 = 1, /* Reference Tag = the LBA's low bits, counting up */
	UPDK_PI_TYPE2 = 2, /* Reference Tag = any initial value, counting up */
	UPDK_PI_TYPE3 = 3, /* no Reference Tag checks */
};

/* Guard formats (the Protection Information Format of the Extended LBA Format, PIF). */
enum updk_pi_guard {
	UPDK_PI_GUARD16 = 0,
	UPDK_PI_GUARD32 = 1,
	UPDK_PI_GUARD64 = 2,
};

/* What to check, with the bit values of PRCHK (CDW12 bits 28:26 >> 26). */
#define UPDK_PI_CHECK_REF (1u << 0)
#define UPDK_PI_CHECK_APP (1u << 1)
#define UPDK_PI_CHECK_GUARD (1u << 2)
#define UPDK_PI_CHECK_ALL 7u

/* A namespace's format, as Identify Namespace describes it (LBA format, FLBAS, DPS, ELBAF). */
struct updk_pi_fmt {
	uint32_t block_size; /* data bytes per block */
	uint16_t md_size; /* metadata bytes per block */
	bool extended; /* metadata after each block's data, in the data buffer */
	bool pi_first; /* PI in the first bytes of the metadata; else the last */
	uint8_t type; /* enum updk_pi_type */
	uint8_t guard; /* enum updk_pi_guard */
};

/* The tags of an I/O: those of its first block. */
struct updk_pi_tags {
	uint64_t ref; /* Reference Tag of the first block (the command's ILBRT) */
	uint16_t app; /* Application Tag (LBAT) */
	uint16_t app_mask; /* bits of it that are checked (LBATM) */
};

enum updk_pi_err_kind {
	UPDK_PI_ERR_GUARD = 1,
	UPDK_PI_ERR_APP,
	UPDK_PI_ERR_REF,
};

/* The first mismatch updk_pi_verify() found. */
struct updk_pi_error {
	enum updk_pi_err_kind kind;
	uint32_t block; /* index in the I/O */
	uint64_t expected;
	uint64_t actual;
};

/** Bytes of PI a block carries in @guard's format: 8 or 16. */
unsigned updk_pi_size(enum updk_pi_guard guard);

/**
 * 0 when @f describes blocks with PI this library can handle, else -EINVAL with a log line
 * naming the field (no PI type, metadata smaller than the PI, unknown guard format).
 */
int updk_pi_fmt_check(const struct updk_pi_fmt *f);

/**
 * Write the PI of @nblocks blocks: Guard from the data, @t->app, and @t->ref counting up by
 * block (types 1 and 2; type 3 keeps it). @data holds the blocks (and their metadata when
 * @f->extended, @md then NULL); @md the metadata, @f->md_size bytes a block, otherwise. The
 * metadata bytes outside the PI are left as they are. Returns 0 or -EINVAL (bad format).
 */
int updk_pi_generate(const struct updk_pi_fmt *f, void *data, void *md, uint32_t nblocks,
		     const struct updk_pi_tags *t);

/**
 * Check the PI of @nblocks blocks laid out as for updk_pi_generate(): the fields in @checks
 * (UPDK_PI_CHECK_*) against the data and @t. A block whose Application Tag is FFFFh (type 3:
 * and Reference Tag all ones) is not checked, as a controller does. Returns 0, -EIO at the
 * first mismatch (described in @err when not NULL), or -EINVAL (bad format).
 */
int updk_pi_verify(const struct updk_pi_fmt *f, const void *data, const void *md, uint32_t nblocks,
		   const struct updk_pi_tags *t, unsigned checks, struct updk_pi_error *err);

/** "Guard", "Application Tag", "Reference Tag". */
const char *updk_pi_err_str(enum updk_pi_err_kind kind);

#ifdef __cplusplus
}
#endif

#endif
