// SPDX-License-Identifier: BSD-3-Clause
/*
 * JSON strings for updk-perf's reports (json.h).
 */
#include "apps/perf/json.h"

void perf_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}
