/* SPDX-License-Identifier: BSD-3-Clause */
/* Packet pools, as drivers see them: the mempool under a pool, for refills without resets. */
#ifndef UPDK_NET_PKT_POOL_H
#define UPDK_NET_PKT_POOL_H

#include <stdint.h>

#include <updk/mem.h>
#include <updk/net.h>

struct updk_pktpool {
	struct updk_mempool *mp;
	unsigned count;
	uint16_t headroom; /* data_off of a fresh buffer */
	uint16_t buf_len; /* headroom + data room */
	char name[32];
};

/*
 * Take @n buffers without resetting data_off/len/flags: for a receive refill, which sets them
 * itself when the buffer comes back full. All or none: 0 or -ENOBUFS.
 */
static inline int pktpool_get_raw(struct updk_pktpool *pool, struct updk_pkt **pkts, unsigned n)
{
	return updk_mempool_get_bulk(pool->mp, (void **)pkts, n);
}

#endif
