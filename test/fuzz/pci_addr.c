// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: updk_pci_addr_parse(), the parser of every address a user types.
 * Properties: no crash or overread on any string; an accepted address formats back to the same
 * string up to the case of its hex digits and the "0000:" a short form leaves out.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pci/pci_addr.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[UPDK_PCI_ADDR_STRLEN], *want = s;
	struct updk_pci_addr a, b;
	char lower[16];

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (updk_pci_addr_parse(s, &a) == 0) {
		updk_pci_addr_fmt(&a, buf);
		if (strlen(s) == 7) {
			memcpy(lower, "0000:", 5);
			memcpy(lower + 5, s, 8);
			want = lower;
		}
		for (char *p = want; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (strcmp(buf, want) != 0)
			abort();
		/* Field by field: the struct's padding is not the parser's to set. */
		if (updk_pci_addr_parse(buf, &b) != 0 || a.domain != b.domain || a.bus != b.bus ||
		    a.dev != b.dev || a.func != b.func)
			abort();
	}
	free(s);
	return 0;
}
