// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio-net's control virtqueue (virtio 1.1 §5.1.6.5): one command at a time, on the control
 * path, as a chain of three buffers in one DMA block: class and command, the command's data,
 * and the ack the device writes (§5.1.6.5, VIRTIO_NET_OK or VIRTIO_NET_ERR). The driver waits
 * for the ack by polling the used ring, bounded by CTRL_TIMEOUT_MS. Commands used: the number
 * of queue pairs with MQ (§5.1.6.5.5), promiscuous mode with CTRL_RX (§5.1.6.5.1).
 */
#include <errno.h>
#include <string.h>

#define LOG_COMPONENT "virtio-net"
#include "lib/util/log.h"

#include <updk/mem.h>
#include <updk/pci.h>

#include "drivers/virtio-net/virtio_net.h"

#define CTRL_TIMEOUT_MS 1000
#define CTRL_QUEUE_SIZE 64
/* ctrl_buf layout: class and command, the command's data, the device's ack. */
#define CTRL_HDR_OFF 0
#define CTRL_DATA_OFF 16
#define CTRL_ACK_OFF 48
#define CTRL_BUF_LEN 64

int vnet_ctrl_setup(struct vnet_dev *dev)
{
	/* §5.1.2: the control queue follows the last possible pair: 2 * max_virtqueue_pairs */
	dev->ctrl_buf =
		updk_dma_zalloc(CTRL_BUF_LEN, 64, updk_pci_numa_node(dev->pci), &dev->ctrl_iova);
	if (!dev->ctrl_buf)
		return -ENOMEM;
	return vnet_vq_setup(dev, &dev->ctrl, (uint16_t)(2 * dev->max_pairs), CTRL_QUEUE_SIZE,
			     VIRTIO_MSI_NO_VECTOR, dev->ctrl_cookie);
}

void vnet_ctrl_free(struct vnet_dev *dev)
{
	if (dev->ctrl.mem)
		updk_dma_free(dev->ctrl.mem);
	updk_dma_free(dev->ctrl_buf);
}

int vnet_ctrl_cmd(struct vnet_dev *dev, uint8_t class, uint8_t cmd, const void *data, uint32_t len)
{
	uint8_t *buf = dev->ctrl_buf;
	struct virtq_buf bufs[3] = {
		{ dev->ctrl_iova + CTRL_HDR_OFF, 2, false },
		{ dev->ctrl_iova + CTRL_DATA_OFF, len, false },
		{ dev->ctrl_iova + CTRL_ACK_OFF, 1, true },
	};
	uint64_t end;
	uint32_t wlen;
	int rc;

	if (!dev->has_ctrl)
		return -ENOTSUP;
	if (len > CTRL_ACK_OFF - CTRL_DATA_OFF)
		return -EINVAL;
	buf[CTRL_HDR_OFF] = class;
	buf[CTRL_HDR_OFF + 1] = cmd;
	memcpy(buf + CTRL_DATA_OFF, data, len);
	buf[CTRL_ACK_OFF] = 0xff;
	rc = virtq_add_chain(&dev->ctrl, bufs, 3, buf);
	if (rc)
		return rc;
	virtq_kick(&dev->ctrl);
	end = now_ms() + CTRL_TIMEOUT_MS;
	while (!virtq_used_pending(&dev->ctrl)) {
		if (now_ms() > end) {
			log_err("%s: no answer to control command %u.%u in %u ms", dname(dev),
				class, cmd, CTRL_TIMEOUT_MS);
			return vnet_check_status(dev) ?: -ETIMEDOUT;
		}
	}
	if (virtq_take_used(&dev->ctrl, &wlen) != buf) {
		log_err("%s: control queue returned an unknown buffer", dname(dev));
		return -EIO;
	}
	if (((volatile uint8_t *)buf)[CTRL_ACK_OFF] != VIRTIO_NET_OK) {
		log_err("%s: the device refused control command %u.%u (ack %u)", dname(dev), class,
			cmd, buf[CTRL_ACK_OFF]);
		return -EIO;
	}
	return 0;
}

int vnet_set_promiscuous(struct net_dev *nd, bool on)
{
	struct vnet_dev *dev = nd->priv;
	uint8_t v = on;

	if (!vnet_has(dev, VIRTIO_NET_F_CTRL_RX)) {
		log_err("%s: the device has no VIRTIO_NET_F_CTRL_RX, so its receive filter cannot "
			"be changed",
			dname(dev));
		return -ENOTSUP;
	}
	/* §5.1.6.5.1: VIRTIO_NET_CTRL_RX_PROMISC with one byte, 0 off, 1 on */
	return vnet_ctrl_cmd(dev, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &v, 1);
}
