/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk-perf arguments, spelled as spdk_nvme_perf spells them so a command line carries over:
 * -q -o -w -M -t -a -c -P -r -L/-LL, plus the long forms and updk's own (--json, --verify, ...).
 * Every bad value gets a message naming the flag and what it accepts; nothing here touches a
 * device, so it is unit-tested directly (test/unit/perf_args.c).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <updk/nvme.h>
#include <updk/pci.h>

#include "apps/perf/perf.h"

int perf_fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, PERF_ERR_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Strict unsigned decimal: digits only, no sign, no trailing text, within [min, max]. */
static int parse_u64_range(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int perf_flag_u32(const char *flag, const char *s, uint32_t min, uint32_t max, uint32_t *out,
		  char *err)
{
	uint64_t v;

	if (parse_u64_range(s, min, max, &v))
		return perf_fail(err, "%s '%s': expected a whole number from %u to %u", flag, s,
				 min, max);
	*out = (uint32_t)v;
	return 0;
}

int perf_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	if (shift) {
		end++;
		/* "4KiB", "4KB" and "4K" all mean 4096 */
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	}
	if (*end || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static void cores_from_set(const uint8_t *set, uint16_t *cores, unsigned *n)
{
	*n = 0;
	for (unsigned c = 0; c < PERF_MAX_CORES; c++)
		if (set[c])
			cores[(*n)++] = (uint16_t)c;
}

/* "0x3", "3", "ff": hexadecimal, bit N selects core N (as SPDK's and DPDK's -c). */
static int parse_core_mask(const char *s, uint8_t *set, char *err)
{
	const char *p = s, *end;
	unsigned bit = 0;

	if (!strncasecmp(p, "0x", 2))
		p += 2;
	if (!*p)
		return perf_fail(err, "-c '%s': empty core mask", s);
	end = p + strlen(p);
	while (end > p) {
		int c = tolower((unsigned char)*--end);
		unsigned v;

		if (!isxdigit(c))
			return perf_fail(
				err,
				"-c '%s': expected a hexadecimal core mask (0x3) or a core "
				"list (0,1 or [0-3])",
				s);
		v = (unsigned)(isdigit(c) ? c - '0' : c - 'a' + 10);
		for (unsigned i = 0; i < 4; i++, bit++) {
			if (!(v & (1u << i)))
				continue;
			if (bit >= PERF_MAX_CORES)
				return perf_fail(
					err, "-c '%s': core %u is beyond the %u cores supported", s,
					bit, PERF_MAX_CORES);
			set[bit] = 1;
		}
	}
	return 0;
}

/* "0,1", "[0-3,6]", "2-3": decimal cores and ranges. */
static int parse_core_list(const char *s, uint8_t *set, char *err)
{
	char buf[256], *p, *tok, *next;
	size_t len = strlen(s);

	if (len >= sizeof(buf))
		return perf_fail(err, "-c: core list too long");
	memcpy(buf, s, len + 1);
	p = buf;
	if (*p == '[') {
		if (len < 2 || buf[len - 1] != ']')
			return perf_fail(err, "-c '%s': a bracketed list needs its closing ']'", s);
		buf[len - 1] = '\0';
		p++;
	}
	if (!*p)
		return perf_fail(err, "-c '%s': empty core list", s);
	for (tok = p; tok; tok = next) {
		char *dash;
		uint64_t lo, hi;

		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		dash = strchr(tok, '-');
		if (dash)
			*dash = '\0';
		if (parse_u64_range(tok, 0, PERF_MAX_CORES - 1, &lo) ||
		    (dash && parse_u64_range(dash + 1, 0, PERF_MAX_CORES - 1, &hi)))
			return perf_fail(err,
					 "-c '%s': expected cores 0..%u as a list (0,1), ranges "
					 "([0-3]) or a mask (0x3)",
					 s, PERF_MAX_CORES - 1);
		if (!dash)
			hi = lo;
		if (hi < lo)
			return perf_fail(err, "-c '%s': range %llu-%llu runs backwards", s,
					 (unsigned long long)lo, (unsigned long long)hi);
		for (uint64_t c = lo; c <= hi; c++)
			set[c] = 1;
	}
	return 0;
}

int perf_parse_cores(const char *s, uint16_t *cores, unsigned *n, char *err)
{
	uint8_t set[PERF_MAX_CORES] = { 0 };
	int rc;

	if (!*s)
		return perf_fail(err, "-c: empty core mask or list");
	if (strpbrk(s, ",-[]"))
		rc = parse_core_list(s, set, err);
	else
		rc = parse_core_mask(s, set, err);
	if (rc)
		return rc;
	cores_from_set(set, cores, n);
	if (!*n)
		return perf_fail(err,
				 "-c '%s' selects no core (a mask has bit N for core N: core 0 is "
				 "0x1; a list of one core is written [0])",
				 s);
	return 0;
}

static int set_addr(struct perf_target *t, const char *addr, const char *whole, char *err)
{
	struct updk_pci_addr pa;

	if (t->addr[0])
		return perf_fail(err, "-r '%s': more than one address", whole);
	if (!strncmp(addr, "sim:", 4)) {
		if (strlen(addr) >= sizeof(t->addr))
			return perf_fail(err, "-r '%s': address too long", whole);
		strcpy(t->addr, addr);
		return 0;
	}
	if (updk_pci_addr_parse(addr, &pa))
		return perf_fail(err,
				 "-r '%s': traddr '%s' is not a PCI address (0000:00:04.0 or "
				 "00:04.0) nor a sim: address (sim:nvme)",
				 whole, addr);
	updk_pci_addr_fmt(&pa, t->addr);
	return 0;
}

/* NVMe over TCP: the transport ID as updk_nvme_ctrlr_open() takes it, from the keys given. */
static int set_fabrics(struct perf_target *t, const char *whole, const char *traddr,
		       char *const fab[4], char *err)
{
	static const char *const keys[4] = { "adrfam", "trsvcid", "subnqn", "hostnqn" };
	int n = snprintf(t->addr, sizeof(t->addr), "trtype:TCP traddr:%s", traddr);

	if (!traddr[0])
		return perf_fail(err,
				 "-r '%s': no traddr (traddr:192.0.2.10 trsvcid:4420 subnqn:...)",
				 whole);
	for (int k = 0; k < 4 && n > 0 && (size_t)n < sizeof(t->addr); k++)
		if (fab[k])
			n += snprintf(t->addr + n, sizeof(t->addr) - (size_t)n, " %s:%s", keys[k],
				      fab[k]);
	if (n < 0 || (size_t)n >= sizeof(t->addr))
		return perf_fail(err, "-r '%s': transport id too long", whole);
	if (!fab[2])
		return perf_fail(err,
				 "-r '%s': no subnqn (the subsystem to drive: updk-nvme discover "
				 "lists them)",
				 whole);
	return 0;
}

int perf_parse_target(const char *s, struct perf_target *t, char *err)
{
	char buf[1024], *tok, *save, *traddr = NULL, *fab[4] = { NULL };
	static const char *const fab_keys[4] = { "adrfam", "trsvcid", "subnqn", "hostnqn" };
	struct updk_pci_addr pa;
	size_t len = strlen(s);
	bool trtype_sim = false, trtype_tcp = false;
	int rc;

	memset(t, 0, sizeof(*t));
	if (len >= sizeof(buf))
		return perf_fail(err, "-r: transport id too long");
	memcpy(buf, s, len + 1);
	for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *sep, *val;
		uint64_t v;
		int k;

		/* Bare addresses first: "0000:00:04.0" contains the key separator. */
		if (!strncmp(tok, "sim:", 4) || !updk_pci_addr_parse(tok, &pa)) {
			rc = set_addr(t, tok, s, err);
			if (rc)
				return rc;
			continue;
		}
		sep = strpbrk(tok, ":=");
		if (!sep || sep == tok || !sep[1])
			return perf_fail(
				err, "-r '%s': '%s' is not key:value (keys: trtype, traddr, ns)", s,
				tok);
		*sep = '\0';
		val = sep + 1;
		for (k = 0; k < 4 && strcasecmp(tok, fab_keys[k]); k++)
			;
		if (!strcasecmp(tok, "trtype")) {
			if (!strcasecmp(val, "sim"))
				trtype_sim = true;
			else if (!strcasecmp(val, "tcp"))
				trtype_tcp = true;
			else if (strcasecmp(val, "pcie"))
				return perf_fail(err,
						 "-r '%s': trtype '%s' is not supported: updk-perf "
						 "drives PCIe, TCP (NVMe over TCP) and sim "
						 "controllers",
						 s, val);
		} else if (!strcasecmp(tok, "traddr")) {
			if (traddr)
				return perf_fail(err, "-r '%s': more than one address", s);
			traddr = val;
		} else if (!strcasecmp(tok, "ns") || !strcasecmp(tok, "nsid")) {
			if (parse_u64_range(val, 1, UINT32_MAX - 1, &v))
				return perf_fail(err,
						 "-r '%s': ns '%s': expected a namespace id from 1 "
						 "to 4294967294",
						 s, val);
			t->nsid = (uint32_t)v;
		} else if (k < 4) {
			fab[k] = val;
		} else {
			return perf_fail(err,
					 "-r '%s': unknown key '%s' (keys: trtype, traddr, ns; "
					 "for TCP also adrfam, trsvcid, subnqn, hostnqn)",
					 s, tok);
		}
	}
	if (trtype_tcp) {
		if (t->addr[0])
			return perf_fail(err, "-r '%s': trtype TCP takes traddr:ADDRESS", s);
		return set_fabrics(t, s, traddr ? traddr : "", fab, err);
	}
	for (int k = 0; k < 4; k++)
		if (fab[k])
			return perf_fail(err,
					 "-r '%s': '%s' belongs to NVMe over Fabrics: give "
					 "trtype:TCP with it",
					 s, fab_keys[k]);
	if (traddr) {
		rc = set_addr(t, traddr, s, err);
		if (rc)
			return rc;
	}
	if (!t->addr[0])
		return perf_fail(err, "-r '%s': no address (traddr:0000:00:04.0, or sim:nvme)", s);
	if (trtype_sim && strncmp(t->addr, "sim:", 4))
		return perf_fail(err, "-r '%s': trtype sim needs a sim: address", s);
	return 0;
}

enum {
	OPT_JSON = 256,
	OPT_VERIFY,
	OPT_NO_SHADOW,
	OPT_SHADOW,
	OPT_DB_PER_CMD,
	OPT_CPL_BATCH,
	OPT_SEED,
	OPT_NO_PROGRESS,
	OPT_IO_TIMEOUT,
	OPT_ONE_PASS,
	OPT_ZONES,
	OPT_INTR,
	OPT_RATE,
};

static const struct option long_opts[] = {
	{ "io-depth", required_argument, NULL, 'q' },
	{ "io-size", required_argument, NULL, 'o' },
	{ "io-pattern", required_argument, NULL, 'w' },
	{ "rwmixread", required_argument, NULL, 'M' },
	{ "time", required_argument, NULL, 't' },
	{ "warmup-time", required_argument, NULL, 'a' },
	{ "core-mask", required_argument, NULL, 'c' },
	{ "num-qpairs", required_argument, NULL, 'P' },
	{ "transport", required_argument, NULL, 'r' },
	{ "enable-sw-latency-tracking", no_argument, NULL, 'L' },
	{ "enable-tcp-hdgst", no_argument, NULL, 'H' },
	{ "enable-tcp-ddgst", no_argument, NULL, 'I' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "no-shadow-doorbell", no_argument, NULL, OPT_NO_SHADOW },
	{ "shadow-doorbell", required_argument, NULL, OPT_SHADOW },
	{ "doorbell-per-cmd", no_argument, NULL, OPT_DB_PER_CMD },
	{ "cpl-batch", required_argument, NULL, OPT_CPL_BATCH },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "io-timeout", required_argument, NULL, OPT_IO_TIMEOUT },
	{ "one-pass", no_argument, NULL, OPT_ONE_PASS },
	{ "zones", required_argument, NULL, OPT_ZONES },
	{ "interrupt-mode", no_argument, NULL, OPT_INTR },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "metadata", required_argument, NULL, 'e' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void perf_usage(FILE *out)
{
	fputs("Usage: updk-perf [options]\n"
	      "Drive NVMe namespaces with a fixed queue depth from poller threads, one per core,\n"
	      "and print IOPS, bandwidth and latency per namespace and core (spdk_nvme_perf's\n"
	      "flags). Without -r it runs on the simulated controller sim:nvme.\n"
	      "\n"
	      "  -q, --io-depth N         I/Os outstanding per namespace per core (default 32)\n"
	      "  -o, --io-size SIZE       bytes per I/O: 4096, 4k, 128K, 1M (default 4096)\n"
	      "  -w, --io-pattern P       read, write, randread, randwrite, rw, randrw, or on\n"
	      "                           zoned namespaces zone-append: appends to --zones\n"
	      "                           zones at once, each reset when full (-M PCT: reads\n"
	      "                           of what was written), or zone-write: the same with\n"
	      "                           writes at the write pointer, one a zone at a time\n"
	      "                           (default randread)\n"
	      "  -M, --rwmixread PCT      reads in percent for rw/randrw, 0..100 (default 50)\n"
	      "  -t, --time SEC           measured seconds (default 5)\n"
	      "  -a, --warmup-time SEC    seconds of I/O before measuring starts (default 0)\n"
	      "  -c, --core-mask CORES    cores for poller threads: mask 0x3, list 0,1 or [0-3]\n"
	      "                           (default: the first core this process may run on)\n"
	      "  -P, --num-qpairs N       queue pairs per namespace per core (default 1)\n"
	      "  -r, --transport TRID     a namespace to drive, repeatable:\n"
	      "                           'trtype:PCIe traddr:0000:00:04.0 ns:1', a bare\n"
	      "                           0000:00:04.0 (every active namespace), or\n"
	      "                           'sim:nvme?ns=2,size=1G ns:2' (simulated controller)\n"
	      "  -L, --enable-sw-latency-tracking\n"
	      "                           -L: latency percentiles; -LL: histogram as well\n"
	      "  -H, --enable-tcp-hdgst   NVMe/TCP: header digests (CRC32C)\n"
	      "  -I, --enable-tcp-ddgst   NVMe/TCP: data digests (CRC32C)\n"
	      "      --json               the result as one JSON object on stdout\n"
	      "      --verify             every I/O writes a pattern encoding LBA and generation,\n"
	      "                           reads it back and counts mismatches (-M is ignored)\n"
	      "      --zones N            -w zone-append, zone-write: zones written at once per\n"
	      "                           namespace\n"
	      "                           (default: its open limit, else 8)\n"
	      "      --one-pass           with --verify -w write: every I/O-sized slot of each\n"
	      "                           namespace once, then stop (-t stays a time limit)\n"
	      "      --io-timeout MS      abort an I/O not completed after MS ms (the driver\n"
	      "                           resets the controller if the abort fails too, and\n"
	      "                           the run goes on: I/Os the reset failed are errors;\n"
	      "                           default 30000)\n"
	      "      --shadow-doorbell M  shadow doorbells (Doorbell Buffer Config) where offered:\n"
	      "                           auto (default: per controller, off for QEMU's NVMe\n"
	      "                           under TCG), on or off\n"
	      "      --no-shadow-doorbell the same as --shadow-doorbell off\n"
	      "      --doorbell-per-cmd   write the SQ doorbell after every command instead of\n"
	      "                           once per burst (to measure what batching saves)\n"
	      "      --cpl-batch N        completions reaped per poll at most (default 0: all)\n"
	      "      --interrupt-mode     each poller sleeps when its qpairs are idle and is\n"
	      "                           woken by their interrupt vectors (docs/interrupts.md)\n"
	      "      --rate IOPS          pace the I/Os: IOPS a second over the whole run,\n"
	      "                           spread over the cores, -q at most in flight\n"
	      "      --seed N             seed of the random offsets (default: from the clock)\n"
	      "      --no-progress        no progress line on stderr each second\n"
	      "  -e, --metadata PI        end-to-end protection on namespaces formatted with it:\n"
	      "                           PRACT[=0|1] (the controller inserts and strips the\n"
	      "                           PI), PRCHK[=GUARD|REFTAG|APPTAG] (it checks them;\n"
	      "                           without PRACT the host generates the PI of writes\n"
	      "                           and verifies reads), e.g. -e PRACT,PRCHK\n"
	      "  -h, --help               this text\n"
	      "      --net MODE           network benchmark instead: txonly, rxonly or fwd\n"
	      "                           (updk-perf --net fwd --help for its options)\n"
	      "\n"
	      "Progress goes to stderr once a second; the table (or JSON) to stdout at the end.\n"
	      "Ctrl-C or SIGTERM stops early: outstanding I/O is drained, the controller shut down\n"
	      "and the partial result printed; a second Ctrl-C exits at once with status 130.\n"
	      "DMA memory comes from hugepages (scripts/setup.sh hugepages N), or from locked\n"
	      "4 KiB pages with UPDK_MEM=4k. UPDK_LOG=info|debug shows the driver's messages.\n"
	      "Exit status: 0 done, 1 device or run error, 2 bad arguments, 3 verify mismatches.\n",
	      out);
}

int perf_parse_pi(const char *s, uint8_t *prinfo, char *err)
{
	static const struct {
		const char *name;
		uint8_t bit;
	} checks[] = { { "GUARD", 4 }, { "APPTAG", 2 }, { "REFTAG", 1 } };
	char buf[128], *save = NULL, *save2 = NULL;

	*prinfo = 0;
	if (strlen(s) >= sizeof(buf))
		return perf_fail(err, "-e '%.40s...': too long", s);
	strcpy(buf, s);
	for (char *k = strtok_r(buf, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		char *v = strchr(k, '=');

		if (v)
			*v++ = '\0';
		if (!strcasecmp(k, "PRACT")) {
			if (v && strcmp(v, "1") && strcmp(v, "0"))
				return perf_fail(err, "-e '%s': PRACT is 0 or 1, not '%s'", s, v);
			*prinfo = (uint8_t)((*prinfo & 7) | (v && *v == '0' ? 0 : 8));
			continue;
		}
		if (strcasecmp(k, "PRCHK"))
			return perf_fail(err,
					 "-e '%s': %s is not a key: PRACT[=0|1] and "
					 "PRCHK[=GUARD|REFTAG|APPTAG], comma-separated",
					 s, k);
		if (!v) {
			*prinfo |= 7;
			continue;
		}
		for (char *c = strtok_r(v, "|+", &save2); c; c = strtok_r(NULL, "|+", &save2)) {
			size_t i = 0;

			while (i < 3 && strcasecmp(c, checks[i].name))
				i++;
			if (i == 3)
				return perf_fail(err,
						 "-e '%s': PRCHK takes GUARD, REFTAG and APPTAG, "
						 "not '%s'",
						 s, c);
			*prinfo |= checks[i].bit;
		}
	}
	return 0;
}

static void defaults(struct perf_args *a)
{
	memset(a, 0, sizeof(*a));
	a->queue_depth = 32;
	a->io_size = 4096;
	a->workload = "randread";
	a->random = true;
	a->read_pct = 100;
	a->time_s = 5;
	a->qpairs_per_ns = 1;
	a->progress = true;
}

static int parse_workload(struct perf_args *a, const char *w, char *err)
{
	static const struct {
		const char *name;
		bool random;
		int read_pct; /* -1: mixed, from -M */
	} kinds[] = {
		{ "read", false, 100 },	      { "write", false, 0 },
		{ "randread", true, 100 },    { "randwrite", true, 0 },
		{ "rw", false, -1 },	      { "randrw", true, -1 },
		{ "zone-append", false, -1 }, { "zone-write", false, -1 },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(w, kinds[i].name))
			continue;
		a->workload = kinds[i].name;
		a->random = kinds[i].random;
		a->read_pct = kinds[i].read_pct < 0 ? UINT32_MAX : (uint32_t)kinds[i].read_pct;
		a->zone_write = !strcmp(w, "zone-write");
		a->zone_append = a->zone_write || !strcmp(w, "zone-append");
		return 0;
	}
	return perf_fail(err,
			 "-w '%s': expected read, write, randread, randwrite, rw, randrw or "
			 "zone-append or zone-write",
			 w);
}

const char *perf_opt_name(char **argv, int idx, int opt, char *buf, size_t len)
{
	const char *w = idx > 0 ? argv[idx - 1] : "";

	if (!strncmp(w, "--", 2)) {
		snprintf(buf, len, "%.*s", (int)strcspn(w, "="), w);
		return buf;
	}
	if (opt > 0 && opt < 256)
		snprintf(buf, len, "-%c", opt);
	else
		snprintf(buf, len, "%s", w);
	return buf;
}

int perf_args_parse(int argc, char **argv, struct perf_args *a, char *err)
{
	uint32_t mix = 50, batch = 0;
	uint64_t size;
	char name[64];
	int c, rc = 0;

	defaults(a);
	err[0] = '\0';
	optind = 0; /* GNU getopt: start afresh, so the parser can be called more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:q:o:w:M:t:a:c:P:r:e:LHIh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			rc = perf_flag_u32("-q", optarg, 1, 65536, &a->queue_depth, err);
			break;
		case 'o':
			if (perf_parse_size(optarg, &size) || size < 512 || size > (128u << 20) ||
			    size % 512)
				return perf_fail(
					err,
					"-o '%s': expected an I/O size in bytes, a multiple of "
					"512 from 512 to 128M (4096, 4k, 128K)",
					optarg);
			a->io_size = (uint32_t)size;
			break;
		case 'w':
			rc = parse_workload(a, optarg, err);
			break;
		case 'M':
			rc = perf_flag_u32("-M", optarg, 0, 100, &mix, err);
			a->read_pct_given = true;
			break;
		case 't':
			rc = perf_flag_u32("-t", optarg, 1, 31536000, &a->time_s, err);
			break;
		case 'a':
			rc = perf_flag_u32("-a", optarg, 0, 31536000, &a->warmup_s, err);
			break;
		case 'c':
			rc = perf_parse_cores(optarg, a->cores, &a->ncores, err);
			a->cores_given = true;
			break;
		case 'P':
			rc = perf_flag_u32("-P", optarg, 1, 256, &a->qpairs_per_ns, err);
			break;
		case 'r':
			if (a->ntargets == PERF_MAX_TARGETS)
				return perf_fail(err, "-r: at most %u transport ids",
						 PERF_MAX_TARGETS);
			rc = perf_parse_target(optarg, &a->targets[a->ntargets], err);
			if (!rc)
				a->ntargets++;
			break;
		case 'H':
			a->tcp_hdgst = true;
			break;
		case 'I':
			a->tcp_ddgst = true;
			break;
		case 'L':
			if (a->latency < 2)
				a->latency++;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_VERIFY:
			a->verify = true;
			break;
		case OPT_NO_SHADOW:
			a->no_shadow_doorbell = true;
			a->shadow_doorbell = UPDK_NVME_SHADOW_OFF;
			break;
		case OPT_SHADOW:
			if (!strcmp(optarg, "auto"))
				a->shadow_doorbell = UPDK_NVME_SHADOW_AUTO;
			else if (!strcmp(optarg, "on"))
				a->shadow_doorbell = UPDK_NVME_SHADOW_ON;
			else if (!strcmp(optarg, "off"))
				a->shadow_doorbell = UPDK_NVME_SHADOW_OFF;
			else
				rc = perf_fail(err,
					       "--shadow-doorbell '%s': expected auto, on or off",
					       optarg);
			a->no_shadow_doorbell = a->shadow_doorbell == UPDK_NVME_SHADOW_OFF;
			break;
		case OPT_DB_PER_CMD:
			a->doorbell_per_cmd = true;
			break;
		case OPT_CPL_BATCH:
			rc = perf_flag_u32("--cpl-batch", optarg, 0, 65536, &batch, err);
			a->cpl_batch = batch;
			break;
		case OPT_SEED:
			if (parse_u64_range(optarg, 0, UINT64_MAX, &a->seed))
				return perf_fail(err, "--seed '%s': expected a whole number",
						 optarg);
			break;
		case OPT_NO_PROGRESS:
			a->progress = false;
			break;
		case OPT_IO_TIMEOUT:
			rc = perf_flag_u32("--io-timeout", optarg, 1, 3600000, &a->io_timeout_ms,
					   err);
			break;
		case OPT_ONE_PASS:
			a->one_pass = true;
			break;
		case OPT_ZONES:
			rc = perf_flag_u32("--zones", optarg, 1, 1u << 20, &a->zones, err);
			break;
		case OPT_INTR:
			a->interrupt_mode = true;
			break;
		case OPT_RATE:
			rc = perf_flag_u32("--rate", optarg, 1, 100000000, &a->rate, err);
			break;
		case 'e':
			rc = perf_parse_pi(optarg, &a->prinfo, err);
			a->pi_given = true;
			break;
		case 'h':
			a->help = true;
			return 0;
		case ':':
			return perf_fail(err, "%s needs a value (see --help)",
					 perf_opt_name(argv, optind, optopt, name, sizeof(name)));
		default:
			return perf_fail(err, "unknown option '%s' (see --help)",
					 perf_opt_name(argv, optind, optopt, name, sizeof(name)));
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return perf_fail(err, "unexpected argument '%s': options only (see --help)",
				 argv[optind]);
	if (a->read_pct == UINT32_MAX)
		a->read_pct = a->zone_append && !a->read_pct_given ? 0 : mix;
	else if (a->read_pct_given && !a->verify && mix != a->read_pct)
		return perf_fail(err,
				 "-M %u contradicts -w %s (which is %u%% reads): use -w rw or "
				 "randrw for a mix",
				 mix, a->workload, a->read_pct);
	if (a->one_pass && (!a->verify || a->random || a->read_pct != 0))
		return perf_fail(err,
				 "--one-pass needs --verify and -w write (a sequential pass of "
				 "writes, each read back)");
	if (a->zones && !a->zone_append)
		return perf_fail(err, "--zones goes with -w zone-append or zone-write");
	if (a->qpairs_per_ns > a->queue_depth)
		return perf_fail(err, "-P %u is more than -q %u: each qpair needs at least one I/O",
				 a->qpairs_per_ns, a->queue_depth);
	if (a->rate && a->ncores > a->rate)
		return perf_fail(
			err,
			"--rate %u is less than one I/O a second for each of the %u cores: "
			"raise it or use fewer cores",
			a->rate, a->ncores);
	return 0;
}
