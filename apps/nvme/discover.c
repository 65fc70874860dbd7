// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvme discover: the Discovery log (NVMe Base 2.0 §5.16.1.23) of an NVMe/TCP target's
 * Discovery controller, printed as nvme-cli's `nvme discover` prints it, with its options
 * (-t tcp -a ADDR -s PORT -q HOSTNQN, -o normal|json).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <updk/nvmf_spec.h>

#include "apps/nvme/tool.h"

/* Most entries read: a Discovery controller lists one per subsystem and port. */
#define MAX_RECORDS 1024

static const char usage_text[] =
	"Usage: updk-nvme discover -t tcp -a ADDR [-s PORT] [-q HOSTNQN] [-o normal|json]\n"
	"The Discovery log of an NVMe/TCP target: the subsystems it serves, where.\n"
	"  -t, --transport tcp      transport (tcp only)\n"
	"  -a, --traddr ADDR        the target's IPv4 or IPv6 address, or host name\n"
	"  -s, --trsvcid PORT       its TCP port (default 4420)\n"
	"  -q, --hostnqn NQN        this host's NQN (default /etc/nvme/hostnqn)\n"
	"  -g, --hdr-digest         header digests\n"
	"  -G, --data-digest        data digests\n"
	"  -o, --output-format FMT  normal or json\n";

static const char *trtype_str(uint8_t v)
{
	switch (v) {
	case UPDK_NVMF_TRTYPE_RDMA:
		return "rdma";
	case UPDK_NVMF_TRTYPE_FC:
		return "fc";
	case UPDK_NVMF_TRTYPE_TCP:
		return "tcp";
	case UPDK_NVMF_TRTYPE_LOOP:
		return "loop";
	}
	return "unrecognized";
}

static const char *adrfam_str(uint8_t v)
{
	switch (v) {
	case UPDK_NVMF_ADRFAM_IPV4:
		return "ipv4";
	case UPDK_NVMF_ADRFAM_IPV6:
		return "ipv6";
	case UPDK_NVMF_ADRFAM_IB:
		return "infiniband";
	case UPDK_NVMF_ADRFAM_FC:
		return "fibre-channel";
	case UPDK_NVMF_ADRFAM_LOOP:
		return "loop";
	}
	return "unrecognized";
}

static const char *subtype_str(uint8_t v)
{
	switch (v) {
	case UPDK_NVMF_SUBTYPE_DISCOVERY_REFERRAL:
		return "discovery subsystem referral";
	case UPDK_NVMF_SUBTYPE_NVME:
		return "nvme subsystem";
	case UPDK_NVMF_SUBTYPE_DISCOVERY_CURRENT:
		return "current discovery subsystem";
	}
	return "unrecognized";
}

/* TREQ (Figure 259): bits 1:0 the secure channel, bit 2 SQ flow control disable. */
static void treq_str(uint8_t v, char *buf, size_t len)
{
	static const char *const sec[] = { "not specified", "required", "not required",
					   "reserved" };

	snprintf(buf, len, "%s%s", sec[v & 3],
		 v & UPDK_NVMF_TREQ_DISABLE_SQFLOW ? ", sq flow control disable supported" : "");
}

/* EFLAGS (Figure 259): bit 0 explicit persistent connection, 1 duplicate returned, 2 no CDC
 * connectivity. */
static void eflags_str(uint16_t v, char *buf, size_t len)
{
	static const char *const names[] = { "explicit discovery connections",
					     "duplicate discovery information",
					     "no cdc connectivity" };
	size_t at = 0;

	buf[0] = 0;
	for (int i = 0; i < 3; i++)
		if (v & (1u << i))
			at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "",
					       names[i]);
	if (!at)
		snprintf(buf, len, "none");
}

/* TSAS SECTYPE for TCP (byte 0): none, TLS 1.2, TLS 1.3. */
static const char *sectype_str(uint8_t v)
{
	return v == 0 ? "none" : v == 1 ? "tls" : v == 2 ? "tls13" : "unrecognized";
}

