/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme zoned namespaces (NVMe Zoned Namespace Command Set 1.1): sequential write required
 * zones with a write pointer each, the zone state machine (§2.1.1), the active and open
 * resource limits (Identify MAR and MOR), Zone Management Send and Receive and the write rules
 * Write, Write Zeroes and Zone Append obey (§3.4).
 */
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

/* Zone Send Action, CDW13 7:0 (ZNS 1.1 Figure 38) */
enum {
	ZSA_CLOSE = 0x01,
	ZSA_FINISH = 0x02,
	ZSA_OPEN = 0x03,
	ZSA_RESET = 0x04,
	ZSA_OFFLINE = 0x05,
};
#define ZSA_SELECT_ALL (1u << 8)

int zns_create(struct nvme_ctrl *c, struct nvme_ns *ns)
{
	ns->nzones = (uint32_t)(ns->nsze / c->fmt.zsze);
	ns->zones = calloc(ns->nzones, sizeof(*ns->zones));
	if (!ns->zones)
		return -1;
	for (uint32_t i = 0; i < ns->nzones; i++) {
		ns->zones[i].zslba = i * c->fmt.zsze;
		ns->zones[i].wp = ns->zones[i].zslba;
		ns->zones[i].state = ZS_EMPTY;
	}
	return 0;
}

struct nvme_zone *zns_zone(struct nvme_ctrl *c, struct nvme_ns *ns, uint64_t lba)
{
	return lba < ns->nsze ? &ns->zones[lba / c->fmt.zsze] : NULL;
}

static bool is_open(const struct nvme_zone *z)
{
	return z->state == ZS_IMPLICIT_OPEN || z->state == ZS_EXPLICIT_OPEN;
}

/* Move @z to state @to: the open and active counts follow. */
void zns_zone_set_state(struct nvme_ns *ns, struct nvme_zone *z, uint8_t to)
{
	bool was_open = is_open(z), was_active = was_open || z->state == ZS_CLOSED;
	bool open = to == ZS_IMPLICIT_OPEN || to == ZS_EXPLICIT_OPEN;
	bool active = open || to == ZS_CLOSED;

	ns->nopen += (uint32_t)open - (uint32_t)was_open;
	ns->nactive += (uint32_t)active - (uint32_t)was_active;
	z->state = to;
}

/*
 * Room to open @z: an open resource, and an active one when it is empty. At the open limit the
 * implicitly opened zone opened first is closed to make room (the controller may), before the
 * active limit is looked at: as QEMU's controller does, so the two agree zone for zone.
 */
static uint16_t open_room(struct nvme_ctrl *c, struct nvme_ns *ns, struct nvme_zone *z)
{
	const struct nvme_fmt *f = &c->fmt;
	struct nvme_zone *oldest = NULL;

	if (is_open(z))
		return 0;
	if (f->mor != UINT32_MAX && ns->nopen > f->mor) {
		for (uint32_t i = 0; i < ns->nzones; i++)
			if (ns->zones[i].state == ZS_IMPLICIT_OPEN &&
			    (!oldest || ns->zones[i].opened < oldest->opened))
				oldest = &ns->zones[i];
		if (oldest)
			zns_zone_set_state(ns, oldest, ZS_CLOSED);
	}
	if (z->state == ZS_EMPTY && f->mar != UINT32_MAX && ns->nactive > f->mar)
		return NVME_SC_TOO_MANY_ACTIVE;
	if (f->mor != UINT32_MAX && ns->nopen > f->mor)
		return NVME_SC_TOO_MANY_OPEN;
	return 0;
}

/* The state's own refusal of a write, or 0 (Figure 33's statuses). */
static uint16_t state_refuses_write(const struct nvme_zone *z)
{
	switch (z->state) {
	case ZS_FULL:
		return NVME_SC_ZONE_FULL;
	case ZS_READ_ONLY:
		return NVME_SC_ZONE_READ_ONLY;
	case ZS_OFFLINE:
		return NVME_SC_ZONE_OFFLINE;
	default:
		return 0;
	}
}

/*
 * A write of @nlb blocks at @slba (for Zone Append, @slba is the zone's start and the data goes
 * at its write pointer): refused unless at the write pointer (Zone Invalid Write), within the
 * zone's capacity (Zone Boundary Error) and in a zone that can be opened.
 */
