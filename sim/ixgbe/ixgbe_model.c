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
 * Interrupts (intr.c): queue causes through IVAR, EIMS/EIMC masks, EIAC/EIAM auto clear and
 * mask, EITR throttling, MSI-X vectors (64) or the one INTx/MSI vector, raised through lib/pci's
 * eventfds.
 *
 * Not modelled: the other interrupt causes (link, mailbox, ...), DCB, VT, flow control,
 * multi-descriptor receive frames, VLAN stripping, TSO, the EEPROM and PHY.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "sim-ixgbe"
#include "lib/util/log.h"

#include "sim/ixgbe/ixgbe_model.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct port *registry;
static unsigned port_counter;
static uint64_t model_errors;

void model_error(struct port *p, const char *fmt, ...)
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

/* CTRL.RST (or a function-level reset): everything back to its initial state. */
void port_reset(struct port *p)
{
	port_reset_registers(p);
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
	port_intr_reset(p);
	fifo_clear(&p->rx_in);
}

/* ---- write-backs ---- */

/*
 * Land a write-back. Software owns a descriptor from the moment it sees DD and may re-arm it at
 * once (§7.1.9, §7.2.3.5), so the word holding DD goes last and in one store: written with a
 * copy, a second store of that word could land after the re-arm and set DD on a descriptor the
 * device was just given, with its length and status cleared. A receive write-back (§7.1.6.2)
 * carries DD in its status word at byte 8; a transmit one (§7.2.3.2.4) is that word alone.
 */
static void dma_wb_now(struct port *p, int q, bool tx, uint64_t iova, const uint8_t *d,
		       uint32_t len)
{
	uint32_t at = len == 16 ? 8 : 0, word;
	bool fault = false;

	if (len == 16)
		fault = sim_dma_write(p->sd, iova, d, 8) ||
			sim_dma_write(p->sd, iova + 12, d + 12, 4);
	memcpy(&word, d + at, 4);
	if (fault || sim_dma_store32(p->sd, iova + at, le32toh(word))) {
		model_error(p, "DMA fault writing back a %s descriptor at 0x%llx",
			    len == 16 ? "receive" : "transmit", (unsigned long long)iova);
		return;
	}
	/* §7.3: the queue's cause is set once the descriptor is the driver's. */
	if (q >= 0)
		port_intr_queue_event(p, (unsigned)q, tx);
}

void port_write_back(struct port *p, unsigned q, bool tx, uint64_t iova, const void *data,
		     uint32_t len)
{
	if (p->wb_off) /* wb=off: the device works but never says so (DD never set) */
		return;
	if (!p->wb_delay_ns && !p->wb_count) {
		dma_wb_now(p, (int)q, tx, iova, data, len);
		return;
	}
	if (p->wb_count == WB_QUEUE) { /* full: land the oldest now, keeping the order */
		struct wb *w = &p->wbq[p->wb_head];

		dma_wb_now(p, w->queue, w->tx, w->iova, w->data, w->len);
		p->wb_head = (p->wb_head + 1) % WB_QUEUE;
		p->wb_count--;
	}
	struct wb *w = &p->wbq[(p->wb_head + p->wb_count) % WB_QUEUE];

	w->due_ns = now_ns() + p->wb_delay_ns;
	w->queue = (int16_t)q;
	w->tx = tx;
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

		dma_wb_now(p, w->queue, w->tx, w->iova, w->data, w->len);
		p->wb_head = (p->wb_head + 1) % WB_QUEUE;
		p->wb_count--;
		did = true;
	}
	return did;
}

/* ---- the wire ---- */

void port_deliver(struct port *p, const uint8_t *data, uint16_t len)
{
	pthread_mutex_lock(&registry_lock);
	if (p->peer[0]) {
		struct port *peer = find_port_locked(p->peer);

		/* A peer that is not open (yet) is a cable to nowhere: the frame is lost. */
		if (peer) {
			/* Its packet buffer overflowing is its MPC: see fold_fifo_drops() (regs.c). */
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

static bool ixgbe_poll(struct sim_dev *sd)
{
	struct port *p = sd->priv;
	bool did = flush_write_backs(p);

	did |= port_tx_poll(p);
	did |= port_rx_poll(p);
	/* A vector waiting for its EITR interval keeps the thread awake until it is raised. */
	did |= port_intr_poll(p);
	return did;
}

static int ixgbe_reset(struct sim_dev *sd)
{
	port_reset(sd->priv);
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
	port_reset(p);
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
	/* 82599: an MSI-X table of 64 vectors (in BAR 3 on the part, §9.3.6.1), MSI, INTA#. */
	.irq = { .msix = 64, .msix_bar = 3, .msi = 1, .intx = true },
	.create = ixgbe_create,
	.destroy = ixgbe_destroy,
	.reg_read32 = port_reg_read32,
	.reg_write32 = port_reg_write32,
	.poll = ixgbe_poll,
	.reset = ixgbe_reset,
};