/* A space-padded ASCII field as a C string. */
static void field(const char *s, size_t len, char *out)
{
	size_t n = strnlen(s, len);

	while (n && s[n - 1] == ' ')
		n--;
	memcpy(out, s, n);
	out[n] = 0;
}

static int get_log(struct tool_dev *td, void *buf, uint32_t len)
{
	struct tool_wait w = { 0 };
	int rc = updk_nvme_ctrlr_get_log_page(td->ctrlr, UPDK_NVMF_LOG_DISCOVERY, 0, buf, len, 0,
					      tool_wait_cb, &w);

	return tool_wait_admin(td, &w, rc, "Get Log Page (Discovery)");
}

/* The whole log, read again if its generation counter moved meanwhile (§5.16.1.23). */
static int read_log(struct tool_dev *td, uint8_t **page, uint64_t *numrec)
{
	struct updk_nvmf_disc_log hdr = { 0 };
	uint8_t *p = NULL;

	for (int tries = 0; tries < 10; tries++) {
		uint64_t n;

		if (get_log(td, &hdr, sizeof(hdr)))
			break;
		n = hdr.numrec;
		if (n > MAX_RECORDS) {
			fprintf(stderr,
				"updk-nvme: %s: the Discovery log has %" PRIu64
				" records: the first %d are shown\n",
				td->addr, n, MAX_RECORDS);
			n = MAX_RECORDS;
		}
		free(p);
		p = calloc(n + 1, 1024);
		if (!p)
			return -ENOMEM;
		if (get_log(td, p, (uint32_t)(n + 1) * 1024))
			break;
		if (((struct updk_nvmf_disc_log *)p)->genctr == hdr.genctr) {
			*page = p;
			*numrec = n;
			return 0;
		}
	}
	if (p && hdr.genctr != ((struct updk_nvmf_disc_log *)p)->genctr)
		fprintf(stderr,
			"updk-nvme: %s: the Discovery log changed 10 times while read: try "
			"again\n",
			td->addr);
	free(p);
	return -EIO;
}

static void print_log(const uint8_t *page, uint64_t n, bool json)
{
	const struct updk_nvmf_disc_log *h = (const void *)page;
	struct out o;

	if (json) {
		out_begin(&o, true, NULL);
		out_uint(&o, "genctr", h->genctr);
		out_arr_begin(&o, "records");
	} else {
		printf("\nDiscovery Log Number of Records %" PRIu64 ", Generation counter %" PRIu64
		       "\n",
		       n, h->genctr);
	}
	for (uint64_t i = 0; i < n; i++) {
		const struct updk_nvmf_disc_entry *e = (const void *)(page + 1024 * (i + 1));
		char treq[64], eflags[128], trsvcid[33], traddr[257], subnqn[257];

		treq_str(e->treq, treq, sizeof(treq));
		eflags_str(e->eflags, eflags, sizeof(eflags));
		field(e->trsvcid, sizeof(e->trsvcid), trsvcid);
		field(e->traddr, sizeof(e->traddr), traddr);
		field(e->subnqn, sizeof(e->subnqn), subnqn);
		if (!json) {
			printf("=====Discovery Log Entry %" PRIu64 "======\n", i);
			printf("trtype:  %s\nadrfam:  %s\nsubtype: %s\ntreq:    %s\nportid:  %u\n"
			       "trsvcid: %s\nsubnqn:  %s\ntraddr:  %s\neflags:  %s\nsectype: %s\n",
			       trtype_str(e->trtype), adrfam_str(e->adrfam),
			       subtype_str(e->subtype), treq, e->portid, trsvcid, subnqn, traddr,
			       eflags, sectype_str(e->tsas[0]));
			continue;
		}
		out_obj_begin(&o, NULL);
		out_str(&o, "trtype", trtype_str(e->trtype));
		out_str(&o, "adrfam", adrfam_str(e->adrfam));
		out_str(&o, "subtype", subtype_str(e->subtype));
		out_str(&o, "treq", treq);
		out_uint(&o, "portid", e->portid);
		out_str(&o, "trsvcid", trsvcid);
		out_str(&o, "subnqn", subnqn);
		out_str(&o, "traddr", traddr);
		out_str(&o, "eflags", eflags);
		out_str(&o, "sectype", sectype_str(e->tsas[0]));
		out_obj_end(&o);
	}
	if (json) {
		out_arr_end(&o);
		out_end(&o);
	}
	fflush(stdout);
}

