/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packets of the network fuzz targets: NPKT of them, each a header and its buffer,
 * PKT_STRIDE bytes apart in one allocation. The target defines NPKT and PKT_STRIDE before it
 * includes this, allocates pkts on its first input, and keeps its own record of whose each
 * packet is.
 */
#ifndef TEST_FUZZ_PKT_POOL_H
#define TEST_FUZZ_PKT_POOL_H

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

#endif
