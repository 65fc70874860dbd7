// SPDX-License-Identifier: BSD-3-Clause
/* updk-perf's argument parser: spdk_nvme_perf's spellings, the defaults, and every refusal. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <criterion/criterion.h>

#include "apps/perf/args.c"

/* Parse a NULL-terminated list of arguments (after the program name). */
static int parse(struct perf_args *a, char *err, ...)
{
	char *argv[64];
	int argc = 0, rc;
	va_list ap;
	const char *s;

	argv[argc++] = strdup("updk-perf");
	va_start(ap, err);
	while ((s = va_arg(ap, const char *)))
		argv[argc++] = strdup(s);
	va_end(ap);
	argv[argc] = NULL;
	rc = perf_args_parse(argc, argv, a, err);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return rc;
}

Test(perf_args, defaults)
{
	struct perf_args a;
	char err[PERF_ERR_MAX];

	cr_assert_eq(parse(&a, err, NULL), 0, "%s", err);
	cr_assert_eq(a.queue_depth, 32);
	cr_assert_eq(a.io_size, 4096);
	cr_assert_str_eq(a.workload, "randread");
	cr_assert(a.random);
	cr_assert_eq(a.read_pct, 100);
	cr_assert_eq(a.time_s, 5);
	cr_assert_eq(a.warmup_s, 0);
	cr_assert_eq(a.qpairs_per_ns, 1);
	cr_assert_eq(a.ntargets, 0, "no -r: the caller picks sim:nvme");
	cr_assert_eq(a.latency, 0);
	cr_assert(!a.json && !a.verify && !a.help && a.progress && !a.cores_given);
}

Test(perf_args, spdk_command_line)
{
	struct perf_args a;
	char err[PERF_ERR_MAX];

	cr_assert_eq(parse(&a, err, "-q", "128", "-o", "4k", "-w", "randrw", "-M", "70", "-t", "10",
			   "-a", "2", "-c", "0x3", "-P", "2", "-r",
			   "trtype:PCIe traddr:0000:00:04.0 ns:1", "-LL", "--json", NULL),
		     0, "%s", err);
	cr_assert_eq(a.queue_depth, 128);
	cr_assert_eq(a.io_size, 4096);
	cr_assert_str_eq(a.workload, "randrw");
	cr_assert(a.random);
	cr_assert_eq(a.read_pct, 70);
	cr_assert_eq(a.time_s, 10);
	cr_assert_eq(a.warmup_s, 2);
	cr_assert_eq(a.ncores, 2);
	cr_assert_eq(a.cores[0], 0);
	cr_assert_eq(a.cores[1], 1);
	cr_assert_eq(a.qpairs_per_ns, 2);
	cr_assert_eq(a.ntargets, 1);
	cr_assert_str_eq(a.targets[0].addr, "0000:00:04.0");
	cr_assert_eq(a.targets[0].nsid, 1);
	cr_assert_eq(a.latency, 2);
	cr_assert(a.json);
}

Test(perf_args, long_forms)
{
	struct perf_args a;
	char err[PERF_ERR_MAX];

	cr_assert_eq(parse(&a, err, "--io-depth=8", "--io-size", "128K", "--io-pattern", "write",
			   "--time", "3", "--warmup-time=1", "--core-mask", "[1]", "--num-qpairs",
			   "4", "--transport", "sim:nvme?ns=2", "--enable-sw-latency-tracking",
			   "--verify", "--no-shadow-doorbell", "--doorbell-per-cmd", "--cpl-batch",
			   "16", "--seed", "42", "--no-progress", "--io-timeout", "250",
			   "--one-pass", NULL),
		     0, "%s", err);
	cr_assert_eq(a.queue_depth, 8);
	cr_assert_eq(a.io_size, 128 * 1024);
	cr_assert_str_eq(a.workload, "write");
	cr_assert(!a.random);
	cr_assert_eq(a.read_pct, 0);
	cr_assert_eq(a.time_s, 3);
	cr_assert_eq(a.warmup_s, 1);
	cr_assert_eq(a.ncores, 1);
	cr_assert_eq(a.cores[0], 1);
	cr_assert_eq(a.qpairs_per_ns, 4);
	cr_assert_str_eq(a.targets[0].addr, "sim:nvme?ns=2");
	cr_assert_eq(a.targets[0].nsid, 0);
	cr_assert_eq(a.latency, 1);
	cr_assert(a.verify && a.no_shadow_doorbell && a.doorbell_per_cmd && !a.progress);
	cr_assert_eq(a.cpl_batch, 16);
	cr_assert_eq(a.seed, 42);
	cr_assert_eq(a.io_timeout_ms, 250);
	cr_assert(a.one_pass);
}

