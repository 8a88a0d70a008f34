#ifndef NFQR_DLIST_INT_H
#define NFQR_DLIST_INT_H

/*
 * Shared by the domain list loader's files: dlist.c (reading, line splitting, statistics,
 * format dispatch), dlist_fmt.c (format detection and the plain, hosts, dnsmasq and
 * gfwlist parsers) and dlist_v2fly.c (v2fly with include: resolution). Nothing outside
 * them includes this.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dlist.h"

#define DL_FILTERS 8		/* attribute filters along one include chain */
#define DL_ATTR_MAX 32
#define DL_SPACE " \t\r\v\f"

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

/* ---- dlist.c ---- */

/* Counts a skipped entry; why must be a constant text, detail (may be NULL) need not. */
void dl_skip(struct dl_ctx *c, const char *why, const char *detail, const char *text);
/* Adds rule r; an invalid rule is skipped (0), other failures return -errno with c->err. */
int dl_add(struct dl_ctx *c, const struct domain_rule *r, uint16_t route, const char *text);
/* Normalizes name and adds it as a rule of kind (suffix or full); skips it if invalid. */
int dl_add_name(struct dl_ctx *c, enum domain_kind kind, const char *name, uint16_t route,
		const char *text);
/* Cuts leading and trailing whitespace off s in place; returns the new start. */
char *dl_trim(char *s);
/* Next whitespace-separated field of *s, cut in place; NULL at the end. */
char *dl_field(char **s);
/* Splits buf (len bytes, one spare byte after it) into lines in place, fn for each. */
int dl_lines(struct dl_ctx *c, char *buf, size_t len, dl_line_fn *fn);
/* Parses buf in format f (DLIST_AUTO: detected), recording the format for the list itself. */
int dl_parse(struct dl_ctx *c, char *buf, size_t len, enum dlist_format f);
/* Reads a whole file into a new buffer with a spare NUL after the data. */
int dl_read(const char *path, char **buf, size_t *len, struct dl_file_id *id);

/* ---- dlist_fmt.c: line handlers (dl_line_fn) and the gfwlist body ---- */

int dl_plain_line(struct dl_ctx *c, char *s);
int dl_hosts_line(struct dl_ctx *c, char *s);
int dl_dnsmasq_line(struct dl_ctx *c, char *s);
/* gfwlist: base64 of AutoProxy text, or the text as is. */
int dl_gfwlist(struct dl_ctx *c, char *buf, size_t len);

/* ---- dlist_v2fly.c ---- */

int dl_v2fly_line(struct dl_ctx *c, char *s);

#endif
