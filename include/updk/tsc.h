/* SPDX-License-Identifier: BSD-3-Clause */
/* Time from the CPU's time-stamp counter: cheap enough for every I/O. */
#ifndef UPDK_TSC_H
#define UPDK_TSC_H

#include <stdint.h>

/** The TSC now (cntvct_el0 on arm64). Not serialising: for intervals, not fences. */
static inline uint64_t updk_tsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
#elif defined(__aarch64__)
	uint64_t v;

	__asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
#error "updk_tsc: unsupported architecture"
#endif
}

/** TSC ticks per second, measured once against CLOCK_MONOTONIC (about 10 ms on first call). */
uint64_t updk_tsc_hz(void);

/** Convert a TSC interval to nanoseconds. */
uint64_t updk_tsc_to_ns(uint64_t ticks);

#endif
