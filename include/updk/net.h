/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk network devices: packet buffers and the generic NIC that poll-mode drivers (ixgbe,
 * virtio-net) fill in.
 *
 * A packet is one buffer from a pool of DMA memory: a 64-byte header (struct updk_pkt), then the
 * buffer itself, whose data starts after a headroom at a cache-line boundary. The IOVA of every
 * buffer is computed once when the pool is made, so no packet is ever translated on the data
 * path.
 *
 * A device is opened by address ("0000:01:00.0", "sim:ixgbe?name=a,peer=b") and the driver is
 * chosen by vendor and device id. Each queue is owned by one thread; updk_net_rx_burst() and
 * updk_net_tx_burst() are inline calls through a per-queue table straight into the driver's ring
 * code, with no locks, system calls or allocation other than the pool's.
 */
#ifndef UPDK_NET_H
#define UPDK_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <updk/loop.h>

/** Size of struct updk_pkt: the buffer follows it at this offset. */
#define UPDK_PKT_HDR_SIZE 64
/** Default headroom in front of received data (a multiple of 64). */
#define UPDK_PKT_HEADROOM 128
/** Default data room after the headroom: one standard frame (1518 bytes) and change. */
#define UPDK_PKT_DATA_ROOM 2048

/* Receive offload results in updk_pkt.flags, set by the driver. */
/** The device checked the IPv4 header checksum and it is good. */
#define UPDK_PKT_RX_IP_CKSUM_GOOD (1u << 0)
/** The device checked the IPv4 header checksum and it is bad. */
#define UPDK_PKT_RX_IP_CKSUM_BAD (1u << 1)
/** The device checked the TCP/UDP checksum and it is good. */
#define UPDK_PKT_RX_L4_CKSUM_GOOD (1u << 2)
/** The device checked the TCP/UDP checksum and it is bad. */
#define UPDK_PKT_RX_L4_CKSUM_BAD (1u << 3)
/** updk_pkt.rss_hash holds the device's RSS hash of the flow. */
#define UPDK_PKT_RX_RSS_HASH (1u << 4)

/* Transmit offload requests in updk_pkt.flags, set by the application with l2_len/l3_len. */
/** Fill in the IPv4 header checksum. */
#define UPDK_PKT_TX_IP_CKSUM (1u << 8)
/**
 * Fill in the TCP checksum: the checksum field must hold the IPv4 pseudo-header sum (not
 * inverted), as for DPDK. IPv4 only in this version.
 */
#define UPDK_PKT_TX_TCP_CKSUM (1u << 9)
/** Fill in the UDP checksum (the field must hold the pseudo-header sum). */
#define UPDK_PKT_TX_UDP_CKSUM (1u << 10)
/** Mask of the transmit offload requests. */
#define UPDK_PKT_TX_OFFLOAD_MASK \
	(UPDK_PKT_TX_IP_CKSUM | UPDK_PKT_TX_TCP_CKSUM | UPDK_PKT_TX_UDP_CKSUM)

struct updk_pktpool;

/**
 * A packet buffer. Exactly 64 bytes; the buffer follows it. Fields the application owns:
 * data_off, len, flags, l2_len, l3_len, user. The rest is fixed when the pool is made. A
 * receive burst sets data_off, len, flags and rss_hash (and rewrites buf_len, unchanged).
 */
struct updk_pkt {
	uint64_t buf_iova; /**< IOVA of the buffer (the byte after this header) */
	struct updk_pktpool *pool; /**< where updk_pkt_free() returns it */
	uint16_t data_off; /**< from the buffer start to the first byte of data */
	uint16_t len; /**< bytes of data */
	uint16_t flags; /**< UPDK_PKT_RX_* (set on receive), UPDK_PKT_TX_* (requests) */
	uint16_t buf_len; /**< bytes in the buffer, headroom included (fixed) */
	uint32_t rss_hash; /**< valid when flags has UPDK_PKT_RX_RSS_HASH */
	uint8_t l2_len; /**< Ethernet header length, for transmit offloads */
	uint8_t l3_len; /**< IP header length, for transmit offloads (IPv4 only) */
	uint16_t reserved16;
	uint64_t user; /**< free for the application */
	uint8_t reserved[24];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct updk_pkt) == UPDK_PKT_HDR_SIZE, "updk_pkt is one cache line");

