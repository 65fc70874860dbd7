/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 82599 advanced receive and transmit descriptors (datasheet §7.1.6 and §7.2.3.2), with the
 * encoders and decoders the driver uses and the model checks against. All fields are
 * little-endian; updk runs on little-endian hosts only (x86-64, arm64 LE).
 */
#ifndef UPDK_IXGBE_DESC_H
#define UPDK_IXGBE_DESC_H

#include <stdbool.h>
#include <stdint.h>

/* §7.1.6.1 Advanced receive descriptor, read format (written by software). */
struct ixgbe_rx_desc_read {
	uint64_t pkt_addr; /* packet buffer address */
	uint64_t hdr_addr; /* header buffer address; bit 0 overlays DD, so 0 clears it */
};

/* §7.1.6.2 Advanced receive descriptor, write-back format (written by the device). */
struct ixgbe_rx_desc_wb {
	uint32_t info; /* RSS type 3:0, packet type 16:4, header length 30:21 */
	uint32_t rss_hash; /* RSS hash, or fragment checksum */
	uint32_t status_err; /* extended status 19:0, extended errors 31:20 */
	uint16_t length; /* bytes written to the packet buffer */
	uint16_t vlan;
};

union ixgbe_rx_desc {
	struct ixgbe_rx_desc_read read;
	struct ixgbe_rx_desc_wb wb;
};

_Static_assert(sizeof(union ixgbe_rx_desc) == 16, "receive descriptor is 16 bytes");

/* Receive write-back: RSS type (info bits 3:0), §7.1.6.2 */
#define IXGBE_RXD_RSSTYPE_MASK 0xfu
#define IXGBE_RXD_RSSTYPE_NONE 0x0u
#define IXGBE_RXD_RSSTYPE_TCPIPV4 0x1u
#define IXGBE_RXD_RSSTYPE_IPV4 0x2u
#define IXGBE_RXD_RSSTYPE_TCPIPV6 0x3u
#define IXGBE_RXD_RSSTYPE_IPV6 0x5u
#define IXGBE_RXD_RSSTYPE_UDPIPV4 0x7u
#define IXGBE_RXD_RSSTYPE_UDPIPV6 0x8u
/* Packet type (info bits 16:4) */
#define IXGBE_RXD_PKTTYPE_IPV4 (1u << 4)
#define IXGBE_RXD_PKTTYPE_IPV6 (1u << 6)
#define IXGBE_RXD_PKTTYPE_TCP (1u << 8)
#define IXGBE_RXD_PKTTYPE_UDP (1u << 9)
/* Extended status (status_err bits 19:0) */
#define IXGBE_RXD_STAT_DD (1u << 0) /* descriptor done */
#define IXGBE_RXD_STAT_EOP (1u << 1) /* end of packet */
#define IXGBE_RXD_STAT_L4CS (1u << 5) /* L4 checksum was checked */
#define IXGBE_RXD_STAT_IPCS (1u << 6) /* IPv4 checksum was checked */
/* Extended errors (status_err bits 31:20) */
#define IXGBE_RXD_ERR_RXE (1u << 29) /* MAC error: CRC, length, ... */
#define IXGBE_RXD_ERR_TCPE (1u << 30) /* L4 checksum error */
#define IXGBE_RXD_ERR_IPE (1u << 31) /* IPv4 checksum error */

/* §7.2.3.2.4 Advanced transmit data descriptor, read format. */
struct ixgbe_tx_desc_read {
	uint64_t buf_addr;
	uint32_t cmd_type_len; /* DTALEN 15:0, DTYP 23:20, DCMD 31:24 */
	uint32_t olinfo; /* STA 3:0, IDX 6:4, CC 7, POPTS 13:8, PAYLEN 31:14 */
};

/* §7.2.3.2.4 write-back format: only the status nibble has meaning. */
struct ixgbe_tx_desc_wb {
	uint64_t rsvd;
	uint32_t rsvd2;
	uint32_t status; /* STA.DD is bit 0 */
};

/* §7.2.3.2.3 Advanced transmit context descriptor. */
struct ixgbe_tx_desc_ctx {
	uint32_t vlan_macip_lens; /* IPLEN 8:0, MACLEN 15:9, VLAN 31:16 */
	uint32_t seqnum_seed;
	uint32_t type_tucmd_mlhl; /* TUCMD 19:9, DTYP 23:20, DEXT 29 */
	uint32_t mss_l4len_idx; /* IDX 6:4, L4LEN 15:8, MSS 31:16 */
};

