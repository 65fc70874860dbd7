// SPDX-License-Identifier: BSD-3-Clause
/* updk_pci_addr_parse() and updk_pci_addr_fmt(): every accepted form, and the near misses. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include <updk/pci.h>

struct good {
	const char *in;
	uint32_t domain;
	uint8_t bus, dev, func;
	const char *fmt;
};

static const struct good goods[] = {
	{ "0000:00:04.0", 0, 0x00, 0x04, 0, "0000:00:04.0" },
	{ "00:04.0", 0, 0x00, 0x04, 0, "0000:00:04.0" },
	{ "0000:00:00.0", 0, 0, 0, 0, "0000:00:00.0" },
	{ "ffff:ff:1f.7", 0xffff, 0xff, 0x1f, 7, "ffff:ff:1f.7" },
	{ "FFFF:FF:1F.7", 0xffff, 0xff, 0x1f, 7, "ffff:ff:1f.7" },
	{ "0001:3b:00.1", 1, 0x3b, 0x00, 1, "0001:3b:00.1" },
	{ "af:10.3", 0, 0xaf, 0x10, 3, "0000:af:10.3" },
};

static const char *const bads[] = {
	"",
	"0",
	"0000:00:04", /* no function */
	"0000:00:04.", /* empty function */
	"0000:00:20.0", /* device is 5 bits */
	"00:1f.8", /* function is 3 bits */
	"0000:00:04.10", /* function has one digit */
	"000:00:04.0", /* domain has four digits */
	"00000:00:04.0", /* ... not five */
	"10000:00:00.0", /* domains beyond 0xffff are not accepted */
	"0000:0:04.0", /* bus has two digits */
	"0000:000:04.0", /* ... not three */
	"0000:00:4.0", /* device has two digits */
	"0:0:4.0",
	"0000:00:04.0 ", /* trailing blank */
	" 0000:00:04.0", /* leading blank */
	"0000:00:04.0\n", /* trailing newline */
	"0000:00:04:0", /* ':' for '.' */
	"0000.00:04.0",
	"0000:00.04.0",
	"0000-00:04.0",
	"g000:00:04.0", /* not hex */
	"0000:0g:04.0",
	"0000:00:0g.0",
	"0000:00:04.g",
	"0x00:04.0",
	"+0:00:04.0",
	"-001:00:04.0",
	"00:04.0x",
	"sim:nvme",
	"00:04.0.0",
	"0000:00:04.0:0",
};

Test(pci_addr, accepts_valid_forms)
{
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		const struct good *g = &goods[i];
		struct updk_pci_addr a;
		char buf[UPDK_PCI_ADDR_STRLEN];

		memset(&a, 0xaa, sizeof(a));
		cr_assert_eq(updk_pci_addr_parse(g->in, &a), 0, "'%s' refused", g->in);
		cr_expect_eq(a.domain, g->domain, "'%s' domain %x", g->in, a.domain);
		cr_expect_eq(a.bus, g->bus, "'%s' bus %x", g->in, a.bus);
		cr_expect_eq(a.dev, g->dev, "'%s' dev %x", g->in, a.dev);
		cr_expect_eq(a.func, g->func, "'%s' func %x", g->in, a.func);
		cr_expect_str_eq(updk_pci_addr_fmt(&a, buf), g->fmt);
	}
}

Test(pci_addr, rejects_everything_else)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct updk_pci_addr a = { .domain = 7, .bus = 7, .dev = 7, .func = 7 };

		cr_expect_eq(updk_pci_addr_parse(bads[i], &a), -EINVAL, "'%s' accepted", bads[i]);
		/* A refused string leaves the output alone. */
		cr_expect(a.domain == 7 && a.bus == 7 && a.dev == 7 && a.func == 7,
			  "'%s' changed the address", bads[i]);
	}
}

Test(pci_addr, rejects_null)
{
	struct updk_pci_addr a;

	cr_expect_eq(updk_pci_addr_parse(NULL, &a), -EINVAL);
	cr_expect_eq(updk_pci_addr_parse("00:04.0", NULL), -EINVAL);
}

Test(pci_addr, format_parse_round_trip)
{
	/* Every device/function on a few buses survives fmt then parse unchanged. */
	static const uint32_t domains[] = { 0, 1, 0xabcd, 0xffff };
	static const uint8_t buses[] = { 0, 1, 0x5e, 0xff };

	for (size_t d = 0; d < 4; d++)
		for (size_t b = 0; b < 4; b++)
			for (uint8_t dev = 0; dev < 0x20; dev++)
				for (uint8_t fn = 0; fn < 8; fn++) {
					struct updk_pci_addr a = { domains[d], buses[b], dev, fn };
					struct updk_pci_addr r;
					char buf[UPDK_PCI_ADDR_STRLEN];

					updk_pci_addr_fmt(&a, buf);
					cr_assert_eq(strlen(buf), 12);
					cr_assert_eq(updk_pci_addr_parse(buf, &r), 0, "%s", buf);
					cr_assert(!memcmp(&a, &r, sizeof(a)), "%s", buf);
				}
}
