// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf's command line:
 *
 *	updk-nvmf --listen ADDR[:PORT] --nqn NQN [--allow-host HOSTNQN]... DEVICE... [--nqn ...]
 *
 * Each --nqn starts a subsystem; the --allow-host options and devices that follow it are that
 * subsystem's, in order, until the next --nqn.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/nvmf/nvmf.h"

void nvmf_usage(FILE *f)
{
	fprintf(f,
		"Usage: updk-nvmf --listen ADDR[:PORT] --nqn NQN [--allow-host HOSTNQN]... DEVICE...\n"
		"                 [--nqn NQN [--allow-host HOSTNQN]... DEVICE...]... [OPTIONS]\n\n"
		"Serves the namespaces of local NVMe controllers to NVMe/TCP hosts (the Linux\n"
		"kernel's nvme-tcp, SPDK, updk's own initiator). Each --nqn starts a subsystem; the\n"
		"devices after it are its controllers (a PCI address bound to vfio-pci, or\n"
		"sim:nvme?...), their active namespaces served as nsid 1, 2, ... in order. Without\n"
		"--allow-host any host may connect. A Discovery controller answers on every address.\n\n"
		"  --listen ADDR[:PORT]      address to listen on (IPv4, [IPv6], 0.0.0.0 for all;\n"
		"                            port 4420 if not given); may be repeated\n"
		"  --nqn NQN                 a subsystem's NQN (nqn.YYYY-MM.reverse.domain:name)\n"
		"  --allow-host HOSTNQN      a host allowed to connect to the subsystem\n"
		"  -c, --cores LIST          one poller thread per core, pinned (0,1 or 0-3);\n"
		"                            default one unpinned poller\n"
		"  --interrupt-mode          the backing qpairs interrupt: a poller with nothing to\n"
		"                            do for --idle-us sleeps even with commands in flight,\n"
		"                            until a socket or a completion wakes it\n"
		"  --poll-mode               a poller sleeps only with nothing in flight, until a\n"
		"                            socket wakes it (the default)\n"
		"  --idle-us N               sleep after N us without work (default 1000 in poll\n"
		"                            mode, 50 in interrupt mode; 0: at once)\n"
		"  --busy-poll               pollers never sleep\n"
		"  --io-timeout MS           the backing controllers' I/O timeout: abort, then reset\n"
		"                            the controller (default the driver's, 30000)\n"
		"  -h, --help                this text\n\n"
		"SIGINT or SIGTERM: in-flight commands complete, hosts are disconnected, the\n"
		"controllers are shut down cleanly.\n");
}

static int fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, NVMF_ERR_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "127.0.0.1:4420", "[::1]:4420", "0.0.0.0", "[fe80::1]". */
static int parse_listen(struct nvmf_args *a, const char *s, char *err)
{
	unsigned i = a->nlisten;
	const char *port = NULL, *host = s;
	size_t hlen;

	if (i == NVMF_MAX_LISTEN)
		return fail(err, "updk-nvmf: --listen: at most %d addresses", NVMF_MAX_LISTEN);
	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (!end || (end[1] && end[1] != ':'))
			return fail(err,
				    "updk-nvmf: --listen '%s': an IPv6 address goes in brackets: "
				    "[::1]:4420",
				    s);
		host = s + 1;
		hlen = (size_t)(end - host);
		port = end[1] ? end + 2 : NULL;
	} else {
		const char *colon = strrchr(s, ':');

		if (colon && strchr(s, ':') != colon)
			return fail(err,
				    "updk-nvmf: --listen '%s': an IPv6 address goes in brackets: "
				    "[::1]:4420",
				    s);
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		port = colon ? colon + 1 : NULL;
	}
	if (!hlen || hlen >= NVMF_ADDR_MAX)
		return fail(err, "updk-nvmf: --listen '%s': no address (0.0.0.0 listens on all)",
			    s);
	memcpy(a->listen_host[i], host, hlen);
	a->listen_host[i][hlen] = 0;
	if (port) {
		char *end;
		unsigned long p = strtoul(port, &end, 10);

		if (!*port || *end || p > 65535)
			return fail(err,
				    "updk-nvmf: --listen '%s': the port must be 0..65535 "
				    "(0: any free port, printed when listening)",
				    s);
		snprintf(a->listen_port[i], sizeof(a->listen_port[i]), "%lu", p);
	} else {
		snprintf(a->listen_port[i], sizeof(a->listen_port[i]), "%d", UPDK_NVME_TCP_PORT);
	}
	a->nlisten++;
	return 0;
}

