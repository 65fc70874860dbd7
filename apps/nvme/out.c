// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvme output: nvme-cli's two shapes. Normal output is "key : value" lines under a title;
 * JSON is one object with the same keys nvme-cli uses, numbers as numbers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "apps/nvme/tool.h"

static void sep(struct out *o)
{
	if (!o->json)
		return;
	if (!o->first[o->depth])
		putchar(',');
	o->first[o->depth] = false;
	printf("\n%*s", 2 * o->depth, "");
}

static void key(struct out *o, const char *k)
{
	sep(o);
	if (o->json) {
		if (k)
			printf("\"%s\":", k);
	} else {
		printf("%-10s: ", k);
	}
}

static void push(struct out *o, char c)
{
	if (o->json) {
		putchar(c);
		if (o->depth < 7)
			o->depth++;
		o->first[o->depth] = true;
	}
}

static void pop(struct out *o, char c)
{
	if (o->json) {
		if (o->depth > 0)
			o->depth--;
		printf("\n%*s%c", 2 * o->depth, "", c);
	}
}

void out_begin(struct out *o, bool json, const char *title)
{
	memset(o, 0, sizeof(*o));
	o->json = json;
	if (json) {
		o->depth = 0;
		push(o, '{');
	} else if (title) {
		printf("%s\n", title);
	}
}

void out_end(struct out *o)
{
	if (o->json) {
		pop(o, '}');
		putchar('\n');
	}
	fflush(stdout);
}

void out_obj_begin(struct out *o, const char *k)
{
	if (o->json) {
		key(o, k);
		push(o, '{');
	} else if (k) {
		printf("%s:\n", k);
	}
}

void out_obj_end(struct out *o)
{
	if (o->json)
		pop(o, '}');
	else
		putchar('\n');
}

void out_arr_begin(struct out *o, const char *k)
{
	if (o->json) {
		key(o, k);
		push(o, '[');
	}
}

void out_arr_end(struct out *o)
{
	if (o->json)
		pop(o, ']');
}

void out_uint(struct out *o, const char *k, uint64_t v)
{
	key(o, k);
	printf("%" PRIu64, v);
	if (!o->json)
		putchar('\n');
}

void out_hex(struct out *o, const char *k, uint64_t v)
{
	key(o, k);
	printf(o->json ? "%" PRIu64 : "%#" PRIx64, v);
	if (!o->json)
		putchar('\n');
}

/* JSON string body: quotes, backslashes and control bytes escaped; device data is untrusted. */
static void json_chars(const char *s, size_t len)
{
	putchar('"');
	for (size_t i = 0; i < len && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

void out_chars(struct out *o, const char *k, const char *s, size_t len)
{
	key(o, k);
	if (o->json) {
		json_chars(s, len);
		return;
	}
	for (size_t i = 0; i < len && s[i]; i++)
		putchar(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '.');
	putchar('\n');
}

void out_str(struct out *o, const char *k, const char *s)
{
	out_chars(o, k, s, strlen(s));
}

void out_u128(struct out *o, const char *k, const uint8_t v[16])
{
	unsigned __int128 x = 0;
	char buf[48], *p = buf + sizeof(buf) - 1;

	for (int i = 15; i >= 0; i--)
		x = (x << 8) | v[i];
	*p = '\0';
	do {
		*--p = (char)('0' + (int)(x % 10));
		x /= 10;
	} while (x);
	key(o, k);
	printf("%s", p);
	if (!o->json)
		putchar('\n');
}