union ixgbe_tx_desc {
	struct ixgbe_tx_desc_read read;
	struct ixgbe_tx_desc_wb wb;
	struct ixgbe_tx_desc_ctx ctx;
};

_Static_assert(sizeof(union ixgbe_tx_desc) == 16, "transmit descriptor is 16 bytes");

#define IXGBE_TXD_DTALEN_MASK 0xffffu
#define IXGBE_TXD_DTYP_MASK (0xfu << 20)
#define IXGBE_TXD_DTYP_CTXT (0x2u << 20) /* context descriptor */
#define IXGBE_TXD_DTYP_DATA (0x3u << 20) /* data descriptor */
#define IXGBE_TXD_CMD_EOP (1u << 24) /* end of packet */
#define IXGBE_TXD_CMD_IFCS (1u << 25) /* insert FCS */
#define IXGBE_TXD_CMD_RS (1u << 27) /* report status: write back DD */
#define IXGBE_TXD_CMD_DEXT (1u << 29) /* advanced (extended) descriptor */
#define IXGBE_TXD_STAT_DD (1u << 0)
#define IXGBE_TXD_IDX_SHIFT 4
#define IXGBE_TXD_CC (1u << 7) /* check context */
#define IXGBE_TXD_POPTS_IXSM (1u << 8) /* insert IPv4 checksum */
#define IXGBE_TXD_POPTS_TXSM (1u << 9) /* insert L4 checksum */
#define IXGBE_TXD_PAYLEN_SHIFT 14
/* context descriptor fields */
#define IXGBE_TXC_MACLEN_SHIFT 9
#define IXGBE_TXC_IPLEN_MASK 0x1ffu
#define IXGBE_TXC_TUCMD_IPV4 (1u << 10)
#define IXGBE_TXC_TUCMD_L4T_UDP (0u << 11)
#define IXGBE_TXC_TUCMD_L4T_TCP (1u << 11)
#define IXGBE_TXC_TUCMD_L4T_MASK (3u << 11)

/*
 * Encode a single-buffer data descriptor as two 64-bit stores. @rs is 0 or IXGBE_TXD_CMD_RS (a
 * DD write-back for this descriptor); @olinfo_extra carries POPTS/CC/IDX for offloads.
 */
static inline void ixgbe_tx_desc_data(volatile union ixgbe_tx_desc *d, uint64_t iova, uint16_t len,
				      uint32_t olinfo_extra, uint32_t rs)
{
	uint32_t cmd = IXGBE_TXD_DTYP_DATA | IXGBE_TXD_CMD_DEXT | IXGBE_TXD_CMD_IFCS |
		       IXGBE_TXD_CMD_EOP | rs | len;
	uint32_t olinfo = ((uint32_t)len << IXGBE_TXD_PAYLEN_SHIFT) | olinfo_extra;

	((volatile uint64_t *)d)[0] = iova;
	((volatile uint64_t *)d)[1] = (uint64_t)olinfo << 32 | cmd;
}

/* Encode a context descriptor for checksum offload in context slot @idx (0 or 1). */
static inline void ixgbe_tx_desc_ctx(union ixgbe_tx_desc *d, uint8_t l2_len, uint16_t l3_len,
				     bool ipv4, bool tcp, unsigned idx)
{
	d->ctx.vlan_macip_lens =
		((uint32_t)l2_len << IXGBE_TXC_MACLEN_SHIFT) | (l3_len & IXGBE_TXC_IPLEN_MASK);
	d->ctx.seqnum_seed = 0;
	d->ctx.type_tucmd_mlhl = IXGBE_TXD_DTYP_CTXT | IXGBE_TXD_CMD_DEXT |
				 (ipv4 ? IXGBE_TXC_TUCMD_IPV4 : 0) |
				 (tcp ? IXGBE_TXC_TUCMD_L4T_TCP : IXGBE_TXC_TUCMD_L4T_UDP);
	d->ctx.mss_l4len_idx = idx << IXGBE_TXD_IDX_SHIFT;
}

/* Encode a receive descriptor handing @iova to the device (DD cleared). */
static inline void ixgbe_rx_desc_arm(volatile union ixgbe_rx_desc *d, uint64_t iova)
{
	d->read.pkt_addr = iova;
	d->read.hdr_addr = 0;
}

#endif
