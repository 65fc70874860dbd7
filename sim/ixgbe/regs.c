// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim:ixgbe's registers: which BAR0 offsets the model knows and how each behaves (read/write,
 * read-only, clear-on-read: 82599 datasheet §8.2.3), their reset values, the statistics
 * counters behind the clear-on-read ones, and the side effects a driver polls for (CTRL.RST
 * self-clearing, EEC.ARD, RDRXCTL.DMAIDONE, RXDCTL/TXDCTL.ENABLE read back one read late,
 * LINKS after AUTOC.AN_RESTART). Every access to an offset it does not know is a model error.
 */
#include <string.h>

#define LOG_COMPONENT "sim-ixgbe"
#include "lib/util/log.h"

#include "sim/ixgbe/ixgbe_model.h"

enum reg_kind { R_UNKNOWN, R_RW, R_RO, R_RC };

/* Queue register @off relative to a 0x40-strided block at @base for queues 0..NQ-1. */
static bool in_queue_block(uint32_t off, uint32_t base, uint32_t reg, unsigned *q)
{
	if (off < base || off >= base + 0x40 * NQ || (off - base) % 0x40 != reg)
		return false;
	*q = (off - base) / 0x40;
	return true;
}

static enum reg_kind reg_kind(uint32_t off)
{
	unsigned q;

	switch (off) {
	case IXGBE_CTRL:
	case IXGBE_CTRL_EXT:
	case IXGBE_EEC:
	case IXGBE_RDRXCTL:
	case IXGBE_RXCTRL:
	case IXGBE_RXCSUM:
	case IXGBE_FCTRL:
	case IXGBE_MRQC:
	case IXGBE_HLREG0:
	case IXGBE_AUTOC:
	case IXGBE_DMATXCTL:
	case IXGBE_DTXMXSZRQ:
	case IXGBE_RTTDCS:
		return R_RW;
	case IXGBE_STATUS:
	case IXGBE_LINKS:
		return R_RO;
	case IXGBE_CRCERRS:
	case IXGBE_ILLERRC:
	case IXGBE_ERRBC:
	case IXGBE_RLEC:
	case IXGBE_GPRC:
	case IXGBE_GPTC:
	case IXGBE_GORCL:
	case IXGBE_GORCH:
	case IXGBE_GOTCL:
	case IXGBE_GOTCH:
		return R_RC;
	}
	if (port_intr_reg_known(off))
		return R_RW;
	if (off >= IXGBE_MPC(0) && off <= IXGBE_MPC(7) && !(off & 3))
		return R_RC;
	if ((off >= IXGBE_RXPBSIZE(0) && off <= IXGBE_RXPBSIZE(7)) ||
	    (off >= IXGBE_TXPBSIZE(0) && off <= IXGBE_TXPBSIZE(7)) ||
	    (off >= IXGBE_RETA(0) && off < IXGBE_RETA(IXGBE_RETA_REGS)) ||
	    (off >= IXGBE_RSSRK(0) && off < IXGBE_RSSRK(IXGBE_RSSRK_REGS)) ||
	    (off >= IXGBE_RAL(0) && off < IXGBE_RAL(16)) ||
	    (off >= IXGBE_RQSMR(0) && off < IXGBE_RQSMR(NQ / 4)) ||
	    (off >= IXGBE_TQSM(0) && off < IXGBE_TQSM(NQ / 4)) ||
	    (off >= IXGBE_SRRCTL_ALIAS(0) && off < IXGBE_SRRCTL_ALIAS(NQ)))
		return (off & 3) ? R_UNKNOWN : R_RW;
	if (off >= IXGBE_QBTC_L(0) && off < IXGBE_QBTC_L(NQ))
		return (off & 3) ? R_UNKNOWN : R_RC;
	static const uint32_t rx_rw[] = { 0x00, 0x04, 0x08, 0x10, 0x14, 0x18, 0x28 };
	static const uint32_t tx_rw[] = { 0x00, 0x04, 0x08, 0x10, 0x18, 0x28 };

	for (size_t i = 0; i < sizeof(rx_rw) / sizeof(rx_rw[0]); i++)
		if (in_queue_block(off, 0x01000, rx_rw[i], &q))
			return R_RW;
	for (size_t i = 0; i < sizeof(tx_rw) / sizeof(tx_rw[0]); i++)
		if (in_queue_block(off, 0x06000, tx_rw[i], &q))
			return R_RW;
	if (in_queue_block(off, 0x01000, 0x30, &q) || in_queue_block(off, 0x01000, 0x34, &q) ||
	    in_queue_block(off, 0x01000, 0x38, &q) || in_queue_block(off, 0x01400, 0x30, &q) ||
	    in_queue_block(off, 0x06000, 0x30, &q))
		return R_RC;
	return R_UNKNOWN;
}

