// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: the "sim:MODEL?key=value,..." parser (sim_spec_parse) and the number
 * parser models use on every value (sim_opt_u64). Properties: no crash or overread; an accepted
 * spec has a non-empty model name, at most SIM_MAX_OPTS options, each key and value terminated
 * within its field, and no key twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/opts.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), model[SIM_MODEL_NAME_MAX];
	struct sim_opts o;
	uint64_t v;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sim_spec_parse(s, model, &o) == 0) {
		if (!model[0] || strnlen(model, sizeof(model)) == sizeof(model) ||
		    o.n > SIM_MAX_OPTS)
			abort();
		for (unsigned i = 0; i < o.n; i++) {
			if (strnlen(o.kv[i].key, sizeof(o.kv[i].key)) == sizeof(o.kv[i].key) ||
			    strnlen(o.kv[i].val, sizeof(o.kv[i].val)) == sizeof(o.kv[i].val))
				abort();
			for (unsigned j = 0; j < i; j++)
				if (!strcmp(o.kv[i].key, o.kv[j].key))
					abort();
			(void)sim_opt_u64(&o, o.kv[i].key, 0, &v);
		}
	}
	free(s);
	return 0;
}
