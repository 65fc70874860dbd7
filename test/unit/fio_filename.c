// SPDX-License-Identifier: BSD-3-Clause
/*
 * The fio engine's file names (plugins/fio/filename.c): the forms docs/fio.md shows, and each
 * refusal naming the word at fault. The parser needs no fio, so it is tested here, included.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "plugins/fio/filename.c"

struct good {
	const char *name;
	const char *addr;
	uint32_t nsid;
};

static const struct good goods[] = {
	{ "trtype=PCIe traddr=0000.01.00.0 ns=1", "0000:01:00.0", 1 },
	{ "traddr=0000.01.00.0 trtype=pcie nsid=2", "0000:01:00.0", 2 },
	{ "0000.3b.00.1", "0000:3b:00.1", 0 },
	{ "3b.00.1 ns=4294967294", "0000:3b:00.1", 4294967294u },
	/* a colon escaped in the job file reaches the engine as a colon */
	{ "traddr=0000:00:04.0 ns=1", "0000:00:04.0", 1 },
	{ "  0000.00.04.0\tns=3  ", "0000:00:04.0", 3 },
	{ "sim.nvme", "sim:nvme", 0 },
	{ "sim.nvme?ns=2,size=1G ns=2", "sim:nvme?ns=2,size=1G", 2 },
	{ "trtype=sim traddr=sim.nvme?lba=4096", "sim:nvme?lba=4096", 0 },
	{ "sim:nvme", "sim:nvme", 0 },
};

Test(fio_filename, accepted_forms)
{
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		struct fu_target t;
		char err[512] = "";

		cr_assert_eq(fu_parse_filename(goods[i].name, &t, err, sizeof(err)), 0, "'%s': %s",
			     goods[i].name, err);
		cr_assert_str_eq(t.addr, goods[i].addr, "'%s'", goods[i].name);
		cr_assert_eq(t.nsid, goods[i].nsid, "'%s'", goods[i].name);
	}
}

struct bad {
	const char *name;
	const char *says; /* a part of the message */
};

static const struct bad bads[] = {
	{ "", "names no controller" },
	{ "ns=1", "names no controller" },
	{ "traddr=zz.00.0", "'zz.00.0' is neither a PCI address" },
	{ "0000.01.00", "'0000.01.00' is neither" },
	{ "0000.01.20.0", "is neither" }, /* device 0x20 */
	{ "traddr=0000.01.00.0 traddr=0000.02.00.0", "two addresses" },
	{ "sim.nvme 0000.01.00.0", "two addresses" },
	{ "sim.", "names no model" },
	{ "sim.nvme ns=0", "ns '0': expected a namespace id" },
	{ "sim.nvme ns=4294967295", "ns '4294967295'" },
	{ "sim.nvme ns=1x", "ns '1x'" },
	{ "sim.nvme ns=-1", "ns '-1'" },
	{ "trtype=TCP traddr=0000.01.00.0", "trtype 'TCP' is not one the engine drives" },
	{ "trtype=PCIe sim.nvme", "trtype=PCIe needs a PCI address" },
	{ "trtype=sim 0000.01.00.0", "trtype=sim needs a sim.MODEL address" },
	{ "0000.01.00.0 trsvcid=4420", "'trsvcid' belongs to NVMe over Fabrics" },
	{ "0000.01.00.0 port=1", "unknown key 'port'" },
	{ "0000.01.00.0 ns=", "is not key=value" },
	{ "0000.01.00.0 =1", "is not key=value" },
};

Test(fio_filename, refusals_name_the_word)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct fu_target t;
		char err[512] = "";

		cr_assert_eq(fu_parse_filename(bads[i].name, &t, err, sizeof(err)), -EINVAL, "'%s'",
			     bads[i].name);
		cr_assert(strstr(err, bads[i].says), "'%s': '%s' does not say '%s'", bads[i].name,
			  err, bads[i].says);
	}
}

Test(fio_filename, too_long)
{
	char name[1100], err[256];
	struct fu_target t;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	cr_assert_eq(fu_parse_filename(name, &t, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "at most 1023"), "%s", err);
	/* a sim address longer than an updk address */
	memcpy(name, "sim.", 4);
	name[FU_ADDR_MAX + 8] = '\0';
	cr_assert_eq(fu_parse_filename(name, &t, err, sizeof(err)), -EINVAL);
}
