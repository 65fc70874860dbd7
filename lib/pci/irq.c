// SPDX-License-Identifier: BSD-3-Clause
/*
 * Interrupt vectors of an open device, backend-independent: the choice of kind (MSI-X, else
 * MSI, else INTx), one eventfd per vector, acknowledging and unmasking, and the release at
 * close. The backend binds the eventfds: VFIO_DEVICE_SET_IRQS for vfio, the model for sim,
 * which then raises a vector by writing the same eventfd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#define LOG_COMPONENT "pci"
#include "lib/pci/backend.h"
#include "lib/util/log.h"

/* The order in which kinds are tried: one message per vector beats a shared level line. */
static const enum updk_pci_irq_type try_order[] = { UPDK_PCI_IRQ_MSIX, UPDK_PCI_IRQ_MSI,
						    UPDK_PCI_IRQ_INTX };

const char *updk_pci_irq_type_name(enum updk_pci_irq_type type)
{
	switch (type) {
	case UPDK_PCI_IRQ_INTX:
		return "INTx";
	case UPDK_PCI_IRQ_MSI:
		return "MSI";
	case UPDK_PCI_IRQ_MSIX:
		return "MSI-X";
	default:
		return "none";
	}
}

int updk_pci_irq_info(struct updk_pci_dev *dev, enum updk_pci_irq_type type,
		      struct updk_pci_irq_info *info)
{
	if (!dev || !info || type < UPDK_PCI_IRQ_INTX || type > UPDK_PCI_IRQ_MSIX)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	if (!dev->ops->irq_info)
		return 0;
	return dev->ops->irq_info(dev, type, info);
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void log_fd_limit(const struct updk_pci_dev *dev, unsigned i, unsigned n, int err)
{
	struct rlimit rl;

	if (err == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_err("%s: cannot create the eventfd of interrupt vector %u of %u: the process "
			"has reached its open-file limit (ulimit -n is %llu): raise it, or ask for "
			"fewer vectors; polled mode still works",
			dev->name, i, n, (unsigned long long)rl.rlim_cur);
	else if (err == ENFILE)
		log_err("%s: cannot create the eventfd of interrupt vector %u of %u: the system's "
			"open-file limit is reached (sysctl fs.file-max); polled mode still works",
			dev->name, i, n);
	else
		log_err("%s: cannot create the eventfd of interrupt vector %u of %u: %s", dev->name,
			i, n, strerror(err));
}

/* Open @n non-blocking eventfds into @fds, or none at all. */
static int open_fds(const struct updk_pci_dev *dev, int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		fds[i] = -1;
	for (unsigned i = 0; i < n; i++) {
		fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (fds[i] < 0) {
			int err = errno;

			log_fd_limit(dev, i, n, err);
			close_fds(fds, i);
			return -err;
		}
	}
	return 0;
}

/* Log what each allowed kind offers when none offers @min vectors. */
static void log_too_few(const struct updk_pci_dev *dev, unsigned min, unsigned types,
			const unsigned offered[4])
{
	char list[128] = "";
	unsigned best = 0;
	size_t len = 0;

	for (unsigned i = 0; i < 3; i++) {
		enum updk_pci_irq_type t = try_order[i];

		if (!(types & UPDK_PCI_IRQ_BIT(t)))
			continue;
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s %u", len ? ", " : "",
					updk_pci_irq_type_name(t), offered[t]);
		if (offered[t] > best)
			best = offered[t];
	}
	if (!best)
		log_err("%s offers no interrupts of the kinds asked for (%s): use polled mode",
			dev->name, list);
	else
		log_err("%s: %u interrupt vectors asked for, the function offers %s: ask for at "
			"most %u (fewer queues in interrupt mode), or use polled mode",
			dev->name, min, list, best);
}

int updk_pci_irq_enable(struct updk_pci_dev *dev, unsigned min, unsigned max, unsigned types)
{
	unsigned offered[4] = { 0 };
	int err = -ENOSPC;

	if (!dev || !min || min > max || !(types & UPDK_PCI_IRQ_ANY)) {
		log_err("%s: interrupt vectors: %u to %u of kinds 0x%x is not a valid request",
			dev ? dev->name : "(null)", min, max, types);
		return -EINVAL;
	}
	pthread_mutex_lock(&dev->irq_lock);
	if (dev->irq_type != UPDK_PCI_IRQ_NONE) {
		log_err("%s: %s interrupts are enabled already: disable them first", dev->name,
			updk_pci_irq_type_name(dev->irq_type));
		err = -EBUSY;
		goto out;
	}
	for (unsigned i = 0; i < 3; i++) {
		enum updk_pci_irq_type t = try_order[i];
		struct updk_pci_irq_info info = { 0 };
		unsigned n;
		int *fds;

		if (!(types & UPDK_PCI_IRQ_BIT(t)) || !dev->ops->irq_info ||
		    dev->ops->irq_info(dev, t, &info) || !info.count)
			continue;
		offered[t] = info.count;
		if (info.count < min)
			continue;
		n = info.count < max ? info.count : max;
		fds = malloc(n * sizeof(*fds));
		if (!fds) {
			err = -ENOMEM;
			goto out;
		}
		err = open_fds(dev, fds, n);
		if (err) {
			free(fds);
			goto out; /* another kind would meet the same limit */
		}
		err = dev->ops->irq_set(dev, t, n, fds);
		if (err) {
			/* The backend said why; the next kind may still work. */
			close_fds(fds, n);
			free(fds);
			log_warn("%s: enabling %u %s vectors failed (%s); trying the next kind",
				 dev->name, n, updk_pci_irq_type_name(t), strerror(-err));
			continue;
		}
		dev->irq_type = t;
		dev->irq_count = n;
		dev->irq_fds = fds;
		dev->irq_automasked = info.automasked;
		log_debug("%s: %u %s vector(s) enabled", dev->name, n, updk_pci_irq_type_name(t));
		err = (int)n;
		goto out;
	}
	if (err == -ENOSPC)
		log_too_few(dev, min, types, offered);
out:
	pthread_mutex_unlock(&dev->irq_lock);
	return err;
}

enum updk_pci_irq_type updk_pci_irq_type(const struct updk_pci_dev *dev)
{
	return dev->irq_type;
}

unsigned updk_pci_irq_count(const struct updk_pci_dev *dev)
{
	return dev->irq_count;
}

int updk_pci_irq_fd(const struct updk_pci_dev *dev, unsigned vector)
{
	if (!dev || vector >= dev->irq_count)
		return -EINVAL;
	return dev->irq_fds[vector];
}

int64_t updk_pci_irq_ack(struct updk_pci_dev *dev, unsigned vector)
{
	uint64_t n = 0;

	if (vector >= dev->irq_count) {
		log_err("%s: interrupt vector %u is not enabled (%u %s vectors are)", dev->name,
			vector, dev->irq_count, updk_pci_irq_type_name(dev->irq_type));
		return -EINVAL;
	}
	if (read(dev->irq_fds[vector], &n, sizeof(n)) != sizeof(n)) {
		if (errno != EAGAIN)
			return -errno;
		return 0;
	}
	/*
	 * INTx is level-triggered: the kernel masked the line when it fired (VFIO's AUTOMASKED)
	 * and it stays masked until unmasked. It fired only if the count is non-zero, so there is
	 * nothing to unmask otherwise.
	 */
	if (dev->irq_automasked) {
		int err = dev->ops->irq_mask(dev, dev->irq_type, vector, false);

		if (err)
			return err;
	}
	return n > INT64_MAX ? INT64_MAX : (int64_t)n;
}

int updk_pci_irq_mask(struct updk_pci_dev *dev, unsigned vector, bool mask)
{
	if (vector >= dev->irq_count) {
		log_err("%s: interrupt vector %u is not enabled (%u %s vectors are)", dev->name,
			vector, dev->irq_count, updk_pci_irq_type_name(dev->irq_type));
		return -EINVAL;
	}
	return dev->ops->irq_mask(dev, dev->irq_type, vector, mask);
}

void pci_irq_release(struct updk_pci_dev *dev)
{
	pthread_mutex_lock(&dev->irq_lock);
	if (dev->irq_type != UPDK_PCI_IRQ_NONE) {
		/* Unbound before closed: no signal may reach a closed (or reused) fd number. */
		dev->ops->irq_set(dev, dev->irq_type, 0, NULL);
		close_fds(dev->irq_fds, dev->irq_count);
		free(dev->irq_fds);
		log_debug("%s: %s interrupts disabled", dev->name,
			  updk_pci_irq_type_name(dev->irq_type));
	}
	dev->irq_type = UPDK_PCI_IRQ_NONE;
	dev->irq_count = 0;
	dev->irq_fds = NULL;
	dev->irq_automasked = false;
	pthread_mutex_unlock(&dev->irq_lock);
}

void updk_pci_irq_disable(struct updk_pci_dev *dev)
{
	if (dev)
		pci_irq_release(dev);
}
