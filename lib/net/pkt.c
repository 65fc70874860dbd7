// SPDX-License-Identifier: BSD-3-Clause
/*
 * Packet buffers: a mempool of DMA objects, each a 64-byte struct updk_pkt followed by the
 * buffer. Every object's IOVA is written into its header once, here, so the data path never
 * translates an address.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "net"
#include "lib/util/log.h"

#include "lib/net/pkt_pool.h"

/* A buffer's length must fit updk_pkt.buf_len and a descriptor's 16-bit length. */
#define PKT_BUF_MAX 65535u

static void pkt_reset(struct updk_pkt *p, uint16_t headroom)
{
	p->data_off = headroom;
	p->len = 0;
	p->flags = 0;
}

struct updk_pktpool *updk_pktpool_create(const char *name, unsigned count, unsigned data_room,
					 unsigned headroom, unsigned cache_size, int numa_node)
{
	if (!name)
		name = "pktpool";
	if (!data_room)
		data_room = UPDK_PKT_DATA_ROOM;
	if (!headroom)
		headroom = UPDK_PKT_HEADROOM;
	headroom = (headroom + 63) & ~63u;
	if (count == 0 || (uint64_t)headroom + data_room > PKT_BUF_MAX) {
		log_err("packet pool %s: %u buffers of %u + %u bytes: need at least one buffer and "
			"at most %u bytes of headroom plus data room",
			name, count, headroom, data_room, PKT_BUF_MAX);
		errno = EINVAL;
		return NULL;
	}

	struct updk_pktpool *pool = calloc(1, sizeof(*pool));
	void **objs = calloc(count, sizeof(*objs));

	if (!pool || !objs) {
		free(pool);
		free(objs);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(pool->name, sizeof(pool->name), "%s", name);
	pool->count = count;
	pool->headroom = (uint16_t)headroom;
	pool->buf_len = (uint16_t)(headroom + data_room);
	pool->mp = updk_mempool_create(name, count, UPDK_PKT_HDR_SIZE + headroom + data_room,
				       cache_size, numa_node);
	if (!pool->mp) {
		int err = errno;

		log_err("packet pool %s: cannot make a mempool of %u buffers of %u bytes: %s", name,
			count, UPDK_PKT_HDR_SIZE + headroom + data_room, strerror(err));
		free(objs);
		free(pool);
		errno = err;
		return NULL;
	}
	/* Visit every object once to write its fixed header. */
	if (updk_mempool_get_bulk(pool->mp, objs, count)) {
		log_err("packet pool %s: a new mempool did not hand out all its %u objects", name,
			count);
		updk_mempool_free(pool->mp);
		free(objs);
		free(pool);
		errno = EIO;
		return NULL;
	}
	for (unsigned i = 0; i < count; i++) {
		struct updk_pkt *p = objs[i];

		memset(p, 0, sizeof(*p));
		p->buf_iova = updk_mempool_obj_iova(pool->mp, p) + UPDK_PKT_HDR_SIZE;
		p->pool = pool;
		p->buf_len = pool->buf_len;
		pkt_reset(p, pool->headroom);
	}
	updk_mempool_put_bulk(pool->mp, objs, count);
	free(objs);
	return pool;
}

void updk_pktpool_free(struct updk_pktpool *pool)
{
	if (!pool)
		return;
	unsigned avail = updk_mempool_avail(pool->mp);

	if (avail != pool->count)
		log_warn("packet pool %s freed with %u of its %u buffers still in use", pool->name,
			 pool->count - avail, pool->count);
	updk_mempool_free(pool->mp);
	free(pool);
}

unsigned updk_pktpool_avail(const struct updk_pktpool *pool)
{
	return updk_mempool_avail(pool->mp);
}

int updk_pkt_alloc_bulk(struct updk_pktpool *pool, struct updk_pkt **pkts, unsigned n)
{
	if (updk_mempool_get_bulk(pool->mp, (void **)pkts, n))
		return -ENOBUFS;
	for (unsigned i = 0; i < n; i++)
		pkt_reset(pkts[i], pool->headroom);
	return 0;
}

struct updk_pkt *updk_pkt_alloc(struct updk_pktpool *pool)
{
	struct updk_pkt *p = updk_mempool_get(pool->mp);

	if (p)
		pkt_reset(p, pool->headroom);
	return p;
}

void updk_pkt_free_bulk(struct updk_pkt *const *pkts, unsigned n)
{
	if (!n)
		return;
	/* The common case, one pool for the whole burst: checked without a branch per buffer. */
	struct updk_pktpool *pool = pkts[0]->pool;
	uintptr_t diff = 0;

	for (unsigned i = 1; i < n; i++)
		diff |= (uintptr_t)pkts[i]->pool ^ (uintptr_t)pool;
	if (!diff) {
		updk_mempool_put_bulk(pool->mp, (void *const *)pkts, n);
		return;
	}
	/* Mixed: one put per run of buffers from the same pool. */
	unsigned start = 0;

	while (start < n) {
		unsigned end = start + 1;

		pool = pkts[start]->pool;
		while (end < n && pkts[end]->pool == pool)
			end++;
		updk_mempool_put_bulk(pool->mp, (void *const *)(pkts + start), end - start);
		start = end;
	}
}

void updk_pkt_free(struct updk_pkt *p)
{
	updk_mempool_put(p->pool->mp, p);
}
