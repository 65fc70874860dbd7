/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk logging: one line per message on stderr, "updk <component>: <text>".
 * The level comes from UPDK_LOG=error|warn|info|debug (default warn) or updk_log_set_level().
 */
#ifndef UPDK_LOG_H
#define UPDK_LOG_H

enum updk_log_level {
	UPDK_LOG_ERROR = 0,
	UPDK_LOG_WARN,
	UPDK_LOG_INFO,
	UPDK_LOG_DEBUG,
};

/** Set the level below which messages are dropped; overrides UPDK_LOG. */
void updk_log_set_level(enum updk_log_level level);

/** The level in force (UPDK_LOG read on first use). */
enum updk_log_level updk_log_get_level(void);

/** Log one message for @component at @level (printf format; a newline is added). */
void updk_log(enum updk_log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
