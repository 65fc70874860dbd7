/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fio file name of an updk namespace. fio splits file names at ':', so the name has none:
 *
 *   trtype=PCIe traddr=0000.01.00.0 ns=1      a controller bound to vfio-pci, namespace 1
 *   0000.01.00.0                              the same, the first active namespace
 *   sim.nvme                                  the simulated controller (sim.nvme?ns=2,size=1G)
 *
 * Words are separated by blanks, in any order; an address's ':' may also be written '.', or
 * escaped as fio allows ("0000\:01\:00.0" reaches the engine as "0000:01:00.0").
 */
#ifndef UPDK_FIO_FILENAME_H
#define UPDK_FIO_FILENAME_H

#include <stddef.h>
#include <stdint.h>

/** Longest updk address the engine takes, NUL included. */
#define FU_ADDR_MAX 256

/** What a file name names. */
struct fu_target {
	/** As updk_nvme_ctrlr_open() takes it: "0000:01:00.0", "sim:nvme?ns=2". */
	char addr[FU_ADDR_MAX];
	uint32_t nsid; /**< 0: the controller's first active namespace */
};

/**
 * Parse @name into *@t. Returns 0, or -EINVAL with a message naming the word at fault and what
 * is accepted in @err (@errlen bytes).
 */
int fu_parse_filename(const char *name, struct fu_target *t, char *err, size_t errlen);

#endif