int cmd_discover(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "transport", required_argument, NULL, 't' },
		{ "traddr", required_argument, NULL, 'a' },
		{ "trsvcid", required_argument, NULL, 's' },
		{ "hostnqn", required_argument, NULL, 'q' },
		{ "hdr-digest", no_argument, NULL, 'g' },
		{ "data-digest", no_argument, NULL, 'G' },
		{ "output-format", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *transport = NULL, *traddr = NULL, *trsvcid = "4420", *hostnqn = NULL;
	struct updk_nvme_ctrlr_opts copts = { .opts_size = sizeof(copts) };
	char addr[1024];
	struct tool_dev td;
	bool json = false;
	uint8_t *page;
	uint64_t n;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:a:s:q:gGo:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			transport = optarg;
			break;
		case 'a':
			traddr = optarg;
			break;
		case 's':
			trsvcid = optarg;
			break;
		case 'q':
			hostnqn = optarg;
			break;
		case 'g':
			copts.header_digest = true;
			break;
		case 'G':
			copts.data_digest = true;
			break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "normal")) {
				fprintf(stderr, "updk-nvme discover: -o '%s': normal or json\n",
					optarg);
				return EXIT_USAGE;
			}
			json = !strcmp(optarg, "json");
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fprintf(stderr, "updk-nvme discover: %s '%s'\n\n%s",
				c == ':' ? "missing the value of" : "unknown option",
				argv[optind - 1], usage_text);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "updk-nvme discover: unexpected '%s' (the target is -a ADDR)\n\n%s",
			argv[optind], usage_text);
		return EXIT_USAGE;
	}
	if (!transport || strcasecmp(transport, "tcp") || !traddr) {
		fprintf(stderr, "updk-nvme discover: %s\n\n%s",
			!transport ? "-t tcp is needed" :
			!traddr	   ? "-a ADDR (the target's address) is needed" :
				     "-t: only tcp is a transport updk has for NVMe over Fabrics",
			usage_text);
		return EXIT_USAGE;
	}
	if (strchr(traddr, ' ') || strchr(trsvcid, ' ') || (hostnqn && strchr(hostnqn, ' ')) ||
	    (size_t)snprintf(addr, sizeof(addr), "trtype:TCP traddr:%s trsvcid:%s subnqn:%s%s%s",
			     traddr, trsvcid, UPDK_NVMF_DISCOVERY_NQN, hostnqn ? " hostnqn:" : "",
			     hostnqn ? hostnqn : "") >= sizeof(addr)) {
		fprintf(stderr, "updk-nvme discover: -a, -s or -q holds a space or is too long\n");
		return EXIT_USAGE;
	}
	td.addr = addr;
	td.ctrlr = NULL;
	rc = updk_nvme_ctrlr_open(addr, &copts, &td.ctrlr);
	if (rc) {
		fprintf(stderr,
			"updk-nvme: %s port %s: cannot reach its Discovery controller: %s (the "
			"lines above say why)\n",
			traddr, trsvcid, strerror(-rc));
		return 1;
	}
	rc = read_log(&td, &page, &n);
	if (!rc) {
		print_log(page, n, json);
		free(page);
	} else if (rc != -EIO) {
		fprintf(stderr, "updk-nvme: %s: %s\n", addr, strerror(-rc));
	}
	tool_close(&td);
	return rc ? 1 : 0;
}
