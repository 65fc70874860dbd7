/* SPDX-License-Identifier: BSD-3-Clause */
/* Test helper: what a stretch of a test logs on stderr, to search afterwards. */
#ifndef UPDK_TEST_COMMON_LOG_CAPTURE_H
#define UPDK_TEST_COMMON_LOG_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <criterion/criterion.h>

/* Log lines (stderr) of a stretch of a test, kept in a temporary file to search afterwards. */
struct log_capture {
	FILE *tmp;
	int saved_fd;
};

static inline void log_capture_start(struct log_capture *lc)
{
	lc->tmp = tmpfile();
	cr_assert_not_null(lc->tmp);
	fflush(stderr);
	lc->saved_fd = dup(2);
	cr_assert_geq(lc->saved_fd, 0);
	cr_assert_geq(dup2(fileno(lc->tmp), 2), 0);
}

/* Stop capturing; returns the text captured (malloc'd, NUL-terminated). */
static inline char *log_capture_stop(struct log_capture *lc)
{
	long len;
	char *text;

	fflush(stderr);
	dup2(lc->saved_fd, 2);
	close(lc->saved_fd);
	len = ftell(lc->tmp);
	cr_assert_geq(len, 0);
	text = calloc(1, (size_t)len + 1);
	cr_assert_not_null(text);
	rewind(lc->tmp);
	cr_assert_eq(fread(text, 1, (size_t)len, lc->tmp), (size_t)len);
	fclose(lc->tmp);
	fputs(text, stderr); /* still shown in the test's output */
	return text;
}

#endif
