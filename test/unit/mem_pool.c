// SPDX-License-Identifier: BSD-3-Clause
/* Mempools: several threads, no object lost or handed out twice; caches, bulk, IOVAs. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include <updk/mem.h>

#include "test/unit/mem_env.h"
#include "test/unit/thread_check.h"

static void use_4k(void)
{
	mem_env_use(UPDK_MEM_4K_PAGES);
}

static void use_huge(void)
{
	mem_env_use(UPDK_MEM_HUGEPAGES);
}

#define COUNT 2048
#define THREADS 4
#define ROUNDS 3000

static struct updk_mempool *pool;
static atomic_uchar taken[COUNT];
static size_t elt;
static uint8_t *first_obj;

static unsigned index_of(void *obj)
{
	size_t off = (uint8_t *)obj - first_obj;

	thread_check(off % elt == 0, "object %p not on an element boundary", obj);
	thread_check(off / elt < COUNT, "object %p outside the pool", obj);
	return off / elt < COUNT ? (unsigned)(off / elt) : 0;
}

static void take(void *obj)
{
	unsigned char was = atomic_exchange(&taken[index_of(obj)], 1);

	thread_check(was == 0, "object %p handed out twice", obj);
}

static void give(void *obj)
{
	unsigned char was = atomic_exchange(&taken[index_of(obj)], 0);

	thread_check(was == 1, "object %p put back while not taken", obj);
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	void *objs[64];

	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned n = 1 + rand_r(&seed) % 64;

		if (updk_mempool_get_bulk(pool, objs, n) < 0)
			continue; /* other threads hold the rest: fine, try again */
		for (unsigned i = 0; i < n; i++) {
			take(objs[i]);
			*(unsigned *)objs[i] = seed; /* the memory is the caller's now */
		}
		for (unsigned i = 0; i < n; i++) {
			thread_check(updk_mempool_obj_iova(pool, objs[i]) == updk_iova(objs[i]),
				     "object %p: pool and table disagree on its IOVA", objs[i]);
			give(objs[i]);
		}
		if (n % 2)
			updk_mempool_put_bulk(pool, objs, n);
		else
			for (unsigned i = 0; i < n; i++)
				updk_mempool_put(pool, objs[i]);
		updk_mem_quiescent();
	}
	return NULL;
}

/* Take every object on this thread: each exactly once. */
static void drain_all(void)
{
	static void *all[COUNT];

	cr_assert_eq(updk_mempool_avail(pool), COUNT, "objects lost: %u of %u available",
		     updk_mempool_avail(pool), COUNT);
	cr_assert_eq(updk_mempool_get_bulk(pool, all, COUNT), 0);
	for (unsigned i = 0; i < COUNT; i++)
		take(all[i]);
	cr_assert_null(updk_mempool_get(pool));
	for (unsigned i = 0; i < COUNT; i++)
		give(all[i]);
	updk_mempool_put_bulk(pool, all, COUNT);
	cr_assert(!atomic_load(&failed), "%s", failure);
	cr_assert_eq(updk_mempool_avail(pool), COUNT);
}

static void threads_run(unsigned cache)
{
	pthread_t th[THREADS];
	void *o;

	pool = updk_mempool_create("test", COUNT, 100, cache, UPDK_NUMA_ANY);
	cr_assert_not_null(pool);
	elt = updk_mempool_elt_size(pool);
	cr_assert_eq(elt, 128);
	/* The first get on a fresh pool gives the lowest object. */
	o = updk_mempool_get(pool);
	cr_assert_not_null(o);
	first_obj = o;
	updk_mempool_put(pool, o);
	for (unsigned i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1)), 0);
	updk_mem_thread_offline();
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	updk_mem_thread_online();
	cr_assert(!atomic_load(&failed), "%s", failure);
	/* The workers' caches went back to the pool when they exited. */
	drain_all();
	updk_mempool_free(pool);
}

Test(mem_pool, threads_with_cache, .init = use_4k)
{
	threads_run(32);
}

Test(mem_pool, threads_without_cache, .init = use_4k)
{
	threads_run(0);
}

Test(mem_pool, threads_with_cache_hugepages, .init = use_huge)
{
	threads_run(64);
}

