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
 *
 * This file reads lists, splits lines, keeps statistics and dispatches on the format; the
 * parsers are in dlist_fmt.c (detection, plain, hosts, dnsmasq, gfwlist) and dlist_v2fly.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlist_int.h"
#include "util.h"

static const char *const dl_format_names[DLIST_FORMAT_COUNT] = {
	[DLIST_AUTO] = "auto", [DLIST_PLAIN] = "plain", [DLIST_DNSMASQ] = "dnsmasq",
	[DLIST_GFWLIST] = "gfwlist", [DLIST_HOSTS] = "hosts", [DLIST_V2FLY] = "v2fly",
};

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
void dl_skip(struct dl_ctx *c, const char *why, const char *detail, const char *text)
{
	struct dlist_stats *st = c->st;
	typeof(st->samples[0]) *sm;
	char quoted[52];

	st->skipped++;
	dl_reason(c, why);
	if (st->n_samples >= DLIST_SAMPLES)
		return;
	sm = &st->samples[st->n_samples++];
	sm->line = c->line;
	snprintf(sm->file, sizeof(sm->file), "%s", c->file ? c->file : "");
	util_quote(quoted, sizeof(quoted), text);	/* third-party text: may hold any byte */
	snprintf(sm->why, sizeof(sm->why), "%s%s%s: \"%s\"", why, detail ? " " : "",
		 detail ? detail : "", quoted);
}

int dl_add(struct dl_ctx *c, const struct domain_rule *r, uint16_t route,
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
	if (route == DOMAIN_ROUTE_DIRECT && c->route != DOMAIN_ROUTE_DIRECT) {
		c->st->direct++;
		c->st->direct_kinds[r->kind]++;
	}
	return 0;
}

/* Normalizes name and adds it as a rule of kind (suffix or full); skips it if invalid. */
int dl_add_name(struct dl_ctx *c, enum domain_kind kind, const char *name,
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

char *dl_trim(char *s)
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
char *dl_field(char **s)
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
int dl_lines(struct dl_ctx *c, char *buf, size_t len, dl_line_fn *fn)
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

/* ---- loading ---- */

int dl_parse(struct dl_ctx *c, char *buf, size_t len, enum dlist_format f)
{
	/* before the parser cuts buf in place; for the list itself, so a list that yields
	 * nothing can say which format it looks like */
	if (f == DLIST_AUTO || !c->file) {
		enum dlist_format d = dlist_detect(buf, len);

		if (!c->file)
			c->st->detected = d;
		if (f == DLIST_AUTO)
			f = d;
	}
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

/*
 * Reads a whole file into a new buffer with a spare NUL after the data. Only a regular file
 * (util_file_open): a FIFO would block the reader and /dev/zero never end.
 */
int dl_read(const char *path, char **buf, size_t *len, struct dl_file_id *id)
{
	size_t cap, n = 0;
	struct stat st;
	char *b = NULL;
	int fd, rc;

	*buf = NULL;
	rc = util_file_open(path, DLIST_MAX_FILE, &fd, &st);
	if (rc)
		return rc;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	cap = (size_t)st.st_size + 1 < 4096 ? 4096 : (size_t)st.st_size + 1;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap || !b) {
			char *nb;

			if (b && cap > DLIST_MAX_FILE) {
				rc = -EFBIG;	/* it grew since the fstat */
				goto out;
			}
			if (b)
				cap = cap > DLIST_MAX_FILE / 2 ? DLIST_MAX_FILE + 1 : 2 * cap;
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

_Static_assert(DLIST_MAX_FILE == 1u << 30, "dlist_strerr says 1 GiB");

const char *dlist_strerr(int neg_errno)
{
	return neg_errno == -EFBIG ? "larger than 1 GiB, the limit for a list" :
	       util_file_strerr(neg_errno);
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
		snprintf(err, errlen, "%s: %s", path, dlist_strerr(rc));
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
