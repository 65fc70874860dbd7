/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk-perf --net arguments. The spellings follow the NVMe mode where the meaning carries over
 * (-r, -o, -t, -c, --json, --no-progress); flags that only mean something for NVMe are refused
 * by name. Nothing here touches a device.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <updk/pci.h>

#include "apps/perf/net.h"

bool perf_net_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--net") || !strncmp(argv[i], "--net=", 6))
			return true;
	}
	return false;
}

const char *perf_net_mode_name(enum net_mode m)
{
	return m == NET_TXONLY ? "txonly" : m == NET_RXONLY ? "rxonly" : "fwd";
}

static int parse_mac(const char *s, uint8_t mac[6], char *err)
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6)
		return perf_fail(
			err, "--dst-mac '%s': expected six hexadecimal bytes, 02:00:00:00:00:01",
			s);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int add_port(struct net_args *a, const char *s, char *err)
{
	struct updk_pci_addr pa;

	if (a->nports == NET_MAX_PORTS)
		return perf_fail(err, "-r: at most %u ports", NET_MAX_PORTS);
	if (!strncmp(s, "sim:", 4)) {
		if (strlen(s) >= PERF_ADDR_MAX)
			return perf_fail(err, "-r '%s': address too long", s);
		strcpy(a->ports[a->nports++], s);
		return 0;
	}
	if (updk_pci_addr_parse(s, &pa))
		return perf_fail(
			err,
			"-r '%s': expected a PCI address (0000:01:00.0 or 01:00.0) or a sim: "
			"address (sim:ixgbe?name=a,peer=b)",
			s);
	updk_pci_addr_fmt(&pa, a->ports[a->nports++]);
	return 0;
}

enum {
	OPT_NET = 256,
	OPT_BURST,
	OPT_RING,
	OPT_PRIME,
	OPT_DST_MAC,
	OPT_JSON,
	OPT_NO_PROGRESS,
	OPT_NET_INTR,
	OPT_NET_RATE,
	OPT_NVME_ONLY,
};

static const struct option long_opts[] = {
	{ "net", required_argument, NULL, OPT_NET },
	{ "transport", required_argument, NULL, 'r' },
	{ "io-size", required_argument, NULL, 'o' },
	{ "time", required_argument, NULL, 't' },
	{ "core-mask", required_argument, NULL, 'c' },
	{ "burst", required_argument, NULL, OPT_BURST },
	{ "ring-size", required_argument, NULL, OPT_RING },
	{ "prime", required_argument, NULL, OPT_PRIME },
	{ "dst-mac", required_argument, NULL, OPT_DST_MAC },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "interrupt-mode", no_argument, NULL, OPT_NET_INTR },
	{ "rate", required_argument, NULL, OPT_NET_RATE },
	{ "help", no_argument, NULL, 'h' },
	/* NVMe-only: named in the refusal */
	{ "io-depth", required_argument, NULL, OPT_NVME_ONLY },
	{ "io-pattern", required_argument, NULL, OPT_NVME_ONLY },
	{ "rwmixread", required_argument, NULL, OPT_NVME_ONLY },
	{ "warmup-time", required_argument, NULL, OPT_NVME_ONLY },
	{ "num-qpairs", required_argument, NULL, OPT_NVME_ONLY },
	{ "enable-sw-latency-tracking", no_argument, NULL, OPT_NVME_ONLY },
	{ "verify", no_argument, NULL, OPT_NVME_ONLY },
	{ "no-shadow-doorbell", no_argument, NULL, OPT_NVME_ONLY },
	{ "shadow-doorbell", required_argument, NULL, OPT_NVME_ONLY },
	{ "doorbell-per-cmd", no_argument, NULL, OPT_NVME_ONLY },
	{ "cpl-batch", required_argument, NULL, OPT_NVME_ONLY },
	{ "seed", required_argument, NULL, OPT_NVME_ONLY },
	{ NULL, 0, NULL, 0 },
};

