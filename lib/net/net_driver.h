/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The seam between lib/net and the NIC drivers (drivers/ixgbe, drivers/virtio-net). Internal.
 *
 * updk_net_open() opens the PCI device, picks the first driver in net_drivers[] whose match()
 * accepts the vendor and device id, and calls its init(). The driver resets the device, brings
 * it up, reads the MAC address into nd->mac and fills nd->pub.rx[]/tx[] with its burst
 * functions and queue states. Everything else is a control-path call through the ops below.
 */
#ifndef UPDK_NET_NET_DRIVER_H
#define UPDK_NET_NET_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include <updk/net.h>
#include <updk/pci.h>

struct net_dev;

struct net_driver {
	const char *name;
	/* True if this driver drives the function with these ids. */
	bool (*match)(uint16_t vendor_id, uint16_t device_id);
	/*
	 * Bring the device up with nd->opts (already checked and defaulted by lib/net) and
	 * nd->pool. Returns 0 or -errno; on error nothing is left allocated and the device is
	 * left reset.
	 */
	int (*init)(struct net_dev *nd);
	/* Stop the queues, reset the device, free rings and every buffer they hold. */
	void (*fini)(struct net_dev *nd);
	int (*link)(struct net_dev *nd, struct updk_net_link *link);
	int (*set_promiscuous)(struct net_dev *nd, bool on);
	/* Add the device's counters since the last call to *st (which lib/net keeps). */
	int (*stats_update)(struct net_dev *nd, struct updk_net_stats *st);
	/*
	 * Receive interrupts (NULL: the driver has none, and lib/net refuses rx_interrupts). With
	 * nd->opts.rx_interrupts, init() calls net_rx_intr_enable() and points receive queue q's
	 * interrupt at vector net_rx_intr_vector(nd, q), masked, before the queues start.
	 * rx_intr_arm() unmasks queue @q's interrupt, then returns 1 if a packet waits in its
	 * ring, else 0; rx_intr_disarm() masks it.
	 */
	int (*rx_intr_arm)(struct net_dev *nd, uint16_t q);
	void (*rx_intr_disarm)(struct net_dev *nd, uint16_t q);
};

/* A loop queue's state for updk_net_rx_loop_queue(): the queue and the application's poll. */
struct net_rx_loop {
	struct net_dev *nd;
	uint16_t q;
	int (*poll)(void *arg);
	void *arg;
};

struct net_dev {
	struct updk_net_dev pub; /* first: the public handle points here */
	const struct net_driver *drv;
	struct updk_pci_dev *pci;
	struct updk_net_opts opts; /* defaults filled in */
	struct updk_pktpool *pool; /* what the receive rings take buffers from */
	struct updk_pktpool *own_pool; /* made by lib/net when opts.pool was NULL */
	uint8_t mac[6];
	bool warned_bad_queue;
	struct updk_net_stats stats; /* totals; drivers add to them in stats_update */
	void *priv; /* the driver's */
	char name[64]; /* the PCI address or sim: spec, kept past close for the log */
	/* updk_net_close() is done: the struct is kept only to refuse the handle (net_dev.c) */
	bool closed;
	struct net_rx_loop rx_loop[UPDK_NET_MAX_QUEUES]; /* net_intr.c */
	struct net_dev *retired_next;
};

static inline struct net_dev *net_dev_of(struct updk_net_dev *dev)
{
	return (struct net_dev *)dev;
}

/*
 * net_intr.c: enable the vectors for the receive queues (one each with MSI-X or MSI when the
 * function has enough, else one shared): how many, or -errno (logged, naming the device). And
 * the vector of receive queue @q.
 */
int net_rx_intr_enable(struct net_dev *nd);
unsigned net_rx_intr_vector(const struct net_dev *nd, uint16_t q);

/* Every NIC driver updk has, NULL-terminated (lib/net/drivers.c). */
extern const struct net_driver *const net_drivers[];

#endif