Test(perf_args, workloads)
{
	static const struct {
		const char *w;
		bool random;
		uint32_t pct;
	} cases[] = {
		{ "read", false, 100 },	  { "write", false, 0 }, { "randread", true, 100 },
		{ "randwrite", true, 0 }, { "rw", false, 50 },	 { "randrw", true, 50 },
	};
	struct perf_args a;
	char err[PERF_ERR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(parse(&a, err, "-w", cases[i].w, NULL), 0, "%s", err);
		cr_assert_str_eq(a.workload, cases[i].w);
		cr_assert_eq(a.random, cases[i].random, "%s", cases[i].w);
		cr_assert_eq(a.read_pct, cases[i].pct, "%s: -M defaults to 50 for mixes",
			     cases[i].w);
	}
	/* -M before -w is applied too; a pure workload's own percentage may be repeated */
	cr_assert_eq(parse(&a, err, "-M", "0", "-w", "rw", NULL), 0, "%s", err);
	cr_assert_eq(a.read_pct, 0);
	cr_assert_eq(parse(&a, err, "-w", "randread", "-M", "100", NULL), 0, "%s", err);
	cr_assert_eq(a.read_pct, 100);
	/* zone-append: appends only unless -M asks for reads; --zones with it only */
	cr_assert_eq(parse(&a, err, "-w", "zone-append", "--zones", "4", NULL), 0, "%s", err);
	cr_assert(a.zone_append);
	cr_assert_eq(a.read_pct, 0);
	cr_assert_eq(a.zones, 4);
	cr_assert_eq(parse(&a, err, "-w", "zone-append", "-M", "30", NULL), 0, "%s", err);
	cr_assert_eq(a.read_pct, 30);
	cr_assert_eq(parse(&a, err, "-w", "randrw", "--zones", "4", NULL), -EINVAL);
	cr_assert(strstr(err, "--zones goes with -w zone-append"), "%s", err);
	cr_assert_eq(parse(&a, err, "-w", "zone-append", "--zones", "0", NULL), -EINVAL);
	cr_assert_eq(parse(&a, err, "-w", "zone-write", NULL), 0, "%s", err);
	cr_assert(a.zone_append && a.zone_write);
}

Test(perf_args, sizes)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{ "4096", 4096 },     { "4k", 4096 },	 { "4K", 4096 },   { "128K", 131072 },
		{ "1m", 1 << 20 },    { "2M", 2 << 20 }, { "4KiB", 4096 }, { "4KB", 4096 },
		{ "1G", 1ull << 30 }, { "0", 0 },
	};
	static const char *const bad[] = { "",	  "k",	  "4x",	 "4 k",	   "-4k",
					   "4kk", "4.5k", "4Ki", "0x1000", "99999999999999999999" };
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_assert_eq(perf_parse_size(good[i].s, &v), 0, "'%s'", good[i].s);
		cr_assert_eq(v, good[i].v, "'%s' gave %llu", good[i].s, (unsigned long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(perf_parse_size(bad[i], &v), -EINVAL, "'%s' accepted", bad[i]);
}

Test(perf_args, cores)
{
	static const struct {
		const char *s;
		unsigned n;
		uint16_t c[4];
	} good[] = {
		{ "0x1", 1, { 0 } },	{ "0x3", 2, { 0, 1 } },	  { "3", 2, { 0, 1 } },
		{ "0xA", 2, { 1, 3 } }, { "0,1", 2, { 0, 1 } },	  { "[0-3]", 4, { 0, 1, 2, 3 } },
		{ "[1]", 1, { 1 } },	{ "2-3", 2, { 2, 3 } },	  { "1,0,1", 2, { 0, 1 } },
		{ "0x100", 1, { 8 } },	{ "[5,2]", 2, { 2, 5 } },
	};
	static const char *const bad[] = { "",	  "0",	 "0x", "0x0", "0xg",	 "[0-1", "3-1",
					   "1,,", "a,b", "[]", "-1",  "[0-256]", ",1" };
	uint16_t cores[PERF_MAX_CORES];
	unsigned n;
	char err[PERF_ERR_MAX];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_assert_eq(perf_parse_cores(good[i].s, cores, &n, err), 0, "'%s': %s", good[i].s,
			     err);
		cr_assert_eq(n, good[i].n, "'%s' gave %u cores", good[i].s, n);
		for (unsigned k = 0; k < n; k++)
			cr_assert_eq(cores[k], good[i].c[k], "'%s' core %u", good[i].s, k);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(perf_parse_cores(bad[i], cores, &n, err), -EINVAL, "'%s' accepted",
			     bad[i]);
		cr_assert(strstr(err, "-c"), "'%s': message '%s' does not name -c", bad[i], err);
	}
	/* A mask that sets a bit beyond the supported cores */
	cr_assert_eq(perf_parse_cores("0x1"
				      "0000000000000000000000000000000000000000000000000000000"
				      "0000000000",
				      cores, &n, err),
		     -EINVAL);
}

