// SPDX-License-Identifier: BSD-3-Clause
/* Logging: level from UPDK_LOG, one stderr line per message. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <updk/log.h>

static int log_level = -1; /* -1: UPDK_LOG not read yet */

static enum updk_log_level level_from_env(void)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	const char *v = getenv("UPDK_LOG");

	if (!v || !*v)
		return UPDK_LOG_WARN;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(v, names[i]))
			return (enum updk_log_level)i;
	fprintf(stderr, "updk: UPDK_LOG=%s is not one of error, warn, info, debug; using warn\n",
		v);
	return UPDK_LOG_WARN;
}

void updk_log_set_level(enum updk_log_level level)
{
	__atomic_store_n(&log_level, (int)level, __ATOMIC_RELAXED);
}

enum updk_log_level updk_log_get_level(void)
{
	int l = __atomic_load_n(&log_level, __ATOMIC_RELAXED);

	if (l < 0) {
		l = (int)level_from_env();
		__atomic_store_n(&log_level, l, __ATOMIC_RELAXED);
	}
	return (enum updk_log_level)l;
}

void updk_log(enum updk_log_level level, const char *component, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level > updk_log_get_level())
		return;
	n = snprintf(line, sizeof(line), "updk %s: ", component);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One fputs per message so lines from several threads do not interleave. */
	strncat(line, "\n", sizeof(line) - strlen(line) - 1);
	fputs(line, stderr);
}
