/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 82599 BAR0 registers and bits used by drivers/ixgbe and modelled by sim/ixgbe. Offsets and
 * bit positions are from the Intel 82599 10 GbE Controller Datasheet (rev. 3.x), chapter 8
 * ("Programming Interface"); the section of each register is given next to it. X540 and X550
 * keep these offsets for everything used here.
 */
#ifndef UPDK_IXGBE_REGS_H
#define UPDK_IXGBE_REGS_H

#define IXGBE_BAR0_SIZE 0x20000 /* §9.3.6.1 Memory BAR: 128 KiB of registers */

/* §8.2.3.1 General control */
#define IXGBE_CTRL 0x00000 /* §8.2.3.1.1 Device Control */
#define IXGBE_CTRL_LNK_RST (1u << 3) /* link reset */
#define IXGBE_CTRL_RST (1u << 26) /* device reset, self-clearing */
#define IXGBE_CTRL_RST_MASK (IXGBE_CTRL_LNK_RST | IXGBE_CTRL_RST)
#define IXGBE_STATUS 0x00008 /* §8.2.3.1.2 Device Status */
#define IXGBE_STATUS_LAN_ID_SHIFT 2 /* bits 3:2, the port of a dual-port device */
#define IXGBE_CTRL_EXT 0x00018 /* §8.2.3.1.3 Extended Device Control */
#define IXGBE_CTRL_EXT_NS_DIS (1u << 16) /* no-snoop disable */
#define IXGBE_CTRL_EXT_DRV_LOAD (1u << 28) /* driver loaded (to firmware) */

/* §8.2.3.2 EEPROM/Flash */
#define IXGBE_EEC 0x10010 /* §8.2.3.2.1 EEPROM/Flash Control */
#define IXGBE_EEC_PRES (1u << 8) /* EEPROM present */
#define IXGBE_EEC_ARD (1u << 9) /* EEPROM auto-read done */

/*
 * §8.2.3.5 Interrupts (how they work: §7.3). Bits 15:0 of EICR/EICS/EIMS/EIMC/EIAC/EIAM are
 * the queue causes (RTxQ), as mapped by IVAR; in MSI-X mode the _EX registers hold those of
 * vectors 0..63, 32 per register, and bits 15:0 of the first alias vectors 0..15.
 */
#define IXGBE_EICR 0x00800 /* §8.2.3.5 Extended Interrupt Cause, read to clear, write 1 to clear */
#define IXGBE_EICS 0x00808 /* §8.2.3.5 Extended Interrupt Cause Set */
#define IXGBE_EIMS 0x00880 /* §8.2.3.5 Extended Interrupt Mask Set/Read */
#define IXGBE_EIMC 0x00888 /* §8.2.3.5 Extended Interrupt Mask Clear */
#define IXGBE_EIAC 0x00810 /* §8.2.3.5 Extended Interrupt Auto Clear (MSI-X: on the message) */
#define IXGBE_EIAM 0x00890 /* §8.2.3.5 Extended Interrupt Auto Mask (with GPIE.EIAME) */
#define IXGBE_EIMC_ALL 0x7fffffffu
#define IXGBE_EIxx_RTXQ 0x0000ffffu /* the queue causes of the registers above */
#define IXGBE_EICR_EX(i) (0x00a80 + 4 * (i)) /* §8.2.3.5 causes of vectors 32i..32i+31 */
#define IXGBE_EICS_EX(i) (0x00a90 + 4 * (i))
#define IXGBE_EIMS_EX(i) (0x00aa0 + 4 * (i))
#define IXGBE_EIMC_EX(i) (0x00ab0 + 4 * (i)) /* §8.2.3.5 queue causes 0..63 */
#define IXGBE_EIAM_EX(i) (0x00ad0 + 4 * (i))
#define IXGBE_GPIE 0x00898 /* §8.2.3.5 General Purpose Interrupt Enable */
#define IXGBE_GPIE_MSIX_MODE (1u << 4) /* MSI-X: one vector per IVAR allocation */
/* Other Clear Disable: a read of EICR clears only the other causes (bits 30:16), never the
 * queue causes (§7.3, Clearing Interrupt Causes); those clear by EIAC or by writing 1b. */
