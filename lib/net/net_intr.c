// SPDX-License-Identifier: BSD-3-Clause
/*
 * Receive interrupts of a NIC (include/updk/net.h, docs/interrupts.md): the vectors of the
 * receive queues (lib/pci), and the fd, ack, arm and disarm calls, which the drivers serve
 * with their own masks (ixgbe's EIMS/EIMC, virtio's notification suppression).
 */
#include <errno.h>

#define LOG_COMPONENT "net"
#include "lib/util/log.h"

#include "lib/net/net_driver.h"

int net_rx_intr_enable(struct net_dev *nd)
{
	unsigned n = nd->opts.rx_queues;
	struct updk_pci_irq_info msix, msi;
	int rc;

	/* A vector per queue where the function has enough; else one that every queue shares. */
	if ((updk_pci_irq_info(nd->pci, UPDK_PCI_IRQ_MSIX, &msix) == 0 && msix.count >= n) ||
	    (updk_pci_irq_info(nd->pci, UPDK_PCI_IRQ_MSI, &msi) == 0 && msi.count >= n))
		rc = updk_pci_irq_enable(nd->pci, n, n,
					 UPDK_PCI_IRQ_BIT(UPDK_PCI_IRQ_MSIX) |
						 UPDK_PCI_IRQ_BIT(UPDK_PCI_IRQ_MSI));
	else
		rc = updk_pci_irq_enable(nd->pci, 1, 1, UPDK_PCI_IRQ_ANY);
	if (rc > 0)
		log_info("%s: %d %s vector(s) for %u receive queue(s)", nd->name, rc,
			 updk_pci_irq_type_name(updk_pci_irq_type(nd->pci)), n);
	return rc;
}

unsigned net_rx_intr_vector(const struct net_dev *nd, uint16_t q)
{
	return updk_pci_irq_count(nd->pci) > q ? q : 0;
}

/* @q of @dev, if it has a receive interrupt; -EINVAL (logged, naming @fn) if not. */
static int check(const char *fn, struct updk_net_dev *dev, uint16_t q)
{
	struct net_dev *nd = net_dev_of(dev);

	if (!dev || nd->closed) {
		log_err("%s: %s device: pass one updk_net_open() gave and did not close", fn,
			dev ? "a closed" : "no");
		return -EINVAL;
	}
	if (q >= dev->n_rxq || updk_pci_irq_count(nd->pci) == 0) {
		log_err("%s: %s: receive queue %u has no interrupt (%u queues; rx_interrupts %s)",
			fn, nd->name, q, dev->n_rxq, nd->opts.rx_interrupts ? "on" : "off");
		return -EINVAL;
	}
	return 0;
}

int updk_net_rx_intr_fd(struct updk_net_dev *dev, uint16_t q)
{
	int rc = check("updk_net_rx_intr_fd", dev, q);
	struct net_dev *nd = net_dev_of(dev);

	return rc ? rc : updk_pci_irq_fd(nd->pci, net_rx_intr_vector(nd, q));
}

int updk_net_rx_intr_ack(struct updk_net_dev *dev, uint16_t q)
{
	int rc = check("updk_net_rx_intr_ack", dev, q);
	struct net_dev *nd = net_dev_of(dev);
	int64_t n;

	if (rc)
		return rc;
	n = updk_pci_irq_ack(nd->pci, net_rx_intr_vector(nd, q));
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

int updk_net_rx_intr_arm(struct updk_net_dev *dev, uint16_t q)
{
	int rc = check("updk_net_rx_intr_arm", dev, q);
	struct net_dev *nd = net_dev_of(dev);

	return rc ? rc : nd->drv->rx_intr_arm(nd, q);
}

void updk_net_rx_intr_disarm(struct updk_net_dev *dev, uint16_t q)
{
	struct net_dev *nd = net_dev_of(dev);

	if (!check("updk_net_rx_intr_disarm", dev, q))
		nd->drv->rx_intr_disarm(nd, q);
}

static int loop_poll(void *arg)
{
	struct net_rx_loop *l = arg;

	return l->poll(l->arg);
}

static int loop_ack(void *arg)
{
	struct net_rx_loop *l = arg;
	int n = updk_net_rx_intr_ack(&l->nd->pub, l->q);

	return n < 0 ? n : 0;
}

static int loop_arm(void *arg)
{
	struct net_rx_loop *l = arg;

	return updk_net_rx_intr_arm(&l->nd->pub, l->q);
}

static void loop_disarm(void *arg)
{
	struct net_rx_loop *l = arg;

	updk_net_rx_intr_disarm(&l->nd->pub, l->q);
}

struct updk_loop_queue updk_net_rx_loop_queue(struct updk_net_dev *dev, uint16_t q,
					      int (*poll)(void *arg), void *arg)
{
	struct updk_loop_queue lq = { .fd = -EINVAL };
	struct net_rx_loop *l;
	int fd = updk_net_rx_intr_fd(dev, q);

	if (fd < 0 || !poll) {
		if (!poll)
			log_err("updk_net_rx_loop_queue: a poll function is required");
		return lq;
	}
	l = &net_dev_of(dev)->rx_loop[q];
	*l = (struct net_rx_loop){ .nd = net_dev_of(dev), .q = q, .poll = poll, .arg = arg };
	return (struct updk_loop_queue){ .fd = fd,
					 .poll = loop_poll,
					 .ack = loop_ack,
					 .arm = loop_arm,
					 .disarm = loop_disarm,
					 .arg = l };
}
