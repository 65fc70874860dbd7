// SPDX-License-Identifier: BSD-3-Clause
/*
 * The per-thread translation cache (lib/mem/iova_cache.h): a hit gives the table's answer, and
 * the cache never hands out the IOVA of a registration that was taken away — neither on the
 * thread that removed it, nor on a thread that cached it and then passed a quiescent state or
 * went offline while another thread removed it.
 */
#include <pthread.h>
#include <sys/mman.h>

#include <criterion/criterion.h>

#include <updk/mem.h>

#include "lib/mem/iova_cache.h"
#include "lib/mem/mem_vfio.h"

#define SZ_2M (2UL << 20)

static uint8_t *area(void)
{
	uint8_t *raw =
		mmap(NULL, 8UL << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(raw, MAP_FAILED);
	return (uint8_t *)(((uintptr_t)raw + SZ_2M - 1) & ~(SZ_2M - 1));
}

static int unregister_b_done, unregister_b_rc = -1;

static void *unregister_b(void *b)
{
	unregister_b_rc = updk_mem_unregister(b, 4096);
	__atomic_store_n(&unregister_b_done, 1, __ATOMIC_RELEASE);
	updk_mem_thread_exit();
	return NULL;
}

Test(mem_iova_cache, hit_answers_as_the_table)
{
	uint8_t *a = area();
	uint64_t iova;
	size_t len;

	cr_assert_eq(updk_mem_register(a, 4 * 4096), 0);
	cr_assert_eq(mem_iova_cached(a, 1), UPDK_IOVA_INVALID, "nothing cached before a lookup");
	iova = updk_iova_contig(a + 4096, &len);
	cr_assert_eq(len, 3 * 4096);
	/* the IOVA really is a's: the reverse index (not the cache) says so */
	cr_assert_eq(mem_iova_to_va(iova, 4096), a + 4096);
	cr_assert_eq(mem_iova_cached(a + 4096, 4096), iova);
	cr_assert_eq(mem_iova_cached(a + 8, 4096), iova - 4096 + 8);
	cr_assert_eq(mem_iova_cached(a + 3 * 4096, 4096), iova + 2 * 4096, "the last page");
	cr_assert_eq(mem_iova_cached(a + 3 * 4096, 4097), UPDK_IOVA_INVALID, "past the end");
	cr_assert_eq(mem_iova_cached(a - 1, 1), UPDK_IOVA_INVALID, "before the start");
	cr_assert_eq(mem_iova_cached(a + 4 * 4096, 1), UPDK_IOVA_INVALID, "after the end");
	cr_assert_eq(updk_iova(a + 100), iova - 4096 + 100);
	cr_assert_eq(updk_mem_unregister(a, 4 * 4096), 0);
}

/*
 * A poller reports a quiescent state every few polls: while no registration is removed, its
 * entry stays (the next submission pays no table walk); the first quiescent state after a
 * removal anywhere empties it (peer_quiescent_forgets below: the removed range's own cache).
 */
Test(mem_iova_cache, quiescent_keeps_it_until_a_removal)
{
	uint8_t *a = area(), *b = a + SZ_2M;
	pthread_t t;
	uint64_t iova;

	cr_assert_eq(updk_mem_register(a, 4096), 0);
	cr_assert_eq(updk_mem_register(b, 4096), 0);
	iova = updk_iova(a);
	cr_assert_neq(iova, UPDK_IOVA_INVALID);
	for (int i = 0; i < 3; i++) {
		updk_mem_quiescent();
		cr_assert_eq(mem_iova_cached(a, 4096), iova, "a quiescent state without a removal");
	}
	/* another thread removes b: this thread's next quiescent state empties the entry */
	cr_assert_eq(pthread_create(&t, NULL, unregister_b, b), 0);
	while (!__atomic_load_n(&unregister_b_done, __ATOMIC_ACQUIRE))
		updk_mem_quiescent(); /* the removal's grace period waits for one */
	updk_mem_quiescent();
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(unregister_b_rc, 0);
	cr_assert_eq(mem_iova_cached(a, 1), UPDK_IOVA_INVALID, "emptied after a removal");
	cr_assert_eq(updk_iova(a), iova, "looked up again, the same registration");
	cr_assert_eq(updk_mem_unregister(a, 4096), 0);
}

/* The thread that unregisters had the range cached: the next lookup must not find it. */
Test(mem_iova_cache, own_unregister_forgets)
{
	uint8_t *a = area();
	uint64_t old, now;

	cr_assert_eq(updk_mem_register(a, 4096), 0);
	old = updk_iova(a);
	cr_assert_neq(old, UPDK_IOVA_INVALID);
	cr_assert_eq(updk_mem_unregister(a, 4096), 0);
	cr_assert_eq(updk_iova(a), UPDK_IOVA_INVALID);
	cr_assert_eq(mem_iova_cached(a, 1), UPDK_IOVA_INVALID);
	/* the same address registered again, after another range took the freed IOVA */
	cr_assert_eq(updk_mem_register(a + SZ_2M, 4096), 0);
	cr_assert_eq(updk_mem_register(a, 4096), 0);
	now = updk_iova(a);
	cr_assert_eq(mem_iova_to_va(now, 4096), a, "the new registration's IOVA, not a stale one");
	cr_assert_eq(mem_iova_cached(a, 4096), now);
	cr_assert_eq(updk_mem_unregister(a, 4096), 0);
	cr_assert_eq(updk_mem_unregister(a + SZ_2M, 4096), 0);
}

/* A DMA allocation freed back to the system and the address reused. */
Test(mem_iova_cache, dma_free_forgets)
{
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_4K_PAGES };
	uint64_t iova;
	uint8_t *p;

	cr_assert_eq(updk_mem_init(&o), 0);
	/* larger than a chunk: freeing it gives it back to the system at once */
	p = updk_dma_alloc(4 * SZ_2M, 4096, UPDK_NUMA_ANY, &iova);
	cr_assert_not_null(p);
	cr_assert_eq(updk_iova(p + 4096), iova + 4096);
	updk_dma_free(p);
	cr_assert_eq(mem_iova_cached(p, 1), UPDK_IOVA_INVALID);
	cr_assert_eq(updk_iova(p + 4096), UPDK_IOVA_INVALID);
}