void perf_net_usage(FILE *out)
{
	fputs("Usage: updk-perf --net txonly|rxonly|fwd [options]\n"
	      "Network benchmark through updk_net_*: frames per second, bits per second and TSC\n"
	      "cycles per packet, each second and at the end. Without -r it runs on two sim:ixgbe\n"
	      "ports wired back to back: txonly and rxonly both send on port 0 and receive and check\n"
	      "on port 1; fwd forwards between the two ports a train of frames each forwarder\n"
	      "sends first (--prime).\n"
	      "\n"
	      "  --net MODE               txonly: send frames with a stream id and sequence number\n"
	      "                           rxonly: count what arrives, check each stream's sequence\n"
	      "                           fwd: swap the MACs of what arrives and send it out of\n"
	      "                           the paired port (0<->1, 2<->3; a port alone: itself)\n"
	      "  -r, --transport ADDR     a port, repeatable: 0000:01:00.0 or a sim: address\n"
	      "                           (sim:ixgbe?name=a,peer=b)\n"
	      "  -o, --io-size BYTES      frame size on the wire with the FCS, 64..1518 (default 64)\n"
	      "      --burst N            packets per receive/transmit burst, 1..512 (default 32)\n"
	      "  -t, --time SEC           seconds to run (default 5)\n"
	      "  -c, --core-mask CORES    cores for poller threads: mask 0x3, list 0,1 or [0-3];\n"
	      "                           tasks (a port's transmit or receive side) go round-robin\n"
	      "                           (default: the first core this process may run on)\n"
	      "      --ring-size N        descriptors per ring, a power of two 64..4096\n"
	      "                           (default: the driver's, 512)\n"
	      "      --prime N            fwd: frames each forwarder sends before forwarding,\n"
	      "                           0..4096 (default 256 on the built-in pair, else 0)\n"
	      "      --dst-mac MAC        txonly destination (default: the paired port's MAC,\n"
	      "                           broadcast for a port alone)\n"
	      "      --interrupt-mode     receive queues sleep when idle, woken by their\n"
	      "                           interrupt (rx_interrupts, docs/interrupts.md)\n"
	      "      --rate PPS           pace the generators: PPS frames a second together\n"
	      "      --json               the result as one JSON object on stdout\n"
	      "      --no-progress        no progress line on stderr each second\n"
	      "  -h, --help               this text\n"
	      "\n"
	      "Gbit/s counts the frame, its FCS, preamble and inter-frame gap (20 bytes): 64-byte\n"
	      "frames at 14.88 Mpps are 10 Gbit/s. Cycles per packet: the pollers' TSC cycles over\n"
	      "the packets their tasks sent, received or forwarded. Ports are promiscuous.\n"
	      "Exit status: 0 done, 1 device or run error, 2 bad arguments, 3 sequence errors.\n",
	      out);
}

static void defaults(struct net_args *a)
{
	memset(a, 0, sizeof(*a));
	a->frame_size = 64;
	a->burst = 32;
	a->time_s = 5;
	a->progress = true;
}