#define IXGBE_GPIE_OCD (1u << 5)
#define IXGBE_GPIE_EIAME (1u << 30) /* EIAM masks a vector when its message is sent */
#define IXGBE_GPIE_PBA_SUPPORT (1u << 31)
/* §8.2.3.5 Interrupt Throttle: one per MSI-X vector, 0..23 at 0x00820, 24..63 at 0x12300. */
#define IXGBE_EITR(v) ((v) < 24 ? 0x00820 + 4 * (v) : 0x12300 + 4 * ((v)-24))
#define IXGBE_EITR_VECTORS 64
/* ITR Interval, bits 11:3, in units of 2.048 µs at 1 and 10 Gb/s (488,281 steps a second, at
 * most 511 of them: 1046.5 µs). @us rounded up: the interval is never shorter than asked. */
#define IXGBE_EITR_UNIT_NS 2048u
#define IXGBE_EITR_INTERVAL(us) \
	(((((us)*1000u + IXGBE_EITR_UNIT_NS - 1) / IXGBE_EITR_UNIT_NS) & 0x1ffu) << 3)
#define IXGBE_EITR_CNT_WDIS (1u << 31) /* the write does not reset the counter */
#define IXGBE_IVAR(i) (0x00900 + 4 * (i)) /* §8.2.3.5 Interrupt Vector Allocation, 64 */
/* IVAR(i): a byte per queue cause: RX queue 2i bits 7:0, TX 2i 15:8, RX 2i+1 23:16, TX
 * 2i+1 31:24; each INT_Alloc bits 5:0 (the vector; EICR bit 3:0 outside MSI-X) and valid 7. */
#define IXGBE_IVAR_SHIFT(q, tx) (16u * ((q)&1u) + 8u * (tx))
#define IXGBE_IVAR_ALLOC_VAL 0x80u
#define IXGBE_IVAR_MISC 0x00a00 /* §8.2.3.5 vectors of the other causes */

/* §8.2.3.8 Receive DMA */
#define IXGBE_RDBAL(q) (0x01000 + 0x40 * (q)) /* §8.2.3.8.1 */
#define IXGBE_RDBAH(q) (0x01004 + 0x40 * (q)) /* §8.2.3.8.2 */
#define IXGBE_RDLEN(q) (0x01008 + 0x40 * (q)) /* §8.2.3.8.3 */
#define IXGBE_RDH(q) (0x01010 + 0x40 * (q)) /* §8.2.3.8.4 */
#define IXGBE_SRRCTL(q) (0x01014 + 0x40 * (q)) /* §8.2.3.8.7 (also at 0x02100 + 4q, q < 16) */
#define IXGBE_SRRCTL_ALIAS(q) (0x02100 + 4 * (q))
#define IXGBE_RDT(q) (0x01018 + 0x40 * (q)) /* §8.2.3.8.5 */
#define IXGBE_RXDCTL(q) (0x01028 + 0x40 * (q)) /* §8.2.3.8.6 */
#define IXGBE_RXDCTL_ENABLE (1u << 25)
#define IXGBE_SRRCTL_BSIZEPKT_SHIFT 10 /* bits 4:0 in KiB units */
#define IXGBE_SRRCTL_BSIZEPKT_MASK 0x1fu
#define IXGBE_SRRCTL_BSIZEHDR_MASK (0x3fu << 8)
#define IXGBE_SRRCTL_DESCTYPE_MASK (7u << 25)
#define IXGBE_SRRCTL_DESCTYPE_ADV_ONEBUF (1u << 25)
#define IXGBE_SRRCTL_DROP_EN (1u << 28)
#define IXGBE_RDRXCTL 0x02f00 /* §8.2.3.8.8 Receive DMA Control */
#define IXGBE_RDRXCTL_CRCSTRIP (1u << 1)
#define IXGBE_RDRXCTL_DMAIDONE (1u << 3)
#define IXGBE_RXPBSIZE(i) (0x03c00 + 4 * (i)) /* §8.2.3.8.9, 8 packet buffers */
#define IXGBE_RXPBSIZE_128KB (128u << 10)
#define IXGBE_RXCTRL 0x03000 /* §8.2.3.8.10 Receive Control */
#define IXGBE_RXCTRL_RXEN (1u << 0)

