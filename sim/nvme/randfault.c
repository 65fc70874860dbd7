/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme fault options of the address: random faults on I/O commands for soaks
 * (faults=RATE, fault_kinds=, fault_delay_us=, seed=), and the faults a test needs armed before
 * the driver's first register access (never_ready=, bad_identify=).
 *
 * A random fault is decided per I/O command as it is fetched, from a generator seeded by seed=,
 * so one seed gives the same decisions for the same sequence of commands. The kinds are faults
 * a driver must survive: an error status the caller sees, a completion posted late, and a
 * completion never posted until the host aborts the command (Abort, NVMe Base 2.0 §5.1) or
 * deletes its queue. Admin commands are never touched: the host's way out of a lost I/O
 * completion is an admin command.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <updk/tsc.h>

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

#define PPB 1000000000u /* rates are kept in parts per billion */

static const struct {
	const char *name;
	unsigned bit;
} rf_kinds[] = {
	{ "error", SIM_NVME_RF_ERROR },
	{ "delay", SIM_NVME_RF_DELAY },
	{ "drop", SIM_NVME_RF_DROP },
};

static const struct {
	const char *name;
	unsigned flag;
} id_kinds[] = {
	{ "strings", SIM_NVME_ID_BAD_STRINGS }, { "nn", SIM_NVME_ID_BAD_NN },
	{ "mdts", SIM_NVME_ID_BAD_MDTS },	{ "lbaf", SIM_NVME_ID_BAD_LBAF },
	{ "flbas", SIM_NVME_ID_BAD_FLBAS },
};

/* splitmix64: spreads a small seed over the 64 bits xorshift needs (never 0). */
static uint64_t seed_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x ? x : 1;
}

uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * A decimal fraction 0..1 with up to 9 decimals ("0.001"), or a percentage with up to 7
 * ("0.1%"): both are then a whole number of parts per billion. Returns it, or -1.
 */
static int64_t parse_rate(const char *s)
{
	size_t len = strlen(s);
	bool pct = len && s[len - 1] == '%';
	unsigned decimals = 0, maxdec = pct ? 7 : 9;
	const char *p = s, *end = s + len - pct;
	uint64_t v = 0;

	if (p == end || !isdigit((unsigned char)*p))
		return -1;
	for (; p < end && isdigit((unsigned char)*p); p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > 100)
			return -1;
	}
	if (p < end && *p == '.') {
		if (++p == end)
			return -1;
		for (; p < end && isdigit((unsigned char)*p); p++) {
			if (++decimals > maxdec)
				return -1;
			v = v * 10 + (uint64_t)(*p - '0');
		}
	}
	if (p != end)
		return -1;
	for (; decimals < maxdec; decimals++)
		v *= 10;
	return v > PPB ? -1 : (int64_t)v;
}

/* "a+b+c" against @names: the OR of their bits, or -1 after a message naming @key. */
static int parse_kinds(struct sim_dev *sd, const char *key, const char *val,
		       const char *const *names, const unsigned *bits, unsigned n)
{
	const char *p = val;
	unsigned out = 0;

	for (;;) {
		size_t len = strcspn(p, "+");
		unsigned i;

		for (i = 0; i < n; i++)
			if (strlen(names[i]) == len && !memcmp(names[i], p, len))
				break;
		if (i == n) {
			char list[128] = "";

			for (unsigned k = 0; k < n; k++) {
				strncat(list, k ? ", " : "", sizeof(list) - strlen(list) - 1);
				strncat(list, names[k], sizeof(list) - strlen(list) - 1);
			}
			log_err("%s: %s=%s: unknown kind '%.*s' (kinds: %s; join several with '+')",
				sd->name, key, val, (int)len, p, list);
			return -1;
		}
		out |= bits[i];
		if (!p[len])
			return (int)out;
		p += len + 1;
	}
}

