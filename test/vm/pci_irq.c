// SPDX-License-Identifier: BSD-3-Clause
/*
 * lib/pci's interrupt vectors on a real function through vfio-pci (QEMU's NVMe, 00:05.0): what
 * VFIO_DEVICE_GET_IRQ_INFO reports, MSI-X vectors that the guest's kernel allocates (they show
 * in /proc/interrupts as vfio-msix[N](BDF)) and frees again on disable and on close, INTx with
 * its unmask, MSI-X masking refused, and a request for more vectors than offered refused with
 * the device named.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <updk/pci.h>

#include "test/vm/vm_util.h"

static const char *bdf;

static void give_back(void)
{
	if (bdf)
		vm_bind(bdf, "nvme");
}

TestSuite(pci_irq, .timeout = 120, .fini = give_back);

static struct updk_pci_dev *open_nvme2(void)
{
	struct updk_pci_dev *dev;

	bdf = vm_env("UPDK_VM_NVME2");
	vm_bind(bdf, "vfio-pci");
	cr_assert_eq(updk_pci_open(bdf, &dev), 0, "open %s", bdf);
	cr_assert_eq(updk_pci_enable(dev, true), 0);
	return dev;
}

/* Lines of /proc/interrupts naming @kind ("vfio-msix", "vfio-intx") and the device. */
static int proc_vectors(const char *kind)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char line[4096], want[64];
	int n = 0;

	cr_assert_not_null(f);
	snprintf(want, sizeof(want), "(%s)", bdf);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, kind) && strstr(line, want))
			n++;
	fclose(f);
	return n;
}

Test(pci_irq, msix_vectors_allocated_and_freed)
{
	struct updk_pci_dev *dev = open_nvme2();
	struct updk_pci_irq_info msix, intx;

	cr_assert_eq(updk_pci_irq_info(dev, UPDK_PCI_IRQ_MSIX, &msix), 0);
	cr_assert_eq(updk_pci_irq_info(dev, UPDK_PCI_IRQ_INTX, &intx), 0);
	cr_assert_geq(msix.count, 8, "QEMU's NVMe offers 65 MSI-X vectors (msix_qsize)");
	cr_assert(!msix.maskable, "vfio-pci does not mask MSI-X");
	cr_assert(intx.count == 1 && intx.maskable && intx.automasked);
	cr_assert_eq(proc_vectors("vfio-msix"), 0);

	cr_assert_eq(updk_pci_irq_enable(dev, 1, 4, UPDK_PCI_IRQ_ANY), 4);
	cr_assert_eq(updk_pci_irq_type(dev), UPDK_PCI_IRQ_MSIX);
	cr_assert_eq(proc_vectors("vfio-msix"), 4, "four vectors in /proc/interrupts");
	cr_assert_eq(updk_pci_irq_ack(dev, 3), 0, "nothing fired yet");
	cr_assert_eq(updk_pci_irq_mask(dev, 0, true), -ENOTSUP);
	updk_pci_irq_disable(dev);
	cr_assert_eq(proc_vectors("vfio-msix"), 0, "freed by disable");

	/* Enabled again, then closed with them enabled: close frees them. */
	cr_assert_eq(updk_pci_irq_enable(dev, 2, 2, UPDK_PCI_IRQ_ANY), 2);
	cr_assert_eq(proc_vectors("vfio-msix"), 2);
	updk_pci_close(dev);
	cr_assert_eq(proc_vectors("vfio-msix"), 0, "freed by close");
}

Test(pci_irq, intx_when_msix_is_not_allowed)
{
	struct updk_pci_dev *dev = open_nvme2();

	/* QEMU's NVMe has no MSI capability: MSI or INTx gives INTx. */
	cr_assert_eq(updk_pci_irq_enable(dev, 1, 8,
					 UPDK_PCI_IRQ_BIT(UPDK_PCI_IRQ_MSI) |
						 UPDK_PCI_IRQ_BIT(UPDK_PCI_IRQ_INTX)),
		     1);
	cr_assert_eq(updk_pci_irq_type(dev), UPDK_PCI_IRQ_INTX);
	cr_assert_eq(proc_vectors("vfio-intx"), 1);
	cr_assert_eq(updk_pci_irq_mask(dev, 0, true), 0, "VFIO masks INTx");
	cr_assert_eq(updk_pci_irq_mask(dev, 0, false), 0);
	updk_pci_close(dev);
	cr_assert_eq(proc_vectors("vfio-intx"), 0);
}

Test(pci_irq, more_vectors_than_offered_refused)
{
	struct updk_pci_dev *dev = open_nvme2();
	struct updk_pci_irq_info msix;

	cr_assert_eq(updk_pci_irq_info(dev, UPDK_PCI_IRQ_MSIX, &msix), 0);
	cr_assert_eq(updk_pci_irq_enable(dev, msix.count + 1, msix.count + 1, UPDK_PCI_IRQ_ANY),
		     -ENOSPC);
	cr_assert_eq(updk_pci_irq_type(dev), UPDK_PCI_IRQ_NONE);
	cr_assert_eq(proc_vectors("vfio-msix"), 0, "nothing left allocated");
	/* The device still answers. */
	cr_assert_eq(updk_pci_reg_read32(dev, 0, 0x08), 0x00010400, "NVMe VS 1.4.0");
	updk_pci_close(dev);
}
