// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim:ixgbe's transmit side: each enabled queue's advanced descriptors from TDH to TDT
 * (82599 datasheet §7.2.3.2), context descriptors kept per slot, data descriptors gathered into
 * a frame until EOP, IPv4 and TCP/UDP checksums inserted as the POPTS bits ask (§7.2.4), short
 * frames padded (HLREG0.TXPADEN), the frame counted and put on the wire, and DD written back
 * for descriptors with RS (WTHRESH = 0, §7.2.3.5.1).
 */
#include <string.h>

#define LOG_COMPONENT "sim-ixgbe"
#include "lib/util/log.h"

#include "drivers/ixgbe/ixgbe_desc.h"
#include "sim/ixgbe/ixgbe_model.h"

/* §7.2.4 checksum offload: fill in the fields the data descriptor's POPTS ask for. */
static bool tx_offload(struct port *p, unsigned q, uint8_t *f, uint16_t len, uint32_t olinfo)
{
	if (!(olinfo & (IXGBE_TXD_POPTS_IXSM | IXGBE_TXD_POPTS_TXSM)))
		return true;
	unsigned idx = (olinfo >> IXGBE_TXD_IDX_SHIFT) & 1;

	if (!(olinfo & IXGBE_TXD_CC) || !p->tx_ctx[q][idx].valid) {
		model_error(p,
			    "transmit queue %u: checksum offload without a context (olinfo 0x%08x)",
			    q, olinfo);
		return false;
	}
	unsigned ml = p->tx_ctx[q][idx].maclen, il = p->tx_ctx[q][idx].iplen;
	uint32_t tucmd = p->tx_ctx[q][idx].tucmd;

	if (ml + il + 8 > len || il < 20) {
		model_error(p,
			    "transmit queue %u: context lengths %u + %u do not fit a %u-byte frame",
			    q, ml, il, len);
		return false;
	}
	if (olinfo & IXGBE_TXD_POPTS_IXSM) {
		uint8_t *ip = f + ml;

		ip[10] = ip[11] = 0;
		uint16_t c = (uint16_t)~fold(sum16(ip, il, 0));

		ip[10] = c >> 8;
		ip[11] = c & 0xff;
	}
	if (olinfo & IXGBE_TXD_POPTS_TXSM) {
		bool tcp = (tucmd & IXGBE_TXC_TUCMD_L4T_MASK) == IXGBE_TXC_TUCMD_L4T_TCP;
		uint8_t *l4 = f + ml + il;
		unsigned off = tcp ? 16 : 6, l4len = len - ml - il;

		if (off + 2 > l4len) {
			model_error(p, "transmit queue %u: L4 header beyond the frame", q);
			return false;
		}
		/* The field holds the pseudo-header sum: summing the segment with it in place
		 * gives the full checksum. */
		uint16_t c = (uint16_t)~fold(sum16(l4, l4len, 0));

		if (!tcp && !c)
			c = 0xffff;
		l4[off] = c >> 8;
		l4[off + 1] = c & 0xff;
	}
	return true;
}

static void send_frame(struct port *p, unsigned q, const uint8_t *data, uint16_t len)
{
	uint8_t padded[60];

	/* §8.2.3.22.8 HLREG0.TXPADEN: short frames padded to 60 bytes (64 with the FCS). */
	if (len < 60 && (reg(p, IXGBE_HLREG0) & IXGBE_HLREG0_TXPADEN)) {
		memcpy(padded, data, len);
		memset(padded + len, 0, 60 - len);
		data = padded;
		len = 60;
	}
	unsigned si = stat_index(p, IXGBE_TQSM(0), q);

	p->cnt[C_GPTC]++;
	p->cnt[C_GOTC] += len + IXGBE_FCS_LEN;
	p->cnt[C_QPTC + si]++;
	p->cnt[C_QBTC + si] += len;

	port_deliver(p, data, len);
}

