// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim:ixgbe's receive side: a frame taken from the port's packet buffer is filtered by FCTRL
 * and receive address 0 (82599 datasheet §7.1.1), parsed for its IPv4/IPv6 and TCP/UDP headers
 * and their checksums, given a queue by RSS (Toeplitz hash and RETA, §7.1.2.8), written to the
 * buffer of that queue's next advanced one-buffer descriptor and the descriptor written back
 * (§7.1.6.2). With no descriptor free the frame waits in the buffer, or is dropped and counted
 * with SRRCTL.DROP_EN.
 */
#include <string.h>

#define LOG_COMPONENT "sim-ixgbe"
#include "lib/util/log.h"

#include "drivers/ixgbe/ixgbe_desc.h"
#include "sim/ixgbe/ixgbe_model.h"

struct parsed {
	bool ipv4, ipv6, tcp, udp;
	bool ip_ok, l4_ok, l4_checked;
	const uint8_t *src, *dst; /* addresses */
	unsigned addr_len;
	const uint8_t *ports; /* source then destination port, or NULL */
};

static void parse(const uint8_t *f, uint16_t len, struct parsed *ps)
{
	memset(ps, 0, sizeof(*ps));
	if (len < 14)
		return;
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
	const uint8_t *l3 = f + 14;
	size_t l3len = len - 14;
	const uint8_t *l4 = NULL;
	size_t l4len = 0;
	uint8_t proto = 0;
	uint32_t pseudo = 0;

	if (type == 0x0800 && l3len >= 20 && (l3[0] >> 4) == 4) {
		unsigned ihl = (l3[0] & 0xf) * 4u;
		unsigned tot = (unsigned)(l3[2] << 8 | l3[3]);

		if (ihl < 20 || ihl > l3len || tot < ihl || tot > l3len)
			return;
		ps->ipv4 = true;
		ps->ip_ok = fold(sum16(l3, ihl, 0)) == 0xffff;
		ps->src = l3 + 12;
		ps->dst = l3 + 16;
		ps->addr_len = 4;
		bool frag = (l3[6] & 0x3f) || l3[7]; /* MF or a fragment offset */

		if (frag)
			return;
		proto = l3[9];
		l4 = l3 + ihl;
		l4len = tot - ihl;
		pseudo = sum16(l3 + 12, 8, 0) + proto + (uint32_t)l4len;
	} else if (type == 0x86dd && l3len >= 40 && (l3[0] >> 4) == 6) {
		unsigned plen = (unsigned)(l3[4] << 8 | l3[5]);

		if (plen > l3len - 40)
			return;
		ps->ipv6 = true;
		ps->src = l3 + 8;
		ps->dst = l3 + 24;
		ps->addr_len = 16;
		proto = l3[6]; /* extension headers are not modelled */
		l4 = l3 + 40;
		l4len = plen;
		pseudo = sum16(l3 + 8, 32, 0) + proto + (uint32_t)l4len;
	} else {
		return;
	}
	if (proto == 6 && l4len >= 20) {
		ps->tcp = true;
	} else if (proto == 17 && l4len >= 8) {
		ps->udp = true;
	} else {
		return;
	}
	ps->ports = l4;
	/* A UDP checksum of zero over IPv4 means "none": nothing to check. */
	if (ps->udp && ps->ipv4 && !l4[6] && !l4[7])
		return;
	ps->l4_checked = true;
	ps->l4_ok = fold(sum16(l4, l4len, pseudo)) == 0xffff;
}

/* The Toeplitz hash of §7.1.2.8.1 over @n bytes of @in with the 40-byte key. */
static uint32_t toeplitz(const uint8_t *key, const uint8_t *in, size_t n)
{
	uint32_t hash = 0;
	uint32_t win = (uint32_t)key[0] << 24 | key[1] << 16 | key[2] << 8 | key[3];

	for (size_t i = 0; i < n; i++)
		for (int b = 7; b >= 0; b--) {
			if (in[i] >> b & 1)
				hash ^= win;
			win = win << 1 | ((i + 4 < 40 ? key[i + 4] : 0) >> b & 1);
		}
	return hash;
}