/* SRRCTL has two addresses for queues 0..15; the model keeps one. */
static uint32_t canon(uint32_t off)
{
	if (off >= IXGBE_SRRCTL_ALIAS(0) && off < IXGBE_SRRCTL_ALIAS(NQ))
		return IXGBE_SRRCTL((off - IXGBE_SRRCTL_ALIAS(0)) / 4);
	return off;
}

/* Register reset values (82599 datasheet §8.2.3, "Initial value" of each register). */
void port_reset_registers(struct port *p)
{
	memset(p->sd->bar[0], 0, IXGBE_BAR0_SIZE);
	set_reg(p, IXGBE_STATUS, p->index << IXGBE_STATUS_LAN_ID_SHIFT);
	set_reg(p, IXGBE_EEC, IXGBE_EEC_PRES | IXGBE_EEC_ARD);
	set_reg(p, IXGBE_RDRXCTL, IXGBE_RDRXCTL_DMAIDONE);
	set_reg(p, IXGBE_HLREG0,
		IXGBE_HLREG0_TXCRCEN | IXGBE_HLREG0_RXCRCSTRP | IXGBE_HLREG0_TXPADEN);
	set_reg(p, IXGBE_AUTOC, IXGBE_AUTOC_LMS_10G_SERIAL);
	set_reg(p, IXGBE_RXPBSIZE(0), 512u << 10);
	set_reg(p, IXGBE_TXPBSIZE(0), 160u << 10);
	set_reg(p, IXGBE_DTXMXSZRQ, 0x10);
	for (unsigned q = 0; q < NQ; q++)
		set_reg(p, IXGBE_SRRCTL(q), (4u << 8) | 2u); /* 256 B header, 2 KiB packet buffer */
	/* The EEPROM's MAC address, auto-read into RAL/RAH(0). */
	set_reg(p, IXGBE_RAL(0),
		p->mac[0] | p->mac[1] << 8 | p->mac[2] << 16 | (uint32_t)p->mac[3] << 24);
	set_reg(p, IXGBE_RAH(0), p->mac[4] | p->mac[5] << 8 | IXGBE_RAH_AV);
}

/* Which counter a clear-on-read register shows; -1 for those the model never counts. */
static int counter_of(uint32_t off, bool *hi)
{
	unsigned q;

	*hi = false;
	switch (off) {
	case IXGBE_GPRC:
		return C_GPRC;
	case IXGBE_GPTC:
		return C_GPTC;
	case IXGBE_GORCH:
		*hi = true;
		/* fall through */
	case IXGBE_GORCL:
		return C_GORC;
	case IXGBE_GOTCH:
		*hi = true;
		/* fall through */
	case IXGBE_GOTCL:
		return C_GOTC;
	case IXGBE_MPC(0):
		return C_MPC;
	}
	if (in_queue_block(off, 0x01000, 0x30, &q))
		return C_QPRC + q;
	if (in_queue_block(off, 0x06000, 0x30, &q))
		return C_QPTC + q;
	if (in_queue_block(off, 0x01000, 0x34, &q))
		return C_QBRC + q;
	if (in_queue_block(off, 0x01000, 0x38, &q)) {
		*hi = true;
		return C_QBRC + q;
	}
	if (in_queue_block(off, 0x01400, 0x30, &q))
		return C_QPRDC + q;
	if (off >= IXGBE_QBTC_L(0) && off < IXGBE_QBTC_L(NQ)) {
		*hi = (off & 4) != 0;
		return C_QBTC + (off - IXGBE_QBTC_L(0)) / 8;
	}
	return -1;
}

/*
 * Frames the peer found no room for in our packet buffer: the peer's thread counts them in the
 * FIFO, under its lock; they join MPC here, with our device lock held, the only way the
 * counters are touched.
 */
static void fold_fifo_drops(struct port *p)
{
	pthread_mutex_lock(&p->rx_in.lock);
	p->cnt[C_MPC] += p->rx_in.dropped;
	p->rx_in.dropped = 0;
	pthread_mutex_unlock(&p->rx_in.lock);
}

static uint32_t read_counter(struct port *p, uint32_t off)
{
	bool hi;
	int c = counter_of(off, &hi);

	if (c < 0)
		return 0;
	if (hi)
		return p->latch_hi[c];
	if (c == C_MPC)
		fold_fifo_drops(p);
	/* Reading the low half (or a 32-bit counter) clears it and latches the high half. */
	uint64_t v = p->cnt[c];

	p->cnt[c] = 0;
	p->latch_hi[c] = (uint32_t)(v >> 32);
	return c == C_GORC || c == C_GOTC || (c >= C_QBRC && c < C_QPRDC) ?
		       (uint32_t)v :
		       (v > UINT32_MAX ? UINT32_MAX : (uint32_t)v);
}

