// SPDX-License-Identifier: BSD-3-Clause
/*
 * Interrupts of the sim backend. A model offers MSI-X, MSI and INTx as its config space says
 * (the capabilities of PCI Local Bus 3.0 §6.8.1 and §6.8.2, and the Interrupt Pin, §6.2.4);
 * the host enables one kind with lib/pci's eventfds, and sim_irq_raise() writes the eventfd of
 * the vector the model raises. The behaviour follows what vfio-pci gives a user on hardware:
 * one kind at a time, INTx masked each time it fires until the host unmasks it, MSI and MSI-X
 * not maskable through the host (a driver masks them in the device), and the enable bits of the
 * capabilities set while enabled (the kernel sets them on hardware).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_COMPONENT "sim"
#include "lib/pci/backend.h"
#include "lib/util/log.h"
#include "sim/irq.h"

/* Capability IDs (PCI Code and ID Assignment spec §2). */
#define CAP_ID_MSI 0x05
#define CAP_ID_MSIX 0x11

/* MSI Message Control, §6.8.1.3. */
#define MSI_CTRL_ENABLE 0x0001
#define MSI_CTRL_MMC_SHIFT 1 /* Multiple Message Capable, 3:1, log2 */
#define MSI_CTRL_MME_SHIFT 4 /* Multiple Message Enable, 6:4, log2 */
#define MSI_CTRL_MME_MASK (7u << MSI_CTRL_MME_SHIFT)
#define MSI_CTRL_64BIT 0x0080

/* MSI-X Message Control, §6.8.2.3: Table Size N-1 in 10:0, Function Mask 14, Enable 15. */
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_MAX 2048
#define MSIX_ENTRY_SIZE 16 /* §6.8.2.6: address, upper address, data, vector control */

#define CFG_COMMAND 0x04
#define CMD_MASTER 0x0004
#define CMD_INTX_DISABLE 0x0400 /* command register bit 10 */
#define CFG_INT_PIN 0x3d

#define PAGE 4096u

/* Lost interrupts logged per device before the log goes quiet (each is still counted). */
#define LOST_LOG_MAX 8

static struct sim_dev *to_sd(struct updk_pci_dev *dev)
{
	return dev->priv;
}

/* MSI-X table at offset 0 of its BAR, the PBA on the next page boundary (§6.8.2.4-5). */
static uint32_t msix_pba_off(unsigned n)
{
	return (n * MSIX_ENTRY_SIZE + PAGE - 1) & ~(PAGE - 1);
}

static int take_opt(struct sim_dev *sd, struct sim_opts *opts, const char *key, uint64_t def,
		    uint64_t max, uint64_t *val)
{
	int rc = sim_opt_u64(opts, key, def, val);

	if (rc)
		return rc;
	if (*val > max) {
		log_err("%s: %s=%s is out of range: 0..%llu", sd->name, key, sim_opt(opts, key),
			(unsigned long long)max);
		return -EINVAL;
	}
	/* Gone from the options the model sees: it checks them against its own list. */
	for (unsigned i = 0; i < opts->n; i++) {
		if (strcmp(opts->kv[i].key, key))
			continue;
		memmove(&opts->kv[i], &opts->kv[i + 1], (opts->n - i - 1) * sizeof(opts->kv[0]));
		opts->n--;
		break;
	}
	return 0;
}

int sim_irq_init(struct sim_dev *sd, struct sim_opts *opts)
{
	const struct sim_irq_caps *def = &sd->model->irq;
	struct sim_irq_caps *c = &sd->irq.caps;
	uint64_t msix, msi, intx;
	int rc;

	rc = take_opt(sd, opts, "msix", def->msix, MSIX_MAX, &msix);
	if (!rc)
		rc = take_opt(sd, opts, "msi", def->msi, 32, &msi);
	if (!rc)
		rc = take_opt(sd, opts, "intx", def->intx, 1, &intx);
	if (rc)
		return rc;
	if (msi & (msi - 1)) {
		log_err("%s: msi=%llu: MSI offers 1, 2, 4, 8, 16 or 32 vectors (or 0 for none)",
			sd->name, (unsigned long long)msi);
		return -EINVAL;
	}
	*c = *def;
	c->msix = (uint16_t)msix;
	c->msi = (uint8_t)msi;
	c->intx = intx;
	if (c->msix) {
		uint64_t need = msix_pba_off(c->msix) + (c->msix + 63u) / 64 * 8, size = PAGE;

		if (c->msix_bar > 5 || sd->model->bar_size[c->msix_bar]) {
			log_err("%s: model bug: MSI-X BAR %u is not a BAR the model leaves free",
				sd->name, c->msix_bar);
			return -EINVAL;
		}
		while (size < need)
			size <<= 1;
		sd->irq.msix_bar_size = size;
	}
	return 0;
}

