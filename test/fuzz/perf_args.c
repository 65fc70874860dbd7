// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: the updk-perf command line (apps/perf/args.c perf_args_parse and, when the
 * line asks for --net, apps/perf/net_args.c perf_net_args_parse), as main() dispatches it.
 *
 * Input: the arguments, separated by NUL bytes (argv[0] is "updk-perf").
 * Properties: no crash, overread or leak; the result is 0 or -EINVAL, a refusal with a
 * terminated, non-empty message; an accepted line has every value in the range --help states
 * (queue depth, I/O size in 512-byte units, mix, qpairs no more than the depth, cores unique,
 * ascending and below 256, addresses terminated and either sim: or a PCI address, frame sizes,
 * bursts, ring sizes a power of two, a prime the ring holds); parsing the same words again
 * (getopt has permuted them) gives the same answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apps/perf/args.c"
/* net_args.c has file-local names of its own that args.c uses too. */
#define long_opts net_long_opts
#define defaults net_defaults
#define OPT_JSON NET_OPT_JSON
#define OPT_NO_PROGRESS NET_OPT_NO_PROGRESS
#include "apps/perf/net_args.c"
#include "lib/pci/pci_addr.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

static void check_addr(const char *addr)
{
	struct updk_pci_addr pa;

	if (strnlen(addr, PERF_ADDR_MAX) == PERF_ADDR_MAX || !addr[0])
		abort();
	if (strncmp(addr, "sim:", 4) && updk_pci_addr_parse(addr, &pa))
		abort();
}

static void check_cores(const uint16_t *cores, unsigned n, bool given)
{
	if (n > PERF_MAX_CORES || (given && !n))
		abort();
	for (unsigned i = 0; i < n; i++)
		if (cores[i] >= PERF_MAX_CORES || (i && cores[i] <= cores[i - 1]))
			abort();
}

static void check_perf(const struct perf_args *a)
{
	static const char *const workloads[] = { "read", "write",  "randread",	  "randwrite",
						 "rw",	 "randrw", "zone-append", "zone-write" };
	bool known = false;

	if (a->help)
		return;
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		known |= a->workload == workloads[i] || !strcmp(a->workload, workloads[i]);
	if (!known || a->queue_depth < 1 || a->queue_depth > 65536 || a->io_size < 512 ||
	    a->io_size > (128u << 20) || a->io_size % 512 || a->read_pct > 100 || a->time_s < 1 ||
	    a->qpairs_per_ns < 1 || a->qpairs_per_ns > a->queue_depth || a->latency > 2 ||
	    a->ntargets > PERF_MAX_TARGETS || a->cpl_batch > 65536)
		abort();
	check_cores(a->cores, a->ncores, a->cores_given);
	for (unsigned i = 0; i < a->ntargets; i++) {
		check_addr(a->targets[i].addr);
		if (a->targets[i].nsid == UINT32_MAX)
			abort();
	}
}

static void check_net(const struct net_args *a)
{
	if (a->help)
		return;
	if (a->mode > NET_FWD || a->nports < 1 || a->nports > NET_MAX_PORTS || a->frame_size < 64 ||
	    a->frame_size > 1518 || a->burst < 1 || a->burst > NET_BURST_MAX || a->time_s < 1 ||
	    a->prime > 4096 ||
	    (a->ring_size &&
	     (a->ring_size < 64 || a->ring_size > 4096 || (a->ring_size & (a->ring_size - 1)))) ||
	    (a->mode == NET_FWD && a->ring_size && a->prime > a->ring_size))
		abort();
	check_cores(a->cores, a->ncores, a->cores_given);
	for (unsigned i = 0; i < a->nports; i++)
		check_addr(a->ports[i]);
}

static void check_err(int rc, const char *err)
{
	if (rc != -EINVAL || !err[0] || strnlen(err, PERF_ERR_MAX) == PERF_ERR_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct perf_args a, b;
	static struct net_args na, nb;
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 1];
	char err[PERF_ERR_MAX], err2[PERF_ERR_MAX];
	int argc = 1, rc, rc2;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "updk-perf";
	for (char *p = buf; p < buf + size && argc < MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;

	memset(err, 'x', sizeof(err));
	if (perf_net_wanted(argc, argv)) {
		rc = perf_net_args_parse(argc, argv, &na, err);
		if (rc)
			check_err(rc, err);
		else
			check_net(&na);
		rc2 = perf_net_args_parse(argc, argv, &nb, err2);
		if (rc2 != rc || (!rc && memcmp(&na, &nb, sizeof(na))) || (rc && strcmp(err, err2)))
			abort();
	} else {
		rc = perf_args_parse(argc, argv, &a, err);
		if (rc)
			check_err(rc, err);
		else
			check_perf(&a);
		rc2 = perf_args_parse(argc, argv, &b, err2);
		if (rc2 != rc || (!rc && memcmp(&a, &b, sizeof(a))) || (rc && strcmp(err, err2)))
			abort();
	}
	free(buf);
	return 0;
}
