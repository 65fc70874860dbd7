// SPDX-License-Identifier: BSD-3-Clause
/*
 * ixgbe receive interrupts, to sleep when idle (docs/interrupts.md; 82599 datasheet §7.3,
 * registers §8.2.3.5). Each receive queue's cause goes to a vector through IVAR, masked until
 * the queue is armed:
 * - MSI-X (a vector per queue, or one for all when the function has fewer): GPIE.MSIX_MODE,
 *   EIAC clears a vector's cause when its message is sent and, with GPIE.EIAME, EIAM masks the
 *   vector then too, so one message per arm; EITR throttles each vector. The masks are
 *   EIMS_EX/EIMC_EX, as the Linux and FreeBSD drivers use them on the 82599.
 * - INTx or MSI (one vector): each queue's cause is its own EICR bit, the one interrupt fires
 *   while any unmasked cause is set.
 * Arming clears the queue's stale cause, unmasks it, then looks at the next descriptor's DD:
 * a frame written back after the look sets the cause of an unmasked vector, which raises it.
 * Not when queues share an MSI-X vector: their cause is one bit, and a later queue's clear
 * could take the cause of a frame the earlier queue's look missed (while EITR holds its
 * message back, say); the stale cause then costs a spurious wake-up at most.
 */
#include <errno.h>

#define LOG_COMPONENT "ixgbe"
#include "lib/util/log.h"

#include <updk/mmio.h>

#include "drivers/ixgbe/ixgbe.h"
#include "drivers/ixgbe/ixgbe_regs.h"
#include "lib/net/net_driver.h"

static void wr(struct ixgbe_dev *dev, uint32_t off, uint32_t val)
{
	updk_pci_reg_write32(dev->pci, 0, off, val);
}

/* Point receive queue @q's cause (IVAR entry) at @alloc, valid. */
static void ivar_rx(struct ixgbe_dev *dev, uint16_t q, unsigned alloc)
{
	uint32_t shift = IXGBE_IVAR_SHIFT(q, 0), off = IXGBE_IVAR(q / 2);
	uint32_t ivar = updk_pci_reg_read32(dev->pci, 0, off);

	ivar &= ~(0xffu << shift);
	ivar |= (alloc | IXGBE_IVAR_ALLOC_VAL) << shift;
	wr(dev, off, ivar);
}

/*
 * A receive queue's vector is its index or 0, so below 16: its cause is one of RTxQ bits 15:0,
 * the only causes EIAC can set to clear on the message (§8.2.3.5 EIAC); EICR_EX(0) and
 * EIMS_EX/EIMC_EX(0) hold them all. More queues would need vectors 16..63 and EICR_EX(1).
 */
_Static_assert(UPDK_NET_MAX_QUEUES <= 16, "receive queue vectors are EIAC's RTxQ bits 15:0");

int ixgbe_rx_intr_setup(struct ixgbe_dev *dev)
{
	struct net_dev *nd = dev->nd;
	uint32_t used = 0;
	int n = net_rx_intr_enable(nd);

	if (n < 0)
		return n;
	dev->intr_msix = updk_pci_irq_type(dev->pci) == UPDK_PCI_IRQ_MSIX;
	dev->intr_shared = dev->intr_msix && updk_pci_irq_count(dev->pci) < dev->n_rxq;
	wr(dev, IXGBE_GPIE,
	   dev->intr_msix ? IXGBE_GPIE_MSIX_MODE | IXGBE_GPIE_PBA_SUPPORT | IXGBE_GPIE_EIAME |
				    IXGBE_GPIE_OCD :
			    0);
	for (uint16_t q = 0; q < dev->n_rxq; q++) {
		/* MSI-X: the vector; otherwise the queue's own EICR bit. */
		unsigned bit = dev->intr_msix ? net_rx_intr_vector(nd, q) : q;

		dev->rxq[q].irq_bit = (uint8_t)bit;
		ivar_rx(dev, q, bit);
		used |= 1u << bit;
		/* EITR throttles the vector (MSI-X: each has its own, §7.3 Interrupt Moderation). */
		if (dev->intr_msix)
			wr(dev, IXGBE_EITR(bit),
			   IXGBE_EITR_INTERVAL(nd->opts.rx_intr_usecs) | IXGBE_EITR_CNT_WDIS);
	}
	/* Everything masked (the reset did; the vectors' bits again to be sure). */
	wr(dev, IXGBE_EIMC_EX(0), used);
	wr(dev, IXGBE_EIMC, used & IXGBE_EIxx_RTXQ);
	if (dev->intr_msix) {
		wr(dev, IXGBE_EIAC, used & IXGBE_EIxx_RTXQ);
		wr(dev, IXGBE_EIAM_EX(0), used);
	}
	return 0;
}

int ixgbe_rx_intr_arm(struct net_dev *nd, uint16_t q)
{
	struct ixgbe_dev *dev = nd->priv;
	struct ixgbe_rxq *rq = &dev->rxq[q];
	uint32_t bit = 1u << rq->irq_bit;

	/* A cause latched while masked (a frame already polled) would fire at once: clear it. */
	if (!dev->intr_shared)
		wr(dev, dev->intr_msix ? IXGBE_EICR_EX(0) : IXGBE_EICR, bit);
	wr(dev, dev->intr_msix ? IXGBE_EIMS_EX(0) : IXGBE_EIMS, bit);
	/* The unmask is out before the descriptor is read. */
	updk_mb();
	return (rq->ring[rq->next].wb.status_err & IXGBE_RXD_STAT_DD) ? 1 : 0;
}

void ixgbe_rx_intr_disarm(struct net_dev *nd, uint16_t q)
{
	struct ixgbe_dev *dev = nd->priv;

	wr(dev, dev->intr_msix ? IXGBE_EIMC_EX(0) : IXGBE_EIMC, 1u << dev->rxq[q].irq_bit);
}
