/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What drivers/ixgbe/ixgbe_rxtx.c asks of the PCI device outside its rings, once a full
 * transmit ring has stalled for its stall time (which the targets set beyond reach): its name
 * and LINKS. A fuzz target has no device behind it: the link is up.
 */
#ifndef UPDK_TEST_FUZZ_IXGBE_PCI_STUB_H
#define UPDK_TEST_FUZZ_IXGBE_PCI_STUB_H

#include <stdint.h>

#include "drivers/ixgbe/ixgbe_regs.h"

const char *updk_pci_name(const struct updk_pci_dev *dev)
{
	return "fuzz";
}

uint32_t updk_pci_reg_read32(struct updk_pci_dev *dev, int bar, uint32_t off)
{
	return off == IXGBE_LINKS ? IXGBE_LINKS_UP : 0;
}

#endif
