/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MMIO accessors for device registers and doorbells, x86-64 and arm64.
 *
 * Every register access goes through these: a volatile access of exactly the named width (the
 * device sees one 32- or 64-bit transaction, never a split or merged one), and the barriers
 * the ordering needs are spelled out by the caller with updk_wmb()/updk_rmb():
 * - before a doorbell write, updk_wmb() so the device sees the ring entries it points at;
 * - after reading a "done" bit that the device wrote to memory, updk_rmb() before reading the
 *   rest of the entry.
 */
#ifndef UPDK_MMIO_H
#define UPDK_MMIO_H

#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
/*
 * x86 keeps stores ordered with stores and loads with loads (TSO), and uncached MMIO stores are
 * not reordered with earlier stores to write-back memory, so a compiler barrier suffices for
 * ring-then-doorbell ordering (as the Linux kernel's dma_wmb()/wmb() on x86 for WB memory).
 */
#define updk_wmb() __asm__ volatile("" ::: "memory")
#define updk_rmb() __asm__ volatile("" ::: "memory")
#define updk_mb() __asm__ volatile("mfence" ::: "memory")
/* Non-temporal stores (movnti) are weakly ordered: sfence before the doorbell that exposes them. */
#define updk_sfence() __asm__ volatile("sfence" ::: "memory")
#elif defined(__aarch64__)
#define updk_wmb() __asm__ volatile("dmb oshst" ::: "memory")
#define updk_rmb() __asm__ volatile("dmb oshld" ::: "memory")
#define updk_mb() __asm__ volatile("dmb osh" ::: "memory")
#define updk_sfence() updk_wmb()
#else
#define updk_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define updk_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define updk_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define updk_sfence() updk_wmb()
#endif

/** Read a 32-bit register. */
static inline uint32_t updk_mmio_read32(const volatile void *addr)
{
	return *(const volatile uint32_t *)addr;
}

/** Write a 32-bit register. */
static inline void updk_mmio_write32(volatile void *addr, uint32_t val)
{
	*(volatile uint32_t *)addr = val;
}

/** Read a 64-bit register in one access (NVMe CAP, ixgbe 64-bit counters where allowed). */
static inline uint64_t updk_mmio_read64(const volatile void *addr)
{
	return *(const volatile uint64_t *)addr;
}

/** Write a 64-bit register in one access (NVMe ASQ/ACQ). */
static inline void updk_mmio_write64(volatile void *addr, uint64_t val)
{
	*(volatile uint64_t *)addr = val;
}

#endif