uint16_t zns_write_check(struct nvme_ctrl *c, struct nvme_ns *ns, uint64_t slba, uint64_t nlb,
			 bool append)
{
	struct nvme_zone *z = zns_zone(c, ns, slba);
	uint16_t st;

	if (!z)
		return NVME_SC_LBA_RANGE;
	if (append && slba != z->zslba)
		return NVME_SC_INVALID_FIELD; /* Zone Append names the zone by its ZSLBA */
	st = state_refuses_write(z);
	if (st)
		return st;
	if (append)
		slba = z->wp;
	else if (slba != z->wp)
		return NVME_SC_ZONE_INVALID_WRITE;
	if (slba + nlb > z->zslba + c->fmt.zcap)
		return NVME_SC_ZONE_BOUNDARY;
	return open_room(c, ns, z);
}

/* After the data moved: implicitly opened, the write pointer on, full at the capacity. */
void zns_write_done(struct nvme_ctrl *c, struct nvme_ns *ns, uint64_t slba, uint64_t nlb)
{
	struct nvme_zone *z = zns_zone(c, ns, slba);

	if (!is_open(z)) {
		zns_zone_set_state(ns, z, ZS_IMPLICIT_OPEN);
		z->opened = ++ns->open_seq;
	}
	z->wp += nlb;
	if (z->wp == z->zslba + c->fmt.zcap)
		zns_zone_set_state(ns, z, ZS_FULL);
}

/* Reads may cross zones (OZCS bit 0), but not into an offline one. */
uint16_t zns_read_check(struct nvme_ctrl *c, struct nvme_ns *ns, uint64_t slba, uint64_t nlb)
{
	for (uint64_t lba = slba; lba < slba + nlb; lba = (lba / c->fmt.zsze + 1) * c->fmt.zsze)
		if (zns_zone(c, ns, lba)->state == ZS_OFFLINE)
			return NVME_SC_ZONE_OFFLINE;
	return 0;
}

/* One zone's transition for a Zone Send Action (the state machine of ZNS 1.1 §2.1.1). */
static uint16_t zone_action(struct nvme_ctrl *c, struct nvme_ns *ns, struct nvme_zone *z,
			    unsigned zsa)
{
	uint8_t s = z->state;
	uint16_t st;

	switch (zsa) {
	case ZSA_OPEN:
		if (s == ZS_EXPLICIT_OPEN)
			return 0;
		if (s != ZS_EMPTY && s != ZS_IMPLICIT_OPEN && s != ZS_CLOSED)
			return NVME_SC_ZONE_INVALID_TRANSITION;
		st = open_room(c, ns, z);
		if (!st)
			zns_zone_set_state(ns, z, ZS_EXPLICIT_OPEN);
		return st;
	case ZSA_CLOSE:
		if (s == ZS_CLOSED)
			return 0;
		if (!is_open(z))
			return NVME_SC_ZONE_INVALID_TRANSITION;
		zns_zone_set_state(ns, z, ZS_CLOSED);
		return 0;
	case ZSA_FINISH:
		if (s == ZS_FULL)
			return 0;
		if (s == ZS_READ_ONLY || s == ZS_OFFLINE)
			return NVME_SC_ZONE_INVALID_TRANSITION;
		if (s == ZS_EMPTY && c->fmt.mar != UINT32_MAX && ns->nactive > c->fmt.mar)
			return NVME_SC_TOO_MANY_ACTIVE;
		z->wp = z->zslba + c->fmt.zcap;
		zns_zone_set_state(ns, z, ZS_FULL);
		return 0;
	case ZSA_RESET:
		if (s == ZS_READ_ONLY || s == ZS_OFFLINE)
			return NVME_SC_ZONE_INVALID_TRANSITION;
		if (z->wp != z->zslba || s != ZS_EMPTY)
			ns_zero_blocks(c, ns, z->zslba, c->fmt.zsze);
		z->wp = z->zslba;
		zns_zone_set_state(ns, z, ZS_EMPTY);
		return 0;
	case ZSA_OFFLINE:
		if (s == ZS_OFFLINE)
			return 0;
		if (s != ZS_READ_ONLY)
			return NVME_SC_ZONE_INVALID_TRANSITION;
		zns_zone_set_state(ns, z, ZS_OFFLINE);
		return 0;
	default:
		return NVME_SC_INVALID_FIELD;
	}
}

/* The zones Select All acts on, for each action (ZNS 1.1, Zone Management Send). */
static bool selected(unsigned zsa, uint8_t s)
{
	switch (zsa) {
	case ZSA_OPEN:
		return s == ZS_CLOSED;
	case ZSA_CLOSE:
		return s == ZS_IMPLICIT_OPEN || s == ZS_EXPLICIT_OPEN;
	case ZSA_FINISH:
		return s == ZS_IMPLICIT_OPEN || s == ZS_EXPLICIT_OPEN || s == ZS_CLOSED;
	case ZSA_RESET:
		return s == ZS_IMPLICIT_OPEN || s == ZS_EXPLICIT_OPEN || s == ZS_CLOSED ||
		       s == ZS_FULL;
	case ZSA_OFFLINE:
		return s == ZS_READ_ONLY;
	default:
		return false;
	}
}

