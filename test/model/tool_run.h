/* SPDX-License-Identifier: BSD-3-Clause */
/* Running build/bin/updk-nvme from a model test, as a user runs it: its output and status. */
#ifndef TEST_MODEL_TOOL_RUN_H
#define TEST_MODEL_TOOL_RUN_H

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

static char tool[PATH_MAX + 32];

/* Run "updk-nvme ARGS" through sh (ARGS may hold pipes and redirections around it). */
static inline int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int run(char **out, const char *fmt, ...)
{
	char args[2048], cmd[sizeof(tool) + sizeof(args) + 16];
	size_t len = 0, cap = 1 << 16;
	va_list ap;
	FILE *p;
	int st;

	if (!tool[0]) {
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		cr_assert_gt(n, 0);
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		snprintf(tool, sizeof(tool), "%s/../bin/updk-nvme", exe);
		cr_assert_eq(access(tool, X_OK), 0, "%s is missing: make apps", tool);
	}
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	/* TOOL in ARGS stands for the binary, so input can be piped into it. */
	snprintf(cmd, sizeof(cmd), "T=%s; %s", tool, args);
	p = popen(cmd, "r");
	cr_assert(p);
	*out = malloc(cap);
	cr_assert(*out);
	while (len < cap - 1) {
		size_t n = fread(*out + len, 1, cap - 1 - len, p);

		if (!n)
			break;
		len += n;
	}
	(*out)[len] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A bad command line, the exit status it gets and a phrase its message holds. */
struct tool_case {
	const char *args;
	int status;
	const char *says;
};

/* Run each case with no input and check its status and message. */
static inline void run_cases(const struct tool_case *cases, size_t n)
{
	char *o;

	for (size_t i = 0; i < n; i++) {
		int st = run(&o, "$T %s </dev/null 2>&1", cases[i].args);

		cr_expect_eq(st, cases[i].status, "updk-nvme %s: status %d, want %d: %s",
			     cases[i].args, st, cases[i].status, o);
		cr_expect(strstr(o, cases[i].says), "updk-nvme %s: want \"%s\" in: %s",
			  cases[i].args, cases[i].says, o);
		free(o);
	}
}

#endif
