// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf: the Identify Controller data of a fabric controller (NVMe Base 2.0 §5.17.2.1,
 * Figure 275), I/O or Discovery, and the Discovery log page (§5.16.1.23).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "apps/nvmf/nvmf.h"

/* ASCII fields are space padded, not NUL terminated. */
static void ascii(char *dst, size_t n, const char *src)
{
	size_t k = strlen(src);

	memset(dst, ' ', n);
	memcpy(dst, src, k < n ? k : n);
}

void nvmf_identify_ctrlr(const struct nvmf_ctrlr *c, struct updk_nvme_id_ctrl *id)
{
	const struct nvmf_subsys *s = c->subsys;

	memset(id, 0, sizeof(*id));
	ascii(id->sn, sizeof(id->sn), s->discovery ? "updk-discovery" : s->sn);
	ascii(id->mn, sizeof(id->mn), "updk-nvmf");
	ascii(id->fr, sizeof(id->fr), "updk");
	/* CMIC bits 0, 1: more than one port and controller; each host gets its own */
	id->cmic = s->discovery ? 0 : 3;
	id->mdts = NVMF_MDTS;
	id->cntlid = c->cntlid;
	id->ver = 0x00010300;
	id->cntrltype = s->discovery ? UPDK_NVME_CNTRLTYPE_DISCOVERY : UPDK_NVME_CNTRLTYPE_IO;
	id->acl = 3;
	id->aerl = NVMF_AERL;
	id->frmw = 1 << 1 | 1; /* one slot, read-only */
	id->lpa = 1 << 2; /* extended data for Get Log Page: NUMDU and offsets */
	id->elpe = 0;
	id->kas = NVMF_KAS;
	id->sqes = 0x66;
	id->cqes = 0x44;
	id->maxcmd = s->discovery ? NVMF_ADMIN_QUEUE : NVMF_MAX_QUEUE;
	id->nn = s->nns;
	id->oncs = s->oncs;
	/* VWC bit 0: a volatile write cache; bits 2:1 10b: Flush takes no broadcast NSID */
	id->vwc = s->vwc ? (1 | 2 << 1) : 0;
	/* SGLS: bit 0 SGLs without alignment rules, bit 20 an Offset in SGL Data Blocks (ICD) */
	id->sgls = 1u << 0 | 1u << 20;
	snprintf(id->subnqn, sizeof(id->subnqn), "%s", s->nqn);
	id->ioccsz = (64 + NVMF_IO_ICD) / 16;
	id->iorcsz = 16 / 16;
	id->icdoff = 0;
	id->fcatt = 0; /* dynamic controller model */
	id->msdbd = 1;
	id->ofcs = 1; /* Disconnect supported */
}

/* The address a host reached us at, for a listener on a wildcard address. */
static void local_addr(const struct nvmf_conn *conn, char *out, size_t len)
{
	const struct sockaddr_storage *ss = &conn->local;

	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out,
			  (socklen_t)len);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out,
			  (socklen_t)len);
	else
		snprintf(out, len, "?");
}

static bool is_wildcard(const char *a)
{
	return !strcmp(a, "0.0.0.0") || !strcmp(a, "::") || !*a;
}

/* Copy the part of [@at, @at + @size) that falls in the window [@offset, @offset + @len). */
static void emit(uint8_t *out, uint64_t offset, uint64_t len, const void *src, uint64_t at,
		 uint64_t size)
{
	uint64_t lo = at > offset ? at : offset;
	uint64_t hi = at + size < offset + len ? at + size : offset + len;

	if (lo < hi)
		memcpy(out + (lo - offset), (const uint8_t *)src + (lo - at), hi - lo);
}

void nvmf_discovery_log(const char *hostnqn, const struct nvmf_conn *conn, void *buf, uint32_t len,
			uint64_t offset)
{
	struct updk_nvmf_disc_log hdr;
	struct updk_nvmf_disc_entry e;
	uint64_t pos = 0, n = 0;
	uint8_t *out = buf;

	memset(buf, 0, len);
	pos = sizeof(hdr);
	for (unsigned i = 0; i < nvmf_tgt.nsubsys; i++) {
		const struct nvmf_subsys *s = &nvmf_tgt.subsys[i];

		if (s->discovery || !nvmf_subsys_host_allowed(s, hostnqn))
			continue;
		for (unsigned l = 0; l < nvmf_tgt.nlisten; l++) {
			const struct nvmf_listener *li = &nvmf_tgt.listen[l];
			char addr[NVMF_ADDR_MAX];

			memset(&e, 0, sizeof(e));
			e.trtype = UPDK_NVMF_TRTYPE_TCP;
			e.adrfam = (uint8_t)li->adrfam;
			e.subtype = UPDK_NVMF_SUBTYPE_NVME;
			e.treq = UPDK_NVMF_TREQ_SECURE_NOT_REQUIRED | UPDK_NVMF_TREQ_DISABLE_SQFLOW;
			e.portid = li->portid;
			e.cntlid = UPDK_NVMF_CNTLID_DYNAMIC;
			e.asqsz = NVMF_ADMIN_QUEUE;
			/* NUL padded, as Linux's nvmet does: hosts print them as C strings */
			snprintf(e.trsvcid, sizeof(e.trsvcid), "%s", li->trsvcid);
			snprintf(e.subnqn, sizeof(e.subnqn), "%s", s->nqn);
			if (is_wildcard(li->traddr))
				local_addr(conn, addr, sizeof(addr));
			else
				snprintf(addr, sizeof(addr), "%s", li->traddr);
			snprintf(e.traddr, sizeof(e.traddr), "%s", addr);
			e.tsas[0] = 0; /* SECTYPE: no security */
			emit(out, offset, len, &e, pos, sizeof(e));
			pos += sizeof(e);
			n++;
		}
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.genctr = nvmf_tgt.genctr;
	hdr.numrec = n;
	hdr.recfmt = 0;
	emit(out, offset, len, &hdr, 0, sizeof(hdr));
}