static bool tx_queue(struct port *p, unsigned q)
{
	uint32_t tdlen = reg(p, IXGBE_TDLEN(q));
	uint32_t size = tdlen / 16;
	uint32_t tdt = reg(p, IXGBE_TDT(q));
	uint64_t base = (uint64_t)reg(p, IXGBE_TDBAH(q)) << 32 | reg(p, IXGBE_TDBAL(q));
	bool did = false;

	if (p->tx_head[q] == tdt)
		return false;
	if (!size || tdlen % 128 || tdt >= size || p->tx_head[q] >= size) {
		model_error(p, "transmit queue %u: bad ring or doorbell (TDLEN %u, TDH %u, TDT %u)",
			    q, tdlen, p->tx_head[q], tdt);
		p->tx_on[q] = false;
		return false;
	}
	for (int n = 0; n < POLL_BUDGET && p->tx_head[q] != tdt; n++) {
		uint64_t daddr = base + 16ull * p->tx_head[q];
		union ixgbe_tx_desc d;

		if (sim_dma_read(p->sd, daddr, &d, sizeof(d))) {
			model_error(p, "transmit queue %u: DMA fault reading descriptor %u", q,
				    p->tx_head[q]);
			p->tx_on[q] = false;
			return did;
		}
		uint32_t ctl = d.read.cmd_type_len;

		if (!(ctl & IXGBE_TXD_CMD_DEXT)) {
			model_error(p, "transmit queue %u: legacy descriptor %u (not modelled)", q,
				    p->tx_head[q]);
			p->tx_on[q] = false;
			return did;
		}
		if ((ctl & IXGBE_TXD_DTYP_MASK) == IXGBE_TXD_DTYP_CTXT) {
			const struct ixgbe_tx_desc_ctx *c = &d.ctx;
			unsigned slot = (c->mss_l4len_idx >> IXGBE_TXD_IDX_SHIFT) & 1;

			p->tx_ctx[q][slot].valid = true;
			p->tx_ctx[q][slot].maclen =
				(uint8_t)(c->vlan_macip_lens >> IXGBE_TXC_MACLEN_SHIFT & 0x7f);
			p->tx_ctx[q][slot].iplen = c->vlan_macip_lens & IXGBE_TXC_IPLEN_MASK;
			p->tx_ctx[q][slot].tucmd = c->type_tucmd_mlhl;
		} else if ((ctl & IXGBE_TXD_DTYP_MASK) == IXGBE_TXD_DTYP_DATA) {
			uint16_t len = ctl & IXGBE_TXD_DTALEN_MASK;

			if (!p->tx_len[q] && !p->tx_bad[q])
				p->tx_olinfo[q] = d.read.olinfo;

			if (p->tx_len[q] + len > SIM_IXGBE_FRAME_MAX) {
				model_error(p, "transmit queue %u: frame longer than %u bytes", q,
					    SIM_IXGBE_FRAME_MAX);
				p->tx_bad[q] = true;
			} else if (sim_dma_read(p->sd, d.read.buf_addr,
						p->tx_frame[q] + p->tx_len[q], len)) {
				model_error(p,
					    "transmit queue %u: DMA fault reading %u bytes at "
					    "0x%llx",
					    q, len, (unsigned long long)d.read.buf_addr);
				p->tx_bad[q] = true;
			} else {
				p->tx_len[q] += len;
			}
			if (ctl & IXGBE_TXD_CMD_EOP) {
				if (!p->tx_bad[q] && p->tx_len[q] &&
				    tx_offload(p, q, p->tx_frame[q], p->tx_len[q], p->tx_olinfo[q]))
					send_frame(p, q, p->tx_frame[q], p->tx_len[q]);
				p->tx_len[q] = 0;
				p->tx_bad[q] = false;
			}
		} else {
			model_error(p, "transmit queue %u: descriptor %u has type %u", q,
				    p->tx_head[q], (ctl >> 20) & 0xf);
		}
		/* §7.2.3.5.1 with WTHRESH = 0: DD is written back for descriptors with RS. */
		if ((ctl & IXGBE_TXD_CMD_RS) &&
		    (ctl & IXGBE_TXD_DTYP_MASK) == IXGBE_TXD_DTYP_DATA) {
			uint32_t status = IXGBE_TXD_STAT_DD;

			port_write_back(p, q, true, daddr + 12, &status, 4);
		}
		p->tx_head[q] = (p->tx_head[q] + 1) % size;
		set_reg(p, IXGBE_TDH(q), p->tx_head[q]);
		did = true;
	}
	return did;
}

bool port_tx_poll(struct port *p)
{
	bool did = false;

	if (!(reg(p, IXGBE_DMATXCTL) & IXGBE_DMATXCTL_TE) || !link_up(p))
		return false;
	for (unsigned q = 0; q < NQ; q++)
		if (p->tx_on[q])
			did |= tx_queue(p, q);
	return did;
}
