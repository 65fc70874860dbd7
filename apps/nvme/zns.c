// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvme zns: nvme-cli's Zoned Namespace plugin (id-ctrl, id-ns, report-zones, the zone
 * actions reset-zone, open-zone, close-zone, finish-zone, offline-zone and zone-mgmt-send,
 * zone-append) with its option names, normal output and JSON field names, through
 * <updk/nvme_zns.h>.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <updk/mem.h>
#include <updk/nvme_zns.h>

#include "apps/nvme/tool.h"

/* The options of every zns subcommand, nvme-cli's names; each takes the ones it lists. */
struct zns_args {
	const char *dev;
	bool json;
	uint32_t nsid; /* -n, 0: 1 */
	uint64_t slba; /* -s: --start-lba, --zslba for zone-append */
	bool select_all; /* -a */
	uint32_t zsa; /* zone-mgmt-send -z/--zsa */
	bool zsa_given;
	uint32_t descs; /* report-zones -d/--descs, 0: all */
	uint32_t state; /* report-zones -S/--state */
	uint64_t data_size; /* zone-append -z */
	const char *data; /* zone-append -d */
	bool fua; /* zone-append -f */
	bool lr; /* zone-append -l */
};

static const struct option zns_long[] = {
	{ "output-format", required_argument, NULL, 'o' },
	{ "namespace-id", required_argument, NULL, 'n' },
	{ "start-lba", required_argument, NULL, 's' },
	{ "zslba", required_argument, NULL, 's' },
	{ "select-all", no_argument, NULL, 'a' },
	{ "zsa", required_argument, NULL, 'Z' },
	{ "descs", required_argument, NULL, 'D' },
	{ "state", required_argument, NULL, 'S' },
	{ "data-size", required_argument, NULL, 'z' },
	{ "data", required_argument, NULL, 'd' },
	{ "force-unit-access", no_argument, NULL, 'f' },
	{ "limited-retry", no_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * Parse @argv for zns subcommand @cmd taking the short options @shortopts. In nvme-cli -z is
 * --zsa in zone-mgmt-send and --data-size in zone-append, -d is --descs in report-zones and
 * --data in zone-append. Returns 0, -1 for --help, or EXIT_USAGE with the reason printed.
 */
static int zns_parse(const char *cmd, const char *shortopts, int argc, char **argv,
		     struct zns_args *a)
{
	bool report = !strcmp(cmd, "report-zones"), mgmt = !strcmp(cmd, "zone-mgmt-send");
	char opts[64], err[TOOL_ERR_MAX] = "";
	int c, rc = 0;

	memset(a, 0, sizeof(*a));
	snprintf(opts, sizeof(opts), ":%sh", shortopts);
	opterr = 0;
	optind = 0;
	while (!rc && (c = getopt_long(argc, argv, opts, zns_long, NULL)) != -1) {
		/* --zsa and --descs stand for -z and -d of the one subcommand that has them */
		int s = (c == 'Z' && mgmt) ? 'z' : (c == 'D' && report) ? 'd' : c;

		if (s != 'h' && s != '?' && s != ':' && (s >= 128 || !strchr(shortopts, s))) {
			fprintf(stderr,
				"updk-nvme zns %s: option %s is not valid here (see --help)\n", cmd,
				argv[optind - 1]);
			return EXIT_USAGE;
		}
		switch (s) {
		case 'o':
			a->json = !strcmp(optarg, "json");
			if (!a->json && strcmp(optarg, "normal")) {
				fprintf(stderr,
					"updk-nvme zns %s: --output-format is normal or json, not "
					"'%s'\n",
					cmd, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			rc = tool_parse_u32("--namespace-id", optarg, &a->nsid, err);
			break;
		case 's':
			rc = tool_parse_u64(report ? "--start-lba" : "--zslba", optarg, &a->slba,
					    err);
			break;
		case 'a':
			a->select_all = true;
			break;
		case 'S':
			rc = tool_parse_u32("--state", optarg, &a->state, err);
			break;
		case 'z':
			if (mgmt) {
				rc = tool_parse_u32("--zsa", optarg, &a->zsa, err);
				a->zsa_given = true;
			} else {
				rc = tool_parse_u64("--data-size", optarg, &a->data_size, err);
			}
			break;
		case 'd':
			if (report)
				rc = tool_parse_u32("--descs", optarg, &a->descs, err);
			else
				a->data = optarg;
			break;
		case 'f':
			a->fua = true;
			break;
		case 'l':
			a->lr = true;
			break;
		case 'h':
			return -1;
		case ':':
			fprintf(stderr, "updk-nvme zns %s: option %s needs a value\n", cmd,
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "updk-nvme zns %s: unknown option '%s' (see --help)\n", cmd,
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (rc) {
		fprintf(stderr, "updk-nvme zns %s: %s\n", cmd, err);
		return EXIT_USAGE;
	}
	if (optind < argc)
		a->dev = argv[optind++];
	if (optind < argc || !a->dev) {
		fprintf(stderr,
			"updk-nvme zns %s: give one device: a PCI address such as 0000:01:00.0, "
			"or sim:nvme?zoned=1\n",
			cmd);
		return EXIT_USAGE;
	}
	return 0;
}

/* An open controller, its zoned namespace and a qpair. */
struct zns_ctx {
	struct tool_dev td;
	struct updk_nvme_ns *ns;
	struct updk_nvme_qpair *qp;
};

static int zns_open(struct zns_ctx *z, const char *cmd, const struct zns_args *a, bool qpair)
{
	struct updk_nvme_qpair_opts qo = { .opts_size = sizeof(qo), .depth = 4 };
	uint32_t nsid = a->nsid ? a->nsid : 1;
	int rc;

	memset(z, 0, sizeof(*z));
	if (tool_open(&z->td, a->dev))
		return -ENODEV;
	z->ns = updk_nvme_ns_get(z->td.ctrlr, nsid);
	if (!z->ns) {
		fprintf(stderr, "updk-nvme zns %s: %s: namespace %u is not active (nn %u)\n", cmd,
			a->dev, nsid, updk_nvme_ctrlr_num_ns(z->td.ctrlr));
		goto fail;
	}
	if (!updk_nvme_ns_is_zoned(z->ns)) {
		fprintf(stderr,
			"updk-nvme zns %s: %s: namespace %u is not zoned (its command set is %02xh, "
			"not 02h): the zns commands need a Zoned Namespace; see updk-nvme list\n",
			cmd, a->dev, nsid, updk_nvme_ns_ids(z->ns)->csi);
		goto fail;
	}
	if (!qpair)
		return 0;
	rc = updk_nvme_qpair_alloc(z->td.ctrlr, &qo, &z->qp);
	if (!rc)
		return 0;
	fprintf(stderr, "updk-nvme zns %s: %s: cannot create an I/O queue pair: %s\n", cmd, a->dev,
		strerror(-rc));
fail:
	tool_close(&z->td);
	return -ENODEV;
}

static void zns_close(struct zns_ctx *z)
{
	updk_nvme_qpair_free(z->qp);
	tool_close(&z->td);
}

static int id_ctrl(int argc, char **argv)
{
	struct updk_nvme_zns_id_ctrl id;
	struct tool_dev td;
	struct zns_args a;
	struct out o;
	int rc = zns_parse("id-ctrl", "o:", argc, argv, &a);

	if (rc) {
		fprintf(rc < 0 ? stdout : stderr,
			"Usage: updk-nvme zns id-ctrl DEVICE [-o normal|json]\n"
			"The Zoned Namespace Identify Controller data (CNS 06h, CSI 02h).\n");
		return rc < 0 ? 0 : rc;
	}
	if (tool_open(&td, a.dev))
		return 1;
	rc = updk_nvme_zns_identify_ctrlr(td.ctrlr, &id);
	if (rc) {
		fprintf(stderr, "updk-nvme zns id-ctrl: %s: %s (the lines above say why)\n", a.dev,
			strerror(-rc));
	} else {
		out_begin(&o, a.json, "NVMe ZNS Identify Controller:");
		out_uint(&o, "zasl", id.zasl);
		out_end(&o);
	}
	tool_close(&td);
	return rc ? 1 : 0;
}

static int id_ns(int argc, char **argv)
{
	const struct updk_nvme_zns_id_ns *id;
	struct zns_args a;
	struct zns_ctx z;
	struct out o;
	int rc = zns_parse("id-ns", "o:n:", argc, argv, &a);
	unsigned fmt, nlbaf;

	if (rc) {
		fprintf(rc < 0 ? stdout : stderr,
			"Usage: updk-nvme zns id-ns DEVICE [-n NSID] [-o normal|json]\n"
			"The Zoned Namespace Identify Namespace data (CNS 05h, CSI 02h).\n");
		return rc < 0 ? 0 : rc;
	}
	if (zns_open(&z, "id-ns", &a, false))
		return 1;
	id = updk_nvme_zns_ns_data(z.ns);
	fmt = updk_nvme_ns_data(z.ns)->flbas & 0xf;
	nlbaf = updk_nvme_ns_data(z.ns)->nlbaf;
	out_begin(&o, a.json, "ZNS Command Set Identify Namespace:");
	out_hex(&o, "zoc", id->zoc);
	out_hex(&o, "ozcs", id->ozcs);
	out_hex(&o, "mar", id->mar);
	out_hex(&o, "mor", id->mor);
	out_uint(&o, "rrl", id->rrl);
	out_uint(&o, "frl", id->frl);
	out_uint(&o, "rrl1", id->rrl1);
	out_uint(&o, "rrl2", id->rrl2);
	out_uint(&o, "rrl3", id->rrl3);
	out_uint(&o, "frl1", id->frl1);
	out_uint(&o, "frl2", id->frl2);
	out_uint(&o, "frl3", id->frl3);
	out_uint(&o, "numzrwa", id->numzrwa);
	out_uint(&o, "zrwafg", id->zrwafg);
	out_uint(&o, "zrwasz", id->zrwasz);
	out_uint(&o, "zrwacap", id->zrwacap);
	if (a.json) {
		out_arr_begin(&o, "lbafe");
		for (unsigned i = 0; i <= nlbaf && i < 64; i++) {
			out_obj_begin(&o, NULL);
			out_uint(&o, "zsze", id->lbafe[i].zsze);
			out_uint(&o, "zdes", id->lbafe[i].zdes);
			out_obj_end(&o);
		}
		out_arr_end(&o);
	} else {
		for (unsigned i = 0; i <= nlbaf && i < 64; i++)
			printf("lbafe %2u: zsze:%#" PRIx64 " zdes:%u%s\n", i, id->lbafe[i].zsze,
			       id->lbafe[i].zdes, i == fmt ? " (in use)" : "");
	}
	out_end(&o);
	zns_close(&z);
	return 0;
}

static void print_zone(struct out *o, const struct updk_nvme_zone_desc *d)
{
	const char *type =
		(d->zt & 0xf) == UPDK_NVME_ZONE_TYPE_SEQWRITE_REQ ? "SEQWRITE_REQ" : "Unknown";
	const char *state = updk_nvme_zone_state_str(updk_nvme_zone_state_of(d));

	if (!o->json) {
		printf("SLBA: %#-10" PRIx64 " WP: %#-10" PRIx64 " Cap: %#-10" PRIx64
		       " State: %-12s Type: %-14s Attrs: %#-4x AttrsInfo: %#x\n",
		       d->zslba, d->wp, d->zcap, state, type, d->za, d->zai);
		return;
	}
	out_obj_begin(o, NULL);
	out_uint(o, "slba", d->zslba);
	out_uint(o, "wp", d->wp);
	out_uint(o, "cap", d->zcap);
	out_str(o, "state", state);
	out_str(o, "type", type);
	out_uint(o, "attrs", d->za);
	out_uint(o, "attrs_info", d->zai);
	out_obj_end(o);
}

/* One Report Zones into @buf, waiting for it; the header's count in *@n. */
static int report(struct zns_ctx *z, void *buf, uint32_t len, uint64_t slba,
		  const struct zns_args *a, bool partial, uint64_t *n)
{
	struct tool_wait w = { 0 };
	int rc = updk_nvme_zns_report_zones(z->ns, z->qp, buf, len, slba,
					    (enum updk_nvme_zone_filter)a->state, partial,
					    tool_wait_cb, &w);

	rc = tool_wait_io(&z->td, z->qp, &w, rc, "report zones");
	*n = ((struct updk_nvme_zone_report *)buf)->nr_zones;
	return rc;
}

static int report_zones(int argc, char **argv)
{
	struct zns_args a;
	struct zns_ctx z;
	struct out o;
	int rc = zns_parse("report-zones", "o:n:s:d:S:", argc, argv, &a);
	uint64_t total, shown = 0, n, zsze, slba;
	uint32_t len;
	uint8_t *buf;

	if (rc) {
		fprintf(rc < 0 ? stdout : stderr,
			"Usage: updk-nvme zns report-zones DEVICE [-n NSID] [-s SLBA] [-d DESCS] [-S "
			"STATE] [-o normal|json]\n"
			"  -s, --start-lba SLBA  from the zone holding SLBA (default 0)\n"
			"  -d, --descs N         at most N zones (default: all)\n"
			"  -S, --state STATE     0 all, 1 empty, 2 implicitly opened, 3 explicitly\n"
			"                        opened, 4 closed, 5 full, 6 read only, 7 offline\n");
		return rc < 0 ? 0 : rc;
	}
	if (a.state > UPDK_NVME_ZRASF_OFFLINE) {
		fprintf(stderr, "updk-nvme zns report-zones: --state is 0..7, not %u\n", a.state);
		return EXIT_USAGE;
	}
	if (zns_open(&z, "report-zones", &a, true))
		return 1;
	zsze = updk_nvme_zns_zone_size(z.ns);
	len = updk_nvme_ctrlr_max_xfer_size(z.td.ctrlr);
	if (len > 64 + 1024 * 64)
		len = 64 + 1024 * 64;
	buf = updk_dma_zalloc(len, 4096, UPDK_NUMA_ANY, NULL);
	if (!buf) {
		fprintf(stderr, "updk-nvme: %s: no DMA memory for %u bytes\n", a.dev, len);
		zns_close(&z);
		return 1;
	}
	/* first how many match, then the descriptors a buffer at a time */
	rc = report(&z, buf, 128, a.slba, &a, false, &total);
	if (rc)
		goto out;
	if (a.descs && total > a.descs)
		total = a.descs;
	out_begin(&o, a.json, NULL);
	if (a.json)
		out_uint(&o, "nr_zones", total);
	else
		printf("nr_zones: %" PRIu64 "\n", total);
	out_arr_begin(&o, "zone_list");
	slba = a.slba;
	while (shown < total && slba < updk_nvme_ns_num_sectors(z.ns)) {
		const struct updk_nvme_zone_report *r = (const void *)buf;

		rc = report(&z, buf, len, slba, &a, true, &n);
		if (rc)
			break;
		if (n == 0 || n > (len - 64) / 64)
			break;
		for (uint64_t i = 0; i < n && shown < total; i++, shown++)
			print_zone(&o, &r->descs[i]);
		slba = (r->descs[n - 1].zslba / zsze + 1) * zsze;
	}
	out_arr_end(&o);
	out_end(&o);
out:
	updk_dma_free(buf);
	zns_close(&z);
	return rc ? 1 : 0;
}

/* The zone actions: nvme-cli's open-zone, close-zone, ... and zone-mgmt-send -z ZSA. */
static int zone_action(const char *cmd, int action, int argc, char **argv)
{
	struct tool_wait w = { 0 };
	struct zns_args a;
	struct zns_ctx z;
	int rc = zns_parse(cmd, action ? "n:s:a" : "n:s:az:", argc, argv, &a);

	if (rc) {
		fprintf(rc < 0 ? stdout : stderr,
			"Usage: updk-nvme zns %s DEVICE [-n NSID] -s ZSLBA | -a%s\n"
			"  -s, --start-lba ZSLBA  the zone's first LBA\n"
			"  -a, --select-all       every zone the action applies to\n%s",
			cmd, action ? "" : " -z ZSA",
			action ? "" :
				 "  -z, --zsa ZSA          1 close, 2 finish, 3 open, 4 reset, 5 "
				 "offline\n");
		return rc < 0 ? 0 : rc;
	}
	if (!action) {
		if (!a.zsa_given || a.zsa < UPDK_NVME_ZSA_CLOSE || a.zsa > UPDK_NVME_ZSA_OFFLINE) {
			fprintf(stderr,
				"updk-nvme zns zone-mgmt-send: --zsa is 1 close, 2 finish, 3 open, "
				"4 reset or 5 offline\n");
			return EXIT_USAGE;
		}
		action = (int)a.zsa;
	}
	if (zns_open(&z, cmd, &a, true))
		return 1;
	rc = updk_nvme_zns_zone_send(z.ns, z.qp, a.slba, (enum updk_nvme_zone_action)action,
				     a.select_all, tool_wait_cb, &w);
	rc = tool_wait_io(&z.td, z.qp, &w, rc, cmd);
	if (!rc)
		printf("zns-%s: Success, action:%d zone:%" PRIx64 " all:%d nsid:%u\n", cmd, action,
		       a.select_all ? 0 : a.slba, a.select_all, updk_nvme_ns_id(z.ns));
	zns_close(&z);
	return rc ? 1 : 0;
}

static int zone_append(int argc, char **argv)
{
	struct tool_wait w = { 0 };
	struct zns_args a;
	struct zns_ctx z;
	int rc = zns_parse("zone-append", "n:s:z:d:fl", argc, argv, &a);
	uint32_t lbs, nlb;
	void *buf = NULL;
	int fd = STDIN_FILENO, ret = 1;
	size_t got = 0;

	if (rc) {
		fprintf(rc < 0 ? stdout : stderr,
			"Usage: updk-nvme zns zone-append DEVICE -s ZSLBA -z BYTES [-d FILE] [-n NSID] "
			"[-f] [-l]\n"
			"  -s, --zslba ZSLBA        the zone's first LBA\n"
			"  -z, --data-size BYTES    a multiple of the block size\n"
			"  -d, --data FILE          the data (default: stdin)\n"
			"  -f, --force-unit-access  FUA;  -l, --limited-retry  LR\n");
		return rc < 0 ? 0 : rc;
	}
	if (zns_open(&z, "zone-append", &a, true))
		return 1;
	lbs = updk_nvme_ns_sector_size(z.ns);
	if (!a.data_size || a.data_size % lbs ||
	    a.data_size / lbs > updk_nvme_zns_append_max_sectors(z.ns)) {
		fprintf(stderr,
			"updk-nvme zns zone-append: %s: --data-size %" PRIu64
			" must be a multiple of the block size %u, at most %u blocks (the Zone Append "
			"Size Limit)\n",
			a.dev, a.data_size, lbs, updk_nvme_zns_append_max_sectors(z.ns));
		goto out;
	}
	nlb = (uint32_t)(a.data_size / lbs);
	buf = updk_dma_zalloc(a.data_size, 4096, UPDK_NUMA_ANY, NULL);
	if (!buf) {
		fprintf(stderr, "updk-nvme: %s: no DMA memory for %" PRIu64 " bytes\n", a.dev,
			a.data_size);
		goto out;
	}
	if (a.data && (fd = open(a.data, O_RDONLY)) < 0) {
		fprintf(stderr, "updk-nvme zns zone-append: --data %s: %s\n", a.data,
			strerror(errno));
		goto out;
	}
	/* as nvme-cli: short input is zero-padded to --data-size */
	while (got < a.data_size) {
		ssize_t n = read(fd, (char *)buf + got, a.data_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "updk-nvme zns zone-append: %s: %s\n",
				a.data ? a.data : "stdin", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	rc = updk_nvme_zns_zone_append(z.ns, z.qp, buf, a.slba, nlb, tool_wait_cb, &w,
				       (a.fua ? UPDK_NVME_IO_FUA : 0) |
					       (a.lr ? UPDK_NVME_IO_LIMITED_RETRY : 0));
	if (tool_wait_io(&z.td, z.qp, &w, rc, "zone append"))
		goto out;
	printf("Success appended data to LBA %" PRIx64 "\n", updk_nvme_zns_append_lba(&w.cpl));
	ret = 0;
out:
	if (a.data && fd >= 0)
		close(fd);
	updk_dma_free(buf);
	zns_close(&z);
	return ret;
}

static int open_zone(int argc, char **argv)
{
	return zone_action("open-zone", UPDK_NVME_ZSA_OPEN, argc, argv);
}

static int close_zone(int argc, char **argv)
{
	return zone_action("close-zone", UPDK_NVME_ZSA_CLOSE, argc, argv);
}

static int finish_zone(int argc, char **argv)
{
	return zone_action("finish-zone", UPDK_NVME_ZSA_FINISH, argc, argv);
}

static int reset_zone(int argc, char **argv)
{
	return zone_action("reset-zone", UPDK_NVME_ZSA_RESET, argc, argv);
}

static int offline_zone(int argc, char **argv)
{
	return zone_action("offline-zone", UPDK_NVME_ZSA_OFFLINE, argc, argv);
}

static int mgmt_send(int argc, char **argv)
{
	return zone_action("zone-mgmt-send", 0, argc, argv);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} zns_cmds[] = {
	{ "id-ctrl", id_ctrl, "Zoned Namespace Identify Controller" },
	{ "id-ns", id_ns, "Zoned Namespace Identify Namespace" },
	{ "report-zones", report_zones, "the zones, their state and write pointer" },
	{ "open-zone", open_zone, "open a zone (or all closed ones)" },
	{ "close-zone", close_zone, "close a zone (or all open ones)" },
	{ "finish-zone", finish_zone, "finish a zone (or all open and closed ones)" },
	{ "reset-zone", reset_zone, "reset a zone (or all of them)" },
	{ "offline-zone", offline_zone, "take a read-only zone (or all) offline" },
	{ "zone-mgmt-send", mgmt_send, "any Zone Send Action (-z/--zsa)" },
	{ "zone-append", zone_append, "append data to a zone; prints the LBA written" },
};

int cmd_zns(int argc, char **argv)
{
	size_t n = sizeof(zns_cmds) / sizeof(zns_cmds[0]);

	if (argc >= 2) {
		for (size_t i = 0; i < n; i++)
			if (!strcmp(argv[1], zns_cmds[i].name))
				return zns_cmds[i].fn(argc - 1, argv + 1);
	}
	bool help = argc >= 2 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
				  !strcmp(argv[1], "-h"));
	FILE *f = help ? stdout : stderr;

	if (argc >= 2 && !help)
		fprintf(stderr, "updk-nvme zns: unknown command '%s'\n\n", argv[1]);
	fprintf(f, "Usage: updk-nvme zns COMMAND DEVICE [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-15s %s\n", zns_cmds[i].name, zns_cmds[i].help);
	return help ? 0 : EXIT_USAGE;
}
