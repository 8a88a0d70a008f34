/*
 * Plain domain list loader: one name per line, '#' starts a comment anywhere on a line,
 * blank lines are ignored, CRLF and a UTF-8 byte order mark are tolerated. Lists with a
 * million lines are common, so the file is read through a large stdio buffer with getline
 * and each line is handled in place.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"

#define DLIST_BUFSIZE (1 << 20)

enum dlist_line { DLIST_EMPTY, DLIST_NAME, DLIST_BAD };

static void dlist_skip(struct dlist_stats *st, unsigned line, const char *why, const char *text)
{
	st->skipped++;
	if (st->n_samples >= DLIST_SAMPLES)
		return;
	st->samples[st->n_samples].line = line;
	snprintf(st->samples[st->n_samples].why, sizeof(st->samples[0].why), "%s: \"%.48s%s\"",
		 why, text, strlen(text) > 48 ? "..." : "");
	st->n_samples++;
}

static inline int dlist_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/*
 * Cuts comment and surrounding blanks off line (length len, modified in place), then
 * normalizes what is left into name. On DLIST_BAD, *why says why and *text points at the
 * trimmed text for the message.
 */
static enum dlist_line dlist_parse_line(char *line, size_t len, char *name, size_t size,
					const char **why, const char **text)
{
	char *hash, *s = line, *end;

	if (memchr(line, '\0', len)) {
		*why = "NUL byte";
		*text = "";
		return DLIST_BAD;
	}
	hash = memchr(line, '#', len);
	end = hash ? hash : line + len;
	while (s < end && dlist_is_space(*s))
		s++;
	while (end > s && dlist_is_space(end[-1]))
		end--;
	if (s == end)
		return DLIST_EMPTY;
	*end = '\0';
	*text = s;
	for (const char *p = s; p < end; p++) {
		if (dlist_is_space(*p)) {
			*why = "more than one field";
			return DLIST_BAD;
		}
	}
	return domain_normalize_why(s, name, size, why) ? DLIST_BAD : DLIST_NAME;
}

static int dlist_read(FILE *f, const char *path, struct domain_matcher *m, uint16_t route,
		      struct dlist_stats *st, char *err, size_t errlen)
{
	char *line = NULL, name[256];
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	int rc = 0;

	for (;;) {
		const char *why = NULL, *text = NULL;
		char *l;
		size_t len;

		errno = 0;
		n = getline(&line, &cap, f);
		if (n < 0)
			break;
		len = (size_t)n;
		l = line;
		if (++lineno == 1 && len >= 3 && memcmp(l, "\xef\xbb\xbf", 3) == 0) {
			l += 3;
			len -= 3;
		}
		switch (dlist_parse_line(l, len, name, sizeof(name), &why, &text)) {
		case DLIST_EMPTY:
			break;
		case DLIST_BAD:
			dlist_skip(st, lineno, why, text);
			break;
		case DLIST_NAME:
			rc = domain_matcher_add(m, name, route);
			if (rc) {
				snprintf(err, errlen, "%s:%u: cannot add \"%s\": %s", path, lineno,
					 name, strerror(-rc));
				goto out;
			}
			st->loaded++;
			break;
		}
	}
	if (ferror(f)) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	} else if (errno == ENOMEM) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s:%u: out of memory", path, lineno + 1);
	}
out:
	free(line);
	return rc;
}

int dlist_load(const char *path, struct domain_matcher *m, uint16_t route,
	       struct dlist_stats *st, char *err, size_t errlen)
{
	struct dlist_stats dummy;
	FILE *f;
	char *buf;
	int rc;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (errlen)
		err[0] = '\0';
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	/* stdio's default 4 KiB buffer costs a read() per few hundred names. */
	buf = malloc(DLIST_BUFSIZE);
	if (buf)
		setvbuf(f, buf, _IOFBF, DLIST_BUFSIZE);
	rc = dlist_read(f, path, m, route, st, err, errlen);
	fclose(f);
	free(buf);
	return rc;
}
