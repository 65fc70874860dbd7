/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk-perf --net: the network benchmark. txonly generates frames carrying a stream id and a
 * sequence number, rxonly counts what arrives and checks each stream's sequence, fwd swaps the
 * MAC addresses of what arrives and sends it out of the paired port. Ports are opened through
 * updk_net_* only, so any driver serves (ixgbe, virtio-net, sim:ixgbe).
 */
#ifndef UPDK_APPS_PERF_NET_H
#define UPDK_APPS_PERF_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "apps/perf/perf.h"

#define NET_MAX_PORTS 16
#define NET_BURST_MAX 512

/* The built-in pair, wired back to back, used when no -r is given. */
#define NET_SIM_PORT0 "sim:ixgbe?name=perfnet0,peer=perfnet1"
#define NET_SIM_PORT1 "sim:ixgbe?name=perfnet1,peer=perfnet0"

enum net_mode { NET_TXONLY, NET_RXONLY, NET_FWD };

struct net_args {
	enum net_mode mode; /* --net */
	unsigned nports; /* -r, repeatable */
	char ports[NET_MAX_PORTS][PERF_ADDR_MAX];
	bool sim_pair; /* no -r: the built-in back-to-back sim:ixgbe pair */
	uint32_t frame_size; /* -o: bytes on the wire with the FCS, 64..1518 */
	uint32_t burst; /* --burst */
	uint32_t time_s; /* -t */
	unsigned ncores; /* -c */
	uint16_t cores[PERF_MAX_CORES];
	bool cores_given;
	uint32_t ring_size; /* --ring-size: descriptors per ring, 0 the driver's default */
	uint32_t prime; /* --prime: frames each forwarder sends first (fwd) */
	bool prime_given;
	uint8_t dst_mac[6]; /* --dst-mac */
	bool dst_mac_given;
	bool json; /* --json */
	bool progress; /* false with --no-progress */
	bool interrupt_mode; /* --interrupt-mode: receivers sleep on their queue's interrupt */
	uint32_t rate; /* --rate: frames a second the generators send together (0: at once) */
	bool help;
};

/** Whether @argv asks for the network benchmark (an argument "--net" or "--net=MODE"). */
bool perf_net_wanted(int argc, char **argv);

/**
 * Parse a --net command line into *@a. 0, or -EINVAL with a message naming the flag in @err
 * (PERF_ERR_MAX bytes). Touches no device.
 */
int perf_net_args_parse(int argc, char **argv, struct net_args *a, char *err);

/** Print the --net help to @out. */
void perf_net_usage(FILE *out);

/** Name of @m as the command line spells it. */
const char *perf_net_mode_name(enum net_mode m);

/**
 * updk-perf --net: parse, run, report. Returns the exit status: 0 done, 1 device or run error,
 * 2 bad arguments, 3 sequence errors or malformed frames seen by a receiver.
 */
int perf_net_main(int argc, char **argv);

#endif
