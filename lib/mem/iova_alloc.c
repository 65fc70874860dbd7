// SPDX-License-Identifier: BSD-3-Clause
/* Range allocator: two AVL trees (free ranges augmented with subtree max length, used ranges). */
#include <errno.h>
#include <stdlib.h>

#include "lib/mem/iova_alloc.h"

struct ia_node {
	uint64_t start;
	uint64_t end; /* exclusive */
	uint64_t max_len; /* largest end - start in this subtree (free tree only) */
	struct ia_node *left;
	struct ia_node *right;
	int height;
};

static int height(const struct ia_node *n)
{
	return n ? n->height : 0;
}

static uint64_t max_len(const struct ia_node *n)
{
	return n ? n->max_len : 0;
}

static void update(struct ia_node *n)
{
	int hl = height(n->left), hr = height(n->right);
	uint64_t m = n->end - n->start;

	n->height = 1 + (hl > hr ? hl : hr);
	if (max_len(n->left) > m)
		m = max_len(n->left);
	if (max_len(n->right) > m)
		m = max_len(n->right);
	n->max_len = m;
}

static struct ia_node *rotate_right(struct ia_node *n)
{
	struct ia_node *l = n->left;

	n->left = l->right;
	l->right = n;
	update(n);
	update(l);
	return l;
}

static struct ia_node *rotate_left(struct ia_node *n)
{
	struct ia_node *r = n->right;

	n->right = r->left;
	r->left = n;
	update(n);
	update(r);
	return r;
}

static struct ia_node *rebalance(struct ia_node *n)
{
	int bal;

