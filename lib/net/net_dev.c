// SPDX-License-Identifier: BSD-3-Clause
/*
 * The generic NIC device: open by address, pick the driver by PCI ids, check and default the
 * options, and the control-path calls that forward to the driver.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "net"
#include "lib/util/log.h"

#include "lib/net/net_driver.h"
#include "lib/net/pkt_pool.h"

#define RING_DEFAULT 512
#define RING_MIN 64
#define RING_MAX 4096
#define LINK_WAIT_DEFAULT_MS 10000
/* Buffers a device's own pool holds beyond its rings: bursts in flight in the application. */
#define POOL_SLACK 2048
#define POOL_CACHE 256

/*
 * A device's own pool can outlive the device: its buffers may sit in another device's transmit
 * ring (forwarding) or in the application. Such a pool is kept here at close and freed by a
 * later close once every buffer has come back.
 */
struct orphan {
	struct orphan *next;
	struct updk_pktpool *pool;
};
static pthread_mutex_t orphan_lock = PTHREAD_MUTEX_INITIALIZER;
static struct orphan *orphans;

static void release_pool(struct updk_pktpool *pool)
{
	pthread_mutex_lock(&orphan_lock);
	if (pool) {
		struct orphan *o = malloc(sizeof(*o));

		if (o) {
			o->pool = pool;
			o->next = orphans;
			orphans = o;
		} else {
			updk_pktpool_free(
				pool); /* with its warning: better than keeping it forever */
		}
	}
	for (struct orphan **pp = &orphans; *pp;) {
		struct orphan *o = *pp;

		if (updk_pktpool_avail(o->pool) == o->pool->count) {
			*pp = o->next;
			updk_pktpool_free(o->pool);
			free(o);
		} else {
			pp = &o->next;
		}
	}
	pthread_mutex_unlock(&orphan_lock);
}

static int check_ring(const char *addr, const char *what, uint16_t *size)
{
	if (*size == 0)
		*size = RING_DEFAULT;
	if (*size < RING_MIN || *size > RING_MAX || (*size & (*size - 1))) {
		log_err("%s: %s ring size %u: use a power of two from %u to %u", addr, what, *size,
			RING_MIN, RING_MAX);
		return -EINVAL;
	}
	return 0;
}

static int check_opts(const char *addr, const struct updk_net_opts *in, struct updk_net_opts *out)
{
	memset(out, 0, sizeof(*out));
	if (in) {
		if (in->opts_size == 0 || in->opts_size > sizeof(*in)) {
			log_err("%s: updk_net_opts.opts_size is %zu: set it to sizeof(struct "
				"updk_net_opts)",
				addr, in->opts_size);
			return -EINVAL;
		}
		memcpy(out, in, in->opts_size);
	}
	out->opts_size = sizeof(*out);
	if (out->rx_queues == 0)
		out->rx_queues = 1;
	if (out->tx_queues == 0)
		out->tx_queues = 1;
	if (out->rx_queues > UPDK_NET_MAX_QUEUES || out->tx_queues > UPDK_NET_MAX_QUEUES) {
		log_err("%s: %u receive and %u transmit queues asked for: at most %u of each", addr,
			out->rx_queues, out->tx_queues, UPDK_NET_MAX_QUEUES);
		return -EINVAL;
	}
	if (check_ring(addr, "receive", &out->rx_ring_size) ||
	    check_ring(addr, "transmit", &out->tx_ring_size))
		return -EINVAL;
	if (out->link_wait_ms == 0)
		out->link_wait_ms = LINK_WAIT_DEFAULT_MS;
	if (out->rx_intr_usecs > 1022) {
		log_err("%s: rx_intr_usecs %u: at most 1022 (ixgbe's EITR counts 511 steps of 2.048 us)",
			addr, out->rx_intr_usecs);
		return -EINVAL;
	}
	return 0;
}

