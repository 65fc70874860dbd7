// SPDX-License-Identifier: BSD-3-Clause
/*
 * Mempools: @count fixed-size objects in one IOVA-contiguous DMA allocation (so an object's
 * IOVA is arithmetic, not a lookup), a shared stack guarded by a spinlock, and per-thread
 * caches so a thread that gets and puts in bursts touches the shared stack once per burst.
 *
 * A thread's caches are found through a table indexed by pool id; an entry is valid only while
 * its generation matches the pool's, so a freed pool's id can be reused without any thread
 * seeing a stale cache. A thread's caches and its table go back when the thread exits (the exit
 * hook of lib/mem).
 *
 * The table (4 KiB) is on the heap, allocated with the thread's first cache, and only a pointer
 * to it is thread-local: lib/mem's thread-locals then take ~100 bytes in all, which is what lets
 * glibc give the fio engine's dlopen()ed copy of the library a fixed offset in static TLS
 * (docs/mem.md, "Thread-locals").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "mem"
#include "lib/util/log.h"

#include "lib/mem/mem_internal.h"

#define MP_MAX_POOLS 256
#define MP_MAX_CACHE 512
#define MP_ALIGN 64

struct mp_cache {
	struct mp_cache *next; /* in the pool's list */
	unsigned len; /* written by the owner thread only; read by updk_mempool_avail */
	unsigned owner_slot;
	void *objs[]; /* 2 * cache_size */
};

struct updk_mempool {
	char name[32];
	unsigned id;
	uint64_t gen;
	uint8_t *base;
	uint8_t *end;
	uint64_t iova;
	size_t elt_size;
	unsigned count;
	unsigned cache_size;

	pthread_spinlock_t lock; /* the shared stack */
	unsigned top;
	void **stack;

	pthread_mutex_t caches_lock;
	struct mp_cache *caches;
};

static struct updk_mempool *pools[MP_MAX_POOLS];
static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_gen = 1;

struct tls_slot {
	uint64_t gen;
	struct mp_cache *cache;
};
static __thread struct tls_slot *tls_caches; /* MP_MAX_POOLS of them, or NULL */

static void ring_put(struct updk_mempool *mp, void *const *objs, unsigned n)
{
	pthread_spin_lock(&mp->lock);
	for (unsigned i = 0; i < n; i++)
		mp->stack[mp->top++] = objs[i];
	pthread_spin_unlock(&mp->lock);
}

/* Take between @min and @max objects (as many as there are); the count, or 0 if below @min. */
static unsigned ring_get(struct updk_mempool *mp, void **objs, unsigned min, unsigned max)
{
	unsigned n;

	pthread_spin_lock(&mp->lock);
	n = mp->top < max ? mp->top : max;
	if (n < min) {
		pthread_spin_unlock(&mp->lock);
		return 0;
	}
	mp->top -= n;
	memcpy(objs, &mp->stack[mp->top], n * sizeof(*objs));
	pthread_spin_unlock(&mp->lock);
	return n;
}

static __attribute__((noinline)) struct mp_cache *cache_new(struct updk_mempool *mp)
{
	struct mp_cache *c;

	if (!tls_caches && !(tls_caches = calloc(MP_MAX_POOLS, sizeof(*tls_caches))))
		return NULL; /* the thread then uses the shared stack directly */
	c = calloc(1, sizeof(*c) + 2 * mp->cache_size * sizeof(void *));
	if (!c)
		return NULL;
	c->owner_slot = mp->id;
	pthread_mutex_lock(&mp->caches_lock);
	c->next = mp->caches;
	mp->caches = c;
	pthread_mutex_unlock(&mp->caches_lock);
	tls_caches[mp->id] = (struct tls_slot){ .gen = mp->gen, .cache = c };
	mem_want_thread_exit_hook();
	return c;
}

static inline struct mp_cache *cache_of(struct updk_mempool *mp)
{
	struct tls_slot *s = tls_caches;

	if (!mp->cache_size)
		return NULL;
	if (__builtin_expect(s && s[mp->id].gen == mp->gen, 1))
		return s[mp->id].cache;
	return cache_new(mp);
}

static void cache_unlink(struct updk_mempool *mp, struct mp_cache *c)
{
	pthread_mutex_lock(&mp->caches_lock);
	for (struct mp_cache **p = &mp->caches; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&mp->caches_lock);
}

