/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal logging shorthands. A file defines LOG_COMPONENT ("vfio", "mem", "nvme", ...) before
 * including this header; messages then read "updk vfio: ...".
 */
#ifndef UPDK_UTIL_LOG_H
#define UPDK_UTIL_LOG_H

#include <updk/log.h>

#ifndef LOG_COMPONENT
#error "define LOG_COMPONENT before including lib/util/log.h"
#endif

#define log_err(...) updk_log(UPDK_LOG_ERROR, LOG_COMPONENT, __VA_ARGS__)
#define log_warn(...) updk_log(UPDK_LOG_WARN, LOG_COMPONENT, __VA_ARGS__)
#define log_info(...) updk_log(UPDK_LOG_INFO, LOG_COMPONENT, __VA_ARGS__)
/* Debug messages cost one predictable branch when off. */
#define log_debug(...)                                                           \
	do {                                                                     \
		if (__builtin_expect(updk_log_get_level() >= UPDK_LOG_DEBUG, 0)) \
			updk_log(UPDK_LOG_DEBUG, LOG_COMPONENT, __VA_ARGS__);    \
	} while (0)

#endif