Test(perf_args, targets)
{
	static const struct {
		const char *s;
		const char *addr;
		uint32_t nsid;
	} good[] = {
		{ "trtype:PCIe traddr:0000:00:04.0 ns:1", "0000:00:04.0", 1 },
		{ "trtype=pcie traddr=00:04.0 ns=3", "0000:00:04.0", 3 },
		{ "traddr:0000:01:00.0", "0000:01:00.0", 0 },
		{ "0000:00:04.0", "0000:00:04.0", 0 },
		{ "00:04.0", "0000:00:04.0", 0 },
		{ "  ns:2   0000:00:04.0 ", "0000:00:04.0", 2 },
		{ "sim:nvme", "sim:nvme", 0 },
		{ "sim:nvme?ns=2,size=1G ns:2", "sim:nvme?ns=2,size=1G", 2 },
		{ "trtype:sim traddr:sim:nvme?ns=2 nsid:1", "sim:nvme?ns=2", 1 },
		{ "TRTYPE:PCIE TRADDR:0000:00:04.0 NS:1", "0000:00:04.0", 1 },
		{ "trtype:TCP adrfam:IPv4 traddr:192.0.2.1 trsvcid:4420 subnqn:nqn.x:a ns:2",
		  "trtype:TCP traddr:192.0.2.1 adrfam:IPv4 trsvcid:4420 subnqn:nqn.x:a", 2 },
		{ "subnqn=nqn.x:a trtype=tcp traddr=host1",
		  "trtype:TCP traddr:host1 subnqn:nqn.x:a", 0 },
	};
	static const struct {
		const char *s;
		const char *msg; /* a piece of the message */
	} bad[] = {
		{ "", "no address" },
		{ "ns:1", "no address" },
		{ "trtype:RDMA traddr:0000:00:04.0", "RDMA" },
		{ "trtype:PCIe traddr:0000:00:20.0", "not a PCI address" },
		{ "traddr:nvme0", "not a PCI address" },
		{ "traddr:0000:00:04.0 ns:0", "ns '0'" },
		{ "traddr:0000:00:04.0 ns:x", "ns 'x'" },
		{ "traddr:0000:00:04.0 subnqn:nqn.x", "Fabrics" },
		{ "trtype:TCP traddr:192.0.2.1", "no subnqn" },
		{ "trtype:TCP subnqn:nqn.x", "no traddr" },
		{ "trtype:TCP 0000:00:04.0 subnqn:nqn.x", "trtype TCP takes traddr" },
		{ "traddr:0000:00:04.0 bogus:1", "unknown key 'bogus'" },
		{ "0000:00:04.0 0000:00:05.0", "more than one address" },
		{ "trtype:sim traddr:0000:00:04.0", "sim" },
		{ "traddr:", "key:value" },
		{ "junk", "key:value" },
	};
	struct perf_target t;
	char err[PERF_ERR_MAX];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_assert_eq(perf_parse_target(good[i].s, &t, err), 0, "'%s': %s", good[i].s, err);
		cr_assert_str_eq(t.addr, good[i].addr, "'%s'", good[i].s);
		cr_assert_eq(t.nsid, good[i].nsid, "'%s'", good[i].s);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(perf_parse_target(bad[i].s, &t, err), -EINVAL, "'%s' accepted",
			     bad[i].s);
		cr_assert(strstr(err, bad[i].msg), "'%s': message '%s' lacks '%s'", bad[i].s, err,
			  bad[i].msg);
		cr_assert(!strncmp(err, "-r", 2), "'%s': message '%s' does not name -r", bad[i].s,
			  err);
	}
}

Test(perf_args, repeated_r_and_L)
{
	struct perf_args a;
	char err[PERF_ERR_MAX];

	cr_assert_eq(
		parse(&a, err, "-r", "0000:00:04.0", "-r", "sim:nvme ns:1", "-L", "-L", "-L", NULL),
		0, "%s", err);
	cr_assert_eq(a.ntargets, 2);
	cr_assert_str_eq(a.targets[1].addr, "sim:nvme");
	cr_assert_eq(a.latency, 2, "-L beyond -LL changes nothing");
}

