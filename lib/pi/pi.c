// SPDX-License-Identifier: BSD-3-Clause
/*
 * Protection information in software (include/updk/pi.h; NVM Command Set 1.0 §5.2): the three
 * Guard formats over lib/crc (ISA-L), big-endian fields, the controller's checking rules.
 */
#include <errno.h>

#include <updk/crc.h>
#include <updk/pi.h>

#define LOG_COMPONENT "pi"
#include "lib/util/be.h"
#include "lib/util/log.h"

/* Field widths in bytes: Guard, then Application Tag (2), then Reference Tag. */
static const struct {
	unsigned guard, ref;
} widths[3] = { { 2, 4 }, { 4, 10 }, { 8, 6 } };

unsigned updk_pi_size(enum updk_pi_guard guard)
{
	return guard == UPDK_PI_GUARD16 ? 8 : 16;
}

int updk_pi_fmt_check(const struct updk_pi_fmt *f)
{
	if (!f || f->type < UPDK_PI_TYPE1 || f->type > UPDK_PI_TYPE3) {
		log_err("protection information type %u: need 1, 2 or 3", f ? f->type : 0);
		return -EINVAL;
	}
	if (f->guard > UPDK_PI_GUARD64) {
		log_err("guard format %u: need 0 (16b), 1 (32b) or 2 (64b)", f->guard);
		return -EINVAL;
	}
	if (!f->block_size || f->md_size < updk_pi_size(f->guard)) {
		log_err("metadata of %u bytes cannot hold %u bytes of PI (block size %u)",
			f->md_size, updk_pi_size(f->guard), f->block_size);
		return -EINVAL;
	}
	return 0;
}

static uint64_t ref_mask(const struct updk_pi_fmt *f)
{
	unsigned bits = widths[f->guard].ref * 8;

	return bits >= 64 ? UINT64_MAX : (1ull << bits) - 1;
}

static size_t pi_off(const struct updk_pi_fmt *f)
{
	return f->pi_first ? 0 : f->md_size - updk_pi_size(f->guard);
}

static uint64_t guard_of(const struct updk_pi_fmt *f, const uint8_t *data, const uint8_t *md)
{
	size_t pre = pi_off(f);

	switch (f->guard) {
	case UPDK_PI_GUARD16:
		return updk_crc16_t10dif(updk_crc16_t10dif(0, data, f->block_size), md, pre);
	case UPDK_PI_GUARD32:
		return updk_crc32c(updk_crc32c(0, data, f->block_size), md, pre);
	default:
		return updk_crc64_nvme(updk_crc64_nvme(0, data, f->block_size), md, pre);
	}
}

/* Block @i's data and metadata in either layout. */
static void block_at(const struct updk_pi_fmt *f, const uint8_t *data, const uint8_t *md,
		     uint32_t i, const uint8_t **d, const uint8_t **m)
{
	if (f->extended) {
		*d = data + (size_t)i * (f->block_size + f->md_size);
		*m = *d + f->block_size;
	} else {
		*d = data + (size_t)i * f->block_size;
		*m = md + (size_t)i * f->md_size;
	}
}

static int layout_check(const struct updk_pi_fmt *f, const void *data, const void *md)
{
	int rc = updk_pi_fmt_check(f);

	if (rc)
		return rc;
	if (!data || (!f->extended && !md)) {
		log_err("no %s buffer", data ? "metadata" : "data");
		return -EINVAL;
	}
	return 0;
}

int updk_pi_generate(const struct updk_pi_fmt *f, void *data, void *md, uint32_t nblocks,
		     const struct updk_pi_tags *t)
{
	int rc = layout_check(f, data, md);

	if (rc)
		return rc;
	for (uint32_t i = 0; i < nblocks; i++) {
		const uint8_t *d, *m;
		uint8_t *pi;
		unsigned g = widths[f->guard].guard;
		uint64_t ref = t->ref + (f->type == UPDK_PI_TYPE3 ? 0 : i);

		block_at(f, data, md, i, &d, &m);
		pi = (uint8_t *)m + pi_off(f);
		be_put(pi, g, guard_of(f, d, m));
		be_put(pi + g, 2, t->app);
		be_put(pi + g + 2, widths[f->guard].ref, ref & ref_mask(f));
	}
	return 0;
}

static int mismatch(struct updk_pi_error *err, enum updk_pi_err_kind kind, uint32_t i,
		    uint64_t want, uint64_t got)
{
	if (err) {
		err->kind = kind;
		err->block = i;
		err->expected = want;
		err->actual = got;
	}
	return -EIO;
}

int updk_pi_verify(const struct updk_pi_fmt *f, const void *data, const void *md, uint32_t nblocks,
		   const struct updk_pi_tags *t, unsigned checks, struct updk_pi_error *err)
{
	int rc = layout_check(f, data, md);
	unsigned g;

	if (rc)
		return rc;
	g = widths[f->guard].guard;
	for (uint32_t i = 0; i < nblocks; i++) {
		const uint8_t *d, *m, *pi;
		uint64_t guard, ref, want;
		uint16_t app;

		block_at(f, data, md, i, &d, &m);
		pi = m + pi_off(f);
		guard = be_get(pi, g);
		app = (uint16_t)be_get(pi + g, 2);
		ref = be_get(pi + g + 2, widths[f->guard].ref);
		if (app == 0xffff && (f->type != UPDK_PI_TYPE3 || ref == ref_mask(f)))
			continue;
		if ((checks & UPDK_PI_CHECK_GUARD) && guard != (want = guard_of(f, d, m)))
			return mismatch(err, UPDK_PI_ERR_GUARD, i, want, guard);
		if ((checks & UPDK_PI_CHECK_APP) && (app & t->app_mask) != (t->app & t->app_mask))
			return mismatch(err, UPDK_PI_ERR_APP, i, t->app & t->app_mask,
					app & t->app_mask);
		want = (t->ref + i) & ref_mask(f);
		if ((checks & UPDK_PI_CHECK_REF) && f->type != UPDK_PI_TYPE3 && ref != want)
			return mismatch(err, UPDK_PI_ERR_REF, i, want, ref);
	}
	return 0;
}

const char *updk_pi_err_str(enum updk_pi_err_kind kind)
{
	switch (kind) {
	case UPDK_PI_ERR_GUARD:
		return "Guard";
	case UPDK_PI_ERR_APP:
		return "Application Tag";
	case UPDK_PI_ERR_REF:
		return "Reference Tag";
	}
	return "unknown";
}
