// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: the updk-nvme option parser (apps/nvme/args.c tool_args_parse) over any
 * command line, with each subcommand's set of options as apps/nvme passes them.
 *
 * Input: a byte choosing the subcommand, then its arguments separated by NUL bytes.
 * Properties: no crash, overread or leak; the result is 0, TOOL_HELP or -EINVAL; a refusal
 * comes with a terminated message that starts "updk-nvme CMD: "; an accepted line has its
 * device (unless the subcommand does without) and every string it keeps is one of the
 * arguments; parsing the same words again (getopt has
 * permuted them) gives the same answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apps/nvme/args.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The subcommands' option sets, as apps/nvme/{identify,io,logs}.c pass them. */
static const struct {
	const char *cmd, *opts;
	bool dev_optional;
} cmds[] = {
	{ "list", "o:", true },
	{ "id-ctrl", "o:", false },
	{ "id-ns", "o:n:", false },
	{ "read", "o:n:s:c:z:d:f", false },
	{ "write", "o:n:s:c:z:d:f", false },
	{ "compare", "o:n:s:c:z:d:f", false },
	{ "flush", "n:", false },
	{ "write-zeroes", "n:s:c:f", false },
	{ "dsm", "n:s:b:d", false },
	{ "smart-log", "o:n:", false },
	{ "error-log", "o:e:", false },
	{ "get-feature", "o:n:f:s:", false },
	{ "reset", "", false },
};

#define MAX_ARGS 64

static bool is_arg(const char *s, char *const *words, int n)
{
	for (int i = 0; i < n; i++)
		if (s >= words[i] && s <= words[i] + strlen(words[i]))
			return true;
	return false;
}

static int parse(unsigned k, int argc, char **argv, struct tool_args *a, char *err)
{
	int rc = tool_args_parse(cmds[k].cmd, cmds[k].opts, cmds[k].dev_optional, argc, argv, a,
				 err);
	char prefix[32];

	if (rc == 0 || rc == TOOL_HELP)
		return rc;
	if (rc != -EINVAL || strnlen(err, TOOL_ERR_MAX) == TOOL_ERR_MAX)
		abort();
	snprintf(prefix, sizeof(prefix), "updk-nvme %s: ", cmds[k].cmd);
	if (strncmp(err, prefix, strlen(prefix)) || !err[strlen(prefix)])
		abort();
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *argv[MAX_ARGS + 1], *words[MAX_ARGS];
	char err[TOOL_ERR_MAX], err2[TOOL_ERR_MAX];
	struct tool_args a, b;
	int argc = 1, rc, rc2;
	unsigned k;

	if (size < 1)
		return 0;
	k = data[0] % (sizeof(cmds) / sizeof(cmds[0]));
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	argv[0] = (char *)cmds[k].cmd;
	for (char *p = buf; p < buf + size - 1 && argc < MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	memcpy(words, argv, sizeof(char *) * (size_t)argc);

	memset(err, 'x', sizeof(err));
	rc = parse(k, argc, argv, &a, err);
	if (rc == 0) {
		if (!a.dev && !cmds[k].dev_optional)
			abort();
		if ((a.dev && !is_arg(a.dev, words, argc)) ||
		    (a.data && !is_arg(a.data, words, argc)) ||
		    (a.slbs && !is_arg(a.slbs, words, argc)) ||
		    (a.blocks && !is_arg(a.blocks, words, argc)))
			abort();
	}
	/* again, over the words as getopt left them */
	rc2 = parse(k, argc, argv, &b, err2);
	if (rc2 != rc || (rc == 0 && memcmp(&a, &b, sizeof(a))) || (rc < 0 && strcmp(err, err2)))
		abort();
	free(buf);
	return 0;
}