uint64_t sim_irq_bar_size(const struct sim_dev *sd, int bar)
{
	return sd->irq.caps.msix && bar == sd->irq.caps.msix_bar ? sd->irq.msix_bar_size : 0;
}

int sim_irq_cfg_init(struct sim_dev *sd)
{
	const struct sim_irq_caps *c = &sd->irq.caps;
	int off;

	if (c->msix) {
		uint8_t body[10] = { 0 };
		uint16_t ctrl = (uint16_t)(c->msix - 1);
		uint32_t table = c->msix_bar, pba = msix_pba_off(c->msix) | c->msix_bar;

		memcpy(&body[0], &ctrl, 2);
		memcpy(&body[2], &table, 4);
		memcpy(&body[6], &pba, 4);
		off = sim_cfg_add_cap(sd, CAP_ID_MSIX, body, sizeof(body));
		if (off < 0)
			return off;
		sd->irq.msix_cap = (uint16_t)off;
	}
	if (c->msi) {
		/* 64-bit message address; address and data are the host's, never used here. */
		uint8_t body[12] = { 0 };
		uint16_t ctrl =
			(uint16_t)(__builtin_ctz(c->msi) << MSI_CTRL_MMC_SHIFT) | MSI_CTRL_64BIT;

		memcpy(&body[0], &ctrl, 2);
		off = sim_cfg_add_cap(sd, CAP_ID_MSI, body, sizeof(body));
		if (off < 0)
			return off;
		sd->irq.msi_cap = (uint16_t)off;
	}
	sd->cfg[CFG_INT_PIN] = c->intx ? 1 : 0; /* 1: INTA# */
	return 0;
}

static unsigned offered(const struct sim_dev *sd, enum updk_pci_irq_type type)
{
	switch (type) {
	case UPDK_PCI_IRQ_MSIX:
		return sd->irq.caps.msix;
	case UPDK_PCI_IRQ_MSI:
		return sd->irq.caps.msi;
	case UPDK_PCI_IRQ_INTX:
		return sd->irq.caps.intx;
	default:
		return 0;
	}
}

int sim_irq_info(struct updk_pci_dev *dev, enum updk_pci_irq_type type,
		 struct updk_pci_irq_info *out)
{
	struct sim_dev *sd = to_sd(dev);

	out->count = offered(sd, type);
	/* What vfio-pci reports: INTx is maskable and automasked, MSI and MSI-X neither. */
	out->maskable = out->automasked = type == UPDK_PCI_IRQ_INTX && out->count;
	return 0;
}

/* The capability's enable bits, as the host kernel sets them on hardware. */
static void set_enable_bits(struct sim_dev *sd, enum updk_pci_irq_type type, unsigned n)
{
	struct sim_irq *q = &sd->irq;

	if (type == UPDK_PCI_IRQ_MSIX && q->msix_cap) {
		uint16_t ctrl = sim_cfg16(sd, q->msix_cap + 2u) & (uint16_t)~MSIX_CTRL_ENABLE;

		sim_cfg_set16(sd, q->msix_cap + 2u, (uint16_t)(ctrl | (n ? MSIX_CTRL_ENABLE : 0)));
	} else if (type == UPDK_PCI_IRQ_MSI && q->msi_cap) {
		uint16_t ctrl = sim_cfg16(sd, q->msi_cap + 2u) &
				(uint16_t) ~(MSI_CTRL_ENABLE | MSI_CTRL_MME_MASK);
		unsigned mme = 0;

		while ((1u << mme) < n)
			mme++;
		if (n)
			ctrl |= (uint16_t)(MSI_CTRL_ENABLE | mme << MSI_CTRL_MME_SHIFT);
		sim_cfg_set16(sd, q->msi_cap + 2u, ctrl);
	}
}

static void irq_clear(struct sim_irq *q)
{
	free(q->fds);
	free(q->raised);
	q->fds = NULL;
	q->raised = NULL;
	q->count = 0;
	q->type = UPDK_PCI_IRQ_NONE;
	q->intx_masked = q->intx_pending = false;
}

