/*
 * Domain list loader: plain lists, dnsmasq configuration, gfwlist (AutoProxy), hosts
 * files and v2fly domain-list-community files. A list is read into memory whole (lists of
 * a million lines take ~20 MB for a moment) and split into lines in place; each format
 * has a line handler. A line that is not a rule is counted with a reason and skipped,
 * never fatal: lists come from third parties and change under the user's feet.
 *
 * gfwlist is base64 of AutoProxy text and is decoded first; its line numbers count lines
 * of the decoded text. v2fly include:NAME reads NAME from the list's directory, with a
 * depth bound, loop detection by inode, and each (file, attribute filter) pair loaded once.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem */
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlist.h"

#define DL_MAX_FILE (1u << 30)	/* a list this large is a mistake */
#define DL_DETECT_LINES 64
#define DL_DETECT_BYTES 65536
#define DL_FILTERS 8		/* attribute filters along one include chain */
#define DL_ATTR_MAX 32
#define DL_MAX_INCLUDES 4096	/* distinct v2fly files per list */
#define DL_SPACE " \t\r\v\f"

static const char *const dl_format_names[DLIST_FORMAT_COUNT] = {
	[DLIST_AUTO] = "auto", [DLIST_PLAIN] = "plain", [DLIST_DNSMASQ] = "dnsmasq",
	[DLIST_GFWLIST] = "gfwlist", [DLIST_HOSTS] = "hosts", [DLIST_V2FLY] = "v2fly",
};

struct dl_filter {
	char attr[DL_ATTR_MAX];
	bool neg;		/* "@-attr": entries with attr are left out */
};

struct dl_file_id {
	dev_t dev;
	ino_t ino;
};

struct dl_seen {
	struct dl_file_id id;
	char sig[DL_FILTERS * (DL_ATTR_MAX + 2)];
};

struct dl_ctx {
	struct domain_matcher *m;
	uint16_t route;
	struct dlist_stats *st;
	const char *path;		/* the list, for messages */
	const char *dir;		/* where v2fly includes are; NULL: none */
	const char *file;		/* the include being read; NULL: the list itself */
	unsigned line;
	unsigned depth;
	struct dl_filter filters[DL_FILTERS];
	size_t n_filters;
	struct dl_file_id stack[DLIST_INCLUDE_DEPTH + 1];
	struct dl_seen *seen;
	size_t n_seen, seen_cap;
	char *err;
	size_t errlen;
};

typedef int dl_line_fn(struct dl_ctx *c, char *s);

const char *dlist_format_name(enum dlist_format f)
{
	return (unsigned)f < DLIST_FORMAT_COUNT ? dl_format_names[f] : "?";
}

