/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:ixgbe, an 82599 model: what tests and benchmarks can reach beyond the PCI device.
 *
 * Address options ("sim:ixgbe?name=a,peer=b,..."):
 *   name=NAME        the port's name (default ixgbeN); unique in the process
 *   peer=NAME        wire this port back to back with port NAME: what one sends the other
 *                    receives. Without a peer, sent frames go to a sink read with
 *                    sim_ixgbe_capture(), and frames come in only by sim_ixgbe_inject().
 *   mac=xx:xx:..     the MAC address in the EEPROM (default 02:00:00:00:00:NN)
 *   link=up|down     down: LINKS never reports link (until sim_ixgbe_set_link())
 *   link_delay_ms=N  link comes up N ms after AUTOC.AN_RESTART (default 0)
 *   wb_delay_us=N    descriptor write-backs (RX and TX DD) land N us late (default 0)
 *   wb=off           no descriptor write-back ever lands (DD never set); frames still move
 *   fifo=N           frames the receive packet buffer holds before it drops (default 512)
 *   trace=1          keep a log of every control-path register access (sim_ixgbe_reg_log())
 */
#ifndef UPDK_SIM_IXGBE_SIM_H
#define UPDK_SIM_IXGBE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest frame the model carries, without FCS (a standard frame with a VLAN tag fits). */
#define SIM_IXGBE_FRAME_MAX 2048

/*
 * Put a frame (no FCS) on the wire into port @port, as if its peer had sent it. Returns 0,
 * -ENODEV (no such port), -EINVAL (length 0 or above SIM_IXGBE_FRAME_MAX) or -ENOSPC (the
 * port's receive packet buffer is full: the model is behind; try again).
 */
int sim_ixgbe_inject(const char *port, const void *frame, size_t len);

/*
 * Take the oldest frame port @port sent into its sink (ports without a peer). Returns its
 * length (copied up to @cap bytes), 0 if there is none, -ENODEV if there is no such port.
 */
int sim_ixgbe_capture(const char *port, void *buf, size_t cap);

/* Frames dropped by @port's sink because nobody captured them (it holds 4096). */
uint64_t sim_ixgbe_sink_dropped(const char *port);

/* Allow or forbid the link of @port (link=down at creation forbids it). 0 or -ENODEV. */
int sim_ixgbe_set_link(const char *port, bool up);

/*
 * Model errors since the process started: register accesses outside the registers the model
 * knows (or writes to read-only ones), bad doorbells (a tail beyond the ring), descriptors it
 * cannot handle, and DMA faults. A test that ends with a non-zero count has found a bug.
 */
uint64_t sim_ixgbe_errors(void);

/* One control-path register access, as logged with trace=1. */
struct sim_ixgbe_reg_access {
	bool write;
	uint32_t off;
	uint32_t val; /* written, or read back */
};

/* Copy up to @max logged accesses of @port, oldest first; returns how many were logged. */
int sim_ixgbe_reg_log(const char *port, struct sim_ixgbe_reg_access *log, size_t max);

#endif