int sim_irq_set(struct updk_pci_dev *dev, enum updk_pci_irq_type type, unsigned n, const int *fds)
{
	struct sim_dev *sd = to_sd(dev);
	struct sim_irq *q = &sd->irq;
	int *f = NULL;
	uint64_t *r = NULL;
	int rc = 0;

	if (n) {
		f = malloc(n * sizeof(*f));
		r = calloc(n, sizeof(*r));
		if (!f || !r) {
			free(f);
			free(r);
			return -ENOMEM;
		}
		memcpy(f, fds, n * sizeof(*f));
	}
	pthread_mutex_lock(&sd->lock);
	if (!n) {
		if (q->type == (int)type) {
			set_enable_bits(sd, type, 0);
			irq_clear(q);
		}
	} else if (q->type != UPDK_PCI_IRQ_NONE && q->type != (int)type) {
		/* vfio-pci: one kind at a time (EINVAL). */
		log_err("%s: %s interrupts are enabled: cannot enable %s too", sd->name,
			updk_pci_irq_type_name((enum updk_pci_irq_type)q->type),
			updk_pci_irq_type_name(type));
		rc = -EINVAL;
	} else if (n > offered(sd, type)) {
		log_err("%s: %u %s vectors asked for, the function offers %u", sd->name, n,
			updk_pci_irq_type_name(type), offered(sd, type));
		rc = -EINVAL;
	} else {
		set_enable_bits(sd, q->type, 0);
		irq_clear(q);
		q->fds = f;
		q->raised = r;
		q->count = n;
		q->type = type;
		set_enable_bits(sd, type, n);
		f = NULL;
		r = NULL;
	}
	pthread_mutex_unlock(&sd->lock);
	free(f);
	free(r);
	return rc;
}

static void signal_fd(struct sim_irq *q, unsigned v)
{
	uint64_t one = 1;

	/* EAGAIN only when the count would pass 2^64 - 2: it is readable then anyway. */
	if (write(q->fds[v], &one, sizeof(one)) == sizeof(one))
		q->raised[v]++;
}

int sim_irq_mask(struct updk_pci_dev *dev, enum updk_pci_irq_type type, unsigned vector, bool mask)
{
	struct sim_dev *sd = to_sd(dev);
	struct sim_irq *q = &sd->irq;
	int rc = 0;

	if (type != UPDK_PCI_IRQ_INTX) {
		log_err("%s: VFIO cannot %s %s vectors: mask the interrupt in the device instead",
			sd->name, mask ? "mask" : "unmask", updk_pci_irq_type_name(type));
		return -ENOTSUP;
	}
	pthread_mutex_lock(&sd->lock);
	if (q->type != UPDK_PCI_IRQ_INTX || vector != 0) {
		rc = -EINVAL;
	} else if (mask) {
		q->intx_masked = true;
	} else {
		q->intx_masked = false;
		if (q->intx_pending) {
			/* The line stayed asserted: it fires again and is masked again. */
			q->intx_pending = false;
			q->intx_masked = true;
			signal_fd(q, 0);
		}
	}
	pthread_mutex_unlock(&sd->lock);
	return rc;
}

static void irq_lost(struct sim_dev *sd, unsigned vector, const char *why)
{
	if (++sd->irq.lost <= LOST_LOG_MAX)
		log_debug("%s: interrupt vector %u not delivered: %s", sd->name, vector, why);
}

void sim_irq_raise(struct sim_dev *sd, unsigned vector)
{
	struct sim_irq *q = &sd->irq;
	unsigned v = vector;

	switch (q->type) {
	case UPDK_PCI_IRQ_MSIX:
	case UPDK_PCI_IRQ_MSI:
		if (!sim_bus_master(sd)) {
			irq_lost(sd, vector, "a message needs Bus Master Enable");
			return;
		}
		if (q->type == UPDK_PCI_IRQ_MSI) {
			unsigned span = 1;

			while (span < q->count)
				span <<= 1;
			v = vector & (span - 1); /* the low bits of the message data */
		}
		if (v >= q->count) {
			irq_lost(sd, vector, "beyond the vectors enabled");
			return;
		}
		signal_fd(q, v);
		return;
	case UPDK_PCI_IRQ_INTX:
		if (sim_cfg16(sd, CFG_COMMAND) & CMD_INTX_DISABLE) {
			irq_lost(sd, vector, "Interrupt Disable is set in the command register");
			return;
		}
		if (q->intx_masked) {
			q->intx_pending = true;
			return;
		}
		q->intx_masked = true;
		signal_fd(q, 0);
		return;
	default:
		irq_lost(sd, vector, "the host enabled no interrupts");
	}
}

int sim_irq_stats(struct updk_pci_dev *dev, unsigned vector, uint64_t *raised, uint64_t *lost)
{
	struct sim_dev *sd;
	int rc = 0;

	if (!dev || strcmp(dev->ops->name, "sim"))
		return -EINVAL;
	sd = to_sd(dev);
	pthread_mutex_lock(&sd->lock);
	if (vector >= sd->irq.count) {
		rc = -EINVAL;
	} else {
		if (raised)
			*raised = sd->irq.raised[vector];
		if (lost)
			*lost = sd->irq.lost;
	}
	pthread_mutex_unlock(&sd->lock);
	return rc;
}

void sim_irq_free(struct sim_dev *sd)
{
	irq_clear(&sd->irq);
}
