// SPDX-License-Identifier: BSD-3-Clause
/*
 * lib/mem core: configuration, registrations (translation table, IOVA space, VFIO mappings),
 * QSBR reader threads, the seam to lib/vfio and the sim backend's reverse lookup.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define LOG_COMPONENT "mem"
#include "lib/util/log.h"

#include "lib/mem/backing.h"
#include "lib/mem/iova_alloc.h"
#include "lib/mem/iova_cache.h"
#include "lib/mem/mem_internal.h"
#include "lib/mem/mem_vfio.h"

#define PAGE_4K 4096UL
#define SIZE_2M (2UL << 20)
#define MAX_SPACE_RANGES (VFIO_MAX_IOVA_RANGES + 4)

pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;

static struct {
	enum updk_mem_backing backing;
	size_t chunk_size;
} cfg;

static struct iova_alloc iova_space;
static struct ia_range space_ranges[MAX_SPACE_RANGES];
static unsigned nspace_ranges;

/* Every registration, for replay at attach. */
static struct mem_reg *regs;
/* The same, sorted by IOVA, for mem_iova_to_va(); its own lock, never held across a wait. */
static struct mem_reg **by_iova;
static unsigned nby_iova, cap_by_iova;
static pthread_rwlock_t by_iova_lock = PTHREAD_RWLOCK_INITIALIZER;

static bool vfio_active(void)
{
	return vfio_container_active();
}

static const struct mem_iommu_ops vfio_ops = {
	.active = vfio_active,
	.map = vfio_dma_map,
	.unmap = vfio_dma_unmap,
	.ranges = vfio_iova_ranges,
};
static const struct mem_iommu_ops *iommu = &vfio_ops;

void mem_set_iommu_ops(const struct mem_iommu_ops *ops)
{
	iommu = ops ? ops : &vfio_ops;
}

/* QSBR state of the calling thread. */
enum { RCU_NONE, RCU_ONLINE, RCU_OFFLINE };
static __thread int rcu_state;

/* The thread's one-entry translation cache (iova_cache.h says why it cannot go stale). */
__thread struct mem_iova_cache mem_iova_cache;

/*
 * Registrations removed so far: mem_reg_del() counts one (writer lock held) after taking the
 * registration out of the table and before the grace period that ends with its unmapping. A
 * thread's quiescent state empties its cache only when the count moved since its last one
 * (mem_seen_removals), so a poller whose buffers stay keeps its entry (iova_cache.h).
 */
static unsigned long mem_removals;
static __thread unsigned long mem_seen_removals;

static inline void cache_drop(void)
{
	mem_iova_cache.len = 0;
}

static inline void cache_fill(const struct mem_reg *r)
{
	mem_iova_cache.va = r->va;
	mem_iova_cache.iova = r->iova;
	mem_iova_cache.len = r->len;
}

static void thread_exit_hook(void *arg)
{
	mempool_thread_exit();
	cache_drop();
	if (rcu_state != RCU_NONE) {
		/* Unregistering goes offline first, so no writer waits for a dead thread. */
		rcu_unregister_thread();
		rcu_state = RCU_NONE;
	}
}

static size_t default_chunk(enum updk_mem_backing b)
{
	size_t page = backing_page_size(b);

	return page > SIZE_2M ? page : SIZE_2M;
}

static void init_once(void)
{
	const char *env = getenv("UPDK_MEM");

	pthread_key_create(&exit_key, thread_exit_hook);
	cfg.backing = UPDK_MEM_HUGEPAGES;
	if (env && (!strcmp(env, "4k") || !strcmp(env, "4K")))
		cfg.backing = UPDK_MEM_4K_PAGES;
	else if (env && *env && strcmp(env, "hugepages"))
		log_warn("UPDK_MEM=%s is neither hugepages nor 4k: using hugepages", env);
	cfg.chunk_size = default_chunk(cfg.backing);
	iova_alloc_init(&iova_space);
	nspace_ranges = iova_space_ranges(NULL, 0, space_ranges, MAX_SPACE_RANGES);
	for (unsigned i = 0; i < nspace_ranges; i++)
		iova_alloc_add(&iova_space, space_ranges[i].start, space_ranges[i].end);
}

static void mem_init_once(void)
{
	pthread_once(&once, init_once);
}

