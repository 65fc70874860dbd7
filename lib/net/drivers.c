// SPDX-License-Identifier: BSD-3-Clause
/*
 * The NIC driver table: one line per driver. It lives here rather than in each driver so that
 * a static link pulls every driver in (nothing else references them by name).
 */
#include "lib/net/net_driver.h"

extern const struct net_driver ixgbe_driver;
extern const struct net_driver virtio_net_driver;

const struct net_driver *const net_drivers[] = {
	&ixgbe_driver,
	&virtio_net_driver,
	NULL,
};