int dlist_format_parse(const char *name, enum dlist_format *out)
{
	for (int f = 0; f < DLIST_FORMAT_COUNT; f++) {
		if (!strcmp(name, dl_format_names[f])) {
			*out = (enum dlist_format)f;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- statistics ---- */

static void dl_reason(struct dl_ctx *c, const char *why)
{
	struct dlist_stats *st = c->st;
	size_t i;

	for (i = 0; i < st->n_reasons; i++)
		if (!strcmp(st->reasons[i].why, why))
			break;
	if (i == st->n_reasons) {
		if (i == DLIST_REASONS) {
			st->other++;
			return;
		}
		st->reasons[i].why = why;
		st->reasons[i].count = 0;
		st->reasons[i].n_lines = 0;
		st->n_reasons++;
	}
	st->reasons[i].count++;
	if (!c->file && st->reasons[i].n_lines < DLIST_REASON_LINES)
		st->reasons[i].lines[st->reasons[i].n_lines++] = c->line;
}

/* Counts a skipped entry; why must be a constant text, detail (may be NULL) need not. */
static void dl_skip(struct dl_ctx *c, const char *why, const char *detail, const char *text)
{
	struct dlist_stats *st = c->st;
	typeof(st->samples[0]) *sm;

	st->skipped++;
	dl_reason(c, why);
	if (st->n_samples >= DLIST_SAMPLES)
		return;
	sm = &st->samples[st->n_samples++];
	sm->line = c->line;
	snprintf(sm->file, sizeof(sm->file), "%s", c->file ? c->file : "");
	snprintf(sm->why, sizeof(sm->why), "%s%s%s: \"%.48s%s\"", why, detail ? " " : "",
		 detail ? detail : "", text, strlen(text) > 48 ? "..." : "");
}

static int dl_add(struct dl_ctx *c, const struct domain_rule *r, uint16_t route,
		  const char *text)
{
	char msg[128];
	int rc = domain_matcher_add_rule(c->m, r, route, msg, sizeof(msg));

	if (rc == -EINVAL) {
		char detail[136];

		snprintf(detail, sizeof(detail), "(%s)", msg);
		dl_skip(c, r->kind == DOMAIN_REGEXP ? "invalid regexp" : "invalid rule",
			r->kind == DOMAIN_REGEXP && msg[0] ? detail : NULL, text);
		return 0;
	}
	if (rc) {
		snprintf(c->err, c->errlen, "%s%s%s:%u: cannot add \"%.64s\": %s", c->path,
			 c->file ? " include " : "", c->file ? c->file : "", c->line, r->text,
			 strerror(-rc));
		return rc;
	}
	c->st->loaded++;
	c->st->kinds[r->kind]++;
	if (route == DOMAIN_ROUTE_DIRECT && c->route != DOMAIN_ROUTE_DIRECT)
		c->st->direct++;
	return 0;
}

/* Normalizes name and adds it as a rule of kind (suffix or full); skips it if invalid. */
static int dl_add_name(struct dl_ctx *c, enum domain_kind kind, const char *name,
		       uint16_t route, const char *text)
{
	struct domain_rule r = { .kind = kind };
	const char *why;

	if (domain_normalize_why(name, r.text, sizeof(r.text), &why)) {
		dl_skip(c, why, NULL, text);
		return 0;
	}
	return dl_add(c, &r, route, text);
}

/* ---- lines ---- */

static char *dl_trim(char *s)
{
	char *e;

	s += strspn(s, DL_SPACE);
	e = s + strlen(s);
	while (e > s && strchr(DL_SPACE, e[-1]))
		e--;
	*e = '\0';
	return s;
}

/* Next whitespace-separated field of *s, cut in place; NULL at the end. */
static char *dl_field(char **s)
{
	char *t = *s + strspn(*s, DL_SPACE), *e;

	if (!*t)
		return NULL;
	e = t + strcspn(t, DL_SPACE);
	if (*e)
		*e++ = '\0';
	*s = e;
	return t;
}

/*
 * Splits buf (len bytes, writable, one spare byte after it) into lines, cut in place,
 * and hands each to fn. A UTF-8 byte order mark and CRLF are tolerated; a line with a
 * NUL byte is skipped.
 */
static int dl_lines(struct dl_ctx *c, char *buf, size_t len, dl_line_fn *fn)
{
	char *p = buf, *end = buf + len;
	int rc = 0;

	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		p += 3;
	c->line = 0;
	while (rc == 0 && p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *e = nl ? nl : end;

		c->line++;
		*e = '\0';
		if (memchr(p, '\0', (size_t)(e - p)))
			dl_skip(c, "NUL byte", NULL, "");
		else
			rc = fn(c, p);
		p = e + 1;
	}
	return rc;
}

/* ---- plain ---- */

static int dl_plain_line(struct dl_ctx *c, char *s)
{
	char *hash = strchr(s, '#');

	if (hash)
		*hash = '\0';
	s = dl_trim(s);
	if (!*s)
		return 0;
	if (s[strcspn(s, DL_SPACE)]) {
		dl_skip(c, "more than one field", NULL, s);
		return 0;
	}
	return dl_add_name(c, DOMAIN_SUFFIX, s, c->route, s);
}

/* ---- hosts ---- */

static bool dl_is_addr(const char *s)
{
	unsigned char a[16];
	char tmp[INET6_ADDRSTRLEN + 16];
	size_t n = strcspn(s, "%");	/* fe80::1%lo0 */

	if (inet_pton(AF_INET, s, a) == 1)
		return true;
	if (n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, a) == 1;
}

/* Names every hosts file carries for the machine itself. */
static bool dl_is_local_name(const char *s)
{
	static const char *const names[] = {
		"localhost", "localhost.localdomain", "local", "broadcasthost", "localhost4",
		"localhost4.localdomain4", "localhost6", "localhost6.localdomain6",
		"ip6-localhost", "ip6-loopback", "ip6-localnet", "ip6-mcastprefix",
		"ip6-allnodes", "ip6-allrouters", "ip6-allhosts",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i]))
			return true;
	return false;
}

static int dl_hosts_line(struct dl_ctx *c, char *s)
{
	char *hash = strchr(s, '#'), *addr, *name, *text;
	int rc = 0;

	if (hash)
		*hash = '\0';
	text = s = dl_trim(s);
	addr = dl_field(&s);
	if (!addr)
		return 0;
	if (!dl_is_addr(addr)) {
		dl_skip(c, "no address before the names", NULL, addr);
		return 0;
	}
	name = dl_field(&s);
	if (!name) {
		dl_skip(c, "address without names", NULL, text);
		return 0;
	}
	for (; name && rc == 0; name = dl_field(&s)) {
		if (dl_is_local_name(name))
			dl_skip(c, "local name", NULL, name);
		else if (dl_is_addr(name))
			dl_skip(c, "address instead of a name", NULL, name);
		else
			rc = dl_add_name(c, DOMAIN_FULL, name, c->route, name);
	}
	return rc;
}

/* ---- dnsmasq ---- */

static bool dl_dnsmasq_domain_key(const char *key)
{
	static const char *const keys[] = {
		"server", "local", "address", "ipset", "nftset", "rebind-domain-ok",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i]))
			return true;
	return false;
}