/* §7.1.2.8: hash and RSS type for a frame, by the field enables of MRQC. */
static uint32_t rss(struct port *p, const struct parsed *ps, uint32_t *type)
{
	uint32_t mrqc = reg(p, IXGBE_MRQC);
	uint8_t key[40], in[36];
	size_t n = 0;

	*type = IXGBE_RXD_RSSTYPE_NONE;
	if (!ps->ipv4 && !ps->ipv6)
		return 0;
	for (int i = 0; i < IXGBE_RSSRK_REGS; i++) {
		uint32_t k = reg(p, IXGBE_RSSRK(i));

		key[4 * i] = k;
		key[4 * i + 1] = k >> 8;
		key[4 * i + 2] = k >> 16;
		key[4 * i + 3] = k >> 24;
	}
	bool l4 = false;

	if (ps->ipv4) {
		if (ps->tcp && (mrqc & IXGBE_MRQC_TCPIPV4)) {
			*type = IXGBE_RXD_RSSTYPE_TCPIPV4, l4 = true;
		} else if (ps->udp && (mrqc & IXGBE_MRQC_UDPIPV4)) {
			*type = IXGBE_RXD_RSSTYPE_UDPIPV4, l4 = true;
		} else if (mrqc & IXGBE_MRQC_IPV4) {
			*type = IXGBE_RXD_RSSTYPE_IPV4;
		} else {
			return 0;
		}
	} else {
		if (ps->tcp && (mrqc & IXGBE_MRQC_TCPIPV6)) {
			*type = IXGBE_RXD_RSSTYPE_TCPIPV6, l4 = true;
		} else if (ps->udp && (mrqc & IXGBE_MRQC_UDPIPV6)) {
			*type = IXGBE_RXD_RSSTYPE_UDPIPV6, l4 = true;
		} else if (mrqc & IXGBE_MRQC_IPV6) {
			*type = IXGBE_RXD_RSSTYPE_IPV6;
		} else {
			return 0;
		}
	}
	memcpy(in + n, ps->src, ps->addr_len);
	n += ps->addr_len;
	memcpy(in + n, ps->dst, ps->addr_len);
	n += ps->addr_len;
	if (l4) {
		memcpy(in + n, ps->ports, 4);
		n += 4;
	}
	return toeplitz(key, in, n);
}

/* §7.1.1 L2 filtering by FCTRL and receive address 0. */
static bool accept(struct port *p, const uint8_t *f)
{
	uint32_t fctrl = reg(p, IXGBE_FCTRL);
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (!memcmp(f, bcast, 6))
		return fctrl & IXGBE_FCTRL_BAM;
	if (f[0] & 1)
		return fctrl & IXGBE_FCTRL_MPE;
	if (fctrl & IXGBE_FCTRL_UPE)
		return true;
	uint32_t rah = reg(p, IXGBE_RAH(0)), ral = reg(p, IXGBE_RAL(0));
	uint8_t mac[6] = { ral, ral >> 8, ral >> 16, ral >> 24, rah, rah >> 8 };

	return (rah & IXGBE_RAH_AV) && !memcmp(f, mac, 6);
}

enum rx_result { RX_DONE, RX_WAIT };

/* Receive one frame into the rings: RX_WAIT leaves it at the head of the packet buffer. */
static enum rx_result receive(struct port *p, const struct frame *fr)
{
	if (!accept(p, fr->data))
		return RX_DONE;
	struct parsed ps;
	uint32_t rss_type = 0, hash = 0;
	unsigned q = 0;

	parse(fr->data, fr->len, &ps);
	if ((reg(p, IXGBE_MRQC) & IXGBE_MRQC_MRQE_MASK) == IXGBE_MRQC_RSSEN) {
		hash = rss(p, &ps, &rss_type);
		if (rss_type != IXGBE_RXD_RSSTYPE_NONE) {
			unsigned e = hash & 0x7f;

			q = (reg(p, IXGBE_RETA(e / 4)) >> (8 * (e % 4))) & 0xf;
		}
	}
	unsigned si = stat_index(p, IXGBE_RQSMR(0), q);

	if (!p->rx_on[q]) {
		p->cnt[C_MPC]++;
		return RX_DONE;
	}
	uint32_t rdlen = reg(p, IXGBE_RDLEN(q));
	uint32_t size = rdlen / 16;
	uint32_t rdt = reg(p, IXGBE_RDT(q));
	uint32_t srrctl = reg(p, IXGBE_SRRCTL(q));

