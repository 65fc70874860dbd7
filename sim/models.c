// SPDX-License-Identifier: BSD-3-Clause
/* The device models "sim:MODEL" can name: one extern and one table line per model. */
#include <stddef.h>

#include "sim/sim.h"

extern const struct sim_model sim_dmacopy_model;
extern const struct sim_model sim_nvme_model;
extern const struct sim_model sim_ixgbe_model;

const struct sim_model *const sim_models[] = {
	&sim_dmacopy_model,
	&sim_nvme_model,
	&sim_ixgbe_model,
	NULL,
};
