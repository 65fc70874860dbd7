// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim:ixgbe: a model of one Intel 82599 port, written from the 82599 datasheet.
 *
 * What it models: the BAR0 registers drivers/ixgbe uses, with reset values and the side effects
 * a driver polls (CTRL.RST self-clears, EEC.ARD and RDRXCTL.DMAIDONE come up after a reset,
 * LINKS comes up after AUTOC.AN_RESTART, RXDCTL/TXDCTL.ENABLE read back one read late, the
 * statistics clear on read, EICR clears on read); 16 receive and 16 transmit queues with
 * advanced descriptors; FCTRL filtering against receive address 0; RSS (Toeplitz hash, RETA);
 * IPv4/TCP/UDP receive checksum checks; DROP_EN; a receive packet buffer (FIFO) that drops
 * and counts MPC when full. Every access to a register it does not know is an error, counted
 * in sim_ixgbe_errors(). Host memory is reached only through sim_dma_*().
 *
 * Transmit: advanced data and context descriptors, IPv4/TCP/UDP checksum insertion, padding
 * (HLREG0.TXPADEN), DD written back for RS descriptors (WTHRESH = 0).
 *
 * Not modelled: interrupts (EIMS/EIMC/EICR are kept only as registers), DCB, VT, flow control,
 * multi-descriptor receive frames, VLAN stripping, TSO, the EEPROM and PHY.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_COMPONENT "sim-ixgbe"
#include "lib/util/log.h"

#include "drivers/ixgbe/ixgbe_desc.h"
#include "drivers/ixgbe/ixgbe_regs.h"
#include "sim/ixgbe/ixgbe_sim.h"
#include "sim/sim.h"

#define NQ 16 /* queues per direction the model has */
#define SINK_FRAMES 4096 /* sent frames a port without a peer keeps for capture */
#define FIFO_DEFAULT 512
#define WB_QUEUE 8192 /* delayed write-backs in flight */
#define TRACE_MAX 8192
#define POLL_BUDGET 64 /* descriptors per queue per poll */

struct frame {
	uint16_t len;
	uint8_t data[SIM_IXGBE_FRAME_MAX];
};

/* A bounded FIFO of frames with its own lock (the peer's thread and tests push into it). */
struct fifo {
	pthread_mutex_t lock;
	unsigned cap, head, count;
	uint64_t dropped;
	struct frame *slots;
};

/* Counters (64-bit inside; the registers show them clear-on-read). */
enum {
	C_GPRC,
	C_GPTC,
	C_GORC,
	C_GOTC,
	C_MPC,
	C_QPRC,
	C_QPTC = C_QPRC + NQ,
	C_QBRC = C_QPTC + NQ,
	C_QBTC = C_QBRC + NQ,
	C_QPRDC = C_QBTC + NQ,
	C_COUNT = C_QPRDC + NQ,
};

struct wb {
	uint64_t due_ns;
	uint64_t iova;
	uint32_t len;
	uint8_t data[16];
};

struct port {
	struct port *next; /* registry */
	struct sim_dev *sd;
	char name[32];
	char peer[32];
	uint8_t mac[6];
	unsigned index;
	bool link_allowed;
	uint64_t link_delay_ns;
	uint64_t wb_delay_ns;
	bool wb_off; /* wb=off: no descriptor is ever written back */
	bool trace;

	/* device state */
	bool an_started;
	uint64_t an_time_ns;
	unsigned rst_reads, ard_reads, dmaidone_reads; /* reads left before the bit flips */
	unsigned rxdctl_reads[NQ], txdctl_reads[NQ];
	bool rx_on[NQ], tx_on[NQ];
	uint32_t rx_head[NQ], tx_head[NQ];
	uint16_t tx_len[NQ]; /* bytes of the frame being gathered */
	bool tx_bad[NQ]; /* the frame being gathered is dropped */
	uint32_t tx_olinfo[NQ]; /* offload bits of the frame's first data descriptor */
	struct {
		bool valid;
		uint8_t maclen;
		uint16_t iplen;
		uint32_t tucmd;
	} tx_ctx[NQ][2]; /* §7.2.3.2.3 context slots */
	uint8_t tx_frame[NQ][SIM_IXGBE_FRAME_MAX];
	uint64_t cnt[C_COUNT];
	uint32_t latch_hi[C_COUNT]; /* high halves latched when the low half is read */