void mempool_thread_exit(void)
{
	if (!tls_caches)
		return;
	pthread_mutex_lock(&pools_lock);
	for (unsigned id = 0; id < MP_MAX_POOLS; id++) {
		struct tls_slot *s = &tls_caches[id];
		struct updk_mempool *mp = pools[id];

		if (s->gen && mp && mp->gen == s->gen) {
			ring_put(mp, s->cache->objs, s->cache->len);
			cache_unlink(mp, s->cache);
			free(s->cache);
		}
	}
	pthread_mutex_unlock(&pools_lock);
	free(tls_caches);
	tls_caches = NULL;
}

struct updk_mempool *updk_mempool_create(const char *name, unsigned count, size_t elt_size,
					 unsigned cache_size, int numa_node)
{
	struct updk_mempool *mp;
	size_t elt = (elt_size + MP_ALIGN - 1) & ~(size_t)(MP_ALIGN - 1);
	unsigned id;

	if (!name)
		name = "(unnamed)";
	if (!count || !elt_size || elt_size > (1UL << 30) || cache_size > MP_MAX_CACHE ||
	    cache_size > count) {
		log_err("mempool %s: count %u, elt_size %zu, cache_size %u: count and elt_size must "
			"be nonzero, cache_size at most %u and at most count",
			name, count, elt_size, cache_size, MP_MAX_CACHE);
		errno = EINVAL;
		return NULL;
	}
	if ((size_t)count > (1UL << 46) / elt) {
		log_err("mempool %s: %u objects of %zu bytes is too large", name, count, elt);
		errno = EINVAL;
		return NULL;
	}
	mp = calloc(1, sizeof(*mp));
	if (!mp || !(mp->stack = malloc(count * sizeof(void *)))) {
		free(mp);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(mp->name, sizeof(mp->name), "%s", name);
	mp->elt_size = elt;
	mp->count = count;
	mp->cache_size = cache_size;
	mp->base = updk_dma_alloc(count * elt, MP_ALIGN, numa_node, &mp->iova);
	if (!mp->base) {
		int err = errno;

		log_err("mempool %s: no DMA memory for %u objects of %zu bytes", name, count, elt);
		free(mp->stack);
		free(mp);
		errno = err;
		return NULL;
	}
	mp->end = mp->base + count * elt;
	pthread_spin_init(&mp->lock, PTHREAD_PROCESS_PRIVATE);
	pthread_mutex_init(&mp->caches_lock, NULL);
	/* Stacked so that the first gets return objects in address order. */
	for (unsigned i = 0; i < count; i++)
		mp->stack[i] = mp->base + (size_t)(count - 1 - i) * elt;
	mp->top = count;

	pthread_mutex_lock(&pools_lock);
	for (id = 0; id < MP_MAX_POOLS && pools[id]; id++)
		;
	if (id < MP_MAX_POOLS) {
		mp->id = id;
		mp->gen = next_gen++;
		pools[id] = mp;
	}
	pthread_mutex_unlock(&pools_lock);
	if (id == MP_MAX_POOLS) {
		log_err("mempool %s: %d pools exist already: free one first", name, MP_MAX_POOLS);
		updk_dma_free(mp->base);
		pthread_spin_destroy(&mp->lock);
		pthread_mutex_destroy(&mp->caches_lock);
		free(mp->stack);
		free(mp);
		errno = ENOSPC;
		return NULL;
	}
	return mp;
}

void updk_mempool_free(struct updk_mempool *mp)
{
	unsigned avail;

	if (!mp)
		return;
	pthread_mutex_lock(&pools_lock);
	pools[mp->id] = NULL;
	pthread_mutex_unlock(&pools_lock);
	avail = updk_mempool_avail(mp);
	if (avail != mp->count)
		log_warn("mempool %s freed with %u of its %u objects still in use", mp->name,
			 mp->count - avail, mp->count);
	while (mp->caches) {
		struct mp_cache *c = mp->caches;

		mp->caches = c->next;
		free(c);
	}
	if (tls_caches)
		tls_caches[mp->id] = (struct tls_slot){ 0 };
	updk_dma_free(mp->base);
	pthread_spin_destroy(&mp->lock);
	pthread_mutex_destroy(&mp->caches_lock);
	free(mp->stack);
	free(mp);
}

int updk_mempool_get_bulk(struct updk_mempool *mp, void **objs, unsigned n)
{
	struct mp_cache *c = cache_of(mp);

	if (!c)
		return ring_get(mp, objs, n, n) == n || n == 0 ? 0 : -ENOBUFS;
	if (c->len < n && n <= mp->cache_size) {
		/* Refill to cache_size beyond what this request needs. */
		unsigned got =
			ring_get(mp, &c->objs[c->len], n - c->len, mp->cache_size + n - c->len);

		if (!got)
			return -ENOBUFS;
		c->len += got;
	} else if (c->len < n) {
		/* Larger than the cache: all it holds, the rest straight from the shared stack. */
		unsigned rest = n - c->len;

		if (ring_get(mp, objs, rest, rest) != rest)
			return -ENOBUFS;
		objs += rest;
		n -= rest;
	}
	for (unsigned i = 0; i < n; i++)
		objs[i] = c->objs[--c->len];
	return 0;
}

static inline bool in_pool(const struct updk_mempool *mp, const void *obj)
{
	return (const uint8_t *)obj >= mp->base && (const uint8_t *)obj < mp->end;
}

/*
 * Put back what is the pool's and refuse the rest loudly: a foreign object would corrupt the
 * pool. Out of line, so the fast paths carry only the range compare.
 */
static __attribute__((noinline, cold)) void put_checked(struct updk_mempool *mp, void *const *objs,
							unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = objs[i];

		if (!in_pool(mp, p) || (size_t)(p - mp->base) % mp->elt_size) {
			log_err("mempool %s: object %p put back is not one of the pool's: ignored",
				mp->name, objs[i]);
			continue;
		}
		ring_put(mp, &objs[i], 1);
	}
}

