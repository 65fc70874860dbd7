// SPDX-License-Identifier: BSD-3-Clause
/*
 * PCI function addresses: strict parsing and formatting.
 *
 * The accepted forms are the ones Linux prints in /sys/bus/pci/devices and lspci -D:
 * "DDDD:BB:DD.F" (domain, bus, device, function) or "BB:DD.F" (domain 0). Every field has an
 * exact number of hexadecimal digits; the device number is 5 bits and the function 3 bits
 * (PCI Local Bus 3.0 §3.2.2.3.1, Type 0 configuration address). Anything else, including
 * signs, blanks and trailing characters, is refused: a lenient parser turns a typo into an
 * access to the wrong device.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <updk/pci.h>

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly @n hex digits at *@s; advances *@s past them. */
static int hex_field(const char **s, unsigned n, uint32_t *val)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++) {
		int d = hex_digit((*s)[i]);

		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint32_t)d;
	}
	*s += n;
	*val = v;
	return 0;
}

static int expect(const char **s, char c)
{
	if (**s != c)
		return -EINVAL;
	(*s)++;
	return 0;
}

int updk_pci_addr_parse(const char *str, struct updk_pci_addr *addr)
{
	uint32_t domain = 0, bus, dev, func;
	const char *s = str;

	if (!str || !addr)
		return -EINVAL;
	/* The long form has its second ':' after "DDDD:BB"; the short form has only one. */
	if (strlen(str) == 12) {
		if (hex_field(&s, 4, &domain) || expect(&s, ':'))
			return -EINVAL;
	} else if (strlen(str) != 7) {
		return -EINVAL;
	}
	if (hex_field(&s, 2, &bus) || expect(&s, ':') || hex_field(&s, 2, &dev) ||
	    expect(&s, '.') || hex_field(&s, 1, &func) || *s != '\0')
		return -EINVAL;
	if (dev >= 0x20 || func >= 8)
		return -EINVAL;
	addr->domain = domain;
	addr->bus = (uint8_t)bus;
	addr->dev = (uint8_t)dev;
	addr->func = (uint8_t)func;
	return 0;
}

char *updk_pci_addr_fmt(const struct updk_pci_addr *addr, char *buf)
{
	/* Domains above 0xffff do not fit the 4-digit form the parser accepts: the caller made them. */
	snprintf(buf, UPDK_PCI_ADDR_STRLEN, "%04x:%02x:%02x.%x", addr->domain & 0xffff, addr->bus,
		 addr->dev & 0x1f, addr->func & 7);
	return buf;
}