	struct fifo rx_in; /* the receive packet buffer */
	struct fifo sink; /* what we sent, when there is no peer */

	struct wb *wbq;
	unsigned wb_head, wb_count;

	pthread_mutex_t trace_lock;
	struct sim_ixgbe_reg_access *tlog;
	unsigned tlog_n;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct port *registry;
static unsigned port_counter;
static uint64_t model_errors;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void model_error(struct port *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void model_error(struct port *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	__atomic_fetch_add(&model_errors, 1, __ATOMIC_RELAXED);
	log_err("%s: %s", p->name, msg);
}

uint64_t sim_ixgbe_errors(void)
{
	return __atomic_load_n(&model_errors, __ATOMIC_RELAXED) + 0;
}

/* ---- FIFOs ---- */

static int fifo_init(struct fifo *f, unsigned cap)
{
	pthread_mutex_init(&f->lock, NULL);
	f->cap = cap;
	f->slots = calloc(cap, sizeof(*f->slots));
	return f->slots ? 0 : -ENOMEM;
}

static void fifo_fini(struct fifo *f)
{
	free(f->slots);
	pthread_mutex_destroy(&f->lock);
}

/* Push a frame; false (and a drop counted) when full. Caller holds f->lock. */
static bool fifo_push_locked(struct fifo *f, const void *data, uint16_t len)
{
	if (f->count == f->cap) {
		f->dropped++;
		return false;
	}
	struct frame *fr = &f->slots[(f->head + f->count) % f->cap];

	fr->len = len;
	memcpy(fr->data, data, len);
	f->count++;
	return true;
}

static void fifo_clear(struct fifo *f)
{
	pthread_mutex_lock(&f->lock);
	f->head = 0;
	f->count = 0;
	f->dropped = 0;
	pthread_mutex_unlock(&f->lock);
}

/* ---- registry ---- */

static struct port *find_port_locked(const char *name)
{
	for (struct port *p = registry; p; p = p->next)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

/* ---- registers ---- */

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
	case IXGBE_EICR:
	case IXGBE_EIMS:
	case IXGBE_EIMC:
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

static uint32_t reg(struct port *p, uint32_t off)
{
	return sim_reg32(p->sd, 0, off);
}

static void set_reg(struct port *p, uint32_t off, uint32_t val)
{
	sim_set_reg32(p->sd, 0, off, val);
}

/* Register reset values (82599 datasheet §8.2.3, "Initial value" of each register). */
static void reset_registers(struct port *p)
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

/* CTRL.RST (or a function-level reset): everything back to its initial state. */
static void device_reset(struct port *p)
{
	reset_registers(p);
	p->an_started = false;
	p->rst_reads = 1;
	p->ard_reads = 2;
	p->dmaidone_reads = 2;
	memset(p->rxdctl_reads, 0, sizeof(p->rxdctl_reads));
	memset(p->txdctl_reads, 0, sizeof(p->txdctl_reads));
	memset(p->rx_on, 0, sizeof(p->rx_on));
	memset(p->tx_on, 0, sizeof(p->tx_on));
	memset(p->rx_head, 0, sizeof(p->rx_head));
	memset(p->tx_head, 0, sizeof(p->tx_head));
	memset(p->tx_len, 0, sizeof(p->tx_len));
	memset(p->tx_bad, 0, sizeof(p->tx_bad));
	memset(p->tx_ctx, 0, sizeof(p->tx_ctx));
	memset(p->cnt, 0, sizeof(p->cnt));
	p->wb_head = p->wb_count = 0;
	fifo_clear(&p->rx_in);
}

static bool link_up(struct port *p)
{
	return __atomic_load_n(&p->link_allowed, __ATOMIC_RELAXED) && p->an_started &&
	       now_ns() >= p->an_time_ns + p->link_delay_ns;
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

static uint32_t ixgbe_reg_read32(struct sim_dev *sd, int bar, uint32_t off)
{
	struct port *p = sd->priv;
	uint32_t v;
	unsigned q;

	if (bar != 0 || off >= IXGBE_BAR0_SIZE || reg_kind(off) == R_UNKNOWN) {
		model_error(p, "read of unknown register BAR%d+0x%05x", bar, off);
		return 0xffffffff;
	}
	off = canon(off);
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
	} else if (off == IXGBE_EICR) {
		set_reg(p, IXGBE_EICR, 0); /* §8.2.3.5.1: read to clear */
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

static void ixgbe_reg_write32(struct sim_dev *sd, int bar, uint32_t off, uint32_t val)
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
	switch (off) {
	case IXGBE_CTRL:
		if (val & IXGBE_CTRL_RST_MASK) {
			device_reset(p);
			return;
		}
		break;
	case IXGBE_EIMS:
		val |= reg(p, IXGBE_EIMS);
		break;
	case IXGBE_EIMC:
		set_reg(p, IXGBE_EIMS, reg(p, IXGBE_EIMS) & ~val);
		return;
	case IXGBE_EICR:
		val = reg(p, IXGBE_EICR) & ~val; /* write 1 to clear */
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

/* ---- write-backs ---- */

/*
 * Land a write-back. Software owns a descriptor from the moment it sees DD and may re-arm it at
 * once (§7.1.9, §7.2.3.5), so the word holding DD goes last and in one store: written with a
 * copy, a second store of that word could land after the re-arm and set DD on a descriptor the
 * device was just given, with its length and status cleared. A receive write-back (§7.1.6.2)
 * carries DD in its status word at byte 8; a transmit one (§7.2.3.2.4) is that word alone.
 */
static void dma_wb_now(struct port *p, uint64_t iova, const uint8_t *d, uint32_t len)
{
	uint32_t at = len == 16 ? 8 : 0, word;
	bool fault = false;

	if (len == 16)
		fault = sim_dma_write(p->sd, iova, d, 8) ||
			sim_dma_write(p->sd, iova + 12, d + 12, 4);
	memcpy(&word, d + at, 4);
	if (fault || sim_dma_store32(p->sd, iova + at, le32toh(word)))
		model_error(p, "DMA fault writing back a %s descriptor at 0x%llx",
			    len == 16 ? "receive" : "transmit", (unsigned long long)iova);
}

static void write_back(struct port *p, uint64_t iova, const void *data, uint32_t len)
{
	if (p->wb_off) /* wb=off: the device works but never says so (DD never set) */
		return;
	if (!p->wb_delay_ns && !p->wb_count) {
		dma_wb_now(p, iova, data, len);
		return;
	}
	if (p->wb_count == WB_QUEUE) { /* full: land the oldest now, keeping the order */
		struct wb *w = &p->wbq[p->wb_head];

		dma_wb_now(p, w->iova, w->data, w->len);
		p->wb_head = (p->wb_head + 1) % WB_QUEUE;
		p->wb_count--;
	}
	struct wb *w = &p->wbq[(p->wb_head + p->wb_count) % WB_QUEUE];

	w->due_ns = now_ns() + p->wb_delay_ns;
	w->iova = iova;
	w->len = len;
	memcpy(w->data, data, len);
	p->wb_count++;
}

static bool flush_write_backs(struct port *p)
{
	bool did = false;
	uint64_t now = p->wb_count ? now_ns() : 0;

	while (p->wb_count && p->wbq[p->wb_head].due_ns <= now) {
		struct wb *w = &p->wbq[p->wb_head];

		dma_wb_now(p, w->iova, w->data, w->len);
		p->wb_head = (p->wb_head + 1) % WB_QUEUE;
		p->wb_count--;
		did = true;
	}
	return did;
}

/* ---- frames: parsing, checksums, RSS ---- */

struct parsed {
	bool ipv4, ipv6, tcp, udp;
	bool ip_ok, l4_ok, l4_checked;
	const uint8_t *src, *dst; /* addresses */
	unsigned addr_len;
	const uint8_t *ports; /* source then destination port, or NULL */
};

static uint32_t sum16(const uint8_t *d, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)d[i] << 8 | d[i + 1];
	if (n & 1)
		s += (uint32_t)d[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

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

/* §8.2.3.23: the statistics set a queue counts into (RQSMR/TQSM, one byte per queue). */
static unsigned stat_index(struct port *p, uint32_t map_base, unsigned q)
{
	return (reg(p, map_base + 4 * (q / 4)) >> (8 * (q % 4))) & (NQ - 1);
}

/* ---- receive ---- */

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
	write_back(p, daddr, &wb, sizeof(wb));
	p->rx_head[q] = (p->rx_head[q] + 1) % size;
	set_reg(p, IXGBE_RDH(q), p->rx_head[q]);
	p->cnt[C_GPRC]++;
	p->cnt[C_GORC] += fr->len + IXGBE_FCS_LEN;
	p->cnt[C_QPRC + si]++;
	p->cnt[C_QBRC + si] += fr->len;
	return RX_DONE;
}

static bool rx_engine(struct port *p)
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

/* ---- transmit ---- */

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

	pthread_mutex_lock(&registry_lock);
	if (p->peer[0]) {
		struct port *peer = find_port_locked(p->peer);

		/* A peer that is not open (yet) is a cable to nowhere: the frame is lost. */
		if (peer) {
			/* Its packet buffer overflowing is its MPC: see fold_fifo_drops(). */
			pthread_mutex_lock(&peer->rx_in.lock);
			fifo_push_locked(&peer->rx_in, data, len);
			pthread_mutex_unlock(&peer->rx_in.lock);
		}
	} else {
		pthread_mutex_lock(&p->sink.lock);
		fifo_push_locked(&p->sink, data, len);
		pthread_mutex_unlock(&p->sink.lock);
	}
	pthread_mutex_unlock(&registry_lock);
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

			write_back(p, daddr + 12, &status, 4);
		}
		p->tx_head[q] = (p->tx_head[q] + 1) % size;
		set_reg(p, IXGBE_TDH(q), p->tx_head[q]);
		did = true;
	}
	return did;
}

static bool tx_engine(struct port *p)
{
	bool did = false;

	if (!(reg(p, IXGBE_DMATXCTL) & IXGBE_DMATXCTL_TE) || !link_up(p))
		return false;
	for (unsigned q = 0; q < NQ; q++)
		if (p->tx_on[q])
			did |= tx_queue(p, q);
	return did;
}

static bool ixgbe_poll(struct sim_dev *sd)
{
	struct port *p = sd->priv;
	bool did = flush_write_backs(p);

	did |= tx_engine(p);
	did |= rx_engine(p);
	return did;
}

static int ixgbe_reset(struct sim_dev *sd)
{
	device_reset(sd->priv);
	return 0;
}

/* ---- creation ---- */

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	return (mac[0] & 1) ? -EINVAL : 0;
}

static const char *const ixgbe_keys[] = { "name",	 "peer", "mac",	 "link",  "link_delay_ms",
					  "wb_delay_us", "wb",	 "fifo", "trace", NULL };

static void port_free(struct port *p)
{
	fifo_fini(&p->rx_in);
	fifo_fini(&p->sink);
	free(p->wbq);
	free(p->tlog);
	pthread_mutex_destroy(&p->trace_lock);
	free(p);
}

static int ixgbe_create(struct sim_dev *sd, const struct sim_opts *opts)
{
	struct port *p;
	uint64_t link_delay, wb_delay, fifo, tr;
	const char *v;
	int rc = sim_opts_check(sd, opts, ixgbe_keys);

	if (rc)
		return rc;
	if (sim_opt_u64(opts, "link_delay_ms", 0, &link_delay) ||
	    sim_opt_u64(opts, "wb_delay_us", 0, &wb_delay) ||
	    sim_opt_u64(opts, "fifo", FIFO_DEFAULT, &fifo) || sim_opt_u64(opts, "trace", 0, &tr))
		return -EINVAL;
	if (fifo < 1 || fifo > 65536) {
		log_err("%s: fifo=%llu: give 1 to 65536 frames", sd->name,
			(unsigned long long)fifo);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->trace_lock, NULL);
	if (fifo_init(&p->rx_in, (unsigned)fifo) || fifo_init(&p->sink, SINK_FRAMES) ||
	    !(p->wbq = calloc(WB_QUEUE, sizeof(*p->wbq))) ||
	    (tr && !(p->tlog = calloc(TRACE_MAX, sizeof(*p->tlog))))) {
		port_free(p);
		return -ENOMEM;
	}
	p->sd = sd;
	p->trace = tr != 0;
	p->link_delay_ns = link_delay * 1000000ull;
	p->wb_delay_ns = wb_delay * 1000ull;
	p->link_allowed = true;
	v = sim_opt(opts, "link");
	if (v && strcmp(v, "up") && strcmp(v, "down")) {
		log_err("%s: link=%s: use link=up or link=down", sd->name, v);
		port_free(p);
		return -EINVAL;
	}
	if (v && !strcmp(v, "down"))
		p->link_allowed = false;
	v = sim_opt(opts, "wb");
	if (v && strcmp(v, "on") && strcmp(v, "off")) {
		log_err("%s: wb=%s: use wb=on or wb=off", sd->name, v);
		port_free(p);
		return -EINVAL;
	}
	p->wb_off = v && !strcmp(v, "off");
	v = sim_opt(opts, "peer");
	if (v && strlen(v) >= sizeof(p->peer)) {
		log_err("%s: peer=%s: names are at most %zu characters", sd->name, v,
			sizeof(p->peer) - 1);
		port_free(p);
		return -EINVAL;
	}
	snprintf(p->peer, sizeof(p->peer), "%s", v ? v : "");

	pthread_mutex_lock(&registry_lock);
	unsigned n = port_counter++;

	v = sim_opt(opts, "name");
	if (v && (strlen(v) >= sizeof(p->name) || !*v)) {
		pthread_mutex_unlock(&registry_lock);
		log_err("%s: name=%s: give 1 to %zu characters", sd->name, v, sizeof(p->name) - 1);
		port_free(p);
		return -EINVAL;
	}
	if (v)
		snprintf(p->name, sizeof(p->name), "%s", v);
	else
		snprintf(p->name, sizeof(p->name), "ixgbe%u", n);
	if (find_port_locked(p->name)) {
		pthread_mutex_unlock(&registry_lock);
		log_err("%s: a sim:ixgbe port named %s is already open: give each port its own "
			"name=",
			sd->name, p->name);
		port_free(p);
		return -EEXIST;
	}
	p->index = n & 1;
	uint8_t defmac[6] = { 0x02, 0x00, 0x00, 0x00, (uint8_t)(n >> 8), (uint8_t)n };

	memcpy(p->mac, defmac, 6);
	v = sim_opt(opts, "mac");
	if (v && parse_mac(v, p->mac)) {
		pthread_mutex_unlock(&registry_lock);
		log_err("%s: mac=%s: give a unicast address as xx:xx:xx:xx:xx:xx", sd->name, v);
		port_free(p);
		return -EINVAL;
	}
	p->next = registry;
	registry = p;
	pthread_mutex_unlock(&registry_lock);

	sd->priv = p;
	device_reset(p);
	p->rst_reads = p->ard_reads = p->dmaidone_reads = 0; /* power-on: all done already */
	return 0;
}

static void ixgbe_destroy(struct sim_dev *sd)
{
	struct port *p = sd->priv;

	if (!p)
		return;
	pthread_mutex_lock(&registry_lock);
	for (struct port **pp = &registry; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&registry_lock);
	port_free(p);
	sd->priv = NULL;
}

/* ---- the test interface (ixgbe_sim.h) ---- */

int sim_ixgbe_inject(const char *port, const void *frame, size_t len)
{
	int rc = 0;

	if (!len || len > SIM_IXGBE_FRAME_MAX)
		return -EINVAL;
	pthread_mutex_lock(&registry_lock);
	struct port *p = find_port_locked(port);

	if (!p) {
		rc = -ENODEV;
	} else {
		pthread_mutex_lock(&p->rx_in.lock);
		if (p->rx_in.count == p->rx_in.cap)
			rc = -ENOSPC;
		else
			fifo_push_locked(&p->rx_in, frame, (uint16_t)len);
		pthread_mutex_unlock(&p->rx_in.lock);
	}
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

int sim_ixgbe_capture(const char *port, void *buf, size_t cap)
{
	int rc = 0;

	pthread_mutex_lock(&registry_lock);
	struct port *p = find_port_locked(port);

	if (!p) {
		rc = -ENODEV;
	} else {
		pthread_mutex_lock(&p->sink.lock);
		if (p->sink.count) {
			struct frame *fr = &p->sink.slots[p->sink.head];

			memcpy(buf, fr->data, fr->len < cap ? fr->len : cap);
			rc = fr->len;
			p->sink.head = (p->sink.head + 1) % p->sink.cap;
			p->sink.count--;
		}
		pthread_mutex_unlock(&p->sink.lock);
	}
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

uint64_t sim_ixgbe_sink_dropped(const char *port)
{
	uint64_t n = 0;

	pthread_mutex_lock(&registry_lock);
	struct port *p = find_port_locked(port);

	if (p) {
		pthread_mutex_lock(&p->sink.lock);
		n = p->sink.dropped;
		pthread_mutex_unlock(&p->sink.lock);
	}
	pthread_mutex_unlock(&registry_lock);
	return n;
}

int sim_ixgbe_set_link(const char *port, bool up)
{
	pthread_mutex_lock(&registry_lock);
	struct port *p = find_port_locked(port);

	if (p)
		__atomic_store_n(&p->link_allowed, up, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&registry_lock);
	return p ? 0 : -ENODEV;
}

int sim_ixgbe_reg_log(const char *port, struct sim_ixgbe_reg_access *log, size_t max)
{
	int n = -ENODEV;

	pthread_mutex_lock(&registry_lock);
	struct port *p = find_port_locked(port);

	if (p) {
		pthread_mutex_lock(&p->trace_lock);
		n = (int)p->tlog_n;
		if (log)
			memcpy(log, p->tlog, (max < p->tlog_n ? max : p->tlog_n) * sizeof(*log));
		pthread_mutex_unlock(&p->trace_lock);
	}
	pthread_mutex_unlock(&registry_lock);
	return n;
}

const struct sim_model sim_ixgbe_model = {
	.name = "ixgbe",
	.vendor_id = 0x8086,
	.device_id = 0x10fb, /* 82599 SFP+ */
	.class_code = 0x020000, /* Ethernet controller */
	.bar_size = { IXGBE_BAR0_SIZE },
	.create = ixgbe_create,
	.destroy = ixgbe_destroy,
	.reg_read32 = ixgbe_reg_read32,
	.reg_write32 = ixgbe_reg_write32,
	.poll = ixgbe_poll,
	.reset = ixgbe_reset,
};
