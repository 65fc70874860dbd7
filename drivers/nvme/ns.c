/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Namespaces: the active namespace list (Identify CNS 02h), Identify Namespace (CNS 00h, NVM
 * Command Set 1.0 §4.1.5.1) and the Namespace Identification Descriptors (CNS 03h, NVMe Base
 * 2.0 §5.17.2.3). Everything the controller returns is checked before use: LBA format index
 * within NLBAF, LBA data size within 512 B..64 KiB, descriptor lengths within the page.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"

/* Namespaces this driver tracks at most (NN may claim up to 2^32 - 2). */
#define NVME_MAX_NS 1024

static struct updk_nvme_ns *ns_find(const struct updk_nvme_ctrlr *c, uint32_t nsid)
{
	uint32_t lo = 0, hi = c->ns_count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (c->ns[mid]->nsid == nsid)
			return c->ns[mid];
		if (c->ns[mid]->nsid < nsid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct updk_nvme_ns *ns_add(struct updk_nvme_ctrlr *c, uint32_t nsid)
{
	struct updk_nvme_ns *ns = ns_find(c, nsid);
	uint32_t i;

	if (ns)
		return ns;
	if (c->ns_count == c->ns_cap) {
		uint32_t cap = c->ns_cap ? c->ns_cap * 2 : 8;
		struct updk_nvme_ns **n = realloc(c->ns, cap * sizeof(*n));

		if (!n)
			return NULL;
		c->ns = n;
		c->ns_cap = cap;
	}
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return NULL;
	ns->ctrlr = c;
	ns->nsid = nsid;
	ns->sqe_nsid = (uint64_t)nsid << 32;
	for (i = c->ns_count; i > 0 && c->ns[i - 1]->nsid > nsid; i--)
		c->ns[i] = c->ns[i - 1];
	c->ns[i] = ns;
	c->ns_count++;
	return ns;
}

void nvme_ns_free_all(struct updk_nvme_ctrlr *c)
{
	for (uint32_t i = 0; i < c->ns_count; i++) {
		nvme_zns_ns_free(c->ns[i]);
		free(c->ns[i]);
	}
	free(c->ns);
	c->ns = NULL;
	c->ns_count = c->ns_cap = 0;
}

/* Parse the descriptor list of CNS 03h; the page is untrusted. */
static void ns_parse_descs(struct updk_nvme_ns *ns, const uint8_t *page)
{
	struct updk_nvme_ns_ids *ids = &ns->ids;
	size_t off = 0;

	while (off + 4 <= 4096) {
		uint8_t type = page[off], len = page[off + 1];
		const uint8_t *val = page + off + 4;

		if (type == 0)
			break;
		if (off + 4 + len > 4096) {
			log_warn("%s: namespace %u: descriptor at %zu runs past the page",
				 ns->ctrlr->name, ns->nsid, off);
			break;
		}
		switch (type) {
		case NVME_NIDT_EUI64:
			if (len == 8) {
				memcpy(ids->eui64, val, 8);
				ids->has_eui64 = true;
			}
			break;
		case NVME_NIDT_NGUID:
			if (len == 16) {
				memcpy(ids->nguid, val, 16);
				ids->has_nguid = true;
			}
			break;
		case NVME_NIDT_UUID:
			if (len == 16) {
				memcpy(ids->uuid, val, 16);
				ids->has_uuid = true;
			}
			break;
		case NVME_NIDT_CSI:
			if (len == 1)
				ids->csi = val[0];
			break;
		default:
			break;
		}
		off += 4 + len;
	}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Identify one namespace; it is inactive when NSZE is 0 (Identify NS for an inactive nsid
 * returns zeroes). Returns 0, or an error for the controller or memory, not for odd data. */
static int ns_identify(struct updk_nvme_ctrlr *c, struct updk_nvme_ns *ns)
{
	struct updk_nvme_id_ns *id = malloc(sizeof(*id));
	uint8_t *page = NULL;
	unsigned fmt, lbads;
	int rc;

	if (!id)
		return -ENOMEM;
	ns->active = false;
	ns->io_ctrlr = ns->ext_ctrlr = NULL;
	rc = nvme_identify(c, NVME_CNS_NS, ns->nsid, id);
	if (rc)
		goto out;
	if (id->nsze == 0)
		goto out;
	/* FLBAS bits 3:0 and 6:5 index the LBA format (NVM Command Set 1.0 Figure 97) */
	fmt = (id->flbas & 0xf) | (((unsigned)id->flbas >> 5 & 3) << 4);
	if (fmt > id->nlbaf || fmt >= 64) {
		log_err("%s: namespace %u: LBA format %u beyond NLBAF %u: namespace ignored",
			c->name, ns->nsid, fmt, id->nlbaf);
		goto out;
	}
	lbads = id->lbaf[fmt].lbads;
	if (lbads < 9 || lbads > 16) {
		log_err("%s: namespace %u: LBA data size 2^%u out of range 512 B..64 KiB: ignored",
			c->name, ns->nsid, lbads);
		goto out;
	}
	if (id->ncap > id->nsze || id->nsze > (UINT64_MAX >> lbads)) {
		log_err("%s: namespace %u: NSZE %llu / NCAP %llu make no sense: ignored", c->name,
			ns->nsid, (unsigned long long)id->nsze, (unsigned long long)id->ncap);
		goto out;
	}
	ns->id = *id;
	ns->nsze = id->nsze;
	ns->sector_size = 1u << lbads;
	ns->md_size = id->lbaf[fmt].ms;
	ns->md_extended = (id->flbas >> 4) & 1;
	ns->xfer_block = ns->sector_size + (ns->md_extended ? ns->md_size : 0);
	ns->max_io_sectors = c->max_xfer / ns->xfer_block;
	if (ns->max_io_sectors == 0) {
		log_err("%s: namespace %u: a block of %u bytes exceeds the transfer limit %u",
			c->name, ns->nsid, ns->xfer_block, c->max_xfer);
		goto out;
	}
	if (ns->max_io_sectors > 65536)
		ns->max_io_sectors = 65536; /* NLB is a 16-bit field */
	ns->fast_max_nlb = ns->max_io_sectors < ns->nsze ? ns->max_io_sectors : (uint32_t)ns->nsze;
	memset(&ns->ids, 0, sizeof(ns->ids));
	if (!all_zero(id->eui64, 8)) {
		memcpy(ns->ids.eui64, id->eui64, 8);
		ns->ids.has_eui64 = true;
	}
	if (!all_zero(id->nguid, 16)) {
		memcpy(ns->ids.nguid, id->nguid, 16);
		ns->ids.has_nguid = true;
	}
	/* Namespace descriptors came with NVMe 1.3 */
	if (c->vs >= 0x10300) {
		page = calloc(1, 4096);
		if (page && nvme_identify(c, NVME_CNS_NS_DESC_LIST, ns->nsid, page) == 0)
			ns_parse_descs(ns, page);
	}
	rc = nvme_zns_ns_read(c, ns);
	if (!rc)
		rc = nvme_ns_fmt_read(c, ns, id);
	if (rc)
		goto out;
	ns->active = true;
	/* metadata in a separate buffer: the _ext calls only */
	ns->io_ctrlr = ns->md_size && !ns->md_extended ? NULL : c;
	ns->ext_ctrlr = c;
out:
	free(page);
	free(id);
	return rc;
}

int nvme_ns_scan(struct updk_nvme_ctrlr *c)
{
	uint32_t *list = NULL;
	uint32_t nn = c->id.nn, seen = 0;
	int rc = 0;

	if (nn > NVME_MAX_NS)
		log_warn("%s: NN is %u; only namespaces up to %u are used", c->name, nn,
			 NVME_MAX_NS);
	for (uint32_t i = 0; i < c->ns_count; i++) {
		c->ns[i]->active = false;
		c->ns[i]->io_ctrlr = c->ns[i]->ext_ctrlr = NULL;
	}
	if (c->vs >= 0x10100) {
		/* Active Namespace ID list: up to 1024 nsids above CDW1.NSID, ascending */
		uint32_t from = 0;

		list = malloc(4096);
		if (!list)
			return -ENOMEM;
		for (;;) {
			uint32_t i;

			rc = nvme_identify(c, NVME_CNS_ACTIVE_NS_LIST, from, list);
			if (rc)
				goto out;
			for (i = 0; i < 1024 && list[i]; i++) {
				uint32_t nsid = list[i];
				struct updk_nvme_ns *ns;

				if (nsid <= from || nsid > nn) {
					log_err("%s: active namespace list entry %u (%u) out of order "
						"or beyond NN %u: ignored",
						c->name, i, nsid, nn);
					break;
				}
				if (nsid > NVME_MAX_NS)
					break;
				from = nsid;
				ns = ns_add(c, nsid);
				if (!ns) {
					rc = -ENOMEM;
					goto out;
				}
				rc = ns_identify(c, ns);
				if (rc)
					goto out;
				seen++;
			}
			if (i < 1024 || seen >= NVME_MAX_NS)
				break;
		}
	} else {
		for (uint32_t nsid = 1; nsid <= nn && nsid <= NVME_MAX_NS; nsid++) {
			struct updk_nvme_ns *ns = ns_add(c, nsid);

			if (!ns) {
				rc = -ENOMEM;
				goto out;
			}
			rc = ns_identify(c, ns);
			if (rc)
				goto out;
		}
	}
out:
	free(list);
	return rc;
}

uint32_t updk_nvme_ctrlr_num_ns(const struct updk_nvme_ctrlr *c)
{
	return c->id.nn;
}

uint32_t updk_nvme_ctrlr_first_active_ns(const struct updk_nvme_ctrlr *c)
{
	return updk_nvme_ctrlr_next_active_ns(c, 0);
}

uint32_t updk_nvme_ctrlr_next_active_ns(const struct updk_nvme_ctrlr *c, uint32_t nsid)
{
	for (uint32_t i = 0; i < c->ns_count; i++)
		if (c->ns[i]->nsid > nsid && c->ns[i]->active)
			return c->ns[i]->nsid;
	return 0;
}

struct updk_nvme_ns *updk_nvme_ns_get(struct updk_nvme_ctrlr *c, uint32_t nsid)
{
	struct updk_nvme_ns *ns;

	if (!c)
		return NULL;
	ns = ns_find(c, nsid);
	if (!ns || !ns->active) {
		log_debug("%s: namespace %u is not active (NN %u)", c->name, nsid, c->id.nn);
		return NULL;
	}
	return ns;
}

uint32_t updk_nvme_ns_id(const struct updk_nvme_ns *ns)
{
	return ns->nsid;
}

bool updk_nvme_ns_is_active(const struct updk_nvme_ns *ns)
{
	return ns->active;
}

const struct updk_nvme_id_ns *updk_nvme_ns_data(const struct updk_nvme_ns *ns)
{
	return &ns->id;
}

uint64_t updk_nvme_ns_num_sectors(const struct updk_nvme_ns *ns)
{
	return ns->nsze;
}

uint64_t updk_nvme_ns_size(const struct updk_nvme_ns *ns)
{
	return ns->nsze * ns->sector_size;
}

uint32_t updk_nvme_ns_sector_size(const struct updk_nvme_ns *ns)
{
	return ns->sector_size;
}

uint32_t updk_nvme_ns_md_size(const struct updk_nvme_ns *ns)
{
	return ns->md_size;
}

bool updk_nvme_ns_md_extended(const struct updk_nvme_ns *ns)
{
	return ns->md_extended;
}

uint32_t updk_nvme_ns_max_io_sectors(const struct updk_nvme_ns *ns)
{
	return ns->max_io_sectors;
}

const struct updk_nvme_ns_ids *updk_nvme_ns_ids(const struct updk_nvme_ns *ns)
{
	return &ns->ids;
}
