// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim:ixgbe itself: what a driver bug looks like to the model. An access to a register it does
 * not know, a write to a read-only one, a descriptor at an unmapped IOVA: each is an error the
 * tests see in sim_ixgbe_errors().
 */
#include <updk/mmio.h>
#include <updk/pci.h>

#include "drivers/ixgbe/ixgbe_regs.h"
#include "test/model/ixgbe_test.h"

TestSuite(ixgbe_model, .init = ixt_setup, .timeout = 30);

Test(ixgbe_model, unknown_and_read_only_registers_are_errors)
{
	struct updk_pci_dev *dev;

	cr_assert_eq(updk_pci_open("sim:ixgbe?name=m1", &dev), 0);
	cr_assert_eq(sim_ixgbe_errors(), 0);
	(void)updk_pci_reg_read32(dev, 0, 0x0000c); /* reserved */
	cr_assert_eq(sim_ixgbe_errors(), 1);
	updk_pci_reg_write32(dev, 0, IXGBE_LINKS, 0); /* read-only */
	cr_assert_eq(sim_ixgbe_errors(), 2);
	updk_pci_reg_write32(dev, 0, IXGBE_GPRC, 0); /* a counter */
	cr_assert_eq(sim_ixgbe_errors(), 3);
	(void)updk_pci_reg_read32(dev, 0, IXGBE_RDBAL(16)); /* the model has 16 queues */
	cr_assert_eq(sim_ixgbe_errors(), 4);
	/* known registers are fine, and clear-on-read counters read as zero here */
	cr_assert_eq(updk_pci_reg_read32(dev, 0, IXGBE_GPRC), 0);
	cr_assert_eq(updk_pci_reg_read32(dev, 0, IXGBE_EEC) & IXGBE_EEC_ARD, IXGBE_EEC_ARD);
	cr_assert_eq(sim_ixgbe_errors(), 4);
	updk_pci_close(dev);
}

Test(ixgbe_model, reset_side_effects)
{
	struct updk_pci_dev *dev;

	cr_assert_eq(updk_pci_open("sim:ixgbe?name=m2", &dev), 0);
	updk_pci_reg_write32(dev, 0, IXGBE_EIMS, 0x5);
	updk_pci_reg_write32(dev, 0, IXGBE_FCTRL, IXGBE_FCTRL_UPE);
	updk_pci_reg_write32(dev, 0, IXGBE_CTRL, IXGBE_CTRL_RST);
	/* RST reads set once, then clears; ARD and DMAIDONE come after a few reads */
	cr_assert(updk_pci_reg_read32(dev, 0, IXGBE_CTRL) & IXGBE_CTRL_RST);
	cr_assert(!(updk_pci_reg_read32(dev, 0, IXGBE_CTRL) & IXGBE_CTRL_RST));
	cr_assert(!(updk_pci_reg_read32(dev, 0, IXGBE_EEC) & IXGBE_EEC_ARD));
	cr_assert(!(updk_pci_reg_read32(dev, 0, IXGBE_EEC) & IXGBE_EEC_ARD));
	cr_assert(updk_pci_reg_read32(dev, 0, IXGBE_EEC) & IXGBE_EEC_ARD);
	cr_assert_eq(updk_pci_reg_read32(dev, 0, IXGBE_FCTRL), 0, "registers back to reset values");
	cr_assert_eq(updk_pci_reg_read32(dev, 0, IXGBE_EIMS), 0);
	/* link only after AN restart */
	cr_assert_eq(updk_pci_reg_read32(dev, 0, IXGBE_LINKS) & IXGBE_LINKS_UP, 0);
	updk_pci_reg_write32(dev, 0, IXGBE_AUTOC,
			     updk_pci_reg_read32(dev, 0, IXGBE_AUTOC) | IXGBE_AUTOC_AN_RESTART);
	cr_assert(updk_pci_reg_read32(dev, 0, IXGBE_LINKS) & IXGBE_LINKS_UP);
	cr_assert_eq(updk_pci_reg_read32(dev, 0, IXGBE_AUTOC) & IXGBE_AUTOC_AN_RESTART, 0,
		     "AN_RESTART self-clears");
	cr_assert_eq(sim_ixgbe_errors(), 0);
	updk_pci_close(dev);
}

Test(ixgbe_model, descriptor_at_unmapped_iova_is_a_fault)
{
	struct updk_pci_dev *dev;

	cr_assert_eq(updk_pci_open("sim:ixgbe?name=m3", &dev), 0);
	cr_assert_eq(updk_pci_enable(dev, true), 0);
	uint8_t *bar = updk_pci_bar(dev, 0, NULL);

	cr_assert_not_null(bar);
	updk_pci_reg_write32(dev, 0, IXGBE_AUTOC, IXGBE_AUTOC_AN_RESTART);
	updk_pci_reg_write32(dev, 0, IXGBE_DMATXCTL, IXGBE_DMATXCTL_TE);
	updk_pci_reg_write32(dev, 0, IXGBE_TDBAL(0), 0xdead0000); /* nothing mapped there */
	updk_pci_reg_write32(dev, 0, IXGBE_TDBAH(0), 0x7);
	updk_pci_reg_write32(dev, 0, IXGBE_TDLEN(0), 64 * 16);
	updk_pci_reg_write32(dev, 0, IXGBE_TXDCTL(0), IXGBE_TXDCTL_ENABLE);
	updk_mmio_write32(bar + IXGBE_TDT(0), 1);
	double end = ixt_now() + 2;

	while (sim_ixgbe_errors() == 0)
		cr_assert_lt(ixt_now(), end, "the model fetched from an unmapped IOVA silently");
	updk_pci_close(dev);
}