Test(perf_args, refusals_name_the_flag)
{
	static const struct {
		const char *argv[4];
		const char *msg;
	} bad[] = {
		{ { "-q", "0" }, "-q '0'" },
		{ { "-q", "x" }, "-q 'x'" },
		{ { "-q", "-1" }, "-q '-1'" },
		{ { "-q", "65537" }, "-q '65537'" },
		{ { "-o", "1000" }, "-o '1000'" },
		{ { "-o", "0" }, "-o '0'" },
		{ { "-o", "256M" }, "-o '256M'" },
		{ { "-w", "randtrim" }, "-w 'randtrim'" },
		{ { "-M", "101" }, "-M '101'" },
		{ { "-t", "0" }, "-t '0'" },
		{ { "-t", "1s" }, "-t '1s'" },
		{ { "-a", "x" }, "-a 'x'" },
		{ { "-c", "0" }, "-c '0'" },
		{ { "-P", "0" }, "-P '0'" },
		{ { "-P", "64" }, "-P 64 is more than -q 32" },
		{ { "-r", "bogus" }, "-r 'bogus'" },
		{ { "--cpl-batch", "x" }, "--cpl-batch 'x'" },
		{ { "--seed", "-3" }, "--seed '-3'" },
		{ { "--io-timeout", "0" }, "--io-timeout '0'" },
		{ { "--io-timeout", "3600001" }, "--io-timeout '3600001'" },
		{ { "--one-pass" }, "--one-pass needs --verify and -w write" },
		{ { "--one-pass", "--verify" }, "--one-pass needs --verify and -w write" },
		{ { "--one-pass", "--verify", "-w", "randwrite" }, "--one-pass needs --verify" },
		{ { "-x" }, "unknown option '-x'" },
		{ { "--frobnicate" }, "unknown option '--frobnicate'" },
		{ { "--frobnicate=3" }, "unknown option '--frobnicate'" },
		{ { "-q" }, "-q needs a value" },
		{ { "--time" }, "--time needs a value" },
		{ { "extra" }, "unexpected argument 'extra'" },
		{ { "-w", "read", "-M", "50" }, "-M 50 contradicts -w read" },
		{ { "--rate", "0" }, "--rate '0'" },
		{ { "--rate", "x" }, "--rate 'x'" },
		{ { "--rate" }, "--rate needs a value" },
		{ { "-c", "0x3", "--rate", "1" }, "--rate 1 is less than one I/O a second" },
	};
	struct perf_args a;
	char err[PERF_ERR_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(parse(&a, err, bad[i].argv[0], bad[i].argv[1], bad[i].argv[2],
				   bad[i].argv[3], NULL),
			     -EINVAL, "case %zu (%s) accepted", i, bad[i].msg);
		cr_assert(strstr(err, bad[i].msg), "case %zu: message '%s' lacks '%s'", i, err,
			  bad[i].msg);
	}
}

Test(perf_args, interrupt_mode_and_rate)
{
	struct perf_args a;
	char err[PERF_ERR_MAX];

	cr_assert_eq(parse(&a, err, NULL), 0, "%s", err);
	cr_assert(!a.interrupt_mode);
	cr_assert_eq(a.rate, 0, "unpaced by default");
	cr_assert_eq(parse(&a, err, "--interrupt-mode", "--rate", "1000", "-q", "1", NULL), 0, "%s",
		     err);
	cr_assert(a.interrupt_mode);
	cr_assert_eq(a.rate, 1000);
	cr_assert_eq(parse(&a, err, "--rate=250", NULL), 0, "%s", err);
	cr_assert_eq(a.rate, 250);
	cr_assert(!a.interrupt_mode);
}

Test(perf_args, help_and_verify_mix)
{
	struct perf_args a;
	char err[PERF_ERR_MAX];
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_eq(parse(&a, err, "-q", "4", "--help", "-q", "bogus", NULL), 0, "%s", err);
	cr_assert(a.help, "--help stops parsing and asks for the usage text");
	/* --verify makes every I/O a write and its read-back: -M is not a contradiction then */
	cr_assert_eq(parse(&a, err, "-w", "randread", "-M", "30", "--verify", NULL), 0, "%s", err);

	f = open_memstream(&text, &len);
	perf_usage(f);
	fclose(f);
	static const char *const flags[] = { "-q",
					     "-o",
					     "-w",
					     "-M",
					     "-t",
					     "-a",
					     "-c",
					     "-P",
					     "-r",
					     "-L",
					     "--json",
					     "--verify",
					     "--help",
					     "--no-shadow-doorbell",
					     "--doorbell-per-cmd",
					     "--cpl-batch",
					     "--seed",
					     "--no-progress",
					     "--io-timeout",
					     "--one-pass" };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		cr_assert(strstr(text, flags[i]), "--help does not list %s", flags[i]);
	free(text);
}

