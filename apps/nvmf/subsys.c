// SPDX-License-Identifier: BSD-3-Clause
/* updk-nvmf: the target's subsystems, as the pollers look them up (set up by setup.c). */
#include <string.h>

#include "apps/nvmf/nvmf.h"

struct nvmf_target nvmf_tgt;

struct nvmf_subsys *nvmf_subsys_find(const char *nqn)
{
	for (unsigned i = 0; i < nvmf_tgt.nsubsys; i++)
		if (!strcmp(nvmf_tgt.subsys[i].nqn, nqn))
			return &nvmf_tgt.subsys[i];
	return NULL;
}

bool nvmf_subsys_host_allowed(const struct nvmf_subsys *s, const char *hostnqn)
{
	if (!s->nhosts)
		return true;
	for (unsigned i = 0; i < s->nhosts; i++)
		if (!strcmp(s->hosts[i], hostnqn))
			return true;
	return false;
}