int updk_net_open(const char *addr, const struct updk_net_opts *opts, struct updk_net_dev **dev)
{
	struct net_dev *nd;
	int rc;

	if (!addr || !dev) {
		log_err("updk_net_open: address and device pointer are required");
		return -EINVAL;
	}
	*dev = NULL;
	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	rc = check_opts(addr, opts, &nd->opts);
	if (rc)
		goto fail;
	rc = updk_pci_open(addr, &nd->pci);
	if (rc)
		goto fail;

	uint16_t vid = updk_pci_vendor_id(nd->pci), did = updk_pci_device_id(nd->pci);

	for (const struct net_driver *const *d = net_drivers; *d; d++)
		if ((*d)->match(vid, did)) {
			nd->drv = *d;
			break;
		}
	if (!nd->drv) {
		log_err("%s: no updk NIC driver for device %04x:%04x (updk drives Intel 82599, "
			"X540 and X550 NICs and virtio-net 1.x, 1af4:1041)",
			addr, vid, did);
		rc = -ENODEV;
		goto fail_pci;
	}

	nd->pool = nd->opts.pool;
	if (!nd->pool) {
		unsigned count = nd->opts.rx_queues * nd->opts.rx_ring_size +
				 nd->opts.tx_queues * nd->opts.tx_ring_size + POOL_SLACK;
		char name[48];

		snprintf(name, sizeof(name), "%s-rx", nd->drv->name);
		nd->own_pool = updk_pktpool_create(name, count, 0, 0, POOL_CACHE,
						   updk_pci_numa_node(nd->pci));
		if (!nd->own_pool) {
			rc = -errno;
			log_err("%s: cannot make the receive buffer pool: pass a pool in "
				"updk_net_opts.pool or make DMA memory available",
				addr);
			goto fail_pci;
		}
		nd->pool = nd->own_pool;
	} else if (nd->pool->buf_len - nd->pool->headroom < 1024) {
		log_err("%s: pool %s has %u bytes of data room: receive needs at least 1024", addr,
			nd->pool->name, nd->pool->buf_len - nd->pool->headroom);
		rc = -EINVAL;
		goto fail_pci;
	}

	snprintf(nd->name, sizeof(nd->name), "%s", updk_pci_name(nd->pci));
	if (nd->opts.rx_interrupts && !nd->drv->rx_intr_arm) {
		log_err("%s: the %s driver has no receive interrupts: open without rx_interrupts",
			addr, nd->drv->name);
		rc = -ENOTSUP;
		goto fail_pool;
	}
	rc = nd->drv->init(nd);
	if (rc)
		goto fail_pool;
	*dev = &nd->pub;
	return 0;

fail_pool:
	updk_pktpool_free(nd->own_pool);
fail_pci:
	updk_pci_close(nd->pci);
fail:
	free(nd);
	return rc < 0 ? rc : -EINVAL;
}

/*
 * Closed devices, newest first. Their rings, buffers and PCI function are gone, but the small
 * struct stays (at most RETIRED_MAX of them) with no queues, so a burst on a closed handle
 * takes the unknown-queue branch every burst already has, and the control calls refuse it:
 * nothing touches freed memory. Older handles are undefined to use, as after free().
 */
#define RETIRED_MAX 64
static pthread_mutex_t retired_lock = PTHREAD_MUTEX_INITIALIZER;
static struct net_dev *retired;
static unsigned nretired;

static void retire(struct net_dev *nd)
{
	struct net_dev **pp, *old = NULL;

	pthread_mutex_lock(&retired_lock);
	nd->retired_next = retired;
	retired = nd;
	if (++nretired > RETIRED_MAX) {
		for (pp = &retired; (*pp)->retired_next; pp = &(*pp)->retired_next)
			;
		old = *pp;
		*pp = NULL;
		nretired--;
	}
	pthread_mutex_unlock(&retired_lock);
	free(old);
}

