/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:ixgbe internals: the state of one simulated 82599 port, shared by the files of
 * sim/ixgbe/: the port itself, its packet buffer, descriptor write-backs and the wire to its
 * peer (ixgbe_model.c), the registers (regs.c), receive (rx.c) and transmit (tx.c). The
 * register hooks and poll() run with the device's lock held; the FIFOs, which the peer's
 * thread and the tests fill, have locks of their own.
 */
#ifndef UPDK_SIM_IXGBE_MODEL_H
#define UPDK_SIM_IXGBE_MODEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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
	int16_t queue; /* the queue whose cause the landing sets (intr.c), -1: none */
	bool tx;
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

	/* interrupts (intr.c): vectors 0..63 (EICR_EX, EIMS_EX, EIAM_EX; bits 15:0 also EICR's) */
	uint64_t icause, imask, iauto;
	uint64_t last_fire_ns[64]; /* for the EITR interval */
};

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint32_t reg(struct port *p, uint32_t off)
{
	return sim_reg32(p->sd, 0, off);
}

static inline void set_reg(struct port *p, uint32_t off, uint32_t val)
{
	sim_set_reg32(p->sd, 0, off, val);
}

static inline bool link_up(struct port *p)
{
	return __atomic_load_n(&p->link_allowed, __ATOMIC_RELAXED) && p->an_started &&
	       now_ns() >= p->an_time_ns + p->link_delay_ns;
}

/* The Internet checksum (RFC 1071): a ones' complement sum of 16-bit big-endian words, then
 * folded to 16 bits. */
static inline uint32_t sum16(const uint8_t *d, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)d[i] << 8 | d[i + 1];
	if (n & 1)
		s += (uint32_t)d[n - 1] << 8;
	return s;
}

static inline uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* §8.2.3.23: the statistics set a queue counts into (RQSMR/TQSM, one byte per queue). */
static inline unsigned stat_index(struct port *p, uint32_t map_base, unsigned q)
{
	return (reg(p, map_base + 4 * (q / 4)) >> (8 * (q % 4))) & (NQ - 1);
}

/* ---- ixgbe_model.c: the port ---- */

/* Log a model error (a register or descriptor the model does not know, a DMA fault) and count
 * it in sim_ixgbe_errors(). */
void model_error(struct port *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* CTRL.RST (or a function-level reset): everything back to its initial state. */
void port_reset(struct port *p);
/* Write a descriptor of queue @q back (16 bytes for receive, the 4-byte status for transmit,
 * @tx), now or wb_delay_us later, in order; never with wb=off. Its landing sets the queue's
 * interrupt cause (intr.c). */
void port_write_back(struct port *p, unsigned q, bool tx, uint64_t iova, const void *data,
		     uint32_t len);
/* Put a frame on the wire: into the peer's packet buffer, or the sink without a peer. */
void port_deliver(struct port *p, const uint8_t *data, uint16_t len);

/* ---- regs.c: the registers ---- */

/* Register reset values (82599 datasheet §8.2.3). */
void port_reset_registers(struct port *p);
/* The model's register hooks (sim.h): side effects in place before they return. */
uint32_t port_reg_read32(struct sim_dev *sd, int bar, uint32_t off);
void port_reg_write32(struct sim_dev *sd, int bar, uint32_t off, uint32_t val);

/* ---- rx.c and tx.c: the engines poll() runs; true when they did anything ---- */

bool port_rx_poll(struct port *p);
bool port_tx_poll(struct port *p);

/* ---- intr.c: interrupts (82599 datasheet §7.3) ---- */

void port_intr_reset(struct port *p);
/* A descriptor of queue @q (transmit: @tx) was written back: set the cause IVAR maps it to. */
void port_intr_queue_event(struct port *p, unsigned q, bool tx);
/* Raise the vectors whose cause and mask are set and EITR interval over; true while one
 * waits for its interval. */
bool port_intr_poll(struct port *p);
/* The interrupt registers: known offsets, and reads and writes with their side effects
 * (false: a plain register, stored as written). */
bool port_intr_reg_known(uint32_t off);
bool port_intr_reg_read(struct port *p, uint32_t off, uint32_t *v);
bool port_intr_reg_write(struct port *p, uint32_t off, uint32_t val);

#endif