/* Zone Management Send (79h): SLBA in CDW10-11, ZSA and Select All in CDW13. */
uint16_t zns_mgmt_send(struct nvme_ctrl *c, const struct nvme_sqe *cmd, struct nvme_ns *ns)
{
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	unsigned zsa = cmd->cdw13 & 0xff;
	struct nvme_zone *z;
	uint32_t nclosed = 0;

	if (zsa < ZSA_CLOSE || zsa > ZSA_OFFLINE)
		return NVME_SC_INVALID_FIELD;
	if (!(cmd->cdw13 & ZSA_SELECT_ALL)) {
		z = zns_zone(c, ns, slba);
		if (!z)
			return NVME_SC_LBA_RANGE;
		if (z->zslba != slba)
			return NVME_SC_INVALID_FIELD;
		return zone_action(c, ns, z, zsa);
	}
	/* Open of every closed zone: all or none, within the open limit */
	if (zsa == ZSA_OPEN && c->fmt.mor != UINT32_MAX) {
		for (uint32_t i = 0; i < ns->nzones; i++)
			nclosed += ns->zones[i].state == ZS_CLOSED;
		if (ns->nopen + nclosed > c->fmt.mor + 1)
			return NVME_SC_TOO_MANY_OPEN;
	}
	for (uint32_t i = 0; i < ns->nzones; i++)
		if (selected(zsa, ns->zones[i].state))
			zone_action(c, ns, &ns->zones[i], zsa);
	return 0;
}

/* Zone Receive Action Specific Field filter, CDW13 15:8 (Figure 41): which states to report. */
static bool filter_match(unsigned zrasf, uint8_t s)
{
	static const uint8_t want[8] = { 0,	    ZS_EMPTY, ZS_IMPLICIT_OPEN, ZS_EXPLICIT_OPEN,
					 ZS_CLOSED, ZS_FULL,  ZS_READ_ONLY,	ZS_OFFLINE };

	return zrasf == 0 || (zrasf < 8 && s == want[zrasf]);
}

/*
 * Zone Management Receive (7Ah), Report Zones: a 64-byte header with the number of zones, then
 * a 64-byte Zone Descriptor each (ZNS 1.1 Figures 43-46): ZT 2h (sequential write required),
 * ZS in bits 7:4 of byte 1, ZCAP, ZSLBA, WP. NUMD (CDW12) is the buffer's size in dwords,
 * 0-based; Partial Report (CDW13 bit 16) counts only the descriptors that fit.
 */
uint16_t zns_mgmt_recv(struct nvme_ctrl *c, const struct nvme_sqe *cmd, struct nvme_ns *ns)
{
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32, len = (cmd->cdw12 + 1ull) * 4;
	unsigned zra = cmd->cdw13 & 0xff, zrasf = (cmd->cdw13 >> 8) & 0xff;
	bool partial = cmd->cdw13 & (1u << 16);
	uint64_t n = 0, room = len < 64 ? 0 : (len - 64) / 64;
	struct nvme_zone *z = zns_zone(c, ns, slba);
	unsigned nseg;
	uint8_t *d;
	uint16_t st;

	if (!z)
		return NVME_SC_LBA_RANGE;
	if (zra != 0 || zrasf > 7) /* no zone descriptor extensions: no Extended Report */
		return NVME_SC_INVALID_FIELD;
	if (len > c->max_xfer)
		return NVME_SC_INVALID_FIELD;
	d = ns_scratch(&c->xfer, &c->xfer_len, len);
	if (!d)
		return NVME_SC_INTERNAL;
	memset(d, 0, len);
	for (uint32_t i = (uint32_t)(z - ns->zones); i < ns->nzones; i++) {
		const struct nvme_zone *r = &ns->zones[i];
		uint8_t *e = d + 64 + n * 64;

		if (!filter_match(zrasf, r->state))
			continue;
		if (n < room) {
			e[0] = 0x2;
			e[1] = (uint8_t)(r->state << 4);
			memcpy(e + 8, &c->fmt.zcap, 8);
			memcpy(e + 16, &r->zslba, 8);
			memcpy(e + 24, &r->wp, 8);
		} else if (partial) {
			break;
		}
		n++;
	}
	if (len >= 8)
		memcpy(d, &n, 8);
	st = dptr_map(c, cmd, len, false, &nseg);
	if (st)
		return st;
	dptr_to_host(c, nseg, d);
	return 0;
}
