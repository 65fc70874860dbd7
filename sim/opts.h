/* SPDX-License-Identifier: BSD-3-Clause */
/* Parsing the part of a "sim:" address after the prefix. Internal to sim/. */
#ifndef UPDK_SIM_OPTS_H
#define UPDK_SIM_OPTS_H

#include <stddef.h>

#include "sim/sim.h"

#define SIM_MODEL_NAME_MAX 32

/*
 * Split @spec ("nvme" or "nvme?ns=2,size=1G") into the model name (letters, digits, '_', '-')
 * and its options. Refuses (-EINVAL, logged) an empty or malformed name, an empty option list,
 * an option without '=' or with an empty key or value, a key or value too long for struct
 * sim_opts, a repeated key and more than SIM_MAX_OPTS options.
 */
int sim_spec_parse(const char *spec, char model[SIM_MODEL_NAME_MAX], struct sim_opts *opts);

#endif
