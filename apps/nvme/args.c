// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvme: the options of the subcommands, with nvme-cli's names. Pure: nothing here prints
 * or touches a device; what is wrong comes back as a message for the subcommand to print, so
 * the parser is fuzzed on its own (test/fuzz/nvme_args.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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
	{ "metadata", required_argument, NULL, 'M' },
	{ "metadata-size", required_argument, NULL, 'y' },
	{ "prinfo", required_argument, NULL, 'p' },
	{ "ref-tag", required_argument, NULL, 'r' },
	{ "app-tag", required_argument, NULL, 'a' },
	{ "app-tag-mask", required_argument, NULL, 'm' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, TOOL_ERR_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int tool_parse_u64(const char *opt, const char *s, uint64_t *val, char *err)
{
	char *end;

	errno = 0;
	if (!s || !*s || *s == '-')
		goto bad;
	*val = strtoull(s, &end, 0);
	if (errno || *end)
		goto bad;
	return 0;
bad:
	return fail(err, "%s wants a number (decimal or 0x hex), not '%s'", opt, s ? s : "");
}

int tool_parse_u32(const char *opt, const char *s, uint32_t *val, char *err)
{
	uint64_t v;

	if (tool_parse_u64(opt, s, &v, err))
		return -EINVAL;
	if (v > UINT32_MAX)
		return fail(err, "%s: %s is larger than 32 bits", opt, s);
	*val = (uint32_t)v;
	return 0;
}

/* The long name of a short option, for messages. */
static const char *name_of(int c)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

/*
 * The option getopt_long() just returned (@c; for a bad one optopt says which) as the user wrote
 * it, "--cdw11" or "-x". argv[optind - 1] is not always it: a short option inside a cluster
 * ("-xy") leaves optind on that word, and a long one with its value in the next word has moved
 * past the value. It is the word only after a missing value or an unknown long option.
 */
static const char *opt_name(int c, int argc, char **argv, char *buf, size_t len)
{
	const char *w = optind > 1 && optind <= argc ? argv[optind - 1] : "";
	int o = c == '?' || c == ':' ? optopt : c;

	if ((c == ':' || (c == '?' && !optopt)) && !strncmp(w, "--", 2)) {
		snprintf(buf, len, "%.*s", (int)strcspn(w, "="), w);
		return buf;
	}
	if (o > 0 && o < 128) {
		snprintf(buf, len, "-%c", o);
		return buf;
	}
	for (const struct option *lo = long_opts; lo->name; lo++)
		if (lo->val == o) {
			snprintf(buf, len, "--%s", lo->name);
			return buf;
		}
	snprintf(buf, len, "%s", w);
	return buf;
}

/* A 16-bit tag option (--app-tag, --app-tag-mask). */
static int parse_u16(const char *opt, const char *s, uint16_t *val, char *err)
{
	uint32_t v = 0;

	if (tool_parse_u32(opt, s, &v, err))
		return -EINVAL;
	if (v > UINT16_MAX)
		return fail(err, "%s: %s is larger than 16 bits", opt, s);
	*val = (uint16_t)v;
	return 0;
}

int tool_args_parse(const char *cmd, const char *shortopts, bool dev_optional, int argc,
		    char **argv, struct tool_args *a, char *err)
{
	/* dsm uses -s for its list of starting LBAs and -d for --ad, as nvme-cli does. */
	bool dsm = !strcmp(cmd, "dsm");
	char opts[64], name[64];
	int c;

	memset(a, 0, sizeof(*a));
	err[0] = '\0';
	a->log_entries = 64;
	/* ':' first: a missing value is reported as such. GNU getopt permutes, so the device
	 * may come before or after the options. */
	snprintf(opts, sizeof(opts), ":%sh", shortopts);
	opterr = 0;
	optind = 0; /* GNU getopt: start afresh (also after a parse that stopped mid-cluster) */
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
				if (c < 1000)
					snprintf(name, sizeof(name), "--%s", name_of(c));
				return fail(
					err,
					"updk-nvme %s: option %s is not valid here (see updk-nvme %s "
					"--help)",
					cmd,
					c < 1000 ? name :
						   opt_name(c, argc, argv, name, sizeof(name)),
					cmd);
			}
		}
		switch (c) {
		case 'o':
			if (!strcmp(optarg, "json")) {
				a->json = true;
			} else if (strcmp(optarg, "normal")) {
				return fail(
					err,
					"updk-nvme %s: --output-format is normal or json, not '%s'",
					cmd, optarg);
			}
			break;
		case 'n':
			rc = tool_parse_u32("--namespace-id", optarg, &a->nsid, err);
			if (!rc && !a->nsid)
				rc = fail(err, "--namespace-id starts at 1");
			break;
		case 's':
			if (dsm)
				a->slbs = optarg;
			else if (!strcmp(cmd, "get-feature"))
				rc = tool_parse_u32("--sel", optarg, &a->sel, err);
			else
				rc = tool_parse_u64("--start-block", optarg, &a->slba, err);
			break;
		case OPT_SLBS_LONG:
			a->slbs = optarg;
			break;
		case 'S':
			rc = tool_parse_u32("--sel", optarg, &a->sel, err);
			break;
		case 'c':
			rc = tool_parse_u32("--block-count", optarg, &a->nblocks, err);
			a->nblocks_given = true;
			break;
		case 'z':
			rc = tool_parse_u64("--data-size", optarg, &a->data_size, err);
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
				rc = tool_parse_u32("--feature-id", optarg, &a->fid, err);
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
			rc = tool_parse_u32("--cdw11", optarg, &a->cdw11, err);
			break;
		case 'e':
			rc = tool_parse_u32("--log-entries", optarg, &a->log_entries, err);
			break;
		case 'M':
			a->metadata = optarg;
			break;
		case 'y':
			rc = tool_parse_u64("--metadata-size", optarg, &a->metadata_size, err);
			break;
		case 'p':
			rc = tool_parse_u32("--prinfo", optarg, &a->prinfo, err);
			if (!rc && a->prinfo > 15)
				rc = fail(err,
					  "--prinfo is 0..15 (bit 3 PRACT, bits 2:0 PRCHK), "
					  "not %u",
					  a->prinfo);
			break;
		case 'r':
			rc = tool_parse_u64("--ref-tag", optarg, &a->ref_tag, err);
			a->ref_tag_given = true;
			break;
		case 'a':
			rc = parse_u16("--app-tag", optarg, &a->app_tag, err);
			break;
		case 'm':
			rc = parse_u16("--app-tag-mask", optarg, &a->app_tag_mask, err);
			break;
		case 'h':
			return TOOL_HELP;
		case ':':
			return fail(err, "updk-nvme %s: option %s needs a value", cmd,
				    opt_name(c, argc, argv, name, sizeof(name)));
		default:
			return fail(err,
				    "updk-nvme %s: unknown option '%s' (see updk-nvme %s --help)",
				    cmd, opt_name(c, argc, argv, name, sizeof(name)), cmd);
		}
		if (rc) {
			/* prefix the number parsers' messages with the command */
			char msg[TOOL_ERR_MAX];

			snprintf(msg, sizeof(msg), "%s", err);
			return fail(err, "updk-nvme %s: %s", cmd, msg);
		}
	}
	if (optind < argc)
		a->dev = argv[optind++];
	if (optind < argc)
		return fail(err, "updk-nvme %s: one device only; '%s' is one too many", cmd,
			    argv[optind]);
	if (!a->dev && !dev_optional)
		return fail(err,
			    "updk-nvme %s: no device given: a PCI address such as 0000:01:00.0, "
			    "or sim:nvme",
			    cmd);
	return 0;
}
