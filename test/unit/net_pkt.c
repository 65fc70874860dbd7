// SPDX-License-Identifier: BSD-3-Clause
/* Packet pools: header layout, precomputed IOVAs, bulk alloc/free across pools. */
#include <errno.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include <updk/mem.h>
#include <updk/net.h>

static void use_4k(void)
{
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_4K_PAGES };

	cr_assert_eq(updk_mem_init(&o), 0);
}

TestSuite(net_pkt, .init = use_4k);

Test(net_pkt, layout_and_iova)
{
	struct updk_pktpool *pool = updk_pktpool_create("t", 256, 0, 0, 32, UPDK_NUMA_ANY);
	struct updk_pkt *p[256];

	cr_assert_not_null(pool);
	cr_assert_eq(updk_pktpool_avail(pool), 256);
	cr_assert_eq(updk_pkt_alloc_bulk(pool, p, 256), 0);
	cr_assert_eq(updk_pkt_alloc_bulk(pool, p, 1), -ENOBUFS, "an empty pool gives nothing");
	for (int i = 0; i < 256; i++) {
		uint8_t *data = updk_pkt_data(p[i]);

		cr_assert_eq((uintptr_t)p[i] % 64, 0);
		cr_assert_eq((uintptr_t)data % 64, 0, "data is cache-line aligned");
		cr_assert_eq(p[i]->data_off, UPDK_PKT_HEADROOM);
		cr_assert_eq(p[i]->len, 0);
		cr_assert_eq(p[i]->buf_len, UPDK_PKT_HEADROOM + UPDK_PKT_DATA_ROOM);
		cr_assert_eq(p[i]->pool, pool);
		/* The precomputed IOVA is what a translation would give. */
		cr_assert_eq(updk_pkt_data_iova(p[i]), updk_iova(data));
		cr_assert_eq(updk_pkt_tailroom(p[i]), UPDK_PKT_DATA_ROOM);
	}
	updk_pkt_free_bulk(p, 256);
	cr_assert_eq(updk_pktpool_avail(pool), 256);
	updk_pktpool_free(pool);
}

Test(net_pkt, alloc_resets_fields)
{
	struct updk_pktpool *pool = updk_pktpool_create("t", 8, 1024, 64, 0, UPDK_NUMA_ANY);
	struct updk_pkt *p = updk_pkt_alloc(pool);

	cr_assert_not_null(p);
	cr_assert_eq(p->data_off, 64);
	p->data_off = 10;
	p->len = 100;
	p->flags = UPDK_PKT_TX_IP_CKSUM;
	updk_pkt_free(p);
	struct updk_pkt *q[8];

	cr_assert_eq(updk_pkt_alloc_bulk(pool, q, 8), 0);
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(q[i]->data_off, 64);
		cr_assert_eq(q[i]->len, 0);
		cr_assert_eq(q[i]->flags, 0);
	}
	updk_pkt_free_bulk(q, 8);
	updk_pktpool_free(pool);
}

Test(net_pkt, free_bulk_mixed_pools)
{
	struct updk_pktpool *a = updk_pktpool_create("a", 16, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_pktpool *b = updk_pktpool_create("b", 16, 0, 0, 0, UPDK_NUMA_ANY);
	struct updk_pkt *pa[16], *pb[16], *mix[32];

	cr_assert_eq(updk_pkt_alloc_bulk(a, pa, 16), 0);
	cr_assert_eq(updk_pkt_alloc_bulk(b, pb, 16), 0);
	for (int i = 0; i < 16; i++) {
		mix[2 * i] = pa[i];
		mix[2 * i + 1] = pb[i];
	}
	updk_pkt_free_bulk(mix, 32);
	cr_assert_eq(updk_pktpool_avail(a), 16);
	cr_assert_eq(updk_pktpool_avail(b), 16);
	updk_pktpool_free(a);
	updk_pktpool_free(b);
}

Test(net_pkt, bad_sizes)
{
	cr_assert_null(updk_pktpool_create("t", 0, 0, 0, 0, UPDK_NUMA_ANY));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(updk_pktpool_create("t", 4, 65000, 1024, 0, UPDK_NUMA_ANY));
	cr_assert_eq(errno, EINVAL);
}
