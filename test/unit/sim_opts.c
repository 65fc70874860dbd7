// SPDX-License-Identifier: BSD-3-Clause
/* The "sim:MODEL?key=value,..." parser and the option getters models use. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sim/opts.h"
#include "sim/sim.h"

Test(sim_opts, model_and_options)
{
	char model[SIM_MODEL_NAME_MAX];
	struct sim_opts o;

	cr_assert_eq(sim_spec_parse("nvme", model, &o), 0);
	cr_expect_str_eq(model, "nvme");
	cr_expect_eq(o.n, 0);

	cr_assert_eq(sim_spec_parse("nvme?ns=2,size=1G,mode=a=b", model, &o), 0);
	cr_expect_str_eq(model, "nvme");
	cr_assert_eq(o.n, 3);
	cr_expect_str_eq(sim_opt(&o, "ns"), "2");
	cr_expect_str_eq(sim_opt(&o, "size"), "1G");
	cr_expect_str_eq(sim_opt(&o, "mode"), "a=b", "the value is everything after the first '='");
	cr_expect_null(sim_opt(&o, "nope"));
	cr_expect_null(sim_opt(&o, "Ns"), "keys are case-sensitive");
}

Test(sim_opts, malformed_specs_refused)
{
	static const char *const bad[] = {
		"",
		"?a=1",
		"nvme?",
		"nvme?a",
		"nvme?=1",
		"nvme?a=",
		"nvme?a=1,",
		"nvme?,a=1",
		"nvme?a=1,,b=2",
		"nvme?a=1,a=2",
		"nv me",
		"nvme/x",
		"nvme?a b=1",
		"a-very-long-model-name-beyond-31-chars",
		"nvme?this_key_is_far_too_long_for_the_table=1",
	};
	char model[SIM_MODEL_NAME_MAX];
	struct sim_opts o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(sim_spec_parse(bad[i], model, &o), -EINVAL, "'%s'", bad[i]);
}

Test(sim_opts, option_count_limit)
{
	char spec[512] = "m?", model[SIM_MODEL_NAME_MAX];
	struct sim_opts o;

	for (int i = 0; i < SIM_MAX_OPTS; i++)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "%sk%d=%d", i ? "," : "",
			 i, i);
	cr_assert_eq(sim_spec_parse(spec, model, &o), 0);
	cr_expect_eq(o.n, SIM_MAX_OPTS);
	strcat(spec, ",one=more");
	cr_expect_eq(sim_spec_parse(spec, model, &o), -EINVAL);
}

Test(sim_opts, numbers_and_suffixes)
{
	static const struct {
		const char *val;
		uint64_t want;
	} good[] = {
		{ "0", 0 },
		{ "42", 42 },
		{ "4k", 4096 },
		{ "4K", 4096 },
		{ "3m", 3ull << 20 },
		{ "1G", 1ull << 30 },
		{ "0x10", 16 },
		{ "0x10k", 16384 },
		{ "18446744073709551615", UINT64_MAX },
		{ "16777215G", 16777215ull << 30 },
	};
	static const char *const bad[] = {
		"",
		"-1",
		"+1",
		" 1",
		"1 ",
		"1kk",
		"1t",
		"k",
		"0x",
		"0xg",
		"1.5",
		"18446744073709551616",
		"17179869184G",
		"010z",
	};
	struct sim_opts o = { .n = 1 };
	uint64_t v;

	strcpy(o.kv[0].key, "size");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		strcpy(o.kv[0].val, good[i].val);
		cr_assert_eq(sim_opt_u64(&o, "size", 7, &v), 0, "'%s'", good[i].val);
		cr_expect_eq(v, good[i].want, "'%s' gave %llu", good[i].val, (unsigned long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(o.kv[0].val, bad[i]);
		v = 99;
		cr_expect_eq(sim_opt_u64(&o, "size", 7, &v), -EINVAL, "'%s'", bad[i]);
		cr_expect_eq(v, 99, "'%s' changed the output", bad[i]);
	}
	/* Absent: the default. */
	cr_assert_eq(sim_opt_u64(&o, "other", 7, &v), 0);
	cr_expect_eq(v, 7);
}

Test(sim_opts, unknown_keys_refused)
{
	static const char *const allowed[] = { "ns", "size", NULL };
	static const char *const none[] = { NULL };
	struct sim_dev sd = { .name = "sim:test" };
	char model[SIM_MODEL_NAME_MAX];
	struct sim_opts o;

	cr_assert_eq(sim_spec_parse("x?ns=1,size=2", model, &o), 0);
	cr_expect_eq(sim_opts_check(&sd, &o, allowed), 0);
	cr_assert_eq(sim_spec_parse("x?ns=1,sise=2", model, &o), 0);
	cr_expect_eq(sim_opts_check(&sd, &o, allowed), -EINVAL);
	cr_expect_eq(sim_opts_check(&sd, &o, none), -EINVAL);
	cr_assert_eq(sim_spec_parse("x", model, &o), 0);
	cr_expect_eq(sim_opts_check(&sd, &o, none), 0);
}