void mem_want_thread_exit_hook(void)
{
	mem_init_once();
	if (!pthread_getspecific(exit_key))
		pthread_setspecific(exit_key, (void *)1);
}

int mem_writer_enter(void)
{
	int was_online = rcu_state == RCU_ONLINE;

	/* The lock's holder may change the table: what the cache holds stops being vouched for. */
	cache_drop();
	mem_init_once();
	if (was_online)
		rcu_thread_offline();
	pthread_mutex_lock(&mem_lock);
	return was_online;
}

void mem_writer_leave(int token)
{
	/* A lookup made while offline under the lock filled the cache: not valid once unlocked. */
	cache_drop();
	pthread_mutex_unlock(&mem_lock);
	if (token)
		rcu_thread_online();
}

enum updk_mem_backing mem_backing(void)
{
	return cfg.backing;
}

size_t mem_chunk_size(void)
{
	return cfg.chunk_size;
}

int updk_mem_init(const struct updk_mem_opts *opts)
{
	size_t page, chunk;
	int tok, ret = 0;

	if (!opts || opts->opts_size < sizeof(*opts)) {
		log_err("updk_mem_init: opts is NULL or opts_size is not sizeof(struct "
			"updk_mem_opts)");
		return -EINVAL;
	}
	if (opts->backing != UPDK_MEM_HUGEPAGES && opts->backing != UPDK_MEM_4K_PAGES) {
		log_err("updk_mem_init: backing %d is neither UPDK_MEM_HUGEPAGES nor "
			"UPDK_MEM_4K_PAGES",
			(int)opts->backing);
		return -EINVAL;
	}
	page = backing_page_size(opts->backing);
	chunk = opts->chunk_size ? opts->chunk_size : default_chunk(opts->backing);
	if (chunk < SIZE_2M) {
		log_err("updk_mem_init: chunk_size %zu is below 2 MiB", chunk);
		return -EINVAL;
	}
	if (page)
		chunk = (chunk + page - 1) / page * page;
	tok = mem_writer_enter();
	if (heap_nchunks() && opts->backing != cfg.backing) {
		log_err("updk_mem_init: DMA memory already exists with the other backing: call "
			"updk_mem_init() before the first allocation");
		ret = -EBUSY;
	} else {
		cfg.backing = opts->backing;
		cfg.chunk_size = chunk;
	}
	mem_writer_leave(tok);
	return ret;
}

/* Room for one more entry in by_iova, so inserting after publication cannot fail. */
static int by_iova_reserve(void)
{
	struct mem_reg **n;
	unsigned cap;

	if (nby_iova < cap_by_iova)
		return 0;
	cap = cap_by_iova ? 2 * cap_by_iova : 64;
	pthread_rwlock_wrlock(&by_iova_lock);
	n = realloc(by_iova, cap * sizeof(*n));
	if (n) {
		by_iova = n;
		cap_by_iova = cap;
	}
	pthread_rwlock_unlock(&by_iova_lock);
	return n ? 0 : -ENOMEM;
}