void updk_net_close(struct updk_net_dev *dev)
{
	if (!dev)
		return;
	struct net_dev *nd = net_dev_of(dev);

	if (nd->closed) {
		log_err("%s: updk_net_close: the device was closed already", nd->name);
		return;
	}
	nd->drv->fini(nd);
	release_pool(nd->own_pool);
	updk_pci_close(nd->pci);
	nd->pci = NULL;
	nd->pool = nd->own_pool = NULL;
	nd->priv = NULL;
	memset(nd->pub.rx, 0, sizeof(nd->pub.rx));
	memset(nd->pub.tx, 0, sizeof(nd->pub.tx));
	nd->pub.n_rxq = nd->pub.n_txq = 0;
	nd->closed = true;
	nd->warned_bad_queue = false;
	retire(nd);
}

const char *updk_net_driver_name(const struct updk_net_dev *dev)
{
	return ((const struct net_dev *)dev)->drv->name;
}

const char *updk_net_name(const struct updk_net_dev *dev)
{
	return ((const struct net_dev *)dev)->name;
}

/*
 * The device, and where the answer goes when @out_name says there is one, must not be NULL,
 * and the device must not be closed: -EINVAL with a line naming the call and what is wrong.
 */
static int check_args(const char *fn, const void *dev, const void *out, const char *out_name)
{
	if (!dev) {
		log_err("%s: the device is NULL: pass one that updk_net_open() gave", fn);
		return -EINVAL;
	}
	if (((const struct net_dev *)dev)->closed) {
		log_err("%s: %s: the device was closed by updk_net_close(): open it again", fn,
			((const struct net_dev *)dev)->name);
		return -EINVAL;
	}
	if (out_name && !out) {
		log_err("%s: %s is NULL: pass where the answer goes", fn, out_name);
		return -EINVAL;
	}
	return 0;
}

void updk_net_mac(const struct updk_net_dev *dev, uint8_t mac[6])
{
	if (check_args(__func__, dev, mac, "mac"))
		return;
	memcpy(mac, ((const struct net_dev *)dev)->mac, 6);
}

int updk_net_link(struct updk_net_dev *dev, struct updk_net_link *link)
{
	if (check_args(__func__, dev, link, "link"))
		return -EINVAL;
	struct net_dev *nd = net_dev_of(dev);

	return nd->drv->link(nd, link);
}

int updk_net_set_promiscuous(struct updk_net_dev *dev, bool on)
{
	if (check_args(__func__, dev, NULL, NULL))
		return -EINVAL;
	struct net_dev *nd = net_dev_of(dev);
	int rc = nd->drv->set_promiscuous(nd, on);

	if (!rc)
		nd->opts.promiscuous = on;
	return rc;
}

int updk_net_stats(struct updk_net_dev *dev, struct updk_net_stats *stats)
{
	if (check_args(__func__, dev, stats, "stats"))
		return -EINVAL;
	struct net_dev *nd = net_dev_of(dev);
	int rc = nd->drv->stats_update(nd, &nd->stats);

	if (rc)
		return rc;
	*stats = nd->stats;
	stats->n_queues = dev->n_rxq > dev->n_txq ? dev->n_rxq : dev->n_txq;
	return 0;
}

int updk_net_stats_reset(struct updk_net_dev *dev)
{
	if (check_args(__func__, dev, NULL, NULL))
		return -EINVAL;
	struct net_dev *nd = net_dev_of(dev);
	int rc = nd->drv->stats_update(nd, &nd->stats);

	memset(&nd->stats, 0, sizeof(nd->stats));
	return rc;
}

uint16_t updk_net_bad_queue(struct updk_net_dev *dev, uint16_t q, bool rx)
{
	struct net_dev *nd = net_dev_of(dev);

	if (!nd->warned_bad_queue) {
		nd->warned_bad_queue = true;
		if (nd->closed)
			log_err("%s: %s burst on a device closed by updk_net_close(): nothing "
				"taken; open it again",
				nd->name, rx ? "receive" : "transmit");
		else
			log_err("%s: %s burst on queue %u, but the device was opened with %u: use "
				"queues 0 to %u",
				nd->name, rx ? "receive" : "transmit", q,
				rx ? dev->n_rxq : dev->n_txq, (rx ? dev->n_rxq : dev->n_txq) - 1);
	}
	return 0;
}