struct peer {
	uint8_t *a;
	bool offline; /* wait offline instead of passing quiescent states */
	int step; /* 1: cached, 2: the main thread unregistered */
	uint64_t cached, after;
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;

	p->cached = updk_iova(p->a);
	if (p->offline)
		updk_mem_thread_offline();
	__atomic_store_n(&p->step, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&p->step, __ATOMIC_ACQUIRE) != 2)
		if (!p->offline)
			updk_mem_quiescent();
	if (p->offline)
		updk_mem_thread_online();
	p->after = updk_iova(p->a);
	updk_mem_thread_exit();
	return NULL;
}

static void peer_run(bool offline)
{
	struct peer p = { .a = area(), .offline = offline };
	pthread_t t;

	cr_assert_eq(updk_mem_register(p.a, 4096), 0);
	cr_assert_eq(pthread_create(&t, NULL, peer_main, &p), 0);
	while (__atomic_load_n(&p.step, __ATOMIC_ACQUIRE) != 1)
		sched_yield();
	/* waits for the peer's next quiescent state, or not at all while it is offline */
	cr_assert_eq(updk_mem_unregister(p.a, 4096), 0);
	__atomic_store_n(&p.step, 2, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	cr_assert_neq(p.cached, UPDK_IOVA_INVALID);
	cr_assert_eq(p.after, UPDK_IOVA_INVALID, "the peer still translated a removed range");
}

Test(mem_iova_cache, peer_quiescent_forgets)
{
	peer_run(false);
}

Test(mem_iova_cache, peer_offline_forgets)
{
	peer_run(true);
}
