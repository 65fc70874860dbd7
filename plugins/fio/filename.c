// SPDX-License-Identifier: BSD-3-Clause
/* The fio file name of an updk namespace (filename.h): its words to an updk address and an nsid. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <updk/pci.h>

#include "plugins/fio/filename.h"

#define KEYS "trtype=PCIe|sim, traddr=0000.01.00.0|sim.nvme, ns=N"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_sim(const char *word)
{
	return !strncmp(word, "sim.", 4) || !strncmp(word, "sim:", 4);
}

/*
 * A PCI address with dots where colons go ("0000.01.00.0", "01.00.0") or with its colons
 * ("0000:01:00.0", escaped in the job file), into updk's canonical form.
 */
static int pci_addr(const char *word, char *out)
{
	char buf[UPDK_PCI_ADDR_STRLEN + 8];
	struct updk_pci_addr a;
	size_t n = strlen(word);
	char *last;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, word, n + 1);
	/* The last dot separates the function and stays; the others stand for colons. */
	last = strrchr(buf, '.');
	if (!last)
		return -1;
	for (char *p = buf; p < last; p++)
		if (*p == '.')
			*p = ':';
	if (updk_pci_addr_parse(buf, &a))
		return -1;
	updk_pci_addr_fmt(&a, out);
	return 0;
}

static int set_addr(struct fu_target *t, const char *word, const char *name, char *err,
		    size_t errlen)
{
	if (t->addr[0])
		return fail(err, errlen,
			    "'%s': two addresses ('%s' and '%s'): one controller per file", name,
			    t->addr, word);
	if (is_sim(word)) {
		if (!word[4] || strlen(word) >= FU_ADDR_MAX)
			return fail(err, errlen,
				    "'%s': '%s' names no model (sim.nvme, sim.nvme?ns=2)", name,
				    word);
		snprintf(t->addr, sizeof(t->addr), "sim:%s", word + 4);
		return 0;
	}
	if (pci_addr(word, t->addr))
		return fail(err, errlen,
			    "'%s': '%s' is neither a PCI address (0000.01.00.0, or 01.00.0) nor a "
			    "simulated controller (sim.nvme)",
			    name, word);
	return 0;
}

static int parse_nsid(const char *val, uint32_t *nsid)
{
	char *end;
	unsigned long long v;

	if (*val < '0' || *val > '9')
		return -1;
	errno = 0;
	v = strtoull(val, &end, 10);
	if (errno || *end || v < 1 || v > 0xfffffffeULL)
		return -1;
	*nsid = (uint32_t)v;
	return 0;
}

int fu_parse_filename(const char *name, struct fu_target *t, char *err, size_t errlen)
{
	char buf[1024], *word, *save;
	size_t len = strlen(name);
	enum { ANY, PCIE, SIM } trtype = ANY;
	int rc;

	memset(t, 0, sizeof(*t));
	if (len >= sizeof(buf))
		return fail(err, errlen, "file name of %zu characters: at most %zu", len,
			    sizeof(buf) - 1);
	memcpy(buf, name, len + 1);
	for (word = strtok_r(buf, " \t", &save); word; word = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(word, '=');
		const char *val = eq ? eq + 1 : NULL;

		/* A bare address first: "sim.nvme?ns=2" holds a '=' of its own. */
		if (!eq || is_sim(word)) {
			rc = set_addr(t, word, name, err, errlen);
			if (rc)
				return rc;
			continue;
		}
		*eq = '\0';
		if (!*word || !*val)
			return fail(err, errlen, "'%s': '%s=%s' is not key=value (keys: " KEYS ")",
				    name, word, val);
		if (!strcasecmp(word, "trtype")) {
			if (!strcasecmp(val, "pcie"))
				trtype = PCIE;
			else if (!strcasecmp(val, "sim"))
				trtype = SIM;
			else
				return fail(err, errlen,
					    "'%s': trtype '%s' is not one the engine drives "
					    "(PCIe, or sim for the simulated controller)",
					    name, val);
		} else if (!strcasecmp(word, "traddr")) {
			rc = set_addr(t, val, name, err, errlen);
			if (rc)
				return rc;
		} else if (!strcasecmp(word, "ns") || !strcasecmp(word, "nsid")) {
			if (parse_nsid(val, &t->nsid))
				return fail(err, errlen,
					    "'%s': ns '%s': expected a namespace id from 1 to "
					    "4294967294",
					    name, val);
		} else if (!strcasecmp(word, "adrfam") || !strcasecmp(word, "trsvcid") ||
			   !strcasecmp(word, "subnqn") || !strcasecmp(word, "hostnqn")) {
			return fail(
				err, errlen,
				"'%s': '%s' belongs to NVMe over Fabrics, which the engine does "
				"not drive (PCIe and sim)",
				name, word);
		} else {
			return fail(err, errlen, "'%s': unknown key '%s' (keys: " KEYS ")", name,
				    word);
		}
	}
	if (!t->addr[0])
		return fail(
			err, errlen,
			"'%s' names no controller: traddr=0000.01.00.0 (a PCI address with dots "
			"for colons) or sim.nvme",
			name);
	if (trtype == SIM && strncmp(t->addr, "sim:", 4))
		return fail(err, errlen, "'%s': trtype=sim needs a sim.MODEL address", name);
	if (trtype == PCIE && !strncmp(t->addr, "sim:", 4))
		return fail(err, errlen, "'%s': trtype=PCIe needs a PCI address, not %s", name,
			    t->addr);
	return 0;
}