static int dl_dnsmasq_line(struct dl_ctx *c, char *s)
{
	char *eq, *val, *last, *d;
	int rc = 0;

	s = dl_trim(s);
	if (!*s || *s == '#')
		return 0;
	eq = strchr(s, '=');
	if (eq)
		*eq = '\0';
	if (!eq || !dl_dnsmasq_domain_key(dl_trim(s))) {
		if (eq)
			*eq = '=';
		dl_skip(c, "dnsmasq option without domains", NULL, s);
		return 0;
	}
	val = dl_trim(eq + 1);
	last = strrchr(val, '/');
	if (val[0] != '/' || last == val) {
		*eq = '=';
		dl_skip(c, "no /domain/ in the option", NULL, s);
		return 0;
	}
	*last = '\0';
	for (d = val + 1; rc == 0 && d; ) {
		char *slash = strchr(d, '/');

		if (slash)
			*slash = '\0';
		if (!*d)
			dl_skip(c, "empty domain (unqualified names)", NULL, "//");
		else if (!strcmp(d, "#"))
			dl_skip(c, "# (every domain) is not a domain", NULL, d);
		else
			rc = dl_add_name(c, DOMAIN_SUFFIX, d, c->route, d);
		d = slash ? slash + 1 : NULL;
	}
	return rc;
}

/* ---- gfwlist ---- */

static int dl_b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

static bool dl_is_b64_text(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (dl_b64_value(c) < 0 && c != '=' && !isspace(c))
			return false;
	}
	return true;
}

/*
 * Decodes base64 (standard or URL alphabet) ignoring whitespace; '=' ends a group, so
 * concatenated blobs decode too. out needs len * 3 / 4 + 3 bytes. Returns the length.
 */
