// SPDX-License-Identifier: BSD-3-Clause
/*
 * The translation table under concurrency: reader threads translate continuously while the
 * test registers and unregisters buffers, so freed IOVAs are reused at once by new
 * registrations. Within one read-side critical section (between two quiescent states) a
 * reader must never see two buffers at overlapping IOVAs, nor a buffer that is not IOVA-
 * contiguous: that is what a stale translation would look like, had an unregister freed its
 * IOVA before the grace period ended.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include <criterion/criterion.h>

#include <updk/mem.h>

#include "test/unit/thread_check.h"

#define NBUF 12
#define NREADERS 2
#define SZ_2M (2UL << 20)

static uint8_t *buf[NBUF];
static size_t buf_len[NBUF];
static uint8_t *gap[NBUF]; /* a page never registered, next to each buffer */
static atomic_bool stop;
static atomic_ulong lookups, hits;

struct seen {
	uint64_t start, end;
};

static void *reader(void *arg)
{
	struct seen s[NBUF];
	unsigned long n = 0, h = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed) && !atomic_load(&failed)) {
		unsigned k = 0;

		for (unsigned i = 0; i < NBUF; i++) {
			uint64_t first = updk_iova(buf[i]);
			uint64_t last = updk_iova(buf[i] + buf_len[i] - 1);
			size_t contig = 0;

			thread_check(updk_iova(gap[i]) == UPDK_IOVA_INVALID, "a guess for a gap");
			n += 3;
			if (first == UPDK_IOVA_INVALID)
				continue;
			h++;
			/* The tail may already be unpublished (unregister in progress), but if it
			 * is there it belongs to the same registration. */
			if (last != UPDK_IOVA_INVALID)
				thread_check(last == first + buf_len[i] - 1,
					     "buffer %u: head 0x%lx, tail 0x%lx", i, first, last);
			if (updk_iova_contig(buf[i], &contig) == first)
				thread_check(contig == buf_len[i], "buffer %u: contig %zu", i,
					     contig);
			s[k++] = (struct seen){ first, first + buf_len[i] };
		}
		for (unsigned a = 0; a < k; a++)
			for (unsigned b = a + 1; b < k; b++)
				thread_check(s[a].end <= s[b].start || s[b].end <= s[a].start,
					     "IOVA [0x%lx, 0x%lx) seen for two buffers at once",
					     s[a].start, s[a].end);
		updk_mem_quiescent();
	}
	atomic_fetch_add(&lookups, n);
	atomic_fetch_add(&hits, h);
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(mem_map, readers_never_see_a_stale_iova)
{
	/*
	 * Buffers of 1 to 3 pages packed with one-page gaps into a 2 MiB-aligned area, so many
	 * share a 2 MiB slot (4 KiB-granular entries) and two cross a slot boundary.
	 */
	uint8_t *raw = mmap(NULL, 3 * SZ_2M, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + SZ_2M - 1) & ~(SZ_2M - 1)) + SZ_2M - 16 * 4096;
	bool reg[NBUF] = { false };
	pthread_t th[NREADERS];
	unsigned long cycles = 0;
	double t0;

	cr_assert_neq(raw, MAP_FAILED);
	for (unsigned i = 0; i < NBUF; i++) {
		buf_len[i] = (1 + i % 3) * 4096;
		buf[i] = p;
		gap[i] = p + buf_len[i];
		p += buf_len[i] + 4096;
	}
	for (unsigned i = 0; i < NREADERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, reader, NULL), 0);
	srand(42);
	t0 = now();
	/* Bounded by time, not iterations: the machine's speed varies. */
	while ((now() - t0 < 1.0 || cycles < 200) && !atomic_load(&failed)) {
		unsigned i = (unsigned)rand() % NBUF;

		if (reg[i]) {
			cr_assert_eq(updk_mem_unregister(buf[i], buf_len[i]), 0);
			/* Once unregister returns, nobody may translate the buffer any more. */
			cr_assert_eq(updk_iova(buf[i]), UPDK_IOVA_INVALID);
		} else {
			cr_assert_eq(updk_mem_register(buf[i], buf_len[i]), 0);
			cr_assert_neq(updk_iova(buf[i]), UPDK_IOVA_INVALID);
		}
		reg[i] = !reg[i];
		cycles++;
		updk_mem_quiescent();
		if (cycles > 200000)
			break;
	}
	atomic_store(&stop, true);
	updk_mem_thread_offline(); /* joining blocks; writers must not wait for this thread */
	for (unsigned i = 0; i < NREADERS; i++)
		pthread_join(th[i], NULL);
	updk_mem_thread_online();
	cr_log_info("%lu register/unregister, %lu lookups (%lu hits)", cycles,
		    atomic_load(&lookups), atomic_load(&hits));
	cr_assert(!atomic_load(&failed), "%s", failure);
	cr_assert_gt(atomic_load(&hits), 0);
	for (unsigned i = 0; i < NBUF; i++)
		if (reg[i])
			cr_assert_eq(updk_mem_unregister(buf[i], buf_len[i]), 0);
}