static void trace(struct port *p, bool write, uint32_t off, uint32_t val)
{
	if (!p->trace)
		return;
	pthread_mutex_lock(&p->trace_lock);
	if (p->tlog_n < TRACE_MAX)
		p->tlog[p->tlog_n++] = (struct sim_ixgbe_reg_access){ write, off, val };
	pthread_mutex_unlock(&p->trace_lock);
}

uint32_t port_reg_read32(struct sim_dev *sd, int bar, uint32_t off)
{
	struct port *p = sd->priv;
	uint32_t v;
	unsigned q;

	if (bar != 0 || off >= IXGBE_BAR0_SIZE || reg_kind(off) == R_UNKNOWN) {
		model_error(p, "read of unknown register BAR%d+0x%05x", bar, off);
		return 0xffffffff;
	}
	off = canon(off);
	if (port_intr_reg_read(p, off, &v)) {
		trace(p, false, off, v);
		return v;
	}
	switch (reg_kind(off)) {
	case R_RC:
		v = read_counter(p, off);
		break;
	default:
		v = reg(p, off);
		break;
	}
	if (off == IXGBE_CTRL && p->rst_reads) {
		p->rst_reads--;
		v |= IXGBE_CTRL_RST;
	} else if (off == IXGBE_EEC && p->ard_reads) {
		p->ard_reads--;
		v &= ~IXGBE_EEC_ARD;
	} else if (off == IXGBE_RDRXCTL && p->dmaidone_reads) {
		p->dmaidone_reads--;
		v &= ~IXGBE_RDRXCTL_DMAIDONE;
	} else if (off == IXGBE_LINKS) {
		v = link_up(p) ? IXGBE_LINKS_UP | IXGBE_LINKS_SPEED_10G : 0;
	} else if (in_queue_block(off, 0x01000, 0x28, &q) && p->rxdctl_reads[q]) {
		p->rxdctl_reads[q]--;
		v &= ~IXGBE_RXDCTL_ENABLE;
	} else if (in_queue_block(off, 0x06000, 0x28, &q) && p->txdctl_reads[q]) {
		p->txdctl_reads[q]--;
		v &= ~IXGBE_TXDCTL_ENABLE;
	}
	trace(p, false, off, v);
	return v;
}

void port_reg_write32(struct sim_dev *sd, int bar, uint32_t off, uint32_t val)
{
	struct port *p = sd->priv;
	enum reg_kind k = bar == 0 && off < IXGBE_BAR0_SIZE ? reg_kind(off) : R_UNKNOWN;
	unsigned q;

	if (k == R_UNKNOWN || k == R_RO || k == R_RC) {
		model_error(p, "write of 0x%08x to %s register BAR%d+0x%05x", val,
			    k == R_UNKNOWN ? "unknown" : "read-only", bar, off);
		return;
	}
	off = canon(off);
	trace(p, true, off, val);
	if (port_intr_reg_write(p, off, val))
		return;
	switch (off) {
	case IXGBE_CTRL:
		if (val & IXGBE_CTRL_RST_MASK) {
			port_reset(p);
			return;
		}
		break;
	case IXGBE_AUTOC:
		if (val & IXGBE_AUTOC_AN_RESTART) {
			p->an_started = true;
			p->an_time_ns = now_ns();
			val &= ~IXGBE_AUTOC_AN_RESTART; /* self-clearing */
		}
		break;
	case IXGBE_EEC:
		val = (val & ~(IXGBE_EEC_PRES | IXGBE_EEC_ARD)) |
		      (reg(p, IXGBE_EEC) & (IXGBE_EEC_PRES | IXGBE_EEC_ARD));
		break;
	case IXGBE_RDRXCTL:
		val = (val & ~IXGBE_RDRXCTL_DMAIDONE) | (reg(p, off) & IXGBE_RDRXCTL_DMAIDONE);
		break;
	}
	if (in_queue_block(off, 0x01000, 0x28, &q)) {
		bool on = val & IXGBE_RXDCTL_ENABLE;

		if (on && !p->rx_on[q]) {
			p->rx_head[q] = reg(p, IXGBE_RDH(q));
			p->rxdctl_reads[q] = 1;
		}
		p->rx_on[q] = on;
	} else if (in_queue_block(off, 0x06000, 0x28, &q)) {
		bool on = val & IXGBE_TXDCTL_ENABLE;

		if (on && !p->tx_on[q]) {
			p->tx_head[q] = reg(p, IXGBE_TDH(q));
			p->tx_len[q] = 0;
			p->tx_bad[q] = false;
			p->txdctl_reads[q] = 1;
		}
		p->tx_on[q] = on;
	} else if (in_queue_block(off, 0x01000, 0x10, &q)) {
		p->rx_head[q] = val;
	} else if (in_queue_block(off, 0x06000, 0x10, &q)) {
		p->tx_head[q] = val;
	}
	set_reg(p, off, val);
}
