// SPDX-License-Identifier: BSD-3-Clause
/*
 * The DMA heap: chunks of hugepage (or locked 4 KiB) memory, each registered whole (one IOVA
 * range, one VFIO mapping), carved by a range allocator over the chunk's addresses. An
 * allocation lies inside one chunk, so it is contiguous in IOVA space and its IOVA is the
 * chunk's plus the offset. A request larger than a chunk gets a chunk of its own, released on
 * free.
 */
#include <errno.h>
#include <numa.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "mem"
#include "lib/util/log.h"

#include "lib/mem/backing.h"
#include "lib/mem/iova_alloc.h"
#include "lib/mem/mem_internal.h"

#define DEFAULT_ALIGN 64

struct chunk {
	struct chunk *next;
	struct backing mem;
	struct mem_reg *reg;
	struct iova_alloc ra; /* over the chunk's virtual addresses */
	int node; /* as asked for; UPDK_NUMA_ANY for unplaced */
	bool dedicated; /* one allocation larger than a chunk */
};

static struct chunk *chunks;
static unsigned nchunks;

unsigned heap_nchunks(void)
{
	return nchunks;
}

unsigned heap_nallocs(void)
{
	unsigned n = 0;
	int tok = mem_writer_enter();

	for (const struct chunk *c = chunks; c; c = c->next)
		n += c->ra.nused;
	mem_writer_leave(tok);
	return n;
}

/*
 * Where memory for @node goes: on a system without NUMA (or with one node) every node is
 * "any", so chunks are shared. -2 for a node that cannot exist.
 */
static int heap_node(int node)
{
	if (node == UPDK_NUMA_ANY)
		return UPDK_NUMA_ANY;
	if (node < 0)
		return -2;
	if (numa_available() < 0 || numa_max_node() == 0)
		return node == 0 ? UPDK_NUMA_ANY : -2;
	return node <= numa_max_node() ? node : -2;
}

static struct chunk *chunk_new(size_t len, int node, bool dedicated, int *err)
{
	struct chunk *c = calloc(1, sizeof(*c));
	int ret;

	if (!c) {
		*err = -ENOMEM;
		return NULL;
	}
	ret = backing_alloc(mem_backing(), len, node, &c->mem);
	if (ret < 0)
		goto err_free;
	iova_alloc_init(&c->ra);
	ret = iova_alloc_add(&c->ra, (uintptr_t)c->mem.va, (uintptr_t)c->mem.va + len);
	if (ret < 0)
		goto err_backing;
	ret = mem_reg_add(c->mem.va, len, MEM_REG_CHUNK, c, c->mem.page_size, &c->reg);
	if (ret < 0)
		goto err_ra;
	c->node = node;
	c->dedicated = dedicated;
	c->next = chunks;
	chunks = c;
	nchunks++;
	return c;
err_ra:
	iova_alloc_destroy(&c->ra);
err_backing:
	backing_free(&c->mem);
err_free:
	free(c);
	*err = ret;
	return NULL;
}

static void chunk_destroy(struct chunk *c)
{
	for (struct chunk **p = &chunks; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	nchunks--;
	mem_reg_del(c->reg);
	iova_alloc_destroy(&c->ra);
	backing_free(&c->mem);
	free(c);
}

static void *dma_alloc(size_t size, size_t align, int numa_node, uint64_t *iova, bool zero)
{
	size_t chunk_size = mem_chunk_size(), page, len;
	struct chunk *c = NULL;
	uint64_t at = 0;
	int node, tok, err = 0;

	if (align == 0)
		align = DEFAULT_ALIGN;
	if (size == 0 || (align & (align - 1)) || size > (1UL << 46) || align > (1UL << 30)) {
		log_err("updk_dma_alloc(size %zu, align %zu): size must be nonzero and align a "
			"power of two up to 1 GiB",
			size, align);
		errno = EINVAL;
		return NULL;
	}
	node = heap_node(numa_node);
	if (node == -2) {
		log_err("updk_dma_alloc: NUMA node %d does not exist: use UPDK_NUMA_ANY or a node "
			"from /sys/devices/system/node",
			numa_node);
		errno = EINVAL;
		return NULL;
	}
	tok = mem_writer_enter();
	for (struct chunk *p = chunks; p; p = p->next) {
		if (p->dedicated || (node != UPDK_NUMA_ANY && p->node != node) ||
		    iova_alloc_max_free(&p->ra) < size)
			continue;
		if (iova_alloc_alloc(&p->ra, size, align, &at) == 0) {
			c = p;
			break;
		}
	}
	if (!c) {
		page = backing_page_size(mem_backing());
		if (!page)
			page = chunk_size; /* backing_alloc() reports the missing hugepage support */
		if (size <= chunk_size && align <= page) {
			c = chunk_new(chunk_size, node, false, &err);
		} else {
			len = size + (align > page ? align : 0);
			len = (len + page - 1) / page * page;
			c = chunk_new(len, node, true, &err);
		}
		if (c && (err = iova_alloc_alloc(&c->ra, size, align, &at)) < 0) {
			chunk_destroy(c);
			c = NULL;
		}
	}
	mem_writer_leave(tok);
	if (!c) {
		errno = -err;
		return NULL;
	}
	if (iova)
		*iova = c->reg->iova + (at - (uintptr_t)c->mem.va);
	if (zero)
		memset((void *)(uintptr_t)at, 0, size);
	return (void *)(uintptr_t)at;
}

void *updk_dma_alloc(size_t size, size_t align, int numa_node, uint64_t *iova)
{
	return dma_alloc(size, align, numa_node, iova, false);
}

void *updk_dma_zalloc(size_t size, size_t align, int numa_node, uint64_t *iova)
{
	return dma_alloc(size, align, numa_node, iova, true);
}

/* An empty chunk is kept for reuse unless another empty one for the same node exists. */
static bool another_empty(const struct chunk *c)
{
	for (const struct chunk *p = chunks; p; p = p->next)
		if (p != c && !p->dedicated && p->node == c->node && p->ra.nused == 0)
			return true;
	return false;
}

void updk_dma_free(void *buf)
{
	const struct mem_reg *r;
	struct chunk *c;
	int tok;

	if (!buf)
		return;
	tok = mem_writer_enter();
	r = map_lookup((uintptr_t)buf);
	if (!r || r->kind != MEM_REG_CHUNK) {
		log_err("updk_dma_free(%p): not memory from updk_dma_alloc()", buf);
		goto out;
	}
	c = r->owner;
	if (iova_alloc_free(&c->ra, (uintptr_t)buf, NULL) < 0) {
		log_err("updk_dma_free(%p): not the start of a live DMA allocation (freed twice?)",
			buf);
		goto out;
	}
	if (c->dedicated || (c->ra.nused == 0 && another_empty(c)))
		chunk_destroy(c);
out:
	mem_writer_leave(tok);
}