static size_t dl_b64_decode(const char *in, size_t len, char *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int v = dl_b64_value((unsigned char)in[i]);

		if (v < 0) {
			if (in[i] == '=')
				acc = bits = 0;
			continue;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return o;
}

/*
 * "||cdn*.example.com" as a regexp: '*' matches anything, as in AutoProxy; anchored at a
 * label start for "||", at the start of the name for "|scheme://".
 */
static int dl_gfw_glob(struct dl_ctx *c, const char *host, bool anchored, uint16_t route,
		       const char *text)
{
	struct domain_rule r = { .kind = DOMAIN_REGEXP };
	const char *p;
	size_t o = 0;

	o += (size_t)snprintf(r.text, sizeof(r.text), "%s", anchored ? "^" : "(^|\\.)");
	for (p = host; *p && o + 3 < sizeof(r.text); p++) {
		if (*p == '*') {
			r.text[o++] = '.';
			r.text[o++] = '*';
		} else if (*p == '.') {
			r.text[o++] = '\\';
			r.text[o++] = '.';
		} else {
			r.text[o++] = (char)tolower((unsigned char)*p);
		}
	}
	if (*p) {
		dl_skip(c, "wildcard host too long", NULL, text);
		return 0;
	}
	r.text[o++] = '$';
	r.text[o] = '\0';
	return dl_add(c, &r, route, text);
}

static int dl_gfw_line(struct dl_ctx *c, char *line)
{
	char *s = dl_trim(line), *text = s, *host, *rest, save;
	uint16_t route = c->route;
	bool anchored = false;
	size_t hl;
	int rc;

	if (!*s || *s == '!' || *s == '[')
		return 0;
	if (!strncmp(s, "@@", 2)) {
		route = DOMAIN_ROUTE_DIRECT;
		s += 2;
	}
	if (*s == '/') {
		dl_skip(c, "regular expression on URLs", NULL, text);
		return 0;
	}
	if (!strncmp(s, "||", 2)) {
		s += 2;
	} else if (*s == '|') {
		char *sep = strstr(s, "://");

		if (!sep) {
			dl_skip(c, "URL rule without scheme://", NULL, text);
			return 0;
		}
		s = sep + 3;
		anchored = true;
	} else if (strstr(s, "://")) {
		s = strstr(s, "://") + 3;
	}
	hl = strcspn(s, "/:^?$|");
	host = s;
	rest = s + hl;
	if (!hl) {
		dl_skip(c, "no host name", NULL, text);
		return 0;
	}
	if (strchr(rest, '*')) {
		dl_skip(c, "URL path with wildcard", NULL, text);
		return 0;
	}
	save = *rest;
	*rest = '\0';
	/* "[2001:db8::1]" or, unbracketed, two colons before the path */
	if (host[0] == '[' || dl_is_addr(host) ||
	    (save == ':' && memchr(rest + 1, ':', strcspn(rest + 1, "/")))) {
		*rest = save;
		dl_skip(c, "IP address", NULL, text);
		return 0;
	}
	if (!strncmp(host, "*.", 2) && !strchr(host + 2, '*'))
		host += 2;
	if (*host == '*' && !host[1]) {
		rc = 0;
		dl_skip(c, "wildcard for every host", NULL, text);
	} else if (strchr(host, '*')) {
		if (host[strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"0123456789-_.*")])
			rc = dl_add_name(c, DOMAIN_SUFFIX, host, route, text);	/* says why */
		else
			rc = dl_gfw_glob(c, host, anchored, route, text);
	} else {
		rc = dl_add_name(c, DOMAIN_SUFFIX, host, route, text);
	}
	*rest = save;
	return rc;
}

static int dl_gfwlist(struct dl_ctx *c, char *buf, size_t len)
{
	char *text;
	size_t n;
	int rc;

	if (!dl_is_b64_text(buf, len))
		return dl_lines(c, buf, len, dl_gfw_line);	/* AutoProxy text as is */
	text = malloc(len / 4 * 3 + 4);
	if (!text) {
		snprintf(c->err, c->errlen, "%s: out of memory", c->path);
		return -ENOMEM;
	}
	n = dl_b64_decode(buf, len, text);
	text[n] = '\0';
	rc = dl_lines(c, text, n, dl_gfw_line);
	free(text);
	return rc;
}