void updk_mempool_put_bulk(struct updk_mempool *mp, void *const *objs, unsigned n)
{
	struct mp_cache *c;

	for (unsigned i = 0; i < n; i++) {
		if (__builtin_expect(!in_pool(mp, objs[i]), 0)) {
			put_checked(mp, objs, n);
			return;
		}
	}
	c = cache_of(mp);
	if (!c || n > mp->cache_size) {
		ring_put(mp, objs, n);
		return;
	}
	if (c->len + n > 2 * mp->cache_size) {
		/* Keep the most recently used half; the rest goes back to the shared stack. */
		ring_put(mp, &c->objs[mp->cache_size], c->len - mp->cache_size);
		c->len = mp->cache_size;
	}
	for (unsigned i = 0; i < n; i++)
		c->objs[c->len++] = objs[i];
}

void *updk_mempool_get(struct updk_mempool *mp)
{
	struct mp_cache *c = cache_of(mp);
	void *obj;

	if (__builtin_expect(c && c->len, 1))
		return c->objs[--c->len];
	return updk_mempool_get_bulk(mp, &obj, 1) == 0 ? obj : NULL;
}

void updk_mempool_put(struct updk_mempool *mp, void *obj)
{
	struct mp_cache *c = cache_of(mp);

	if (__builtin_expect(c && in_pool(mp, obj) && c->len < 2 * mp->cache_size, 1))
		c->objs[c->len++] = obj;
	else
		updk_mempool_put_bulk(mp, &obj, 1);
}

uint64_t updk_mempool_obj_iova(const struct updk_mempool *mp, const void *obj)
{
	const uint8_t *p = obj;

	if (p < mp->base || p >= mp->end)
		return UPDK_IOVA_INVALID;
	return mp->iova + (uint64_t)(p - mp->base);
}

unsigned updk_mempool_avail(const struct updk_mempool *mp)
{
	struct updk_mempool *m = (struct updk_mempool *)mp;
	unsigned n;

	pthread_spin_lock(&m->lock);
	n = m->top;
	pthread_spin_unlock(&m->lock);
	pthread_mutex_lock(&m->caches_lock);
	for (const struct mp_cache *c = m->caches; c; c = c->next)
		n += __atomic_load_n(&c->len, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&m->caches_lock);
	return n;
}

size_t updk_mempool_elt_size(const struct updk_mempool *mp)
{
	return mp->elt_size;
}
