/*
 * Domain list formats other than v2fly: detection from the content, and the line handlers
 * for plain lists, hosts files, dnsmasq configuration and gfwlist (AutoProxy, usually
 * base64). Shared machinery (lines, statistics, adding rules) is in dlist.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem */
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dlist_int.h"

#define DL_DETECT_LINES 64
#define DL_DETECT_BYTES 65536

/* ---- plain ---- */

int dl_plain_line(struct dl_ctx *c, char *s)
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

int dl_hosts_line(struct dl_ctx *c, char *s)
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

int dl_dnsmasq_line(struct dl_ctx *c, char *s)
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

int dl_gfwlist(struct dl_ctx *c, char *buf, size_t len)
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
