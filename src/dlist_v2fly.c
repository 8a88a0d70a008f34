/*
 * v2fly domain-list-community files: "kind:value @attr..." lines, and include:NAME read
 * from the list's directory, with a depth bound, loop detection by inode, attribute
 * filters along the include chain, and each (file, filter) pair loaded once.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlist_int.h"

#define DL_MAX_INCLUDES 4096	/* distinct v2fly files per list */

static bool dl_v2fly_pass(const struct dl_ctx *c, char **attrs, size_t n_attrs)
{
	for (size_t i = 0; i < c->n_filters; i++) {
		bool has = false;

		for (size_t k = 0; k < n_attrs && !has; k++)
			has = !strcmp(attrs[k] + 1, c->filters[i].attr);
		if (has == c->filters[i].neg)
			return false;
	}
	return true;
}

static bool dl_include_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n && n < 64 && s[0] != '.' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!_.-") == n;
}

/* A file already loaded with the same filters need not be read again. */
static int dl_seen_check(struct dl_ctx *c, const struct dl_file_id *id, bool *seen)
{
	struct dl_seen s = { .id = *id };
	size_t o = 0;

	for (size_t i = 0; i < c->n_filters; i++)
		o += (size_t)snprintf(s.sig + o, sizeof(s.sig) - o, "%s%s,",
				      c->filters[i].neg ? "-" : "", c->filters[i].attr);
	*seen = false;
	for (size_t i = 0; i < c->n_seen; i++) {
		if (c->seen[i].id.dev == id->dev && c->seen[i].id.ino == id->ino &&
		    !strcmp(c->seen[i].sig, s.sig)) {
			*seen = true;
			return 0;
		}
	}
	if (c->n_seen == c->seen_cap) {
		size_t cap = c->seen_cap ? 2 * c->seen_cap : 16;
		struct dl_seen *arr = realloc(c->seen, cap * sizeof(*arr));

		if (!arr)
			return -ENOMEM;
		c->seen = arr;
		c->seen_cap = cap;
	}
	c->seen[c->n_seen++] = s;
	return 0;
}

static int dl_include_read(struct dl_ctx *c, const char *name, const char *text)
{
	char path[4096], *buf = NULL;
	const char *file = c->file;
	unsigned line = c->line;
	struct dl_file_id id;
	size_t len;
	bool seen;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", c->dir, name) >= sizeof(path)) {
		dl_skip(c, "include path too long", NULL, text);
		return 0;
	}
	rc = dl_read(path, &buf, &len, &id);
	if (rc == -ENOMEM)
		goto nomem;
	if (rc) {
		dl_skip(c, "cannot read included file", dlist_strerr(rc), text);
		return 0;
	}
	for (unsigned d = 0; d <= c->depth; d++) {
		if (c->stack[d].dev == id.dev && c->stack[d].ino == id.ino) {
			free(buf);
			dl_skip(c, "include loop", NULL, text);
			return 0;
		}
	}
	if (dl_seen_check(c, &id, &seen))
		goto nomem;
	if (seen || c->n_seen > DL_MAX_INCLUDES) {
		free(buf);
		if (!seen)
			dl_skip(c, "too many included files", NULL, text);
		return 0;
	}
	c->st->includes++;
	c->stack[++c->depth] = id;
	c->file = name;
	rc = dl_parse(c, buf, len, DLIST_V2FLY);
	c->file = file;
	c->line = line;
	c->depth--;
	free(buf);
	return rc;
nomem:
	free(buf);
	snprintf(c->err, c->errlen, "%s: out of memory", c->path);
	return -ENOMEM;
}

/* include:NAME [@attr | @-attr]... */
static int dl_v2fly_include(struct dl_ctx *c, char *name, char **attrs, size_t n_attrs,
			    const char *text)
{
	size_t saved = c->n_filters;
	int rc;

	if (!dl_include_name_ok(name)) {
		dl_skip(c, "invalid include name", NULL, text);
		return 0;
	}
	if (!c->dir) {
		dl_skip(c, "include without a list directory", NULL, text);
		return 0;
	}
	if (c->depth >= DLIST_INCLUDE_DEPTH) {
		dl_skip(c, "includes nested too deep", NULL, text);
		return 0;
	}
	if (c->n_filters + n_attrs > DL_FILTERS) {
		dl_skip(c, "too many attribute filters", NULL, text);
		return 0;
	}
	for (size_t i = 0; i < n_attrs; i++) {
		struct dl_filter *f = &c->filters[c->n_filters];
		const char *a = attrs[i] + 1;

		f->neg = *a == '-';
		a += f->neg;
		if (!*a || strlen(a) >= sizeof(f->attr)) {
			c->n_filters = saved;
			dl_skip(c, "invalid attribute filter", NULL, text);
			return 0;
		}
		strcpy(f->attr, a);
		c->n_filters++;
	}
	rc = dl_include_read(c, name, text);
	c->n_filters = saved;
	return rc;
}

int dl_v2fly_line(struct dl_ctx *c, char *s)
{
	char *hash = strchr(s, '#'), *rule, *attrs[16], *f, text[DOMAIN_RULE_MAX + 64];
	struct domain_rule r;
	size_t n_attrs = 0;
	const char *why;

	if (hash)
		*hash = '\0';
	s = dl_trim(s);
	snprintf(text, sizeof(text), "%s", s);
	rule = dl_field(&s);
	if (!rule)
		return 0;
	while ((f = dl_field(&s))) {
		if (f[0] != '@' || !f[1]) {
			dl_skip(c, "unexpected field", NULL, text);
			return 0;
		}
		if (n_attrs == sizeof(attrs) / sizeof(attrs[0])) {
			dl_skip(c, "too many attributes", NULL, text);
			return 0;
		}
		attrs[n_attrs++] = f;
	}
	if (!strncmp(rule, "include:", 8))
		return dl_v2fly_include(c, rule + 8, attrs, n_attrs, text);
	if (!dl_v2fly_pass(c, attrs, n_attrs)) {
		c->st->filtered++;
		return 0;
	}
	if (domain_rule_parse(rule, &r, &why)) {
		dl_skip(c, why, NULL, text);
		return 0;
	}
	return dl_add(c, &r, c->route, text);
}
