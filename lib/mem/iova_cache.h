/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A one-entry, per-thread translation cache in front of lib/mem's vaddr -> IOVA table, for
 * drivers whose submissions translate a user buffer each time (drivers/nvme). Internal to updk:
 * applications use updk_iova()/updk_iova_contig(), which consult the same cache.
 *
 * The entry is the whole registration (a DMA heap chunk of 2 MiB or more, or a user
 * registration) the thread's last table lookup found, so buffers carved from one chunk hit it
 * with two compares and no table walk.
 *
 * Why a cached IOVA is never stale: the entry is filled only by a thread that is an online QSBR
 * reader, and emptied whenever that thread goes offline, enters or leaves lib/mem's writer
 * lock, unregisters, or passes a quiescent state after a registration was removed
 * (lib/mem/mem.c: a removal is counted before its grace period begins, and the quiescent state
 * compares the count with the one it saw last). A registration is unmapped only after a grace
 * period that waits for every online reader's next quiescent state, so while the entry holds a
 * registration, that registration is still published and mapped: the cache gives exactly the
 * guarantee a table lookup gives (updk_iova(): "valid until the caller's next
 * updk_mem_quiescent()"), and a quiescent state with no removal behind it keeps the entry.
 */
#ifndef UPDK_MEM_IOVA_CACHE_H
#define UPDK_MEM_IOVA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <updk/mem.h>

struct mem_iova_cache {
	uintptr_t va; /* the registration's first byte */
	uintptr_t len; /* its length; 0 when the entry is empty */
	uint64_t iova; /* the IOVA of va */
};

/*
 * initial-exec: two instructions to reach it from libupdk.a, never a __tls_get_addr call. Not in
 * a copy of the library built into a shared object that is dlopen()ed (UPDK_DLOPEN, the fio
 * engine): there the whole object's thread-local block would have to fit the little static TLS
 * glibc keeps spare, and does not.
 */
#ifdef UPDK_DLOPEN
extern __thread struct mem_iova_cache mem_iova_cache;
#else
extern __thread struct mem_iova_cache mem_iova_cache __attribute__((tls_model("initial-exec")));
#endif

/*
 * The IOVA of @vaddr when [@vaddr, @vaddr + @need) lies in the cached registration, else
 * UPDK_IOVA_INVALID (which has its low bits set, so a caller that also wants dword alignment
 * tests both with one `iova & 3`). A miss says nothing about the buffer: look it up with
 * updk_iova_contig(), which refills the entry.
 */
static inline uint64_t mem_iova_cached(const void *vaddr, size_t need)
{
	uintptr_t off = (uintptr_t)vaddr - mem_iova_cache.va;
	uintptr_t len = mem_iova_cache.len;

	if (__builtin_expect(off < len && len - off >= need, 1))
		return mem_iova_cache.iova + off;
	return UPDK_IOVA_INVALID;
}

#endif