/** First byte of the packet's data. */
static inline uint8_t *updk_pkt_data(struct updk_pkt *p)
{
	return (uint8_t *)p + UPDK_PKT_HDR_SIZE + p->data_off;
}

/** IOVA of the first byte of the packet's data (what a descriptor carries). */
static inline uint64_t updk_pkt_data_iova(const struct updk_pkt *p)
{
	return p->buf_iova + p->data_off;
}

/** Bytes available after the data: how far len may grow. */
static inline uint16_t updk_pkt_tailroom(const struct updk_pkt *p)
{
	return (uint16_t)(p->buf_len - p->data_off - p->len);
}

/**
 * Make a pool of @count packet buffers with @data_room bytes after a @headroom (0: the defaults
 * UPDK_PKT_DATA_ROOM and UPDK_PKT_HEADROOM; headroom is rounded up to 64) on @numa_node
 * (UPDK_NUMA_ANY for any), with per-thread caches of @cache_size buffers. @name appears in
 * messages. NULL with errno on failure (the log says why).
 */
struct updk_pktpool *updk_pktpool_create(const char *name, unsigned count, unsigned data_room,
					 unsigned headroom, unsigned cache_size, int numa_node);

/** Free a pool whose buffers have all come back (a warning names how many did not). */
void updk_pktpool_free(struct updk_pktpool *pool);

/** Buffers of @pool not in use. */
unsigned updk_pktpool_avail(const struct updk_pktpool *pool);

/**
 * Take @n buffers: data_off = headroom, len = 0, flags = 0. All or none: returns 0 or -ENOBUFS.
 */
int updk_pkt_alloc_bulk(struct updk_pktpool *pool, struct updk_pkt **pkts, unsigned n);

/** One buffer as updk_pkt_alloc_bulk() makes it, or NULL when the pool is empty. */
struct updk_pkt *updk_pkt_alloc(struct updk_pktpool *pool);

/** Give @n buffers back to their pools (they may come from several). */
void updk_pkt_free_bulk(struct updk_pkt *const *pkts, unsigned n);

/** Give one buffer back to its pool. */
void updk_pkt_free(struct updk_pkt *p);

/** Most queues of each direction a device can be opened with. */
#define UPDK_NET_MAX_QUEUES 16

/** Options for updk_net_open(). Zero them, set opts_size = sizeof(opts), then what you need. */
struct updk_net_opts {
	size_t opts_size;
	uint16_t rx_queues; /**< 0: 1. More than one spreads flows by RSS. */
	uint16_t tx_queues; /**< 0: 1 */
	uint16_t rx_ring_size; /**< descriptors per receive ring; 0: 512 (a power of two) */
	uint16_t tx_ring_size; /**< descriptors per transmit ring; 0: 512 (a power of two) */
	bool promiscuous; /**< accept every frame, not only ours and broadcast */
	/**
	 * Buffers for the receive rings. NULL: the device makes its own pool, big enough for its
	 * rings and a few bursts in flight; it is freed at close.
	 */
	struct updk_pktpool *pool;
	/**
	 * Honour the UPDK_PKT_TX_* checksum requests of transmitted packets (a transmit path a
	 * few instructions per packet slower). Without it those flags are ignored. A packet that
	 * asks for an offload with impossible lengths (l2_len < 14, l3_len < 20, or longer than
	 * the packet) is not taken (counted in tx_errors).
	 */
	bool tx_offload;
	/** Milliseconds to wait for the link at open; 0: 10000. Link down is not an error. */
	unsigned link_wait_ms;
	/**
	 * Receive interrupts, to sleep when idle (updk_net_rx_intr_*() below, docs/interrupts.md):
	 * an interrupt vector per receive queue (MSI-X or MSI; one shared by every queue when the
	 * function has fewer), each queue's interrupt masked until armed. The open fails, naming
	 * the device, when the function offers none, the driver has none, or the open-file limit
	 * is reached: open without to poll.
	 */
	bool rx_interrupts;
	/** With rx_interrupts: at most one interrupt per queue every this many µs (ixgbe's EITR,
	 * rounded up to its 2.048 µs steps, up to 1022; virtio-net has no moderation and ignores
	 * it); 0: none. */
	uint16_t rx_intr_usecs;
};

