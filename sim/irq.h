/* SPDX-License-Identifier: BSD-3-Clause */
/* The sim core's interrupt plumbing (sim/irq.c), for sim/core.c only. Models use sim.h. */
#ifndef UPDK_SIM_IRQ_H
#define UPDK_SIM_IRQ_H

#include <updk/pci.h>

#include "sim/sim.h"

/*
 * Take the options every model accepts (msix=, msi=, intx=) out of @opts into sd->irq.caps,
 * over the model's defaults. Before the BARs are allocated. 0 or -EINVAL (logged).
 */
int sim_irq_init(struct sim_dev *sd, struct sim_opts *opts);

/* The size the core gives BAR @bar for the MSI-X table and PBA, 0 when it holds none. */
uint64_t sim_irq_bar_size(const struct sim_dev *sd, int bar);

/* Add the MSI-X and MSI capabilities and the interrupt pin to config space. 0 or -ENOSPC. */
int sim_irq_cfg_init(struct sim_dev *sd);

/* The backend ops (lib/pci/backend.h), each taking sd->lock. */
int sim_irq_info(struct updk_pci_dev *dev, enum updk_pci_irq_type type,
		 struct updk_pci_irq_info *out);
int sim_irq_set(struct updk_pci_dev *dev, enum updk_pci_irq_type type, unsigned n, const int *fds);
int sim_irq_mask(struct updk_pci_dev *dev, enum updk_pci_irq_type type, unsigned vector, bool mask);

/* Release what sim_irq_set() allocated (the fds are lib/pci's). */
void sim_irq_free(struct sim_dev *sd);

#endif
