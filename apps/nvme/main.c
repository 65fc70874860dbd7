// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvme: nvme-cli's subcommands and option names on a controller driven by updk, named by
 * its PCI address (bound to vfio-pci) or "sim:nvme?..." instead of /dev/nvmeX.
 */
#include <stdio.h>
#include <string.h>

#include "apps/nvme/tool.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "list", cmd_list, "controllers bound to vfio-pci and their namespaces" },
	{ "id-ctrl", cmd_id_ctrl, "Identify Controller" },
	{ "id-ns", cmd_id_ns, "Identify Namespace" },
	{ "read", cmd_read, "read blocks to a file or stdout" },
	{ "write", cmd_write, "write blocks from a file or stdin" },
	{ "compare", cmd_compare, "compare blocks with a file or stdin" },
	{ "flush", cmd_flush, "flush the volatile write cache" },
	{ "write-zeroes", cmd_write_zeroes, "zero a range of blocks" },
	{ "dsm", cmd_dsm, "deallocate ranges (Dataset Management)" },
	{ "smart-log", cmd_smart_log, "SMART / Health Information log" },
	{ "error-log", cmd_error_log, "Error Information log" },
	{ "get-feature", cmd_get_feature, "Get Features" },
	{ "reset", cmd_reset, "reset the controller" },
	{ "zns", cmd_zns, "Zoned Namespace commands (updk-nvme zns help)" },
	{ "discover", cmd_discover, "the Discovery log of an NVMe/TCP target (-t tcp -a ADDR)" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: updk-nvme COMMAND DEVICE [OPTIONS]\n\n"
		"DEVICE is a PCI address bound to vfio-pci (0000:01:00.0; scripts/setup.sh bind)\n"
		"or a simulated controller (sim:nvme?ns=2,size=1G,lba=4096,mdts=5), or an NVMe/TCP\n"
		"subsystem: 'trtype:TCP traddr:192.0.2.10 trsvcid:4420 subnqn:NQN'.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-14s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f,
		"\nupdk-nvme COMMAND --help shows a command's options. Logging: UPDK_LOG=debug.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "updk-nvme: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
