/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the NVMe and the --net reports share to write JSON (RFC 8259).
 */
#ifndef UPDK_APPS_PERF_JSON_H
#define UPDK_APPS_PERF_JSON_H

#include <stdio.h>

/*
 * Write @s as a JSON string, quotes included: '"', '\\' and control characters escaped (RFC 8259
 * §7), so a device address or a name a user typed cannot break the document.
 */
void perf_json_str(FILE *out, const char *s);

#endif
