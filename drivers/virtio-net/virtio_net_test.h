/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * drivers/virtio-net test hooks: faults a test asks a real device for. Not for applications.
 */
#ifndef UPDK_VIRTIO_NET_VIRTIO_NET_TEST_H
#define UPDK_VIRTIO_NET_VIRTIO_NET_TEST_H

#include <stdint.h>

#include <updk/net.h>

/*
 * Make transmit queue @txq of the virtio-net device @dev offer the device a chain head outside
 * its descriptor table, and notify it. A virtio 1.x device must not use such an entry; QEMU's
 * answers by setting DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2) and stopping the device's queues.
 * Returns 0, or -EINVAL when @dev is not a virtio-net device or has no queue @txq.
 */
int vnet_test_bad_avail(struct updk_net_dev *dev, uint16_t txq);

#endif
