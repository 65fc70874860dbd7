// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim:ixgbe's interrupts (82599 datasheet §7.3, registers §8.2.3.5). A queue event (a receive
 * or transmit descriptor written back) sets the cause its IVAR entry names; a cause that is
 * set and unmasked in EIMS raises an interrupt, at most once per EITR interval.
 *
 * - MSI-X mode (GPIE.MSIX_MODE): the IVAR entry's INT_Alloc is the MSI-X vector (0..63), whose
 *   cause is in EICR_EX (and, for vectors 0..15, EICR bits 15:0) and mask in EIMS_EX/EIMC_EX.
 *   Sending the vector's message clears its cause when EIAC has its bit (vectors 0..15) and,
 *   with GPIE.EIAME, masks it when EIAM(_EX) has its bit: the vector then waits for the
 *   driver's next EIMS write, which raises it at once if a cause came meanwhile. EIAC has no
 *   bits for vectors 16..63: the model leaves their causes set until written with 1b (updk's
 *   driver uses vectors 0..15 only). Each vector has its EITR (0..23 at 0x00820, 24..63 at
 *   0x12300), in 2.048 µs units.
 * - EICR reads clear what they show, with GPIE.OCD only the other causes; EICS reads show
 *   EICR and clear nothing.
 * - Otherwise (INTx or MSI): INT_Alloc bits 3:0 pick an EICR bit, and the function's one
 *   vector is raised when an unmasked cause bit is set, or a set cause bit is unmasked.
 *
 * The other causes of EICR (link, mailbox, ...) are kept as register bits; the model raises
 * none of them.
 */
#include <string.h>

#define LOG_COMPONENT "sim-ixgbe"
#include "lib/util/log.h"

#include <updk/pci.h>

#include "sim/ixgbe/ixgbe_model.h"

#define OTHER_CAUSES 0x7fff0000u /* EICR bits 30:16 */

static bool msix_mode(struct port *p)
{
	return reg(p, IXGBE_GPIE) & IXGBE_GPIE_MSIX_MODE;
}

/* EITR's interval of vector @v in ns (bits 11:3, in 2.048 µs units at 10 Gb/s; §8.2.3.5). */
static uint64_t itr_ns(struct port *p, unsigned v)
{
	return (uint64_t)((reg(p, IXGBE_EITR(v)) >> 3) & 0x1ff) * IXGBE_EITR_UNIT_NS;
}

/* Outside MSI-X mode: the one vector, on a cause or mask bit that makes (cause & mask) new. */
static void legacy_raise(struct port *p, uint64_t newly)
{
	if (newly & p->imask & p->icause & IXGBE_EIxx_RTXQ)
		sim_irq_raise(p->sd, 0);
}

void port_intr_reset(struct port *p)
{
	p->icause = p->imask = p->iauto = 0;
	memset(p->last_fire_ns, 0, sizeof(p->last_fire_ns));
}

void port_intr_queue_event(struct port *p, unsigned q, bool tx)
{
	uint32_t e = (reg(p, IXGBE_IVAR(q / 2)) >> IXGBE_IVAR_SHIFT(q, tx)) & 0xff;
	uint64_t bit;

	if (!(e & IXGBE_IVAR_ALLOC_VAL))
		return;
	bit = msix_mode(p) ? 1ull << (e & 0x3f) : 1ull << (e & 0xf);
	if (p->icause & bit)
		return;
	p->icause |= bit;
	if (!msix_mode(p))
		legacy_raise(p, bit);
}

bool port_intr_poll(struct port *p)
{
	uint64_t due = p->icause & p->imask, now;
	bool waiting = false;

	if (!due || !msix_mode(p))
		return false;
	now = now_ns();
	for (unsigned v = 0; v < 64; v++) {
		uint64_t bit = 1ull << v;

		if (!(due & bit))
			continue;
		if (p->last_fire_ns[v] && now - p->last_fire_ns[v] < itr_ns(p, v)) {
			waiting = true; /* throttled: raised once its interval is up */
			continue;
		}
		p->last_fire_ns[v] = now;
		sim_irq_raise(p->sd, v);
		if (v < 16 && (reg(p, IXGBE_EIAC) & bit))
			p->icause &= ~bit;
		if ((reg(p, IXGBE_GPIE) & IXGBE_GPIE_EIAME) && (p->iauto & bit))
			p->imask &= ~bit;
	}
	return waiting;
}

bool port_intr_reg_known(uint32_t off)
{
	switch (off) {
	case IXGBE_EICR:
	case IXGBE_EICS:
	case IXGBE_EIMS:
	case IXGBE_EIMC:
	case IXGBE_EIAC:
	case IXGBE_EIAM:
	case IXGBE_GPIE:
	case IXGBE_IVAR_MISC:
		return true;
	}
	if (off & 3)
		return false;
	return (off >= IXGBE_EICR_EX(0) && off <= IXGBE_EICR_EX(1)) ||
	       (off >= IXGBE_EICS_EX(0) && off <= IXGBE_EICS_EX(1)) ||
	       (off >= IXGBE_EIMS_EX(0) && off <= IXGBE_EIMS_EX(1)) ||
	       (off >= IXGBE_EIMC_EX(0) && off <= IXGBE_EIMC_EX(1)) ||
	       (off >= IXGBE_EIAM_EX(0) && off <= IXGBE_EIAM_EX(1)) ||
	       (off >= IXGBE_EITR(0) && off <= IXGBE_EITR(23)) ||
	       (off >= IXGBE_EITR(24) && off <= IXGBE_EITR(IXGBE_EITR_VECTORS - 1)) ||
	       (off >= IXGBE_IVAR(0) && off < IXGBE_IVAR(64));
}