/* §8.2.3.7 Receive filters */
#define IXGBE_RXCSUM 0x05000 /* §8.2.3.7 Receive Checksum Control */
#define IXGBE_RXCSUM_IPPCSE (1u << 12)
#define IXGBE_FCTRL 0x05080 /* §8.2.3.7 Filter Control */
#define IXGBE_FCTRL_SBP (1u << 1)
#define IXGBE_FCTRL_MPE (1u << 8)
#define IXGBE_FCTRL_UPE (1u << 9)
#define IXGBE_FCTRL_BAM (1u << 10)
#define IXGBE_RAL(i) (0x0a200 + 8 * (i)) /* §8.2.3.7 Receive Address Low */
#define IXGBE_RAH(i) (0x0a204 + 8 * (i)) /* §8.2.3.7 Receive Address High */
#define IXGBE_RAH_AV (1u << 31) /* address valid */
#define IXGBE_MRQC 0x05818 /* §8.2.3.7 Multiple Receive Queues Command */
#define IXGBE_MRQC_RSSEN 0x1u /* MRQE = 0001b: RSS only */
#define IXGBE_MRQC_MRQE_MASK 0xfu
#define IXGBE_MRQC_TCPIPV4 (1u << 16)
#define IXGBE_MRQC_IPV4 (1u << 17)
#define IXGBE_MRQC_IPV6 (1u << 20)
#define IXGBE_MRQC_TCPIPV6 (1u << 21)
#define IXGBE_MRQC_UDPIPV4 (1u << 22)
#define IXGBE_MRQC_UDPIPV6 (1u << 23)
#define IXGBE_RETA(i) (0x05c00 + 4 * (i)) /* §8.2.3.7 Redirection Table, 32 registers */
#define IXGBE_RETA_REGS 32
#define IXGBE_RSSRK(i) (0x05c80 + 4 * (i)) /* §8.2.3.7 RSS Random Key, 10 registers */
#define IXGBE_RSSRK_REGS 10

/* §8.2.3.22 MAC */
#define IXGBE_HLREG0 0x04240 /* §8.2.3.22.8 MAC Core Control 0 */
#define IXGBE_HLREG0_TXCRCEN (1u << 0)
#define IXGBE_HLREG0_RXCRCSTRP (1u << 1)
#define IXGBE_HLREG0_TXPADEN (1u << 10)
#define IXGBE_AUTOC 0x042a0 /* §8.2.3.22.19 Auto-Negotiation Control */
#define IXGBE_AUTOC_AN_RESTART (1u << 12)
#define IXGBE_AUTOC_LMS_SHIFT 13 /* link mode select, bits 15:13 */
#define IXGBE_AUTOC_LMS_MASK (7u << 13)
#define IXGBE_AUTOC_LMS_10G_SERIAL (3u << 13)
#define IXGBE_AUTOC_LMS_KX4_KX_KR (4u << 13)
#define IXGBE_AUTOC_10G_PMA_PMD_MASK (3u << 7)
#define IXGBE_AUTOC_10G_XAUI (0u << 7)
#define IXGBE_LINKS 0x042a4 /* §8.2.3.22.20 Link Status */
#define IXGBE_LINKS_UP (1u << 30)
#define IXGBE_LINKS_SPEED_MASK (3u << 28)
#define IXGBE_LINKS_SPEED_10G (3u << 28)
#define IXGBE_LINKS_SPEED_1G (2u << 28)
#define IXGBE_LINKS_SPEED_100M (1u << 28)

