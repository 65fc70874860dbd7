/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme namespaces: RAM-backed, reserved lazily (MAP_NORESERVE) so a large namespace costs
 * only what is written. Deallocated and zeroed ranges go back to the kernel and read as zeroes,
 * as Identify Namespace DLFEAT promises (NVM Command Set 1.0 §4.1.5.1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

/* splitmix64: a stable, well-mixed source for identifiers derived from (controller, nsid). */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void fill_id(uint8_t *out, uint64_t seed)
{
	uint64_t a = mix64(seed), b = mix64(seed ^ 0x5555aaaa5555aaaaull);

	memcpy(out, &a, 8);
	memcpy(out + 8, &b, 8);
}

/* Metadata, ms bytes per block, reserved as the data is. */
static int ns_create_md(struct nvme_ctrl *c, struct nvme_ns *ns)
{
	void *p;

	if (!c->fmt.ms)
		return 0;
	ns->md_bytes = ns->nsze * c->fmt.ms;
	p = mmap(NULL, ns->md_bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		log_err("%s: cannot reserve %zu bytes of metadata; use a smaller size= or ms=",
			c->sd->name, ns->md_bytes);
		return -ENOMEM;
	}
	ns->md = p;
	return 0;
}

int ns_create_all(struct nvme_ctrl *c)
{
	uint64_t seed = (uint64_t)c->instance << 32;

	if (!c->nns)
		return 0;
	c->ns = calloc(c->nns, sizeof(*c->ns));
	if (!c->ns)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->nns; i++) {
		struct nvme_ns *ns = &c->ns[i];
		void *p = mmap(NULL, c->ns_bytes, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED) {
			int err = errno;

			log_err("%s: cannot reserve %llu bytes for namespace %u: %s; use a smaller "
				"size=",
				c->sd->name, (unsigned long long)c->ns_bytes, i + 1, strerror(err));
			ns_destroy_all(c);
			return -err;
		}
		ns->data = p;
		ns->bytes = c->ns_bytes;
		ns->nsze = c->ns_bytes >> c->lbads;
		ns->active = true;
		if (ns_create_md(c, ns) || (c->fmt.zoned && zns_create(c, ns))) {
			ns_destroy_all(c);
			return -ENOMEM;
		}
		fill_id(ns->nguid, seed + i + 1);
		fill_id(ns->uuid, mix64(seed) + i + 1);
		/* UUID version 4 (random), variant 10b: RFC 4122 §4.4 */
		ns->uuid[6] = (ns->uuid[6] & 0x0f) | 0x40;
		ns->uuid[8] = (ns->uuid[8] & 0x3f) | 0x80;
	}
	return 0;
}

void ns_destroy_all(struct nvme_ctrl *c)
{
	if (!c->ns)
		return;
	for (uint32_t i = 0; i < c->nns; i++) {
		if (c->ns[i].data)
			munmap(c->ns[i].data, c->ns[i].bytes);
		if (c->ns[i].md)
			munmap(c->ns[i].md, c->ns[i].md_bytes);
		free(c->ns[i].zones);
	}
	free(c->ns);
	c->ns = NULL;
}

struct nvme_ns *ns_get(struct nvme_ctrl *c, uint32_t nsid)
{
	if (nsid == 0 || nsid > c->nns || !c->ns[nsid - 1].active)
		return NULL;
	return &c->ns[nsid - 1];
}

/* Zero [off, off + len): whole pages are given back (they read as zeroes), edges cleared. */
void ns_zero(struct nvme_ns *ns, uint64_t off, uint64_t len)
{
	const uint64_t pg = 4096;
	uint64_t a = (off + pg - 1) & ~(pg - 1), b = (off + len) & ~(pg - 1);

	if (len < 16 * pg || a >= b) {
		memset(ns->data + off, 0, len);
		return;
	}
	memset(ns->data + off, 0, a - off);
	if (madvise(ns->data + a, b - a, MADV_DONTNEED))
		memset(ns->data + a, 0, b - a);
	memset(ns->data + b, 0, off + len - b);
}

void ns_zero_blocks(struct nvme_ctrl *c, struct nvme_ns *ns, uint64_t slba, uint64_t nlb)
{
	ns_zero(ns, slba << c->lbads, nlb << c->lbads);
	if (ns->md)
		memset(ns->md + slba * c->fmt.ms, 0, nlb * c->fmt.ms);
}

uint8_t *ns_scratch(uint8_t **p, size_t *cap, size_t len)
{
	if (len > *cap) {
		uint8_t *n = realloc(*p, len);

		if (!n)
			return NULL;
		*p = n;
		*cap = len;
	}
	return *p;
}