int perf_net_args_parse(int argc, char **argv, struct net_args *a, char *err)
{
	bool mode_given = false, gens;
	uint64_t size;
	char name[64];
	int c, rc = 0;

	defaults(a);
	err[0] = '\0';
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:r:o:t:c:hq:w:M:a:P:L", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_NET:
			if (!strcmp(optarg, "txonly"))
				a->mode = NET_TXONLY;
			else if (!strcmp(optarg, "rxonly"))
				a->mode = NET_RXONLY;
			else if (!strcmp(optarg, "fwd"))
				a->mode = NET_FWD;
			else
				return perf_fail(err, "--net '%s': expected txonly, rxonly or fwd",
						 optarg);
			mode_given = true;
			break;
		case 'r':
			rc = add_port(a, optarg, err);
			break;
		case 'o':
			if (perf_parse_size(optarg, &size) || size < 64 || size > 1518)
				return perf_fail(
					err,
					"-o '%s': expected a frame size in bytes with the FCS, "
					"64 to 1518",
					optarg);
			a->frame_size = (uint32_t)size;
			break;
		case 't':
			rc = perf_flag_u32("-t", optarg, 1, 31536000, &a->time_s, err);
			break;
		case 'c':
			rc = perf_parse_cores(optarg, a->cores, &a->ncores, err);
			a->cores_given = true;
			break;
		case OPT_BURST:
			rc = perf_flag_u32("--burst", optarg, 1, NET_BURST_MAX, &a->burst, err);
			break;
		case OPT_RING:
			rc = perf_flag_u32("--ring-size", optarg, 64, 4096, &a->ring_size, err);
			if (!rc && (a->ring_size & (a->ring_size - 1)))
				return perf_fail(
					err, "--ring-size %u: expected a power of two, 64..4096",
					a->ring_size);
			break;
		case OPT_PRIME:
			rc = perf_flag_u32("--prime", optarg, 0, 4096, &a->prime, err);
			a->prime_given = true;
			break;
		case OPT_DST_MAC:
			rc = parse_mac(optarg, a->dst_mac, err);
			a->dst_mac_given = true;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_NO_PROGRESS:
			a->progress = false;
			break;
		case OPT_NET_INTR:
			a->interrupt_mode = true;
			break;
		case OPT_NET_RATE:
			rc = perf_flag_u32("--rate", optarg, 1, 100000000, &a->rate, err);
			break;
		case 'h':
			a->help = true;
			return 0;
		case 'q':
		case 'w':
		case 'M':
		case 'a':
		case 'P':
		case 'L':
		case OPT_NVME_ONLY:
			return perf_fail(
				err,
				"%s is an NVMe option: --net runs take none (see --net --help)",
				perf_opt_name(argv, optind, c, name, sizeof(name)));
		case ':':
			return perf_fail(err, "%s needs a value (see --net --help)",
					 perf_opt_name(argv, optind, optopt, name, sizeof(name)));
		default:
			return perf_fail(err, "unknown option '%s' (see --net --help)",
					 perf_opt_name(argv, optind, optopt, name, sizeof(name)));
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return perf_fail(err, "unexpected argument '%s': options only (see --net --help)",
				 argv[optind]);
	if (!mode_given)
		return perf_fail(err, "--net needs a mode: txonly, rxonly or fwd");
	if (a->prime_given && a->mode != NET_FWD)
		return perf_fail(err, "--prime is for --net fwd only");
	if (a->dst_mac_given && a->mode != NET_TXONLY && !(a->mode == NET_RXONLY && !a->nports))
		return perf_fail(err, "--dst-mac is for --net txonly only");
	if (!a->nports) {
		a->sim_pair = true;
		strcpy(a->ports[0], NET_SIM_PORT0);
		strcpy(a->ports[1], NET_SIM_PORT1);
		a->nports = 2;
		if (!a->prime_given)
			a->prime = 256;
	}
	if (a->mode == NET_FWD && a->prime > 0 && a->ring_size && a->prime > a->ring_size)
		return perf_fail(err, "--prime %u is more than --ring-size %u holds", a->prime,
				 a->ring_size);
	/* Generators: txonly's, and the built-in pair's sending port in rxonly. */
	gens = a->mode == NET_TXONLY || (a->sim_pair && a->mode == NET_RXONLY);
	if (a->rate && !gens)
		return perf_fail(err, "--rate paces generators: --net txonly, or rxonly on the "
				      "built-in pair (without -r)");
	if (a->interrupt_mode && gens && !a->rate)
		return perf_fail(err, "--interrupt-mode: a generator sending as fast as it can is "
				      "never idle; pace it with --rate PPS");
	return 0;
}
