// SPDX-License-Identifier: BSD-3-Clause
/* TSC calibration against CLOCK_MONOTONIC. */
#include <time.h>

#include <updk/tsc.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t updk_tsc_hz(void)
{
	static uint64_t hz;
	uint64_t h = __atomic_load_n(&hz, __ATOMIC_RELAXED);

	if (h)
		return h;
	/* 10 ms is long enough for a rate within 0.1 % on an invariant TSC. */
	uint64_t t0 = mono_ns(), c0 = updk_tsc();
	struct timespec d = { .tv_nsec = 10 * 1000 * 1000 };

	nanosleep(&d, NULL);
	uint64_t t1 = mono_ns(), c1 = updk_tsc();

	h = (c1 - c0) * 1000000000ull / (t1 - t0);
	if (!h)
		h = 1;
	__atomic_store_n(&hz, h, __ATOMIC_RELAXED);
	return h;
}

uint64_t updk_tsc_to_ns(uint64_t ticks)
{
	return (uint64_t)((unsigned __int128)ticks * 1000000000ull / updk_tsc_hz());
}