/* Index of the first entry whose IOVA is > @iova. */
static unsigned by_iova_upper(uint64_t iova)
{
	unsigned lo = 0, hi = nby_iova;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (by_iova[mid]->iova <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void by_iova_insert(struct mem_reg *r)
{
	unsigned i;

	pthread_rwlock_wrlock(&by_iova_lock);
	i = by_iova_upper(r->iova);
	memmove(&by_iova[i + 1], &by_iova[i], (nby_iova - i) * sizeof(*by_iova));
	by_iova[i] = r;
	nby_iova++;
	pthread_rwlock_unlock(&by_iova_lock);
}

static void by_iova_remove(const struct mem_reg *r)
{
	unsigned i;

	pthread_rwlock_wrlock(&by_iova_lock);
	i = by_iova_upper(r->iova);
	if (i > 0 && by_iova[i - 1] == r) {
		memmove(&by_iova[i - 1], &by_iova[i], (nby_iova - i) * sizeof(*by_iova));
		nby_iova--;
	}
	pthread_rwlock_unlock(&by_iova_lock);
}

int mem_reg_add(void *va, size_t len, enum mem_reg_kind kind, void *owner, uint64_t iova_align,
		struct mem_reg **out)
{
	uintptr_t v = (uintptr_t)va;
	struct mem_reg *r;
	uint64_t iova;
	int ret;

	if (by_iova_reserve() < 0 || !(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	if (map_overlaps(v, len)) {
		free(r);
		return -EINVAL;
	}
	ret = iova_alloc_alloc(&iova_space, len, iova_align, &iova);
	if (ret < 0) {
		free(r);
		if (ret == -ENOSPC)
			log_err("no IOVA space left for %zu KiB (largest free range %llu KiB): free "
				"DMA memory or registrations first",
				len >> 10,
				(unsigned long long)iova_alloc_max_free(&iova_space) >> 10);
		return -ENOMEM;
	}
	*r = (struct mem_reg){ .va = v, .len = len, .iova = iova, .kind = kind, .owner = owner };
	if (iommu->active()) {
		ret = iommu->map(va, iova, len);
		if (ret < 0) {
			log_err("cannot map %zu KiB at %p to IOVA 0x%llx: %s", len >> 10, va,
				(unsigned long long)iova, strerror(-ret));
			goto err_iova;
		}
		r->mapped = true;
	}
	ret = map_insert(r);
	if (ret < 0)
		goto err_map;
	by_iova_insert(r);
	r->next = regs;
	regs = r;
	*out = r;
	return 0;
err_map:
	if (r->mapped)
		iommu->unmap(iova, len);
err_iova:
	iova_alloc_free(&iova_space, iova, NULL);
	free(r);
	return ret;
}

void mem_reg_del(struct mem_reg *r)
{
	int ret;

	for (struct mem_reg **p = &regs; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	map_remove(r);
	by_iova_remove(r);
	/* Out of the table before it is counted, counted before the grace period begins: a
	 * reader that sees the new count finds no r in the table afterwards, and one that
	 * passes the grace period sees the new count (updk_mem_quiescent()). */
	__atomic_store_n(&mem_removals, mem_removals + 1, __ATOMIC_RELEASE);
	/* No reader that could still hold the old translation survives this. */
	synchronize_rcu();
	map_reclaim();
	if (r->mapped && (ret = iommu->unmap(r->iova, r->len)) < 0)
		log_err("unmapping IOVA 0x%llx (%zu KiB): %s", (unsigned long long)r->iova,
			r->len >> 10, strerror(-ret));
	iova_alloc_free(&iova_space, r->iova, NULL);
	free(r);
}

static int check_user_range(const char *fn, void *vaddr, size_t len)
{
	uintptr_t v = (uintptr_t)vaddr;

	if (!vaddr || !len || (v | len) & (PAGE_4K - 1)) {
		log_err("%s(%p, %zu): address and length must be nonzero multiples of 4 KiB", fn,
			vaddr, len);
		return -EINVAL;
	}
	if (v + len < v || (v + len - 1) >> MAP_VA_BITS) {
		log_err("%s(%p, %zu): range beyond the 47-bit user address space", fn, vaddr, len);
		return -EINVAL;
	}
	return 0;
}

int updk_mem_register(void *vaddr, size_t len)
{
	struct mem_reg *r;
	int tok, ret;

	if ((ret = check_user_range("updk_mem_register", vaddr, len)) < 0)
		return ret;
	if (mlock(vaddr, len) < 0) {
		struct rlimit rl;
		int err = errno;

		if (err == ENOMEM && getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY)
			log_err("updk_mem_register(%p, %zu KiB): cannot lock the buffer: either "
				"part of it is not mapped, or RLIMIT_MEMLOCK (%llu KiB) is too low: "
				"raise it with ulimit -l or run with CAP_IPC_LOCK",
				vaddr, len >> 10, (unsigned long long)rl.rlim_cur >> 10);
		else
			log_err("updk_mem_register(%p, %zu KiB): cannot lock the buffer: %s", vaddr,
				len >> 10, strerror(err));
		return err == EPERM || err == EAGAIN ? -ENOMEM : -err;
	}
	tok = mem_writer_enter();
	if (map_overlaps((uintptr_t)vaddr, len)) {
		log_err("updk_mem_register(%p, %zu KiB): overlaps memory already registered or "
			"allocated for DMA",
			vaddr, len >> 10);
		ret = -EINVAL;
	} else {
		bool big = !(((uintptr_t)vaddr | len) & (SIZE_2M - 1));

		ret = mem_reg_add(vaddr, len, MEM_REG_USER, NULL, big ? SIZE_2M : PAGE_4K, &r);
	}
	mem_writer_leave(tok);
	if (ret < 0)
		munlock(vaddr, len);
	return ret;
}

int updk_mem_unregister(void *vaddr, size_t len)
{
	const struct mem_reg *r;
	int tok, ret = 0;

	if ((ret = check_user_range("updk_mem_unregister", vaddr, len)) < 0)
		return ret == -EINVAL ? -ENOENT : ret;
	tok = mem_writer_enter();
	r = map_lookup((uintptr_t)vaddr);
	if (!r || r->kind != MEM_REG_USER || r->va != (uintptr_t)vaddr || r->len != len) {
		log_err("updk_mem_unregister(%p, %zu KiB): no registration with exactly this "
			"address and length",
			vaddr, len >> 10);
		ret = -ENOENT;
	} else {
		mem_reg_del((struct mem_reg *)r);
	}
	mem_writer_leave(tok);
	if (!ret)
		munlock(vaddr, len);
	return ret;
}

/* Translation from a thread that is not an online reader: register it, or use the lock. */
static __attribute__((noinline)) const struct mem_reg *
lookup_slow(uintptr_t va, const struct mem_reg *(*f)(uintptr_t), struct mem_reg *copy)
{
	const struct mem_reg *r;

	if (rcu_state == RCU_NONE) {
		mem_want_thread_exit_hook();
		rcu_register_thread();
		rcu_state = RCU_ONLINE;
		return f(va);
	}
	/* Offline: a grace period may end at any moment, so copy the record under the lock. */
	pthread_mutex_lock(&mem_lock);
	r = f(va);
	if (r)
		*copy = *r;
	pthread_mutex_unlock(&mem_lock);
	return r ? copy : NULL;
}

/* A table lookup; an online reader keeps what it found in its cache. */
static inline const struct mem_reg *lookup(uintptr_t va, struct mem_reg *copy)
{
	const struct mem_reg *r;

	if (__builtin_expect(rcu_state == RCU_ONLINE, 1))
		r = map_lookup(va);
	else
		r = lookup_slow(va, map_lookup, copy);
	/* an offline thread's answer is a copy, good only now; a thread just registered is online */
	if (r && rcu_state == RCU_ONLINE)
		cache_fill(r);
	return r;
}

uint64_t updk_iova(const void *vaddr)
{
	uintptr_t va = (uintptr_t)vaddr;
	uintptr_t off = va - mem_iova_cache.va;
	const struct mem_reg *r;
	struct mem_reg copy;

	if (off < mem_iova_cache.len)
		return mem_iova_cache.iova + off;
	r = lookup(va, &copy);
	return r ? r->iova + (va - r->va) : UPDK_IOVA_INVALID;
}

uint64_t updk_iova_contig(const void *vaddr, size_t *len)
{
	uintptr_t va = (uintptr_t)vaddr;
	uintptr_t off = va - mem_iova_cache.va;
	const struct mem_reg *r;
	struct mem_reg copy;

	if (off < mem_iova_cache.len) {
		if (len)
			*len = mem_iova_cache.len - off;
		return mem_iova_cache.iova + off;
	}
	r = lookup(va, &copy);
	if (!r) {
		if (len)
			*len = 0;
		return UPDK_IOVA_INVALID;
	}
	if (len)
		*len = r->len - (va - r->va);
	return r->iova + (va - r->va);
}

void updk_mem_quiescent(void)
{
	unsigned long removals;

	if (rcu_state != RCU_ONLINE) {
		cache_drop(); /* an offline or unregistered thread holds nothing (none is filled) */
		return;
	}
	/*
	 * Past this point a grace period may end, and the registration cached may go, but only
	 * one whose removal was counted before that grace period began: a writer counts it
	 * (release) before synchronize_rcu() sets the new grace period's counter, and this
	 * thread has passed that grace period only if rcu_quiescent_state() read the new counter,
	 * after which (its full barrier) this load reads the new count. When the count has not
	 * moved, no removal was counted and the entry is still published: it stays, and the next
	 * submission does not pay a table walk (drivers/nvme reports a quiescent state every
	 * 32nd poll).
	 */
	rcu_quiescent_state();
	removals = __atomic_load_n(&mem_removals, __ATOMIC_ACQUIRE);
	if (removals != mem_seen_removals) {
		cache_drop();
		mem_seen_removals = removals;
	}
}

void updk_mem_thread_offline(void)
{
	cache_drop();
	if (rcu_state == RCU_ONLINE) {
		rcu_thread_offline();
		rcu_state = RCU_OFFLINE;
	}
}

void updk_mem_thread_online(void)
{
	if (rcu_state == RCU_OFFLINE) {
		rcu_thread_online();
		rcu_state = RCU_ONLINE;
	}
}

void updk_mem_thread_exit(void)
{
	cache_drop();
	if (rcu_state != RCU_NONE) {
		rcu_unregister_thread();
		rcu_state = RCU_NONE;
	}
}

/*
 * Restrict the IOVA allocator to the container's usable ranges as lib/vfio has them now (writer
 * held). @why says what changed, for the messages.
 */
static int space_from_container(const char *why)
{
	struct vfio_iova_range kr[VFIO_MAX_IOVA_RANGES];
	struct ia_range sr[MAX_SPACE_RANGES];
	uint64_t bad = 0;
	unsigned k;
	int n, ret;

	n = iommu->ranges(kr, VFIO_MAX_IOVA_RANGES);
	if (n < 0) {
		log_err("%s: cannot read the container's IOVA ranges: %s", why, strerror(-n));
		return n;
	}
	if (n == 0) {
		log_info("the IOMMU reports no IOVA ranges: keeping [0x%llx, 0x%llx)",
			 IOVA_DEFAULT_START, IOVA_DEFAULT_END);
		return 0;
	}
	k = iova_space_ranges(kr, (unsigned)n, sr, MAX_SPACE_RANGES);
	ret = iova_alloc_set_ranges(&iova_space, sr, k, &bad);
	if (ret == -ERANGE) {
		log_err("%s: DMA memory at IOVA 0x%llx, given out before, lies outside the IOVA "
			"ranges the IOMMU accepts now: open every device before allocating DMA "
			"memory",
			why, (unsigned long long)bad);
		return ret;
	}
	if (ret < 0)
		return ret;
	memcpy(space_ranges, sr, k * sizeof(*sr));
	nspace_ranges = k;
	return 0;
}

int mem_vfio_attach(void)
{
	int tok, ret;

	tok = mem_writer_enter();
	ret = space_from_container("attach");
	if (ret < 0)
		goto out;
	/* Replay what was registered before there was an IOMMU to program. */
	for (struct mem_reg *r = regs; r; r = r->next) {
		if (r->mapped)
			continue;
		ret = iommu->map((void *)r->va, r->iova, r->len);
		if (ret < 0) {
			log_err("attach: cannot map %zu KiB at %p to IOVA 0x%llx: %s", r->len >> 10,
				(void *)r->va, (unsigned long long)r->iova, strerror(-ret));
			for (struct mem_reg *q = regs; q != r; q = q->next) {
				if (q->mapped)
					iommu->unmap(q->iova, q->len);
				q->mapped = false;
			}
			goto out;
		}
		r->mapped = true;
	}
out:
	mem_writer_leave(tok);
	return ret;
}

int mem_vfio_group_joined(void)
{
	int tok = mem_writer_enter();
	int ret = space_from_container("a group joined");

	mem_writer_leave(tok);
	return ret;
}

void mem_vfio_detach(void)
{
	int tok = mem_writer_enter();

	/* The container took its mappings with it; the next attach maps everything again. */
	for (struct mem_reg *r = regs; r; r = r->next)
		r->mapped = false;
	mem_writer_leave(tok);
}

void *mem_iova_to_va(uint64_t iova, size_t len)
{
	void *va = NULL;
	unsigned i;

	pthread_rwlock_rdlock(&by_iova_lock);
	i = by_iova_upper(iova);
	if (i > 0) {
		const struct mem_reg *r = by_iova[i - 1];
		uint64_t off = iova - r->iova;

		if (off < r->len && len <= r->len - off)
			va = (void *)(r->va + off);
	}
	pthread_rwlock_unlock(&by_iova_lock);
	return va;
}

unsigned mem_iova_space(struct ia_range *out, unsigned max)
{
	unsigned n;
	int tok = mem_writer_enter();

	n = nspace_ranges < max ? nspace_ranges : max;
	memcpy(out, space_ranges, n * sizeof(*out));
	mem_writer_leave(tok);
	return n;
}