/* An NQN (NVMe Base 2.0 §4.5): "nqn." then at most 223 bytes in all, printable, no spaces. */
static int check_nqn(const char *opt, const char *s, char *err)
{
	size_t n = strlen(s);

	if (strncmp(s, "nqn.", 4) || n > UPDK_NVMF_NQN_MAX)
		return fail(err,
			    "updk-nvmf: %s '%s': an NQN starts with 'nqn.' and has at most %d "
			    "bytes (nqn.2026-12.io.example:disk1)",
			    opt, s, UPDK_NVMF_NQN_MAX);
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == 0x7f)
			return fail(err,
				    "updk-nvmf: %s '%s': no spaces or control characters in an NQN",
				    opt, s);
	return 0;
}

static int parse_cores(struct nvmf_args *a, const char *s, char *err)
{
	const char *p = s;

	a->npollers = 0;
	while (*p) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;

		if (end == p)
			goto bad;
		if (*end == '-') {
			p = end + 1;
			hi = strtoul(p, &end, 10);
			if (end == p || hi < lo)
				goto bad;
		}
		for (unsigned long c = lo; c <= hi; c++) {
			if (a->npollers == NVMF_MAX_POLLERS || c > 4095)
				return fail(
					err,
					"updk-nvmf: -c '%s': at most %d cores, numbered below 4096",
					s, NVMF_MAX_POLLERS);
			for (unsigned i = 0; i < a->npollers; i++)
				if (a->cores[i] == (int)c)
					return fail(err, "updk-nvmf: -c '%s': core %lu twice", s,
						    c);
			a->cores[a->npollers++] = (int)c;
		}
		if (*end == ',')
			end++;
		else if (*end)
			goto bad;
		p = end;
	}
	if (a->npollers)
		return 0;
bad:
	return fail(err, "updk-nvmf: -c '%s': expected a list of cores: 0,1 or 0-3", s);
}