/** Counters of one queue, as the device counts them. */
struct updk_net_queue_stats {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t rx_dropped; /**< no free descriptor on this queue */
	uint64_t tx_packets;
	uint64_t tx_bytes;
};

/** Device counters since open (or the last updk_net_stats_reset()). */
struct updk_net_stats {
	uint64_t rx_packets; /**< frames delivered into receive rings */
	uint64_t rx_bytes; /**< their bytes, without the Ethernet FCS */
	uint64_t rx_dropped; /**< frames the device dropped: no descriptor or no buffer space */
	uint64_t rx_errors; /**< CRC, length and other receive errors */
	uint64_t tx_packets;
	uint64_t tx_bytes; /**< without the FCS */
	uint64_t tx_errors;
	/** Receive bursts that could not refill the ring (the pool was empty). */
	uint64_t rx_nobuf;
	uint16_t n_queues; /**< how many entries of q[] are valid */
	struct updk_net_queue_stats q[UPDK_NET_MAX_QUEUES];
};

/** Link state. */
struct updk_net_link {
	bool up;
	uint32_t speed_mbps; /**< 0 when down */
};

/* The fast-path part of a device: a per-queue table that the inline bursts dispatch through. */
typedef uint16_t (*updk_net_burst_fn)(void *queue, struct updk_pkt **pkts, uint16_t n);

/** One queue's entry in the table: the driver's burst function and its queue state. */
struct updk_net_fastq {
	updk_net_burst_fn burst;
	void *queue;
};

/**
 * An open device. Only the table at its start is public, for the inline bursts; the rest is
 * the driver's. Use the functions below, never the fields.
 */
struct updk_net_dev {
	struct updk_net_fastq rx[UPDK_NET_MAX_QUEUES];
	struct updk_net_fastq tx[UPDK_NET_MAX_QUEUES];
	uint16_t n_rxq;
	uint16_t n_txq;
};

/**
 * Open the NIC at @addr (a PCI address, or "sim:ixgbe?..."), choose its driver by vendor and
 * device id, reset it, set up @opts (NULL: defaults) and start its queues. Returns 0 with the
 * device in *@dev, or a negative errno with a log line saying what is wrong.
 */
int updk_net_open(const char *addr, const struct updk_net_opts *opts, struct updk_net_dev **dev);

/**
 * Stop the device's queues, reset it, free its rings and the buffers they hold, and close it.
 * A pool the device made itself is freed once all its buffers are back (some may still be in
 * another device's transmit ring). NULL is ignored. For the last 64 devices closed, a call on
 * the closed handle is refused (bursts return 0, the rest -EINVAL, logged) and a second close
 * is only logged.
 */
void updk_net_close(struct updk_net_dev *dev);

/** Name of the driver serving @dev ("ixgbe"). */
const char *updk_net_driver_name(const struct updk_net_dev *dev);

/** The address @dev was opened with. */
const char *updk_net_name(const struct updk_net_dev *dev);

/** The device's MAC address, 6 bytes into @mac (a NULL @dev or @mac is logged, nothing done). */
void updk_net_mac(const struct updk_net_dev *dev, uint8_t mac[6]);

/** Read the link state now. Returns 0 or a negative errno (-EINVAL: @dev or @link NULL). */
int updk_net_link(struct updk_net_dev *dev, struct updk_net_link *link);

