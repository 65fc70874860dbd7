/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Transports and addresses. updk_nvme_ctrlr_open() takes a bare address, which is PCIe's
 * ("0000:01:00.0", "01:00.0", or a sim: device, which lib/pci backs with a model), or SPDK's
 * transport ID form, "trtype:PCIe traddr:0000:01:00.0": space-separated key:value (or
 * key=value) pairs. The trtype picks the transport from the table below.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/transport.h"

/* One line per transport: a table rather than constructors, so a static link pulls each in. */
static const struct nvme_transport_ops *const transports[] = {
	&nvme_pcie_ops,
	&nvme_tcp_ops,
};

#define NTRANSPORTS (sizeof(transports) / sizeof(transports[0]))

/* The transport ID keys and where each goes; only PCIe's two apply to PCIe. */
static const struct {
	const char *key;
	size_t off, size;
	bool fabrics;
} keys[] = {
	{ "trtype", offsetof(struct nvme_trid, trtype), sizeof(((struct nvme_trid *)0)->trtype),
	  false },
	{ "traddr", offsetof(struct nvme_trid, traddr), sizeof(((struct nvme_trid *)0)->traddr),
	  false },
	{ "adrfam", offsetof(struct nvme_trid, adrfam), sizeof(((struct nvme_trid *)0)->adrfam),
	  true },
	{ "trsvcid", offsetof(struct nvme_trid, trsvcid), sizeof(((struct nvme_trid *)0)->trsvcid),
	  true },
	{ "subnqn", offsetof(struct nvme_trid, subnqn), sizeof(((struct nvme_trid *)0)->subnqn),
	  true },
	{ "hostnqn", offsetof(struct nvme_trid, hostnqn), sizeof(((struct nvme_trid *)0)->hostnqn),
	  true },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* The key @tok starts with, when it is "key:" or "key=" of a transport ID; else -1. */
static int key_of(const char *tok, size_t len)
{
	for (size_t k = 0; k < NKEYS; k++) {
		size_t n = strlen(keys[k].key);

		if (len > n && (tok[n] == ':' || tok[n] == '=') &&
		    !strncasecmp(tok, keys[k].key, n))
			return (int)k;
	}
	return -1;
}

static int parse_spdk(const char *addr, struct nvme_trid *t)
{
	const char *p = addr;
	bool seen[NKEYS] = { false };

	while (*p) {
		size_t len = strcspn(p, " \t");
		int k;
		size_t n;

		if (len == 0) {
			p++;
			continue;
		}
		k = key_of(p, len);
		if (k < 0) {
			log_err("'%s': '%.*s' is not a transport ID key:value (keys: trtype, traddr, "
				"adrfam, trsvcid, subnqn, hostnqn)",
				addr, (int)len, p);
			return -EINVAL;
		}
		if (seen[k]) {
			log_err("'%s': %s given twice", addr, keys[k].key);
			return -EINVAL;
		}
		seen[k] = true;
		n = strlen(keys[k].key) + 1;
		if (len - n >= keys[k].size || len == n) {
			log_err("'%s': %s '%.*s' is %s", addr, keys[k].key, (int)(len - n), p + n,
				len == n ? "empty" : "too long");
			return -EINVAL;
		}
		memcpy((char *)t + keys[k].off, p + n, len - n);
		p += len;
	}
	if (!t->traddr[0]) {
		log_err("'%s': no traddr (traddr:0000:01:00.0)", addr);
		return -EINVAL;
	}
	if (!t->trtype[0])
		snprintf(t->trtype, sizeof(t->trtype), "PCIe");
	return 0;
}

int nvme_trid_parse(const char *addr, struct nvme_trid *t)
{
	const char *first = addr + strspn(addr, " \t");

	memset(t, 0, sizeof(*t));
	/* A bare address has no transport ID key in front ("sim:nvme?…" and "0000:…" have
	 * colons of their own, but no key) and goes to lib/pci as it is. */
	if (key_of(first, strcspn(first, " \t")) < 0) {
		if (strlen(addr) >= sizeof(t->traddr)) {
			log_err("'%.40s…': address too long", addr);
			return -EINVAL;
		}
		snprintf(t->trtype, sizeof(t->trtype), "PCIe");
		snprintf(t->traddr, sizeof(t->traddr), "%s", addr);
		return 0;
	}
	return parse_spdk(addr, t);
}

const struct nvme_transport_ops *nvme_transport_find(const struct nvme_trid *t)
{
	char known[64] = "";

	for (size_t i = 0; i < NTRANSPORTS; i++) {
		const struct nvme_transport_ops *ops = transports[i];

		if (strcasecmp(t->trtype, ops->name))
			continue;
		/* PCIe takes traddr alone: the fabrics keys mean another transport was meant */
		if (!strcasecmp(ops->name, "PCIe")) {
			for (size_t k = 0; k < NKEYS; k++) {
				if (keys[k].fabrics && *((const char *)t + keys[k].off)) {
					log_err("%s: %s belongs to NVMe over Fabrics: trtype %s takes "
						"traddr only",
						t->traddr, keys[k].key, ops->name);
					return NULL;
				}
			}
		}
		return ops;
	}
	for (size_t i = 0; i < NTRANSPORTS; i++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
			 i ? ", " : "", transports[i]->name);
	log_err("%s: trtype '%s' is not a transport this build of updk has (it has: %s)", t->traddr,
		t->trtype, known);
	return NULL;
}