/* ---- v2fly ---- */

static int dl_parse(struct dl_ctx *c, char *buf, size_t len, enum dlist_format f);
static int dl_read(const char *path, char **buf, size_t *len, struct dl_file_id *id);

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
		dl_skip(c, "cannot read included file", strerror(-rc), text);
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

static int dl_v2fly_line(struct dl_ctx *c, char *s)
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

/* ---- detection ---- */

static bool dl_has_prefix(const char *s, size_t n, const char *const *prefixes)
{
	for (; *prefixes; prefixes++) {
		size_t k = strlen(*prefixes);

		if (n >= k && s[0] == **prefixes && !memcmp(s, *prefixes, k))
			return true;
	}
	return false;
}

static const char *const dl_v2fly_prefixes[] = {
	"include:", "domain:", "full:", "keyword:", "regexp:", NULL
};

/* A first line made only of base64 that decodes to text. */
static bool dl_is_b64_line(const char *s, size_t n)
{
	char out[16];
	size_t k;

	if (n < 16 || !dl_is_b64_text(s, n) || memchr(s, '.', n))
		return false;
	k = dl_b64_decode(s, 16, out);
	for (size_t i = 0; i < k; i++)
		if (!isprint((unsigned char)out[i]) && !isspace((unsigned char)out[i]))
			return false;
	return true;
}

/* "key=" as dnsmasq writes options. */
static bool dl_is_option(const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && (islower((unsigned char)s[k]) || s[k] == '-'))
		k++;
	return k && k < n && s[k] == '=';
}

/* An address, whitespace, and something after it. */
static bool dl_is_hosts_line(const char *s, size_t n)
{
	char tok[INET6_ADDRSTRLEN + 16];
	size_t k = 0;

	while (k < n && !strchr(DL_SPACE, s[k]))
		k++;
	if (k >= sizeof(tok) || k == n)
		return false;
	memcpy(tok, s, k);
	tok[k] = '\0';
	while (k < n && strchr(DL_SPACE, s[k]))
		k++;
	return k < n && dl_is_addr(tok);
}

enum dlist_format dlist_detect(const char *data, size_t len)
{
	size_t lines = 0, proxy = 0, opts = 0, hosts = 0, v2 = 0, bang = 0;
	const char *p = data, *end = data + len;
	bool first = true;

	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (p < end && lines < DL_DETECT_LINES && p - data < DL_DETECT_BYTES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
		const char *s = p;
		size_t n;

		p = e + 1;
		while (s < e && strchr(DL_SPACE, *s) && *s)
			s++;
		while (e > s && strchr(DL_SPACE, e[-1]) && e[-1])
			e--;
		n = (size_t)(e - s);
		if (!n)
			continue;
		if (first && ((n >= 10 && !memcmp(s, "[AutoProxy", 10)) || dl_is_b64_line(s, n)))
			return DLIST_GFWLIST;
		first = false;
		if (*s == '#')
			continue;
		if (*s == '!') {
			bang++;
			continue;
		}
		lines++;
		if (dl_has_prefix(s, n, (const char *const[]){ "||", "|http", "@@", NULL }))
			proxy++;
		else if (dl_is_option(s, n))
			opts++;
		else if (dl_is_hosts_line(s, n))
			hosts++;
		else if (dl_has_prefix(s, n, dl_v2fly_prefixes) || memmem(s, n, " @", 2) ||
			 memmem(s, n, "\t@", 2))
			v2++;
	}
	if (2 * proxy > lines || (!lines && bang))
		return DLIST_GFWLIST;
	if (2 * opts > lines)
		return DLIST_DNSMASQ;
	if (2 * hosts > lines)
		return DLIST_HOSTS;
	if (v2)
		return DLIST_V2FLY;
	/* sorted lists put "full:" and "regexp:" lines last: look at every line start */
	for (p = data; p < end; p++) {
		if (dl_has_prefix(p, (size_t)(end - p), dl_v2fly_prefixes))
			return DLIST_V2FLY;
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			break;
	}
	return DLIST_PLAIN;
}

