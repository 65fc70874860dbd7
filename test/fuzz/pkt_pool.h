/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packets of the network fuzz targets: NPKT of them, each a header and its buffer,
 * PKT_STRIDE bytes apart in one allocation. The target defines NPKT and PKT_STRIDE before it
 * includes this, and keeps its own record of whose each packet is.
 */
#ifndef TEST_FUZZ_PKT_POOL_H
#define TEST_FUZZ_PKT_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static struct updk_pkt *pkts;

static struct updk_pkt *pkt_at(unsigned i)
{
	return (struct updk_pkt *)((uint8_t *)pkts + (size_t)i * PKT_STRIDE);
}

/* The index of @p; aborts when @p is not one of the packets (the driver made it up). */
static unsigned pkt_index(const struct updk_pkt *p)
{
	size_t off = (size_t)((const uint8_t *)p - (const uint8_t *)pkts);

	if (off % PKT_STRIDE || off / PKT_STRIDE >= NPKT)
		abort();
	return (unsigned)(off / PKT_STRIDE);
}

/*
 * Allocate the packets on the first input (they last as long as the process) and, given
 * @proto, make each a copy of it with its buffer at IOVA @iova0 plus its offset. False when
 * there is no memory.
 */
static bool pkts_alloc(const struct updk_pkt *proto, uint64_t iova0)
{
	if (pkts)
		return true;
	pkts = aligned_alloc(64, (size_t)NPKT * PKT_STRIDE);
	if (!pkts)
		return false;
	for (unsigned i = 0; proto && i < NPKT; i++) {
		*pkt_at(i) = *proto;
		pkt_at(i)->buf_iova = iova0 + (uint64_t)i * PKT_STRIDE;
	}
	return true;
}

#endif