int nvmf_args_parse(int argc, char **argv, struct nvmf_args *a, char *err)
{
	enum {
		OPT_LISTEN = 256,
		OPT_NQN,
		OPT_HOST,
		OPT_IDLE,
		OPT_IO_TIMEOUT,
		OPT_BUSY,
		OPT_INTR,
		OPT_POLL
	};
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "nqn", required_argument, NULL, OPT_NQN },
		{ "allow-host", required_argument, NULL, OPT_HOST },
		{ "cores", required_argument, NULL, 'c' },
		{ "idle-us", required_argument, NULL, OPT_IDLE },
		{ "busy-poll", no_argument, NULL, OPT_BUSY },
		{ "interrupt-mode", no_argument, NULL, OPT_INTR },
		{ "poll-mode", no_argument, NULL, OPT_POLL },
		{ "io-timeout", required_argument, NULL, OPT_IO_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct nvmf_subsys_args *cur = NULL;
	static const char *const mode_names[] = { [OPT_BUSY - OPT_BUSY] = "--busy-poll",
						  [OPT_INTR - OPT_BUSY] = "--interrupt-mode",
						  [OPT_POLL - OPT_BUSY] = "--poll-mode" };
	int mode = 0; /* the mode option given */
	bool idle_given = false;
	char *end;
	int opt, rc;

	memset(a, 0, sizeof(*a));
	a->npollers = 1;
	a->cores[0] = -1;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "-:c:h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_LISTEN:
			if ((rc = parse_listen(a, optarg, err)))
				return rc;
			break;
		case OPT_NQN:
			if ((rc = check_nqn("--nqn", optarg, err)))
				return rc;
			if (!strcmp(optarg, UPDK_NVMF_DISCOVERY_NQN))
				return fail(err,
					    "updk-nvmf: --nqn: %s is the Discovery subsystem's, "
					    "served already; give your subsystem its own NQN",
					    optarg);
			for (unsigned i = 0; i < a->nsubsys; i++)
				if (!strcmp(a->subsys[i].nqn, optarg))
					return fail(err, "updk-nvmf: --nqn %s given twice", optarg);
			if (a->nsubsys == NVMF_MAX_SUBSYS)
				return fail(err, "updk-nvmf: at most %d subsystems",
					    NVMF_MAX_SUBSYS);
			cur = &a->subsys[a->nsubsys++];
			snprintf(cur->nqn, sizeof(cur->nqn), "%s", optarg);
			break;
		case OPT_HOST:
			if (!cur)
				return fail(err,
					    "updk-nvmf: --allow-host %s comes before any --nqn: "
					    "put it after the subsystem it opens",
					    optarg);
			if ((rc = check_nqn("--allow-host", optarg, err)))
				return rc;
			if (cur->nhosts == NVMF_MAX_HOSTS)
				return fail(err, "updk-nvmf: %s: at most %d allowed hosts",
					    cur->nqn, NVMF_MAX_HOSTS);
			cur->hosts[cur->nhosts++] = optarg;
			break;
		case 1: /* a DEVICE */
			if (!cur)
				return fail(
					err,
					"updk-nvmf: device '%s' comes before any --nqn: say which "
					"subsystem serves it (--nqn NQN %s)",
					optarg, optarg);
			if (cur->ndevs == NVMF_MAX_DEVS)
				return fail(err, "updk-nvmf: %s: at most %d devices", cur->nqn,
					    NVMF_MAX_DEVS);
			cur->devs[cur->ndevs++] = optarg;
			break;
		case 'c':
			if ((rc = parse_cores(a, optarg, err)))
				return rc;
			break;
		case OPT_IDLE:
			a->idle_us = (uint32_t)strtoul(optarg, &end, 10);
			if (!*optarg || *end || a->idle_us > 60000000)
				return fail(
					err,
					"updk-nvmf: --idle-us '%s': a number of us, 0..60000000",
					optarg);
			idle_given = true;
			break;
		case OPT_BUSY:
		case OPT_INTR:
		case OPT_POLL:
			if (mode && mode != opt)
				return fail(err, "updk-nvmf: %s and %s: choose one",
					    mode_names[mode - OPT_BUSY],
					    mode_names[opt - OPT_BUSY]);
			mode = opt;
			a->intr_mode = opt == OPT_INTR;
			break;
		case OPT_IO_TIMEOUT:
			a->io_timeout_ms = (uint32_t)strtoul(optarg, &end, 10);
			if (!*optarg || *end || !a->io_timeout_ms || a->io_timeout_ms > 3600000)
				return fail(
					err,
					"updk-nvmf: --io-timeout '%s': a number of ms, 1..3600000",
					optarg);
			break;
		case 'h':
			a->help = true;
			return 1;
		case ':':
			return fail(err, "updk-nvmf: %s needs a value (updk-nvmf --help)",
				    argv[optind - 1]);
		default:
			return fail(err, "updk-nvmf: unknown option '%s' (updk-nvmf --help)",
				    argv[optind - 1]);
		}
	}
	if (mode == OPT_BUSY) {
		if (idle_given)
			return fail(err, "updk-nvmf: --busy-poll never sleeps: --idle-us has no "
					 "meaning with it");
		a->idle_us = NVMF_NEVER_IDLE;
	} else if (!idle_given) {
		a->idle_us = a->intr_mode ? 50 : 1000;
	}
	if (!a->nlisten)
		return fail(err, "updk-nvmf: no --listen ADDR[:PORT]: say where hosts connect "
				 "(--listen 0.0.0.0:4420)");
	if (!a->nsubsys)
		return fail(err, "updk-nvmf: no --nqn NQN DEVICE...: nothing to serve");
	for (unsigned i = 0; i < a->nsubsys; i++)
		if (!a->subsys[i].ndevs)
			return fail(err,
				    "updk-nvmf: --nqn %s has no device: give one after it "
				    "(a PCI address bound to vfio-pci, or sim:nvme)",
				    a->subsys[i].nqn);
	return 0;
}