/* ---- loading ---- */

static int dl_parse(struct dl_ctx *c, char *buf, size_t len, enum dlist_format f)
{
	if (f == DLIST_AUTO)
		f = dlist_detect(buf, len);
	if (!c->file)
		c->st->format = f;
	switch (f) {
	case DLIST_GFWLIST:
		return dl_gfwlist(c, buf, len);
	case DLIST_DNSMASQ:
		return dl_lines(c, buf, len, dl_dnsmasq_line);
	case DLIST_HOSTS:
		return dl_lines(c, buf, len, dl_hosts_line);
	case DLIST_V2FLY:
		return dl_lines(c, buf, len, dl_v2fly_line);
	default:
		return dl_lines(c, buf, len, dl_plain_line);
	}
}

/* Reads a whole file into a new buffer with a spare NUL after the data. */
static int dl_read(const char *path, char **buf, size_t *len, struct dl_file_id *id)
{
	size_t cap, n = 0;
	struct stat st;
	char *b = NULL;
	int fd, rc = 0;

	*buf = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	cap = S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < DL_MAX_FILE ?
	      (size_t)st.st_size + 1 : 65536;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap || !b) {
			char *nb;

			if (b)
				cap *= 2;
			if (cap > DL_MAX_FILE) {
				rc = -EFBIG;
				goto out;
			}
			nb = realloc(b, cap);
			if (!nb) {
				rc = -ENOMEM;
				goto out;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
out:
	free(b);
	close(fd);
	return rc;
}

static void dl_start(struct dl_ctx *c, struct dlist_stats *st, struct dlist_stats *dummy,
		     char *err, size_t errlen)
{
	c->st = st ? st : dummy;
	memset(c->st, 0, sizeof(*c->st));
	c->err = err;
	c->errlen = errlen;
	if (errlen)
		err[0] = '\0';
}

int dlist_load_mem(const char *data, size_t len, const char *name, const char *dir,
		   enum dlist_format format, struct domain_matcher *m, uint16_t route,
		   struct dlist_stats *st, char *err, size_t errlen)
{
	struct dl_ctx c = { .m = m, .route = route, .path = name, .dir = dir };
	struct dlist_stats dummy;
	char *buf;
	int rc;

	dl_start(&c, st, &dummy, err, errlen);
	buf = malloc(len + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	memcpy(buf, data, len);
	buf[len] = '\0';
	rc = dl_parse(&c, buf, len, format);
	free(c.seen);
	free(buf);
	return rc;
}

int dlist_load_format(const char *path, enum dlist_format format, struct domain_matcher *m,
		      uint16_t route, struct dlist_stats *st, char *err, size_t errlen)
{
	struct dl_ctx c = { .m = m, .route = route, .path = path };
	const char *slash = strrchr(path, '/');
	struct dlist_stats dummy;
	char *buf, *dir;
	size_t len;
	int rc;

	dl_start(&c, st, &dummy, err, errlen);
	rc = dl_read(path, &buf, &len, &c.stack[0]);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	dir = slash ? strndup(path, (size_t)(slash == path ? 1 : slash - path)) : strdup(".");
	if (!dir) {
		free(buf);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	c.dir = dir;
	rc = dl_parse(&c, buf, len, format);
	free(c.seen);
	free(dir);
	free(buf);
	return rc;
}

int dlist_load(const char *path, struct domain_matcher *m, uint16_t route,
	       struct dlist_stats *st, char *err, size_t errlen)
{
	return dlist_load_format(path, DLIST_AUTO, m, route, st, err, errlen);
}