/* The 32-bit half @i of a 64-bit vector set. */
static uint32_t half(uint64_t set, unsigned i)
{
	return (uint32_t)(set >> (32 * i));
}

static uint64_t at_half(uint32_t val, unsigned i)
{
	return (uint64_t)val << (32 * i);
}

/* What EICR shows: the other causes and the queue causes of bits 15:0. */
static uint32_t eicr(struct port *p)
{
	return (reg(p, IXGBE_EICR) & OTHER_CAUSES) | (half(p->icause, 0) & IXGBE_EIxx_RTXQ);
}

bool port_intr_reg_read(struct port *p, uint32_t off, uint32_t *v)
{
	unsigned i;

	switch (off) {
	case IXGBE_EICR:
		*v = eicr(p);
		/* Read to clear: every cause it shows, or with GPIE.OCD only the other causes
		 * (§7.3 Clearing Interrupt Causes: the queue causes then clear by EIAC or by a
		 * write of 1b, so a read for the other causes takes none of a vector's). */
		set_reg(p, IXGBE_EICR, 0);
		if (!(reg(p, IXGBE_GPIE) & IXGBE_GPIE_OCD))
			p->icause &= ~(uint64_t)IXGBE_EIxx_RTXQ;
		return true;
	case IXGBE_EICS:
		/* EICR's causes, clearing none (the Linux and BSD ixgbe drivers read them so,
		 * then clear what they handle by writing 1b to EICR) */
		*v = eicr(p);
		return true;
	case IXGBE_EIMS:
		*v = (reg(p, IXGBE_EIMS) & OTHER_CAUSES) | (half(p->imask, 0) & IXGBE_EIxx_RTXQ);
		return true;
	case IXGBE_EIAM:
		*v = (reg(p, IXGBE_EIAM) & OTHER_CAUSES) | (half(p->iauto, 0) & IXGBE_EIxx_RTXQ);
		return true;
	case IXGBE_EIMC:
		*v = 0; /* write-only */
		return true;
	}
	for (i = 0; i < 2; i++) {
		if (off == IXGBE_EICR_EX(i)) {
			*v = half(p->icause, i);
			return true;
		}
		if (off == IXGBE_EIMS_EX(i)) {
			*v = half(p->imask, i);
			return true;
		}
		if (off == IXGBE_EIAM_EX(i)) {
			*v = half(p->iauto, i);
			return true;
		}
		if (off == IXGBE_EICS_EX(i) || off == IXGBE_EIMC_EX(i)) {
			*v = 0;
			return true;
		}
	}
	return false; /* a plain register: GPIE, EIAC, EITR, IVAR */
}

static void set_causes(struct port *p, uint64_t bits)
{
	uint64_t newly = bits & ~p->icause;

	p->icause |= bits;
	if (!msix_mode(p))
		legacy_raise(p, newly);
	else
		port_intr_poll(p); /* a software cause is signalled as the write lands */
}

static void unmask(struct port *p, uint64_t bits)
{
	uint64_t newly = bits & ~p->imask;

	p->imask |= bits;
	if (!msix_mode(p))
		legacy_raise(p, newly);
	else
		port_intr_poll(
			p); /* §7.3: unmasking a vector whose cause is set sends its message */
}

bool port_intr_reg_write(struct port *p, uint32_t off, uint32_t val)
{
	uint32_t other = val & OTHER_CAUSES;
	uint64_t q = val & IXGBE_EIxx_RTXQ;

	switch (off) {
	case IXGBE_EICR: /* write 1 to clear */
		set_reg(p, IXGBE_EICR, reg(p, IXGBE_EICR) & ~other);
		p->icause &= ~q;
		return true;
	case IXGBE_EICS:
		set_reg(p, IXGBE_EICR, reg(p, IXGBE_EICR) | other);
		set_causes(p, q);
		return true;
	case IXGBE_EIMS:
		set_reg(p, IXGBE_EIMS, reg(p, IXGBE_EIMS) | other);
		unmask(p, q);
		return true;
	case IXGBE_EIMC:
		set_reg(p, IXGBE_EIMS, reg(p, IXGBE_EIMS) & ~other);
		p->imask &= ~q;
		return true;
	case IXGBE_EIAM:
		set_reg(p, IXGBE_EIAM, other);
		p->iauto = (p->iauto & ~(uint64_t)IXGBE_EIxx_RTXQ) | q;
		return true;
	}
	for (unsigned i = 0; i < 2; i++) {
		uint64_t bits = at_half(val, i), keep = ~at_half(UINT32_MAX, i);

		if (off == IXGBE_EICR_EX(i)) {
			p->icause &= ~bits;
			return true;
		}
		if (off == IXGBE_EICS_EX(i)) {
			set_causes(p, bits);
			return true;
		}
		if (off == IXGBE_EIMS_EX(i)) {
			unmask(p, bits);
			return true;
		}
		if (off == IXGBE_EIMC_EX(i)) {
			p->imask &= ~bits;
			return true;
		}
		if (off == IXGBE_EIAM_EX(i)) {
			p->iauto = (p->iauto & keep) | bits;
			return true;
		}
	}
	return false; /* a plain register: GPIE, EIAC, EITR, IVAR */
}
