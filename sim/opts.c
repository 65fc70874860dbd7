// SPDX-License-Identifier: BSD-3-Clause
/* "sim:MODEL?key=value,..." addresses: the model name and its options. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "sim"
#include "lib/util/log.h"
#include "sim/opts.h"

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

static int parse_opt(const char *spec, const char *item, size_t len, struct sim_opts *opts)
{
	const char *eq = memchr(item, '=', len);
	size_t klen, vlen;

	if (!eq) {
		log_err("sim:%s: option '%.*s' has no '=': write key=value", spec, (int)len, item);
		return -EINVAL;
	}
	klen = (size_t)(eq - item);
	vlen = len - klen - 1;
	if (!klen || !vlen) {
		log_err("sim:%s: option '%.*s' needs a key and a value", spec, (int)len, item);
		return -EINVAL;
	}
	for (size_t i = 0; i < klen; i++)
		if (!name_char(item[i])) {
			log_err("sim:%s: option key '%.*s' may hold only letters, digits, '_' and '-'",
				spec, (int)klen, item);
			return -EINVAL;
		}
	if (klen >= sizeof(opts->kv[0].key) || vlen >= sizeof(opts->kv[0].val)) {
		log_err("sim:%s: option '%.*s' is too long (keys up to %zu, values up to %zu "
			"characters)",
			spec, (int)len, item, sizeof(opts->kv[0].key) - 1,
			sizeof(opts->kv[0].val) - 1);
		return -EINVAL;
	}
	for (unsigned i = 0; i < opts->n; i++)
		if (strlen(opts->kv[i].key) == klen && !memcmp(opts->kv[i].key, item, klen)) {
			log_err("sim:%s: option '%.*s' is given twice", spec, (int)klen, item);
			return -EINVAL;
		}
	if (opts->n == SIM_MAX_OPTS) {
		log_err("sim:%s: more than %d options", spec, SIM_MAX_OPTS);
		return -EINVAL;
	}
	memcpy(opts->kv[opts->n].key, item, klen);
	opts->kv[opts->n].key[klen] = '\0';
	memcpy(opts->kv[opts->n].val, eq + 1, vlen);
	opts->kv[opts->n].val[vlen] = '\0';
	opts->n++;
	return 0;
}

int sim_spec_parse(const char *spec, char model[SIM_MODEL_NAME_MAX], struct sim_opts *opts)
{
	size_t n = strcspn(spec, "?");
	const char *p;
	int err;

	memset(opts, 0, sizeof(*opts));
	if (!n) {
		log_err("sim:%s: no model name: write sim:MODEL[?key=value,...]", spec);
		return -EINVAL;
	}
	if (n >= SIM_MODEL_NAME_MAX) {
		log_err("sim:%s: model name too long", spec);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (!name_char(spec[i])) {
			log_err("sim:%s: model name '%.*s' may hold only letters, digits, '_' and '-'",
				spec, (int)n, spec);
			return -EINVAL;
		}
	memcpy(model, spec, n);
	model[n] = '\0';
	if (!spec[n])
		return 0;
	p = spec + n + 1;
	if (!*p) {
		log_err("sim:%s: empty option list after '?'", spec);
		return -EINVAL;
	}
	for (;;) {
		size_t len = strcspn(p, ",");

		if (!len) {
			log_err("sim:%s: empty option (two commas, or one at an end)", spec);
			return -EINVAL;
		}
		err = parse_opt(spec, p, len, opts);
		if (err)
			return err;
		if (!p[len])
			return 0;
		p += len + 1;
		if (!*p) {
			log_err("sim:%s: empty option (two commas, or one at an end)", spec);
			return -EINVAL;
		}
	}
}

const char *sim_opt(const struct sim_opts *opts, const char *key)
{
	for (unsigned i = 0; i < opts->n; i++)
		if (!strcmp(opts->kv[i].key, key))
			return opts->kv[i].val;
	return NULL;
}

int sim_opt_u64(const struct sim_opts *opts, const char *key, uint64_t def, uint64_t *val)
{
	const char *s = sim_opt(opts, key), *digits;
	unsigned long long v;
	unsigned shift = 0;
	char *end;
	int base = 10;

	if (!s) {
		*val = def;
		return 0;
	}
	digits = s;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		digits = s + 2;
		base = 16;
	}
	/* strtoull() would take a sign or blanks: insist on a digit first. */
	if (!isxdigit((unsigned char)*digits) || (base == 10 && !isdigit((unsigned char)*digits)))
		goto bad;
	errno = 0;
	v = strtoull(digits, &end, base);
	if (errno)
		goto bad;
	if (*end) {
		switch (*end) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		default:
			goto bad;
		}
		if (end[1])
			goto bad;
	}
	if (shift && v > (UINT64_MAX >> shift))
		goto bad;
	*val = (uint64_t)v << shift;
	return 0;
bad:
	log_err("option %s=%s is not a number (decimal or 0x hex, optional k/m/g suffix)", key, s);
	return -EINVAL;
}

int sim_opts_check(const struct sim_dev *sd, const struct sim_opts *opts,
		   const char *const *allowed)
{
	char list[256] = "";

	for (unsigned i = 0; i < opts->n; i++) {
		bool ok = false;

		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(opts->kv[i].key, *a);
		if (ok)
			continue;
		for (const char *const *a = allowed; *a; a++) {
			if (*list)
				strncat(list, ", ", sizeof(list) - strlen(list) - 1);
			strncat(list, *a, sizeof(list) - strlen(list) - 1);
		}
		/* msix, msi and intx were taken out by the core (sim/irq.c). */
		if (*list)
			log_err("%s: unknown option '%s' (options: %s; and msix, msi, intx)",
				sd->name, opts->kv[i].key, list);
		else
			log_err("%s: unknown option '%s' (this model takes only msix, msi, intx)",
				sd->name, opts->kv[i].key);
		return -EINVAL;
	}
	return 0;
}