static int opt_u64(struct sim_dev *sd, const struct sim_opts *opts, const char *key, uint64_t def,
		   uint64_t min, uint64_t max, uint64_t *val)
{
	int rc = sim_opt_u64(opts, key, def, val);

	if (rc)
		return rc;
	if (*val < min || *val > max) {
		log_err("%s: %s=%s is out of range: %llu..%llu", sd->name, key, sim_opt(opts, key),
			(unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

int faults_parse_opts(struct nvme_ctrl *c, const struct sim_opts *opts)
{
	const char *rate = sim_opt(opts, "faults"), *kinds = sim_opt(opts, "fault_kinds"),
		   *bad_id = sim_opt(opts, "bad_identify");
	const char *names[8];
	unsigned bits[8], n;
	uint64_t seed, delay_us, never_ready, drop_io, hang_abort;
	struct sim_dev *sd = c->sd;
	int64_t ppb = 0;
	int k;

	if (opt_u64(sd, opts, "seed", 1, 0, UINT64_MAX, &seed) ||
	    opt_u64(sd, opts, "fault_delay_us", 10000, 1, 10000000, &delay_us) ||
	    opt_u64(sd, opts, "never_ready", 0, 0, 1, &never_ready) ||
	    opt_u64(sd, opts, "drop_io", 0, 0, UINT64_MAX, &drop_io) ||
	    opt_u64(sd, opts, "hang_abort", 0, 0, 1, &hang_abort))
		return -EINVAL;
	if (rate) {
		ppb = parse_rate(rate);
		if (ppb < 0) {
			log_err("%s: faults=%s: expected the chance of a fault per I/O command, a "
				"fraction 0..1 (faults=0.001) or a percentage (faults=0.1%%)",
				sd->name, rate);
			return -EINVAL;
		}
	}
	if (!ppb && (kinds || sim_opt(opts, "fault_delay_us"))) {
		log_err("%s: %s= without faults=RATE injects nothing: give faults= too", sd->name,
			kinds ? "fault_kinds" : "fault_delay_us");
		return -EINVAL;
	}
	c->f.rand_kinds = SIM_NVME_RF_ERROR | SIM_NVME_RF_DELAY;
	if (kinds) {
		for (n = 0; n < sizeof(rf_kinds) / sizeof(rf_kinds[0]); n++) {
			names[n] = rf_kinds[n].name;
			bits[n] = rf_kinds[n].bit;
		}
		k = parse_kinds(sd, "fault_kinds", kinds, names, bits, n);
		if (k < 0)
			return -EINVAL;
		c->f.rand_kinds = (unsigned)k;
	}
	if (bad_id) {
		for (n = 0; n < sizeof(id_kinds) / sizeof(id_kinds[0]); n++) {
			names[n] = id_kinds[n].name;
			bits[n] = id_kinds[n].flag;
		}
		k = parse_kinds(sd, "bad_identify", bad_id, names, bits, n);
		if (k < 0)
			return -EINVAL;
		c->f.id_flags = (unsigned)k;
	}
	c->f.never_ready = never_ready != 0;
	c->f.drop_io = drop_io;
	c->f.hang_abort = hang_abort != 0;
	c->f.rand_ppb = (uint32_t)ppb;
	c->f.rand_delay_us = (uint32_t)delay_us;
	c->f.rand_rng = seed_mix(seed ^ 0x6a09e667f3bcc909ull);
	c->f.rng = seed_mix(seed);
	return 0;
}

/* Pick the kind of the @r-th enabled fault. */
static unsigned pick_kind(unsigned kinds, uint64_t r)
{
	unsigned n = (unsigned)__builtin_popcount(kinds), i = (unsigned)(r % n);

	while (i--)
		kinds &= kinds - 1;
	return kinds & -kinds;
}

/*
 * Decide for the I/O command @cmd about to run. Returns a status to complete it with instead
 * of running it (an injected error), or 0 to run it, with c->f.once set when its completion is
 * to be delayed or held.
 */
uint16_t faults_random(struct nvme_ctrl *c, struct nvme_sq *sq, const struct nvme_sqe *cmd)
{
	uint64_t r = rng_next(&c->f.rand_rng);
	unsigned kind;

	if (r % PPB >= c->f.rand_ppb)
		return 0;
	kind = pick_kind(c->f.rand_kinds, rng_next(&c->f.rand_rng));
	switch (kind) {
	case SIM_NVME_RF_ERROR:
		c->st.injected_errors++;
		log_debug("%s: random fault: SQ %u CID %u (opcode 0x%02x) fails", c->sd->name,
			  sq->qid, cmd->cid, cmd->opc);
		/* Media errors for data commands (§4.2.3.4, Figure 105), Internal Error
		 * otherwise; none of them says Do Not Retry (queue_post). */
		if (cmd->opc == 0x02)
			return NVME_SC_UNRECOVERED_READ;
		if (cmd->opc == 0x01)
			return NVME_SC_WRITE_FAULT;
		return NVME_SC_INTERNAL;
	case SIM_NVME_RF_DELAY:
		c->st.injected_delays++;
		c->f.once = 1 + rng_next(&c->f.rand_rng) %
					((uint64_t)c->f.rand_delay_us * c->tsc_hz / 1000000 + 1);
		log_debug("%s: random fault: SQ %u CID %u completion delayed", c->sd->name, sq->qid,
			  cmd->cid);
		return 0;
	default:
		c->st.injected_drops++;
		c->f.once = UINT64_MAX;
		log_debug("%s: random fault: SQ %u CID %u completion held until aborted",
			  c->sd->name, sq->qid, cmd->cid);
		return 0;
	}
}
