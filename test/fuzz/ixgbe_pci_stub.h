/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one register read drivers/ixgbe/ixgbe_rxtx.c makes outside its rings: LINKS, once a full
 * transmit ring has stalled for its stall time (which the targets set beyond reach). A fuzz
 * target has no device behind it: the link is up.
 */
#ifndef UPDK_TEST_FUZZ_IXGBE_PCI_STUB_H
#define UPDK_TEST_FUZZ_IXGBE_PCI_STUB_H

#include <stdint.h>

#include "drivers/ixgbe/ixgbe_regs.h"

uint32_t updk_pci_reg_read32(struct updk_pci_dev *dev, int bar, uint32_t off)
{
	return off == IXGBE_LINKS ? IXGBE_LINKS_UP : 0;
}

#endif
