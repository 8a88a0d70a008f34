#ifndef NFQR_DLIST_H
#define NFQR_DLIST_H

#include <stddef.h>
#include <stdint.h>

#include "domain.h"

/* Formats of domain lists (see nfqroute.conf(5) for what each rule becomes). */
enum dlist_format {
	DLIST_AUTO,		/* detect from the content (dlist_detect) */
	DLIST_PLAIN,		/* one name per line, '#' comments */
	DLIST_DNSMASQ,		/* server=/a/b/IP, ipset=, nftset=, address=, local= ... */
	DLIST_GFWLIST,		/* AutoProxy rules, usually base64-encoded */
	DLIST_HOSTS,		/* ADDRESS NAME... */
	DLIST_V2FLY,		/* domain-list-community: domain:, full:, keyword:, regexp:,
				 * include:NAME, @attributes */
	DLIST_FORMAT_COUNT
};

#define DLIST_SAMPLES 3
#define DLIST_REASONS 8
#define DLIST_REASON_LINES 3
#define DLIST_MAX_FILE (1u << 30)	/* a list (domains or networks) this large is a mistake */
#define DLIST_INCLUDE_DEPTH 16	/* v2fly include chains deeper than this are skipped */

/* What loading one list did, for `nfqroute check` and the log. */
struct dlist_stats {
	enum dlist_format format;	/* the format used: as set, or as detected */
	size_t loaded;			/* rules added, of all kinds */
	size_t kinds[DOMAIN_KIND_COUNT];	/* rules added, by kind */
	size_t direct;			/* of those, exceptions to DOMAIN_ROUTE_DIRECT (@@) */
	size_t direct_kinds[DOMAIN_KIND_COUNT];	/* exceptions, by kind */
	enum dlist_format detected;	/* what dlist_detect says of the list, whatever the
					 * format used (tells a wrong format = apart) */
	size_t includes;		/* v2fly files included */
	size_t filtered;		/* v2fly entries an include's @attribute filter left out */
	size_t skipped;			/* entries neither rules, comments nor blank */
	size_t n_samples;
	struct {
		unsigned line;
		char file[64];		/* the included v2fly file; "" for the list itself */
		char why[96];
	} samples[DLIST_SAMPLES];	/* the first few skipped entries */
	size_t n_reasons;
	struct {
		const char *why;	/* a constant text */
		size_t count;
		size_t n_lines;
		unsigned lines[DLIST_REASON_LINES];	/* first lines (of the list itself) */
	} reasons[DLIST_REASONS];	/* skipped entries grouped by reason, in order seen */
	size_t other;			/* skipped for reasons after the first DLIST_REASONS */
};

/* The name of a format as written in the configuration ("auto", "plain", ...). */
const char *dlist_format_name(enum dlist_format f);

/* Parses a format name. Returns 0, or -EINVAL for an unknown name. */
int dlist_format_parse(const char *name, enum dlist_format *out);

/*
 * Guesses the format of a list from its first lines: a base64 blob or AutoProxy rules
 * (gfwlist), mostly dnsmasq options (dnsmasq), mostly "ADDRESS NAME" (hosts), any v2fly
 * prefix anywhere in the data (v2fly), else plain. Never returns DLIST_AUTO.
 */
enum dlist_format dlist_detect(const char *data, size_t len);

/*
 * Loads a list from path into m: its rules take route, gfwlist "@@" exceptions take
 * DOMAIN_ROUTE_DIRECT. format DLIST_AUTO detects it. v2fly include:NAME reads the file NAME
 * in the list's directory. Entries that are not rules are counted in *st (may be NULL)
 * and skipped, never fatal; so are includes that cannot be read. Only regular files are
 * read (a FIFO or a device is refused without blocking, -EINVAL), of at most
 * DLIST_MAX_FILE bytes (-EFBIG). Returns 0, or -errno when the file cannot be read or
 * memory runs out (message in err: "PATH: reason").
 */
int dlist_load_format(const char *path, enum dlist_format format, struct domain_matcher *m,
		      uint16_t route, struct dlist_stats *st, char *err, size_t errlen);

/*
 * The text for a failure to read a list (dlist_load_format's -errno): "not a regular file"
 * for -EINVAL, the size limit for -EFBIG, else strerror.
 */
const char *dlist_strerr(int neg_errno);

/* dlist_load_format with DLIST_AUTO. */
int dlist_load(const char *path, struct domain_matcher *m, uint16_t route,
	       struct dlist_stats *st, char *err, size_t errlen);

/*
 * dlist_load_format for a list in memory (len bytes, any content). name is used in
 * messages; v2fly includes are read from dir, or skipped when dir is NULL.
 */
int dlist_load_mem(const char *data, size_t len, const char *name, const char *dir,
		   enum dlist_format format, struct domain_matcher *m, uint16_t route,
		   struct dlist_stats *st, char *err, size_t errlen);

#endif