	update(n);
	bal = height(n->left) - height(n->right);
	if (bal > 1) {
		if (height(n->left->left) < height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (bal < -1) {
		if (height(n->right->right) < height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	return n;
}

/* Insert @x (a fresh node, start not yet present) below @n. */
static struct ia_node *insert(struct ia_node *n, struct ia_node *x)
{
	if (!n) {
		x->left = x->right = NULL;
		update(x);
		return x;
	}
	if (x->start < n->start)
		n->left = insert(n->left, x);
	else
		n->right = insert(n->right, x);
	return rebalance(n);
}

static struct ia_node *remove_min(struct ia_node *n, struct ia_node **min)
{
	if (!n->left) {
		*min = n;
		return n->right;
	}
	n->left = remove_min(n->left, min);
	return rebalance(n);
}

/* Unlink the node whose start is @start; *@out gets it (NULL if absent). */
static struct ia_node *remove_key(struct ia_node *n, uint64_t start, struct ia_node **out)
{
	struct ia_node *m;

	if (!n) {
		*out = NULL;
		return NULL;
	}
	if (start < n->start) {
		n->left = remove_key(n->left, start, out);
	} else if (start > n->start) {
		n->right = remove_key(n->right, start, out);
	} else {
		*out = n;
		if (!n->right)
			return n->left;
		n->right = remove_min(n->right, &m);
		m->left = n->left;
		m->right = n->right;
		return rebalance(m);
	}
	return *out ? rebalance(n) : n;
}

static struct ia_node *find_key(struct ia_node *n, uint64_t start)
{
	while (n && n->start != start)
		n = start < n->start ? n->left : n->right;
	return n;
}

/* The node with the largest start <= @key, or NULL. */
static struct ia_node *find_le(struct ia_node *n, uint64_t key)
{
	struct ia_node *best = NULL;

	while (n) {
		if (n->start <= key) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

/* The node with the smallest start >= @key, or NULL. */
static struct ia_node *find_ge(struct ia_node *n, uint64_t key)
{
	struct ia_node *best = NULL;

	while (n) {
		if (n->start >= key) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

static void free_tree(struct ia_node *n)
{
	if (!n)
		return;
	free_tree(n->left);
	free_tree(n->right);
	free(n);
}

void iova_alloc_init(struct iova_alloc *a)
{
	*a = (struct iova_alloc){ 0 };
}

void iova_alloc_destroy(struct iova_alloc *a)
{
	free_tree(a->free_root);
	free_tree(a->used_root);
	iova_alloc_init(a);
}

static struct ia_node *new_node(uint64_t start, uint64_t end)
{
	struct ia_node *x = calloc(1, sizeof(*x));

	if (x) {
		x->start = start;
		x->end = end;
	}
	return x;
}

/* True if [start, end) touches no free or used range. */
static bool is_unmanaged(const struct iova_alloc *a, uint64_t start, uint64_t end)
{
	struct ia_node *roots[2] = { a->free_root, a->used_root };

	for (int i = 0; i < 2; i++) {
		struct ia_node *p = find_le(roots[i], start), *q = find_ge(roots[i], start);

		if ((p && p->end > start) || (q && q->start < end))
			return false;
	}
	return true;
}

/*
 * Put [start, end) into the free tree, merging with free neighbours that touch it. @x is a
 * node the caller owns (reused), or NULL to allocate one.
 */
static int add_free(struct iova_alloc *a, uint64_t start, uint64_t end, struct ia_node *x)
{
	struct ia_node *p = find_le(a->free_root, start);
	struct ia_node *q = find_ge(a->free_root, end);
	struct ia_node *gone;

	if (p && p->end == start) {
		start = p->start;
		a->free_root = remove_key(a->free_root, p->start, &gone);
		a->free_bytes -= gone->end - gone->start;
		a->nfree--;
		if (x)
			free(gone);
		else
			x = gone;
	}
	if (q && q->start == end) {
		end = q->end;
		a->free_root = remove_key(a->free_root, q->start, &gone);
		a->free_bytes -= gone->end - gone->start;
		a->nfree--;
		if (x)
			free(gone);
		else
			x = gone;
	}
	if (!x && !(x = new_node(start, end)))
		return -ENOMEM;
	x->start = start;
	x->end = end;
	a->free_root = insert(a->free_root, x);
	a->free_bytes += end - start;
	a->nfree++;
	return 0;
}

int iova_alloc_add(struct iova_alloc *a, uint64_t start, uint64_t end)
{
	if (start >= end || !is_unmanaged(a, start, end))
		return -EINVAL;
	return add_free(a, start, end, NULL);
}

static uint64_t align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/* Does the free range @n hold @size bytes at @align? The aligned start goes to *@at. */
static bool fits(const struct ia_node *n, uint64_t size, uint64_t align, uint64_t *at)
{
	uint64_t s = align_up(n->start, align);

	if (s < n->start || s >= n->end || n->end - s < size)
		return false;
	*at = s;
	return true;
}

/*
 * Lowest-addressed node whose length is at least @need (which guarantees an aligned fit when
 * need = size + align - 1): descends only into subtrees whose max length allows it, O(log n).
 */
static struct ia_node *first_with_len(struct ia_node *n, uint64_t need)
{
	while (n && n->max_len >= need) {
		if (max_len(n->left) >= need)
			n = n->left;
		else if (n->end - n->start >= need)
			return n;
		else
			n = n->right;
	}
	return NULL;
}

/* Fallback when no range is long enough to fit at any alignment: exact test in address order. */
static struct ia_node *first_exact(struct ia_node *n, uint64_t size, uint64_t align, uint64_t *at)
{
	struct ia_node *r;

	if (!n || n->max_len < size)
		return NULL;
	if ((r = first_exact(n->left, size, align, at)))
		return r;
	if (fits(n, size, align, at))
		return n;
	return first_exact(n->right, size, align, at);
}

int iova_alloc_alloc(struct iova_alloc *a, uint64_t size, uint64_t align, uint64_t *out)
{
	struct ia_node *n, *gone, *used;
	uint64_t at = 0, start, end;

	if (align == 0)
		align = 1;
	if (size == 0 || (align & (align - 1)) || size >= IOVA_SPACE_LIMIT ||
	    align >= IOVA_SPACE_LIMIT)
		return -EINVAL;
	n = first_with_len(a->free_root, size + align - 1);
	if (n)
		fits(n, size, align, &at);
	else if (!(n = first_exact(a->free_root, size, align, &at)))
		return -ENOSPC;
	if (!(used = new_node(at, at + size)))
		return -ENOMEM;
	start = n->start;
	end = n->end;
	a->free_root = remove_key(a->free_root, start, &gone);
	a->free_bytes -= end - start;
	a->nfree--;
	/* The remainders cannot touch other free ranges (they did not before), so no merging. */
	if (at > start) {
		gone->start = start;
		gone->end = at;
		a->free_root = insert(a->free_root, gone);
		a->free_bytes += at - start;
		a->nfree++;
		gone = NULL;
	}
	if (at + size < end) {
		struct ia_node *rest = gone ? gone : new_node(0, 0);

		if (!rest) {
			/* Undo: give the carved range back; add_free merges it with the left part. */
			free(used);
			add_free(a, at, end, NULL);
			return -ENOMEM;
		}
		rest->start = at + size;
		rest->end = end;
		a->free_root = insert(a->free_root, rest);
		a->free_bytes += end - at - size;
		a->nfree++;
		gone = NULL;
	}
	free(gone);
	a->used_root = insert(a->used_root, used);
	a->nused++;
	*out = at;
	return 0;
}

int iova_alloc_free(struct iova_alloc *a, uint64_t start, uint64_t *size)
{
	struct ia_node *u;

	a->used_root = remove_key(a->used_root, start, &u);
	if (!u)
		return -ENOENT;
	a->nused--;
	if (size)
		*size = u->end - u->start;
	/* Reuses @u as the free node, so freeing cannot fail for want of memory. */
	return add_free(a, u->start, u->end, u);
}

uint64_t iova_alloc_size(const struct iova_alloc *a, uint64_t start)
{
	struct ia_node *u = find_key(a->used_root, start);

	return u ? u->end - u->start : 0;
}

uint64_t iova_alloc_max_free(const struct iova_alloc *a)
{
	return max_len(a->free_root);
}

static int walk(const struct ia_node *n, int (*fn)(uint64_t, uint64_t, void *), void *arg)
{
	int r;

	if (!n)
		return 0;
	if ((r = walk(n->left, fn, arg)))
		return r;
	if ((r = fn(n->start, n->end, arg)))
		return r;
	return walk(n->right, fn, arg);
}

void iova_alloc_walk_free(const struct iova_alloc *a, int (*fn)(uint64_t, uint64_t, void *),
			  void *arg)
{
	walk(a->free_root, fn, arg);
}

static int cmp_range(const void *x, const void *y)
{
	const struct ia_range *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

/* Sort and merge overlapping or touching ranges in place, dropping empty ones; the new count. */
static unsigned normalise(struct ia_range *r, unsigned n)
{
	unsigned k = 0;

	qsort(r, n, sizeof(*r), cmp_range);
	for (unsigned i = 0; i < n; i++) {
		if (r[i].start >= r[i].end)
			continue;
		if (k && r[i].start <= r[k - 1].end) {
			if (r[i].end > r[k - 1].end)
				r[k - 1].end = r[i].end;
		} else {
			r[k++] = r[i];
		}
	}
	return k;
}

static void collect(struct ia_node *n, struct ia_node **arr, unsigned *k)
{
	if (!n)
		return;
	collect(n->left, arr, k);
	arr[(*k)++] = n;
	collect(n->right, arr, k);
}

int iova_alloc_set_ranges(struct iova_alloc *a, const struct ia_range *ranges, unsigned n,
			  uint64_t *bad)
{
	struct ia_range *r = malloc((n ? n : 1) * sizeof(*r));
	struct ia_node **used = malloc((a->nused ? a->nused : 1) * sizeof(*used));
	struct iova_alloc fresh;
	unsigned k = 0, u = 0;
	int ret = 0;

	if (!r || !used) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n; i++)
		r[i] = ranges[i];
	n = normalise(r, n);
	collect(a->used_root, used, &k);
	/* Every allocation inside one range (both lists are sorted). */
	for (unsigned i = 0, j = 0; i < k; i++) {
		while (j < n && r[j].end <= used[i]->start)
			j++;
		if (j == n || used[i]->start < r[j].start || used[i]->end > r[j].end) {
			if (bad)
				*bad = used[i]->start;
			ret = -ERANGE;
			goto out;
		}
	}
	/* The new free tree: each range minus the allocations inside it. */
	iova_alloc_init(&fresh);
	for (unsigned j = 0; j < n && !ret; j++) {
		uint64_t pos = r[j].start;

		while (u < k && used[u]->start < r[j].end) {
			if (used[u]->start > pos)
				ret = add_free(&fresh, pos, used[u]->start, NULL);
			pos = used[u]->end;
			u++;
			if (ret)
				break;
		}
		if (!ret && pos < r[j].end)
			ret = add_free(&fresh, pos, r[j].end, NULL);
	}
	if (ret) {
		free_tree(fresh.free_root);
		goto out;
	}
	free_tree(a->free_root);
	a->free_root = fresh.free_root;
	a->free_bytes = fresh.free_bytes;
	a->nfree = fresh.nfree;
out:
	free(r);
	free(used);
	return ret;
}

/* out[] minus [hs, he), keeping at most @max ranges. */
static unsigned cut(struct ia_range *out, unsigned n, unsigned max, uint64_t hs, uint64_t he)
{
	for (unsigned i = 0; i < n; i++) {
		struct ia_range c = out[i];

		if (c.end <= hs || c.start >= he)
			continue;
		if (c.start < hs && c.end > he) {
			if (n < max) {
				out[n++] = (struct ia_range){ he, c.end };
				out[i].end = hs;
			} else {
				out[i].end = hs; /* no room: lose the part above the hole */
			}
		} else if (c.start < hs) {
			out[i].end = hs;
		} else if (c.end > he) {
			out[i].start = he;
		} else {
			out[i].start = out[i].end = 0; /* wholly inside: dropped by normalise */
		}
	}
	return n;
}

unsigned iova_space_ranges(const struct vfio_iova_range *kernel, unsigned n, struct ia_range *out,
			   unsigned max)
{
	unsigned k = 0;

	if (max == 0)
		return 0;
	if (n == 0)
		out[k++] = (struct ia_range){ IOVA_DEFAULT_START, IOVA_DEFAULT_END };
	for (unsigned i = 0; i < n && k < max; i++) {
		uint64_t s = kernel[i].start, e = kernel[i].end;

		if (s > e || s >= IOVA_SPACE_LIMIT)
			continue;
		e = e >= IOVA_SPACE_LIMIT - 1 ? IOVA_SPACE_LIMIT : e + 1;
		out[k++] = (struct ia_range){ s, e };
	}
	k = normalise(out, k);
	k = cut(out, k, max, 0, IOVA_LOW_RESERVED);
	k = cut(out, k, max, IOVA_MSI_START, IOVA_MSI_END);
	return normalise(out, k);
}