	if (!size || rdlen % 128 || rdt >= size || p->rx_head[q] >= size) {
		model_error(p, "receive queue %u: bad ring (RDLEN %u, RDH %u, RDT %u)", q, rdlen,
			    p->rx_head[q], rdt);
		p->rx_on[q] = false;
		return RX_DONE;
	}
	if ((srrctl & IXGBE_SRRCTL_DESCTYPE_MASK) != IXGBE_SRRCTL_DESCTYPE_ADV_ONEBUF) {
		model_error(p,
			    "receive queue %u: SRRCTL 0x%08x: only advanced one-buffer "
			    "descriptors are modelled",
			    q, srrctl);
		p->rx_on[q] = false;
		return RX_DONE;
	}
	if (p->rx_head[q] == rdt) { /* no descriptor */
		if (srrctl & IXGBE_SRRCTL_DROP_EN) {
			p->cnt[C_QPRDC + si]++;
			return RX_DONE;
		}
		return RX_WAIT;
	}
	uint64_t base = (uint64_t)reg(p, IXGBE_RDBAH(q)) << 32 | reg(p, IXGBE_RDBAL(q));
	uint64_t daddr = base + 16ull * p->rx_head[q];
	union ixgbe_rx_desc d;
	uint32_t bsize = (srrctl & IXGBE_SRRCTL_BSIZEPKT_MASK) << IXGBE_SRRCTL_BSIZEPKT_SHIFT;

	if (sim_dma_read(p->sd, daddr, &d, sizeof(d))) {
		model_error(p, "receive queue %u: DMA fault reading descriptor %u at 0x%llx", q,
			    p->rx_head[q], (unsigned long long)daddr);
		p->rx_on[q] = false;
		return RX_DONE;
	}
	if (fr->len > bsize) {
		model_error(p,
			    "receive queue %u: a %u-byte frame does not fit the %u-byte buffers "
			    "(multi-descriptor frames are not modelled)",
			    q, fr->len, bsize);
		return RX_DONE;
	}
	if (sim_dma_write(p->sd, d.read.pkt_addr, fr->data, fr->len)) {
		model_error(p, "receive queue %u: DMA fault writing a frame to 0x%llx", q,
			    (unsigned long long)d.read.pkt_addr);
		p->rx_on[q] = false;
		return RX_DONE;
	}
	union ixgbe_rx_desc wb;
	uint32_t st = IXGBE_RXD_STAT_DD | IXGBE_RXD_STAT_EOP;

	memset(&wb, 0, sizeof(wb));
	if (ps.ipv4) {
		st |= IXGBE_RXD_STAT_IPCS | (ps.ip_ok ? 0 : IXGBE_RXD_ERR_IPE);
		wb.wb.info |= IXGBE_RXD_PKTTYPE_IPV4;
	}
	if (ps.ipv6)
		wb.wb.info |= IXGBE_RXD_PKTTYPE_IPV6;
	if (ps.tcp)
		wb.wb.info |= IXGBE_RXD_PKTTYPE_TCP;
	if (ps.udp)
		wb.wb.info |= IXGBE_RXD_PKTTYPE_UDP;
	if (ps.l4_checked)
		st |= IXGBE_RXD_STAT_L4CS | (ps.l4_ok ? 0 : IXGBE_RXD_ERR_TCPE);
	wb.wb.info |= rss_type;
	wb.wb.rss_hash = rss_type ? hash : 0;
	wb.wb.status_err = st;
	wb.wb.length = fr->len;
	port_write_back(p, q, false, daddr, &wb, sizeof(wb));
	p->rx_head[q] = (p->rx_head[q] + 1) % size;
	set_reg(p, IXGBE_RDH(q), p->rx_head[q]);
	p->cnt[C_GPRC]++;
	p->cnt[C_GORC] += fr->len + IXGBE_FCS_LEN;
	p->cnt[C_QPRC + si]++;
	p->cnt[C_QBRC + si] += fr->len;
	return RX_DONE;
}

bool port_rx_poll(struct port *p)
{
	bool did = false;

	if (!(reg(p, IXGBE_RXCTRL) & IXGBE_RXCTRL_RXEN) || !link_up(p))
		return false;
	for (int n = 0; n < POLL_BUDGET; n++) {
		pthread_mutex_lock(&p->rx_in.lock);
		if (!p->rx_in.count) {
			pthread_mutex_unlock(&p->rx_in.lock);
			break;
		}
		/* The slot stays valid while we hold the only consumer role (this thread). */
		struct frame *fr = &p->rx_in.slots[p->rx_in.head];

		pthread_mutex_unlock(&p->rx_in.lock);
		if (receive(p, fr) == RX_WAIT)
			break;
		pthread_mutex_lock(&p->rx_in.lock);
		if (p->rx_in.count) { /* a reset may have emptied it meanwhile */
			p->rx_in.head = (p->rx_in.head + 1) % p->rx_in.cap;
			p->rx_in.count--;
		}
		pthread_mutex_unlock(&p->rx_in.lock);
		did = true;
	}
	return did;
}