/* §8.2.3.9 Transmit DMA */
#define IXGBE_DMATXCTL 0x04a80 /* §8.2.3.9 DMA Tx Control */
#define IXGBE_DMATXCTL_TE (1u << 0)
#define IXGBE_DTXMXSZRQ 0x08100 /* §8.2.3.9 Max total size of outstanding Tx requests */
#define IXGBE_TDBAL(q) (0x06000 + 0x40 * (q)) /* §8.2.3.9.5 */
#define IXGBE_TDBAH(q) (0x06004 + 0x40 * (q)) /* §8.2.3.9.6 */
#define IXGBE_TDLEN(q) (0x06008 + 0x40 * (q)) /* §8.2.3.9.7 */
#define IXGBE_TDH(q) (0x06010 + 0x40 * (q)) /* §8.2.3.9.8 */
#define IXGBE_TDT(q) (0x06018 + 0x40 * (q)) /* §8.2.3.9.9 */
#define IXGBE_TXDCTL(q) (0x06028 + 0x40 * (q)) /* §8.2.3.9.10 */
#define IXGBE_TXDCTL_PTHRESH_SHIFT 0
#define IXGBE_TXDCTL_HTHRESH_SHIFT 8
#define IXGBE_TXDCTL_WTHRESH_SHIFT 16
#define IXGBE_TXDCTL_THRESH_MASK 0x7f7f7fu
#define IXGBE_TXDCTL_ENABLE (1u << 25)
#define IXGBE_TXPBSIZE(i) (0x0cc00 + 4 * (i)) /* §8.2.3.9 8 packet buffers */
#define IXGBE_TXPBSIZE_40KB (40u << 10)
#define IXGBE_RTTDCS 0x04900 /* §8.2.3.10 DCB Transmit Descriptor Plane Control */
#define IXGBE_RTTDCS_ARBDIS (1u << 6)

/* §8.2.3.23 Statistics: all clear on read */
#define IXGBE_CRCERRS 0x04000 /* §8.2.3.23 CRC errors */
#define IXGBE_ILLERRC 0x04004 /* §8.2.3.23 illegal byte errors */
#define IXGBE_ERRBC 0x04008 /* §8.2.3.23 error byte count */
#define IXGBE_MPC(i) (0x03fa0 + 4 * (i)) /* §8.2.3.23 missed packets, per packet buffer */
#define IXGBE_RLEC 0x04040 /* §8.2.3.23 receive length errors */
#define IXGBE_GPRC 0x04074 /* §8.2.3.23 good packets received */
#define IXGBE_GPTC 0x04080 /* §8.2.3.23 good packets transmitted */
#define IXGBE_GORCL 0x04088 /* §8.2.3.23 good octets received (with FCS) */
#define IXGBE_GORCH 0x0408c
#define IXGBE_GOTCL 0x04090 /* §8.2.3.23 good octets transmitted (with FCS) */
#define IXGBE_GOTCH 0x04094
#define IXGBE_RQSMR(i) (0x02300 + 4 * (i)) /* §8.2.3.23 Rx queue to statistics map */
#define IXGBE_TQSM(i) (0x08600 + 4 * (i)) /* §8.2.3.23 Tx queue to statistics map */
#define IXGBE_QPRC(i) (0x01030 + 0x40 * (i)) /* §8.2.3.23 queue packets received */
#define IXGBE_QPTC(i) (0x06030 + 0x40 * (i)) /* §8.2.3.23 queue packets transmitted */
#define IXGBE_QBRC_L(i) (0x01034 + 0x40 * (i)) /* §8.2.3.23 queue bytes received */
#define IXGBE_QBRC_H(i) (0x01038 + 0x40 * (i))
#define IXGBE_QBTC_L(i) (0x08700 + 8 * (i)) /* §8.2.3.23 queue bytes transmitted */
#define IXGBE_QBTC_H(i) (0x08704 + 8 * (i))
#define IXGBE_QPRDC(i) (0x01430 + 0x40 * (i)) /* §8.2.3.23 queue packets dropped (DROP_EN) */
#define IXGBE_STAT_QUEUES 16

#define IXGBE_FCS_LEN 4 /* the counters above include the frame check sequence */

#endif