/* Random command lines from pieces of good and bad ones: every outcome is 0 or -EINVAL with a
 * message, and a parse that succeeds leaves values inside their documented ranges. */
Test(perf_args, random_command_lines)
{
	static const char *const pieces[] = {
		"-q",
		"-o",
		"-w",
		"-M",
		"-t",
		"-a",
		"-c",
		"-P",
		"-r",
		"-L",
		"-LL",
		"--json",
		"--verify",
		"--seed",
		"--cpl-batch",
		"--io-size=",
		"--time=",
		"0",
		"1",
		"32",
		"4k",
		"128K",
		"9999999999999999999999",
		"-1",
		"0x3",
		"[0-1]",
		"randrw",
		"read",
		"sim:nvme",
		"0000:00:04.0",
		"ns:1",
		"trtype:PCIe traddr:00:04.0",
		"",
		"x",
		"=",
		":",
		"--",
		"-",
		"[",
	};
	const size_t npieces = sizeof(pieces) / sizeof(pieces[0]);
	uint64_t s = 2026;
	struct perf_args a;
	char err[PERF_ERR_MAX];

	for (int round = 0; round < 20000; round++) {
		char *argv[12];
		int argc = 0, rc, n = 1 + (int)perf_rand_range(&s, 10);

		argv[argc++] = "updk-perf";
		for (int i = 0; i < n; i++)
			argv[argc++] = (char *)pieces[perf_rand_range(&s, npieces)];
		argv[argc] = NULL;
		err[0] = '\0';
		rc = perf_args_parse(argc, argv, &a, err);
		cr_assert(rc == 0 || rc == -EINVAL, "round %d: rc %d", round, rc);
		if (rc) {
			cr_assert(err[0], "round %d: refused without a message", round);
			continue;
		}
		if (a.help)
			continue;
		cr_assert(a.queue_depth >= 1 && a.queue_depth <= 65536);
		cr_assert(a.io_size >= 512 && a.io_size % 512 == 0 && a.io_size <= (128u << 20));
		cr_assert(a.read_pct <= 100);
		cr_assert(a.time_s >= 1);
		cr_assert(a.qpairs_per_ns >= 1 && a.qpairs_per_ns <= a.queue_depth);
		cr_assert(a.latency <= 2);
		cr_assert(a.ntargets <= PERF_MAX_TARGETS);
		for (unsigned t = 0; t < a.ntargets; t++)
			cr_assert(a.targets[t].addr[0]);
		if (a.cores_given)
			cr_assert(a.ncores >= 1);
	}
}

/* -e: spdk_nvme_perf's PRACT and PRCHK keys, as NVMe's PRINFO bits (bit 3 PRACT, 2 Guard,
 * 1 Application Tag, 0 Reference Tag) */
Test(perf_args, metadata_pi)
{
	static const struct {
		const char *e;
		uint8_t prinfo;
	} ok[] = {
		{ "PRACT", 8 },
		{ "PRACT=1", 8 },
		{ "PRACT=0", 0 },
		{ "PRCHK", 7 },
		{ "PRACT,PRCHK", 15 },
		{ "PRACT=0,PRCHK=GUARD|REFTAG|APPTAG", 7 },
		{ "prchk=guard+reftag", 5 },
		{ "PRCHK=APPTAG,PRACT=1", 10 },
	};
	struct perf_args a;
	char err[PERF_ERR_MAX];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(parse(&a, err, "-e", ok[i].e, NULL), 0, "%s: %s", ok[i].e, err);
		cr_assert_eq(a.prinfo, ok[i].prinfo, "-e %s: PRINFO 0x%x", ok[i].e, a.prinfo);
		cr_assert(a.pi_given);
	}
	cr_assert_eq(parse(&a, err, "--metadata", "PRACT", NULL), 0, "%s", err);
	cr_assert_eq(a.prinfo, 8);
	cr_assert_eq(parse(&a, err, NULL), 0, "%s", err);
	cr_assert_not(a.pi_given);
	cr_assert_eq(parse(&a, err, "-e", "PRACT=yes", NULL), -EINVAL);
	cr_assert(strstr(err, "-e 'PRACT=yes'"), "%s", err);
	cr_assert_eq(parse(&a, err, "-e", "PRCHK=GUARD|CRC", NULL), -EINVAL);
	cr_assert(strstr(err, "not 'CRC'"), "%s", err);
	cr_assert_eq(parse(&a, err, "-e", "DIF", NULL), -EINVAL);
	cr_assert(strstr(err, "DIF is not a key"), "%s", err);
}
