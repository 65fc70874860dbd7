// SPDX-License-Identifier: BSD-3-Clause
/* updk-perf: the poller cores (-c), checked against the CPUs this process may run on. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "apps/perf/perf.h"

int perf_resolve_cores(uint16_t *cores, unsigned *ncores, bool given)
{
	cpu_set_t allowed;

	if (sched_getaffinity(0, sizeof(allowed), &allowed)) {
		fprintf(stderr, "updk-perf: sched_getaffinity: %s\n", strerror(errno));
		return -errno;
	}
	if (!given) {
		for (unsigned c = 0; c < PERF_MAX_CORES && c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &allowed)) {
				cores[0] = (uint16_t)c;
				*ncores = 1;
				return 0;
			}
		fprintf(stderr, "updk-perf: no CPU to run on\n");
		return -ENODEV;
	}
	for (unsigned i = 0; i < *ncores; i++)
		if (cores[i] >= CPU_SETSIZE || !CPU_ISSET(cores[i], &allowed)) {
			char list[256] = "";
			size_t n = 0;

			for (unsigned c = 0; c < CPU_SETSIZE && n < sizeof(list) - 8; c++)
				if (CPU_ISSET(c, &allowed))
					n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%u",
							      n ? "," : "", c);
			fprintf(stderr,
				"updk-perf: -c: core %u is not available to this process "
				"(available: %s)\n",
				cores[i], list);
			return -EINVAL;
		}
	return 0;
}