/** Turn promiscuous mode on or off. Returns 0 or a negative errno (-EINVAL: @dev NULL). */
int updk_net_set_promiscuous(struct updk_net_dev *dev, bool on);

/**
 * Read the device's counters into *@stats (totals since open or the last reset). Control path:
 * it reads registers, so call it now and then (once a second), not per burst. 0 or -errno
 * (-EINVAL: @dev or @stats NULL).
 */
int updk_net_stats(struct updk_net_dev *dev, struct updk_net_stats *stats);

/** Zero the counters. 0 or -errno (-EINVAL: @dev NULL). */
int updk_net_stats_reset(struct updk_net_dev *dev);

/*
 * Receive interrupts (opts.rx_interrupts). To sleep while receive queue @q is empty: ack its
 * vector (once for queues that share one), arm the queue (0: empty, sleep; 1: a packet waits),
 * wait for the fd in poll(2) or epoll; after the wake-up, disarm and burst again. A packet that
 * came before the arm looked is found by it; one after the ack makes the fd readable. The hybrid
 * loop (<updk/loop.h>) does it with updk_net_rx_loop_queue(). The queue's thread only.
 */

/** The eventfd of receive queue @q's vector, or a negative errno (logged). */
int updk_net_rx_intr_fd(struct updk_net_dev *dev, uint16_t q);

/** Consume what @q's vector counted (and unmask INTx): the count or a negative errno. */
int updk_net_rx_intr_ack(struct updk_net_dev *dev, uint16_t q);

/** Unmask @q's interrupt in the device, then look at its ring: 0 empty, 1 a packet waits, or a
 * negative errno. */
int updk_net_rx_intr_arm(struct updk_net_dev *dev, uint16_t q);

/** Mask @q's interrupt again (interrupts while polling cost a little each). */
void updk_net_rx_intr_disarm(struct updk_net_dev *dev, uint16_t q);

/**
 * Receive queue @q as a queue of the hybrid loop: @poll(@arg) is the application's work (bursts,
 * processing; returns how much it did), ack, arm and disarm the calls above. The fd is
 * negative when @q has no interrupt, and updk_loop_add() refuses it.
 */
struct updk_loop_queue updk_net_rx_loop_queue(struct updk_net_dev *dev, uint16_t q,
					      int (*poll)(void *arg), void *arg);

/* Reports an out-of-range queue on the data path (cold, logs once per device). */
uint16_t updk_net_bad_queue(struct updk_net_dev *dev, uint16_t q, bool rx);

/**
 * Receive up to @n packets from queue @q into @pkts; returns how many (0 for @n 0; never more
 * than the ring holds). The caller owns them and frees or transmits each. Only the thread that
 * owns queue @q may call it. A queue the device was not opened with returns 0 and is logged
 * once. @dev and @pkts are not checked (the data path): a closed device is undefined, as after
 * free().
 */
static inline uint16_t updk_net_rx_burst(struct updk_net_dev *dev, uint16_t q,
					 struct updk_pkt **pkts, uint16_t n)
{
	if (__builtin_expect(q >= dev->n_rxq, 0))
		return updk_net_bad_queue(dev, q, true);
	return dev->rx[q].burst(dev->rx[q].queue, pkts, n);
}

/**
 * Queue up to @n packets from @pkts for sending on queue @q; returns how many it took (the first
 * ones; at most the free room of the ring, 0 for @n 0). Those now belong to the device and go
 * back to their pool once sent; the caller keeps the rest (free them or try again). Only the
 * thread that owns queue @q may call it. A queue the device was not opened with returns 0 and
 * is logged once.
 */
static inline uint16_t updk_net_tx_burst(struct updk_net_dev *dev, uint16_t q,
					 struct updk_pkt **pkts, uint16_t n)
{
	if (__builtin_expect(q >= dev->n_txq, 0))
		return updk_net_bad_queue(dev, q, false);
	return dev->tx[q].burst(dev->tx[q].queue, pkts, n);
}

#endif
