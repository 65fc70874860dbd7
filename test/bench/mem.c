// SPDX-License-Identifier: BSD-3-Clause
/*
 * lib/mem micro-benchmark: prints, per operation, the count and the time. Meant to be run under
 * `valgrind --tool=callgrind build/test/bench-mem` as well: each phase runs in its own function
 * (bench_*), so callgrind's inclusive Ir of that function divided by the printed count is the
 * instruction cost per operation. Usage: bench-mem [ITERATIONS] (default 1000000); UPDK_MEM=4k
 * for the 4 KiB backing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <updk/mem.h>
#include <updk/tsc.h>

static unsigned long iters = 1000000;
static volatile uint64_t sink;

static void report(const char *what, unsigned long ops, uint64_t ticks)
{
	printf("%-36s %10lu ops %8.1f ns/op\n", what, ops,
	       ops ? (double)updk_tsc_to_ns(ticks) / ops : 0.0);
}

static __attribute__((noinline)) void bench_dma_alloc_free(void)
{
	enum { BATCH = 64 };
	void *p[BATCH];
	unsigned long n = iters / 10;
	uint64_t t = updk_tsc();

	/* Batches, so the allocator holds several allocations at once, not just one. */
	for (unsigned long i = 0; i < n; i += BATCH) {
		for (unsigned j = 0; j < BATCH; j++)
			p[j] = updk_dma_alloc(64 + (j % 8) * 512, 64, UPDK_NUMA_ANY, NULL);
		for (unsigned j = 0; j < BATCH; j++)
			updk_dma_free(p[j]);
	}
	report("dma_alloc+dma_free (64..3648 B)", n / BATCH * BATCH, updk_tsc() - t);
}

static __attribute__((noinline)) void bench_iova(const char *what, uint8_t *base, size_t len)
{
	uint64_t acc = 0, t;
	size_t step = 4096 + 64;

	updk_iova(base); /* registers the thread with QSBR before timing */
	t = updk_tsc();
	for (unsigned long i = 0; i < iters; i++)
		acc += updk_iova(base + (i * step) % len);
	report(what, iters, updk_tsc() - t);
	sink = acc;
}

static __attribute__((noinline)) void bench_iova_miss(void)
{
	static uint8_t unmapped[4096];
	uint64_t acc = 0, t = updk_tsc();

	for (unsigned long i = 0; i < iters; i++)
		acc += updk_iova(unmapped + (i & 4095));
	report("updk_iova (unmapped address)", iters, updk_tsc() - t);
	sink = acc;
}

static __attribute__((noinline)) void bench_mempool(struct updk_mempool *mp, const char *what)
{
	uint64_t t = updk_tsc();

	for (unsigned long i = 0; i < iters; i++) {
		void *o = updk_mempool_get(mp);

		updk_mempool_put(mp, o);
	}
	report(what, iters, updk_tsc() - t);
}

static __attribute__((noinline)) void bench_mempool_bulk(struct updk_mempool *mp, const char *what)
{
	void *objs[32];
	unsigned long n = iters / 32;
	uint64_t t = updk_tsc();

	for (unsigned long i = 0; i < n; i++) {
		if (updk_mempool_get_bulk(mp, objs, 32) == 0)
			updk_mempool_put_bulk(mp, objs, 32);
	}
	report(what, n * 32, updk_tsc() - t);
}

static __attribute__((noinline)) void bench_quiescent(void)
{
	uint64_t t = updk_tsc();

	for (unsigned long i = 0; i < iters; i++)
		updk_mem_quiescent();
	report("updk_mem_quiescent", iters, updk_tsc() - t);
}

int main(int argc, char **argv)
{
	size_t chunk_len = 1 << 20, user_len = 64 << 10;
	struct updk_mempool *mp, *mp_nocache;
	uint8_t *chunk, *user;

	if (argc > 1)
		iters = strtoul(argv[1], NULL, 0);
	if (!iters)
		iters = 1;
	chunk = updk_dma_alloc(chunk_len, 4096, UPDK_NUMA_ANY, NULL);
	if (!chunk) {
		fprintf(stderr, "bench-mem: no DMA memory (see the message above)\n");
		return 1;
	}
	/* A user buffer registered in 4 KiB pieces: lookups go through an L3 page. */
	user = mmap(NULL, user_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (user == MAP_FAILED)
		return 1;
	for (size_t off = 0; off < user_len; off += 16384)
		if (updk_mem_register(user + off, 16384) < 0)
			return 1;
	mp = updk_mempool_create("bench", 4096, 2048, 256, UPDK_NUMA_ANY);
	mp_nocache = updk_mempool_create("bench-nocache", 4096, 2048, 0, UPDK_NUMA_ANY);
	if (!mp || !mp_nocache)
		return 1;

	printf("updk lib/mem micro-benchmark, %lu iterations\n", iters);
	bench_dma_alloc_free();
	bench_iova("updk_iova (DMA heap, 2 MiB slot)", chunk, chunk_len);
	bench_iova("updk_iova (4 KiB-granular L3)", user, user_len);
	bench_iova_miss();
	bench_mempool(mp, "mempool get+put (cache)");
	bench_mempool_bulk(mp, "mempool get_bulk+put_bulk 32 (cache)");
	bench_mempool(mp_nocache, "mempool get+put (no cache)");
	bench_mempool_bulk(mp_nocache, "mempool get_bulk+put_bulk 32 (none)");
	bench_quiescent();

	updk_mempool_free(mp);
	updk_mempool_free(mp_nocache);
	for (size_t off = 0; off < user_len; off += 16384)
		updk_mem_unregister(user + off, 16384);
	updk_dma_free(chunk);
	return 0;
}
