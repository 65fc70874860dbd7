// SPDX-License-Identifier: BSD-3-Clause
/* updk-nvme: the options of the subcommands, with nvme-cli's names. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "apps/nvme/tool.h"

enum { OPT_CDW11 = 1000, OPT_DEAC, OPT_FUA_LONG, OPT_AD_LONG, OPT_SLBS_LONG };

static const struct option long_opts[] = {
	{ "output-format", required_argument, NULL, 'o' },
	{ "namespace-id", required_argument, NULL, 'n' },
	{ "start-block", required_argument, NULL, 's' },
	{ "block-count", required_argument, NULL, 'c' },
	{ "data-size", required_argument, NULL, 'z' },
	{ "data", required_argument, NULL, 'd' },
	{ "force-unit-access", no_argument, NULL, OPT_FUA_LONG },
	{ "deac", no_argument, NULL, OPT_DEAC },
	{ "ad", no_argument, NULL, OPT_AD_LONG },
	{ "slbs", required_argument, NULL, OPT_SLBS_LONG },
	{ "blocks", required_argument, NULL, 'b' },
	{ "feature-id", required_argument, NULL, 'f' },
	{ "sel", required_argument, NULL, 'S' },
	{ "cdw11", required_argument, NULL, OPT_CDW11 },
	{ "log-entries", required_argument, NULL, 'e' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The long name of a short option, for messages. */
static const char *name_of(int c)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

int tool_parse_args(const char *cmd, const char *shortopts, bool dev_optional, int argc,
		    char **argv, struct tool_args *a)
{
	/* dsm uses -s for its list of starting LBAs and -d for --ad, as nvme-cli does. */
	bool dsm = !strcmp(cmd, "dsm");
	char opts[64];
	int c;

	memset(a, 0, sizeof(*a));
	a->log_entries = 64;
	/* ':' first: a missing value is reported as such. GNU getopt permutes, so the device
	 * may come before or after the options. */
	snprintf(opts, sizeof(opts), ":%sh", shortopts);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, opts, long_opts, NULL)) != -1) {
		int rc = 0;

		/* A long option the subcommand does not take is as wrong as a short one. */
		if (c >= 1000 || (c > 0 && c < 128 && !strchr(shortopts, c) && c != 'h' &&
				  c != '?' && c != ':')) {
			bool ok = (c == OPT_FUA_LONG && strchr(shortopts, 'f')) ||
				  (c == OPT_DEAC && !strcmp(cmd, "write-zeroes")) ||
				  (c == OPT_AD_LONG && dsm) || (c == OPT_SLBS_LONG && dsm) ||
				  ((c == OPT_CDW11 || c == 'S') && !strcmp(cmd, "get-feature"));
			if (!ok) {
				fprintf(stderr,
					"updk-nvme %s: option --%s is not valid here (see updk-nvme %s --help)\n",
					cmd, c >= 1000 ? argv[optind - 1] + 2 : name_of(c), cmd);
				return EXIT_USAGE;
			}
		}
		switch (c) {
		case 'o':
			if (!strcmp(optarg, "json")) {
				a->json = true;
			} else if (strcmp(optarg, "normal")) {
				fprintf(stderr,
					"updk-nvme %s: --output-format is normal or json, not '%s'\n",
					cmd, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			rc = tool_parse_u32("--namespace-id", optarg, &a->nsid);
			if (!rc && !a->nsid) {
				fprintf(stderr, "updk-nvme %s: --namespace-id starts at 1\n", cmd);
				rc = -EINVAL;
			}
			break;
		case 's':
			if (dsm)
				a->slbs = optarg;
			else if (!strcmp(cmd, "get-feature"))
				rc = tool_parse_u32("--sel", optarg, &a->sel);
			else
				rc = tool_parse_u64("--start-block", optarg, &a->slba);
			break;
		case OPT_SLBS_LONG:
			a->slbs = optarg;
			break;
		case 'S':
			rc = tool_parse_u32("--sel", optarg, &a->sel);
			break;
		case 'c':
			rc = tool_parse_u32("--block-count", optarg, &a->nblocks);
			a->nblocks_given = true;
			break;
		case 'z':
			rc = tool_parse_u64("--data-size", optarg, &a->data_size);
			break;
		case 'd':
			if (dsm)
				a->ad = true;
			else
				a->data = optarg;
			break;
		case OPT_AD_LONG:
			a->ad = true;
			break;
		case 'b':
			a->blocks = optarg;
			break;
		case 'f':
			if (!strcmp(cmd, "get-feature")) {
				rc = tool_parse_u32("--feature-id", optarg, &a->fid);
				a->fid_given = true;
			} else {
				a->fua = true;
			}
			break;
		case OPT_FUA_LONG:
			a->fua = true;
			break;
		case OPT_DEAC:
			a->deac = true;
			break;
		case OPT_CDW11:
			rc = tool_parse_u32("--cdw11", optarg, &a->cdw11);
			break;
		case 'e':
			rc = tool_parse_u32("--log-entries", optarg, &a->log_entries);
			break;
		case 'h':
			return -1;
		case ':':
			fprintf(stderr, "updk-nvme %s: option %s needs a value\n", cmd,
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr,
				"updk-nvme %s: unknown option '%s' (see updk-nvme %s --help)\n",
				cmd, argv[optind - 1], cmd);
			return EXIT_USAGE;
		}
		if (rc)
			return EXIT_USAGE;
	}
	if (optind < argc)
		a->dev = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "updk-nvme %s: one device only; '%s' is one too many\n", cmd,
			argv[optind]);
		return EXIT_USAGE;
	}
	if (!a->dev && !dev_optional) {
		fprintf(stderr,
			"updk-nvme %s: no device given: a PCI address such as 0000:01:00.0, or sim:nvme\n",
			cmd);
		return EXIT_USAGE;
	}
	return 0;
}
