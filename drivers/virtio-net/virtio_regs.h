/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Virtio 1.1 constants for the modern PCI transport and the network device. Sections are of
 * the virtio 1.1 specification (OASIS, 2019); 1.2 keeps the same values.
 */
#ifndef UPDK_VIRTIO_NET_VIRTIO_REGS_H
#define UPDK_VIRTIO_NET_VIRTIO_REGS_H

/* §4.1.2.1: PCI vendor 0x1af4, device 0x1040 + device type; network is type 1 (§5). */
#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_NET_MODERN 0x1041

/* §2.1: device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* §6: reserved (transport-independent) feature bits. */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33

/* §5.1.3: network device feature bits. */
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18
#define VIRTIO_NET_F_MQ 22
#define VIRTIO_NET_F_SPEED_DUPLEX 63

/* §4.1.4: virtio structure PCI capabilities (vendor-specific, id 0x09). */
#define VIRTIO_PCI_CAP_ID 0x09
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
/* struct virtio_pci_cap: cap_vndr, cap_next, cap_len, cfg_type, bar, padding[3], offset, length */
#define VIRTIO_PCI_CAP_CFG_TYPE 3
#define VIRTIO_PCI_CAP_BAR 4
#define VIRTIO_PCI_CAP_OFFSET 8
#define VIRTIO_PCI_CAP_LENGTH 12
#define VIRTIO_PCI_CAP_LEN 16
/* §4.1.4.4: struct virtio_pci_notify_cap adds notify_off_multiplier after the 16 bytes. */
#define VIRTIO_PCI_NOTIFY_CAP_MULT 16
#define VIRTIO_PCI_NOTIFY_CAP_LEN 20

/* §4.1.4.3: struct virtio_pci_common_cfg, offsets and natural widths. */
#define VIRTIO_COMMON_DFSELECT 0x00 /* le32 device_feature_select */
#define VIRTIO_COMMON_DF 0x04 /* le32 device_feature (RO) */
#define VIRTIO_COMMON_GFSELECT 0x08 /* le32 driver_feature_select */
#define VIRTIO_COMMON_GF 0x0c /* le32 driver_feature */
#define VIRTIO_COMMON_MSIX 0x10 /* le16 msix_config */
#define VIRTIO_COMMON_NUMQ 0x12 /* le16 num_queues (RO) */
#define VIRTIO_COMMON_STATUS 0x14 /* u8 device_status */
#define VIRTIO_COMMON_CFGGEN 0x15 /* u8 config_generation (RO) */
#define VIRTIO_COMMON_Q_SELECT 0x16 /* le16 queue_select */
#define VIRTIO_COMMON_Q_SIZE 0x18 /* le16 queue_size */
#define VIRTIO_COMMON_Q_MSIX 0x1a /* le16 queue_msix_vector */
#define VIRTIO_COMMON_Q_ENABLE 0x1c /* le16 queue_enable */
#define VIRTIO_COMMON_Q_NOFF 0x1e /* le16 queue_notify_off (RO) */
#define VIRTIO_COMMON_Q_DESCLO 0x20 /* le64 queue_desc */
#define VIRTIO_COMMON_Q_DESCHI 0x24
#define VIRTIO_COMMON_Q_AVAILLO 0x28 /* le64 queue_driver */
#define VIRTIO_COMMON_Q_AVAILHI 0x2c
#define VIRTIO_COMMON_Q_USEDLO 0x30 /* le64 queue_device */
#define VIRTIO_COMMON_Q_USEDHI 0x34
#define VIRTIO_COMMON_CFG_LEN 0x38
/* §4.1.5.1.2: "no vector" for msix_config and queue_msix_vector. */
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* §5.1.4: struct virtio_net_config. */
#define VIRTIO_NET_CFG_MAC 0 /* u8 mac[6] (VIRTIO_NET_F_MAC) */
#define VIRTIO_NET_CFG_STATUS 6 /* le16 status (VIRTIO_NET_F_STATUS) */
#define VIRTIO_NET_CFG_MAX_PAIRS 8 /* le16 max_virtqueue_pairs (VIRTIO_NET_F_MQ) */
#define VIRTIO_NET_CFG_SPEED 12 /* le32 speed in Mb/s (VIRTIO_NET_F_SPEED_DUPLEX) */
#define VIRTIO_NET_S_LINK_UP 1u
#define VIRTIO_NET_SPEED_UNKNOWN 0xffffffffu
/* §5.1.4: max_virtqueue_pairs range. */
#define VIRTIO_NET_MQ_PAIRS_MIN 1
#define VIRTIO_NET_MQ_PAIRS_MAX 0x8000

/*
 * §5.1.6: struct virtio_net_hdr. With VIRTIO_F_VERSION_1 num_buffers is always present, so the
 * header is 12 bytes whether or not MRG_RXBUF is negotiated.
 */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type; /* VIRTIO_NET_HDR_GSO_NONE = 0 */
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers; /* receive: buffers this frame spans; transmit: 0 */
};
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio 1.1 §5.1.6: 12-byte header");

/* §5.1.6.5: control virtqueue classes, commands and acks. */
#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1
#define VIRTIO_NET_CTRL_RX 0 /* §5.1.6.5.1, VIRTIO_NET_F_CTRL_RX */
#define VIRTIO_NET_CTRL_RX_PROMISC 0
#define VIRTIO_NET_CTRL_MQ 4 /* §5.1.6.5.5, VIRTIO_NET_F_MQ */
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0

#endif