Test(mem_pool, bulk_is_all_or_nothing, .init = use_4k)
{
	void *objs[20];
	struct updk_mempool *mp = updk_mempool_create("small", 10, 64, 4, UPDK_NUMA_ANY);

	cr_assert_not_null(mp);
	cr_assert_eq(updk_mempool_get_bulk(mp, objs, 11), -ENOBUFS);
	cr_assert_eq(updk_mempool_avail(mp), 10);
	cr_assert_eq(updk_mempool_get_bulk(mp, objs, 3), 0);
	cr_assert_eq(updk_mempool_avail(mp), 7);
	cr_assert_eq(updk_mempool_get_bulk(mp, objs + 3, 8), -ENOBUFS);
	cr_assert_eq(updk_mempool_avail(mp), 7);
	cr_assert_eq(updk_mempool_get_bulk(mp, objs + 3, 7), 0);
	cr_assert_eq(updk_mempool_avail(mp), 0);
	cr_assert_null(updk_mempool_get(mp));
	for (unsigned i = 0; i < 10; i++)
		for (unsigned j = i + 1; j < 10; j++)
			cr_assert_neq(objs[i], objs[j]);
	updk_mempool_put_bulk(mp, objs, 10);
	cr_assert_eq(updk_mempool_avail(mp), 10);
	updk_mempool_free(mp);
}

Test(mem_pool, objects_are_dma_memory, .init = use_4k)
{
	struct updk_mempool *mp = updk_mempool_create("iova", 100, 1000, 0, UPDK_NUMA_ANY);
	void *objs[100];
	static char outside[64];

	cr_assert_not_null(mp);
	cr_assert_eq(updk_mempool_elt_size(mp), 1024);
	cr_assert_eq(updk_mempool_get_bulk(mp, objs, 100), 0);
	for (unsigned i = 0; i < 100; i++) {
		uint64_t iova = updk_mempool_obj_iova(mp, objs[i]);

		cr_assert_eq((uintptr_t)objs[i] % 64, 0);
		cr_assert_eq(iova, updk_iova(objs[i]));
		cr_assert_eq(updk_iova((char *)objs[i] + 1023), iova + 1023);
	}
	cr_assert_eq(updk_mempool_obj_iova(mp, outside), UPDK_IOVA_INVALID);
	/* A foreign object is refused, the pool is not corrupted. */
	updk_mempool_put(mp, outside);
	cr_assert_eq(updk_mempool_avail(mp), 0);
	updk_mempool_put_bulk(mp, objs, 100);
	cr_assert_eq(updk_mempool_avail(mp), 100);
	updk_mempool_free(mp);
}

Test(mem_pool, bad_arguments, .init = use_4k)
{
	errno = 0;
	cr_assert_null(updk_mempool_create("x", 0, 64, 0, UPDK_NUMA_ANY));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(updk_mempool_create("x", 10, 0, 0, UPDK_NUMA_ANY));
	cr_assert_null(updk_mempool_create("x", 10, 64, 11, UPDK_NUMA_ANY));
	cr_assert_null(updk_mempool_create("x", 10, 64, 0, 77));
}

/* Ids are reused after free; a thread's cache of the old pool must not leak into the new. */
Test(mem_pool, id_reuse_does_not_see_old_caches, .init = use_4k)
{
	struct updk_mempool *a = updk_mempool_create("a", 64, 64, 16, UPDK_NUMA_ANY);
	void *o;

	cr_assert_not_null(a);
	o = updk_mempool_get(a);
	updk_mempool_put(a, o); /* now in this thread's cache of a */
	updk_mempool_free(a);
	struct updk_mempool *b = updk_mempool_create("b", 8, 64, 4, UPDK_NUMA_ANY);
	void *objs[8];
	cr_assert_not_null(b);
	cr_assert_eq(updk_mempool_avail(b), 8);
	cr_assert_eq(updk_mempool_get_bulk(b, objs, 8), 0);
	for (unsigned i = 0; i < 8; i++)
		cr_assert_neq(updk_mempool_obj_iova(b, objs[i]), UPDK_IOVA_INVALID);
	updk_mempool_put_bulk(b, objs, 8);
	updk_mempool_free(b);
}

Test(mem_pool, many_pools, .init = use_4k)
{
	struct updk_mempool *mp[300];
	unsigned n = 0;

	while (n < 300 && (mp[n] = updk_mempool_create("m", 4, 64, 0, UPDK_NUMA_ANY)))
		n++;
	cr_assert_eq(n, 256, "%u pools", n);
	cr_assert_eq(errno, ENOSPC);
	for (unsigned i = 0; i < n; i++)
		updk_mempool_free(mp[i]);
}
