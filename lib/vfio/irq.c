// SPDX-License-Identifier: BSD-3-Clause
/*
 * A VFIO device's interrupts (include/uapi/linux/vfio.h, VFIO_DEVICE_GET_IRQ_INFO and
 * VFIO_DEVICE_SET_IRQS; Linux drivers/vfio/pci/vfio_pci_intrs.c is the other side). vfio-pci
 * offers three indexes a driver uses: INTx (one vector, level-triggered: the kernel masks it
 * each time it fires until the user unmasks it), MSI and MSI-X (edge: every message is one
 * increment of the vector's eventfd). Only one of them is enabled at a time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lib/vfio/uapi.h"

#define LOG_COMPONENT "vfio"
#include "lib/util/log.h"
#include "lib/vfio/vfio.h"

static const char *index_name(unsigned index)
{
	static const char *const names[] = { "INTx", "MSI", "MSI-X", "ERR", "REQ" };

	return index < sizeof(names) / sizeof(names[0]) ? names[index] : "?";
}

int vfio_dev_irq(struct vfio_dev *dev, unsigned index, struct vfio_irq_desc *out)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = index };
	struct vfio_dev_desc desc;

	vfio_dev_desc(dev, &desc);
	if (index >= desc.num_irqs)
		return -EINVAL;
	if (ioctl(vfio_dev_fd(dev), VFIO_DEVICE_GET_IRQ_INFO, &info) != 0) {
		int rc = -errno;

		log_err("%s: VFIO_DEVICE_GET_IRQ_INFO(%s): %s", vfio_dev_name(dev),
			index_name(index), strerror(-rc));
		return rc;
	}
	out->index = index;
	out->flags = info.flags;
	out->count = info.count;
	return 0;
}

int vfio_dev_irq_set(struct vfio_dev *dev, unsigned index, unsigned start, unsigned count,
		     const int *fds)
{
	size_t size = sizeof(struct vfio_irq_set) + (size_t)count * sizeof(int32_t);
	struct vfio_irq_set *set;
	int rc = 0;

	if (!count || start + count < start)
		return -EINVAL;
	set = calloc(1, size);
	if (!set)
		return -ENOMEM;
	set->argsz = (uint32_t)size;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = index;
	set->start = start;
	set->count = count;
	for (unsigned i = 0; i < count; i++) {
		int32_t fd = fds[i];

		memcpy(set->data + i * sizeof(fd), &fd, sizeof(fd));
	}
	if (ioctl(vfio_dev_fd(dev), VFIO_DEVICE_SET_IRQS, set) != 0) {
		rc = -errno;
		if (rc == -ENOSPC)
			log_err("%s: the kernel could not allocate %u %s vector(s) (host "
				"interrupt vectors exhausted?): ask for fewer",
				vfio_dev_name(dev), count, index_name(index));
		else
			log_err("%s: VFIO_DEVICE_SET_IRQS(%s, vectors %u-%u): %s",
				vfio_dev_name(dev), index_name(index), start, start + count - 1,
				strerror(-rc));
	}
	free(set);
	return rc;
}

int vfio_dev_irq_disable(struct vfio_dev *dev, unsigned index)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = index,
	};

	if (ioctl(vfio_dev_fd(dev), VFIO_DEVICE_SET_IRQS, &set) != 0) {
		int rc = -errno;

		log_err("%s: disabling %s interrupts (VFIO_DEVICE_SET_IRQS): %s",
			vfio_dev_name(dev), index_name(index), strerror(-rc));
		return rc;
	}
	return 0;
}

int vfio_dev_irq_mask(struct vfio_dev *dev, unsigned index, unsigned vector, bool mask)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE |
			 (mask ? VFIO_IRQ_SET_ACTION_MASK : VFIO_IRQ_SET_ACTION_UNMASK),
		.index = index,
		.start = vector,
		.count = 1,
	};

	if (ioctl(vfio_dev_fd(dev), VFIO_DEVICE_SET_IRQS, &set) != 0) {
		int rc = -errno;

		/* vfio-pci has no mask action for MSI and MSI-X: ENOTTY (or EINVAL). */
		if (index != VFIO_DEV_IRQ_INTX && (rc == -ENOTTY || rc == -EINVAL)) {
			log_err("%s: VFIO cannot %s %s vectors: mask the interrupt in the device "
				"instead",
				vfio_dev_name(dev), mask ? "mask" : "unmask", index_name(index));
			return -ENOTSUP;
		}
		log_err("%s: %s %s vector %u (VFIO_DEVICE_SET_IRQS): %s", vfio_dev_name(dev),
			mask ? "masking" : "unmasking", index_name(index), vector, strerror(-rc));
		return rc;
	}
	return 0;
}
