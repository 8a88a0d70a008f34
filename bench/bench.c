/*
 * nfqroute micro-benchmark (`make bench`, not a test): the costs that decide whether the
 * daemon keeps up, measured on one pinned core with the real modules (libnfqr.a):
 *   (a) loading the real domain lists of the shared data set;
 *   (b) loading a synthetic 1,000,000-name list: time and resident memory per rule;
 *   (c) suffix lookups per second, hits and misses, at 100k and 1M rules;
 *   (d) DNS replies parsed per second against a bare one-pass reference parser;
 *   (e) the learned-address table: bytes per mapping, inserts and lookups per second.
 * Every memory figure is measured in a freshly forked child, so the allocator's leftovers
 * from an earlier section never hide or inflate a delta. Times are the thread's CPU time,
 * and rates the fastest of REPS passes. Results go to a table with the targets and
 * PASS/MISS marks at the end.
 *
 * Usage: bench [DATA_DIR]   (DATA_DIR: argument, else $NFQR_SHARED_DATA, else
 *                            ../shared/data; bench/run.sh passes the right one)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "addrmap.h"
#include "dlist.h"
#include "dns.h"
#include "domain.h"
#include "pkt.h"

#define SYN_RULES 1000000u
#define SMALL_RULES 100000u
#define N_QUERIES 1000000u
#define AM_ENTRIES 1000000u
#define AM_NAME_STRIDE 32
#define REPS 7			/* timed repetitions; the fastest is reported */
#define DNS_MIN_PARSES 1000000u	/* per timed repetition */
#define RESULTS_MAX 64

/* ---- results, shared with the forked children ---- */

enum verdict { V_INFO, V_PASS, V_MISS };

struct result {
	char metric[56];
	char value[24];
	char target[24];
	enum verdict verdict;
};

struct results {
	int n;
	struct result r[RESULTS_MAX];
};

static struct results *results;	/* MAP_SHARED: children append, the parent prints */

static void field_copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Appends a result row; fmt yields "metric|value|target". */
__attribute__((format(printf, 2, 3)))
static void result_add(enum verdict v, const char *fmt, ...)
{
	struct result *r;
	char line[128], *value, *target;
	va_list ap;

	if (results->n >= RESULTS_MAX)
		return;
	r = &results->r[results->n++];
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	value = strchr(line, '|');
	target = value ? strchr(value + 1, '|') : NULL;
	if (!target)
		return;
	*value++ = '\0';
	*target++ = '\0';
	field_copy(r->metric, sizeof(r->metric), line);
	field_copy(r->value, sizeof(r->value), value);
	field_copy(r->target, sizeof(r->target), target);
	r->verdict = v;
}

/* ---- measuring ---- */

/*
 * CPU time of the calling thread (user + system): on a shared machine the wall clock also
 * counts the slices other processes get on our core, the CPU clock does not. Cache and
 * memory-bandwidth contention from the other cores still shows.
 */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * The fastest of n timings: the machine may be shared, and interference only ever adds
 * time, so the minimum is the closest to the code's own cost.
 */
static double fastest(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

/* Runs fn in a child so that its memory figures start from a clean process. */
static void run_child(void (*fn)(void *), void *ctx)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return;
	}
	if (pid == 0) {
		fn(ctx);
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		printf("  (section failed: child status 0x%x)\n", status);
}

static const char *human(double v, char *buf, size_t size)
{
	if (v >= 1e6)
		snprintf(buf, size, "%.1fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, size, "%.1fk", v / 1e3);
	else
		snprintf(buf, size, "%.0f", v);
	return buf;
}

/* splitmix64: a deterministic generator, so every run measures the same names */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ---- (a) real lists ---- */

/* F_GFWLIST is never extracted (base64 + AutoProxy rules): it loads once dlist reads it. */
enum list_fmt { F_PLAIN, F_DNSMASQ, F_HOSTS, F_GFWLIST };

struct list_spec {
	const char *rel;
	const char *label;
	enum list_fmt fmt;
	uint16_t route;
};

static const struct list_spec real_lists[] = {
	{ "domainlists/dnsmasq-china-list/accelerated-domains.china.conf",
	  "china-list accelerated (dnsmasq)", F_DNSMASQ, 0 },
	{ "domainlists/dnsmasq-china-list/apple.china.conf", "china-list apple (dnsmasq)",
	  F_DNSMASQ, 0 },
	{ "domainlists/dnsmasq-china-list/google.china.conf", "china-list google (dnsmasq)",
	  F_DNSMASQ, 0 },
	{ "domainlists/loyalsoldier-v2ray-rules-dat/direct-list.txt", "loyalsoldier direct",
	  F_PLAIN, 0 },
	{ "domainlists/loyalsoldier-v2ray-rules-dat/proxy-list.txt", "loyalsoldier proxy",
	  F_PLAIN, 1 },
	{ "domainlists/loyalsoldier-v2ray-rules-dat/gfw.txt", "loyalsoldier gfw", F_PLAIN, 1 },
	{ "domainlists/loyalsoldier-v2ray-rules-dat/reject-list.txt", "loyalsoldier reject",
	  F_PLAIN, 2 },
	{ "domainlists/gfwlist/gfwlist.txt", "gfwlist (base64 AutoProxy)", F_GFWLIST, 1 },
	{ "domainlists/hosts/adaway-hosts.txt", "adaway (hosts)", F_HOSTS, 2 },
	{ "domainlists/hosts/anudeepND-adservers.txt", "anudeepND (hosts)", F_HOSTS, 2 },
};

struct list_ctx {
	const char *data;
	const char *tmpdir;
};

/* Writes the names of a dnsmasq (server=/a/b/IP) or hosts (IP name...) file one per line. */
static int list_extract(const char *path, enum list_fmt fmt, const char *out_path)
{
	FILE *in = fopen(path, "re"), *out = fopen(out_path, "we");
	char *line = NULL, *save, *tok;
	size_t cap = 0;

	if (!in || !out) {
		if (in)
			fclose(in);
		if (out)
			fclose(out);
		return -errno;
	}
	while (getline(&line, &cap, in) > 0) {
		line[strcspn(line, "#\r\n")] = '\0';
		if (fmt == F_DNSMASQ) {
			char *a = strchr(line, '/'), *b = strrchr(line, '/');

			if (!a || b <= a)
				continue;
			*b = '\0';
			for (tok = strtok_r(a + 1, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
				fprintf(out, "%s\n", tok);
		} else {
			tok = strtok_r(line, " \t", &save);	/* the address */
			while (tok && (tok = strtok_r(NULL, " \t", &save)))
				fprintf(out, "%s\n", tok);
		}
	}
	free(line);
	fclose(in);
	return fclose(out) ? -errno : 0;
}

struct load_out {
	size_t rules, skipped;
	double secs, extract_secs;
	bool extracted;
};

/*
 * Loads one list into m with dlist_load. When dlist_load does not know the list's format
 * (it skipped more lines than it loaded), the names are extracted to a plain file and
 * that is loaded as well (the first attempt added next to nothing); the load time is then
 * the second load's, the extraction is timed apart.
 */
static int list_load(const struct list_spec *ls, const struct list_ctx *lc,
		     struct domain_matcher *m, struct load_out *o)
{
	char path[4096], tmp[4096], err[512];
	struct dlist_stats st;
	size_t before = domain_matcher_count(m);
	double t0 = now_s();
	int ret;

	memset(o, 0, sizeof(*o));
	snprintf(path, sizeof(path), "%s/%s", lc->data, ls->rel);
	ret = dlist_load(path, m, ls->route, &st, err, sizeof(err));
	o->secs = now_s() - t0;
	if (ret == 0 && (ls->fmt == F_DNSMASQ || ls->fmt == F_HOSTS) && st.skipped > st.loaded) {
		snprintf(tmp, sizeof(tmp), "%s/nfqr-bench-list.%d", lc->tmpdir, (int)getpid());
		t0 = now_s();
		ret = list_extract(path, ls->fmt, tmp);
		o->extract_secs = now_s() - t0;
		if (ret == 0) {
			t0 = now_s();
			ret = dlist_load(tmp, m, ls->route, &st, err, sizeof(err));
			o->secs = now_s() - t0;
		} else {
			snprintf(err, sizeof(err), "extracting names: %s", strerror(-ret));
		}
		unlink(tmp);
		o->extracted = true;
	}
	if (ret < 0) {
		printf("  %-34s %s\n", ls->label, err);
		return ret;
	}
	o->rules = domain_matcher_count(m) - before;
	o->skipped = st.skipped;
	return 0;
}

struct list_one {
	const struct list_ctx *lc;
	size_t i;
};

/* Below this many rules the resident delta is mostly page rounding: not shown. */
#define LIST_RSS_MIN_RULES 10000

static void section_list_one(void *arg)
{
	const struct list_one *lo = arg;
	const struct list_spec *ls = &real_lists[lo->i];
	struct domain_matcher *m = domain_matcher_new();
	size_t r0 = rss_bytes();
	struct load_out o;
	char b1[16], b2[16] = "-";

	if (!m || list_load(ls, lo->lc, m, &o) < 0)
		exit(1);
	if (o.rules >= LIST_RSS_MIN_RULES)
		snprintf(b2, sizeof(b2), "%.1f", (double)(rss_bytes() - r0) / (double)o.rules);
	printf("  %-34s %8zu %8zu %9.1f %9s %9s%s\n", ls->label, o.rules, o.skipped,
	       o.secs * 1e3, human((double)o.rules / o.secs, b1, sizeof(b1)), b2,
	       o.extracted ? "  (extracted to a plain list first: dlist_load lacks the format)" :
	       o.skipped > o.rules ? "  (format not supported by dlist_load yet)" : "");
	domain_matcher_free(m);
}

/* A realistic configuration: every list in one matcher, three routes. */
static void section_lists_all(void *arg)
{
	const struct list_ctx *lc = arg;
	struct domain_matcher *all = domain_matcher_new();
	size_t total, rss0 = rss_bytes();
	double secs = 0;
	char b1[16];

	for (size_t i = 0; i < sizeof(real_lists) / sizeof(real_lists[0]) && all; i++) {
		struct load_out o;

		if (list_load(&real_lists[i], lc, all, &o) == 0)
			secs += o.secs;
	}
	if (!all)
		exit(1);
	total = domain_matcher_count(all);
	printf("  %-34s %8zu %8s %9.1f %9s %9.1f\n", "all of them in one matcher", total, "",
	       secs * 1e3, human((double)total / secs, b1, sizeof(b1)),
	       (double)(rss_bytes() - rss0) / (double)total);
	result_add(V_INFO, "(a) all real lists, %zu rules: load|%.0f ms|-", total, secs * 1e3);
	domain_matcher_free(all);
}

static void section_lists(const struct list_ctx *lc)
{
	printf("(a) real lists through dlist_load, each in a fresh process\n");
	printf("  %-34s %8s %8s %9s %9s %9s\n", "list", "rules", "skipped", "load ms",
	       "rules/s", "RSS B/r");
	for (size_t i = 0; i < sizeof(real_lists) / sizeof(real_lists[0]); i++) {
		struct list_one lo = { .lc = lc, .i = i };

		run_child(section_list_one, &lo);
	}
	run_child(section_lists_all, (void *)lc);
	printf("\n");
}

/* ---- synthetic names ---- */

struct names {
	char *buf;		/* NUL-terminated names back to back */
	const char **v;
	size_t n;
};

static const char *const tlds[] = {
	"com", "com", "com", "com", "net", "cn", "cn", "org", "com.cn", "io", "de", "jp",
};

/*
 * Name i: an optional subdomain label, a second-level label made of random letters and
 * i in base 36 (so that names are distinct), and a TLD. Lengths (about 15 characters
 * on average) are those of the real lists (china-list 11.7, loyalsoldier reject 19.5).
 */
static int name_make(char *out, size_t size, uint64_t *rng, uint64_t i)
{
	static const char sub[][7] = { "www", "cdn", "api", "img", "m", "static" };
	char id[16], pre[12];
	uint64_t r = rng_next(rng);
	size_t k = 0, plen = 2 + r % 7;

	do {
		id[k++] = "0123456789abcdefghijklmnopqrstuvwxyz"[i % 36];
		i /= 36;
	} while (i);
	id[k] = '\0';
	for (size_t j = 0; j < plen; j++)
		pre[j] = (char)('a' + (r >> (8 + 5 * j)) % 26);
	pre[plen] = '\0';
	if ((r >> 60) < 3)
		return snprintf(out, size, "%s.%s%s.%s", sub[(r >> 50) % 6], pre, id,
				tlds[(r >> 40) % 12]);
	return snprintf(out, size, "%s%s.%s", pre, id, tlds[(r >> 40) % 12]);
}

static int names_gen(struct names *nm, size_t n, uint64_t seed, uint64_t first_id)
{
	size_t cap = n * 40, used = 0;
	uint64_t rng = seed;

	nm->buf = malloc(cap);
	nm->v = malloc(n * sizeof(*nm->v));
	nm->n = n;
	if (!nm->buf || !nm->v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int len = name_make(nm->buf + used, cap - used, &rng, first_id + i);

		used += (size_t)len + 1;
	}
	used = 0;
	for (size_t i = 0; i < n; i++) {
		nm->v[i] = nm->buf + used;
		used += strlen(nm->buf + used) + 1;
	}
	return 0;
}

static void names_free(struct names *nm)
{
	free(nm->buf);
	free(nm->v);
}

/*
 * Cumulative Zipf (s = 1) weights of ranks 1..n, for popularity-skewed queries: real
 * resolvers see a few names very often, which keeps their slots in cache.
 */
static double *zipf_cdf(size_t n)
{
	double *c = malloc(n * sizeof(*c)), sum = 0;

	for (size_t i = 0; c && i < n; i++) {
		sum += 1.0 / (double)(i + 1);
		c[i] = sum;
	}
	return c;
}

static size_t zipf_pick(const double *cdf, size_t n, uint64_t r)
{
	double u = (double)(r >> 11) / 9007199254740992.0 * cdf[n - 1];
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Queries that hit: a rule itself (1 in 4) or a name below it, for rules [0, n_rules)
 * picked uniformly, or by Zipf popularity when cdf is given.
 */
static int queries_hits(const struct names *rules, size_t n_rules, size_t n, const double *cdf,
			struct names *q)
{
	uint64_t rng = 0x51ed;
	size_t used = 0;

	q->buf = malloc(n * 48);
	q->v = malloc(n * sizeof(*q->v));
	q->n = n;
	if (!q->buf || !q->v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint64_t r = rng_next(&rng);
		size_t k = cdf ? zipf_pick(cdf, n_rules, rng_next(&rng)) : r % n_rules;
		const char *rule = rules->v[k];
		int len = (r >> 62) == 0 ? snprintf(q->buf + used, 48, "%s", rule) :
			  snprintf(q->buf + used, 48, "%s.%s", (r >> 63) ? "www" : "a1-edge", rule);

		q->v[i] = q->buf + used;
		used += (size_t)(len < 48 ? len : 47) + 1;
	}
	return 0;
}

/* ---- (b) synthetic list load and (c) lookups ---- */

struct syn_ctx {
	const char *list_path;	/* the 1M names written one per line */
	const struct names *rules;
	const struct names *hits_1m, *hits_100k, *misses, *zipf_1m;
};

/* One timed pass of lookups over q; returns the seconds and counts the hits. */
static double lookup_pass(const struct domain_matcher *m, const struct names *q, size_t *hits)
{
	double t0 = now_s();
	size_t h = 0;

	for (size_t i = 0; i < q->n; i++)
		h += domain_matcher_lookup(m, q->v[i], NULL) >= 0;
	*hits = h;
	return now_s() - t0;
}

/*
 * Lookups per second for n query sets, their passes interleaved so that every set sees
 * the same interference; the fastest pass counts. *noise is how much slower the median
 * pass was than the fastest, over all sets: large values mean a busy machine.
 */
static void lookup_rates(const struct domain_matcher *m, const struct names *const *q, int n,
			 double *rate, size_t *hits, double *noise)
{
	double t[4][REPS], worst = 0;

	for (int r = 0; r < REPS; r++)
		for (int k = 0; k < n; k++)
			t[k][r] = lookup_pass(m, q[k], &hits[k]);
	for (int k = 0; k < n; k++) {
		double best = fastest(t[k], REPS), med;

		rate[k] = (double)q[k]->n / best;
		/* fastest() needs no order; the median does */
		for (int i = 1; i < REPS; i++)
			for (int j = i; j > 0 && t[k][j] < t[k][j - 1]; j--) {
				double x = t[k][j];

				t[k][j] = t[k][j - 1];
				t[k][j - 1] = x;
			}
		med = t[k][REPS / 2];
		if (med / best - 1 > worst)
			worst = med / best - 1;
	}
	*noise = worst;
}

static void lookups_print(const char *label, const struct domain_matcher *m,
			  const struct names *hit, const struct names *miss, double target)
{
	static const char *const kind[] = { "hits", "misses", "50/50" };
	struct names mix = { .n = hit->n };
	const struct names *q[3] = { hit, miss, &mix };
	size_t found[3];
	double rate[3], noise;
	char b[3][16];

	mix.v = malloc(mix.n * sizeof(*mix.v));
	if (!mix.v)
		return;
	for (size_t i = 0; i < mix.n; i++)
		mix.v[i] = i & 1 ? miss->v[i] : hit->v[i];
	lookup_rates(m, q, 3, rate, found, &noise);
	printf("  %-5s rules: hits %7s/s (%zu/%zu found), misses %7s/s (%zu found), 50/50 "
	       "%7s/s; median pass %.0f%% slower\n", label, human(rate[0], b[0], 16), found[0],
	       hit->n, human(rate[1], b[1], 16), found[1], human(rate[2], b[2], 16),
	       noise * 100);
	for (int k = 0; k < 3; k++)
		result_add(rate[k] > target ? V_PASS : V_MISS,
			   "(c) lookups/s at %s rules, %s|%s|> %.0fM/s", label, kind[k], b[k],
			   target / 1e6);
	free(mix.v);
}

static void section_synthetic(void *arg)
{
	const struct syn_ctx *sc = arg;
	size_t rss0 = rss_bytes();
	struct domain_matcher *m = domain_matcher_new();
	struct dlist_stats st;
	char err[512], b[16];
	double t0, secs, per_rule;
	size_t rules;

	printf("(b) synthetic list: %u names, avg %.1f chars, through dlist_load\n", SYN_RULES,
	       (double)(sc->rules->v[SYN_RULES - 1] - sc->rules->v[0]) / (SYN_RULES - 1) - 1);
	t0 = now_s();
	if (!m || dlist_load(sc->list_path, m, 1, &st, err, sizeof(err)) < 0) {
		printf("  load failed: %s\n", m ? err : "out of memory");
		exit(1);
	}
	secs = now_s() - t0;
	rules = domain_matcher_count(m);
	per_rule = (double)(rss_bytes() - rss0) / (double)rules;
	printf("  %zu rules in %.0f ms (%s rules/s); resident +%.1f MiB = %.1f B/rule "
	       "(all the matcher keeps)\n\n", rules, secs * 1e3, human((double)rules / secs, b, sizeof(b)),
	       (double)(rss_bytes() - rss0) / 1048576.0, per_rule);
	result_add(secs < 1.0 ? V_PASS : V_MISS, "(b) load 1M synthetic names|%.0f ms|< 1000 ms",
		   secs * 1e3);
	result_add(per_rule < 40 ? V_PASS : V_MISS, "(b) resident memory per rule (1M)|%.1f B|< 40 B",
		   per_rule);

	printf("(c) suffix lookups, %u random names per run, fastest of %d runs\n", N_QUERIES, REPS);
	{
		struct domain_matcher *small = domain_matcher_new();

		for (size_t i = 0; small && i < SMALL_RULES; i++)
			domain_matcher_add(small, sc->rules->v[i], 1);
		if (small)
			lookups_print("100k", small, sc->hits_100k, sc->misses, 10e6);
		domain_matcher_free(small);
	}
	lookups_print("1M", m, sc->hits_1m, sc->misses, 5e6);
	{
		const struct names *q[1] = { sc->zipf_1m };
		double r, noise;
		char b2[16];
		size_t h;

		lookup_rates(m, q, 1, &r, &h, &noise);
		printf("  1M    rules: hits by Zipf popularity (s = 1) %s/s (%zu found)\n",
		       human(r, b2, sizeof(b2)), h);
		result_add(V_INFO, "(c) lookups/s at 1M rules, Zipf hits|%s|-", b2);
	}
	printf("\n");
	domain_matcher_free(m);
}

/* ---- (d) DNS parsing ---- */

struct msgs {
	uint8_t *buf;
	size_t n;
	const uint8_t **p;
	size_t *len;
};

static int msgs_load(const char *path, struct msgs *ms)
{
	FILE *f = fopen(path, "re");
	struct stat sb;
	size_t off = 0;

	memset(ms, 0, sizeof(*ms));
	if (!f || fstat(fileno(f), &sb) < 0)
		goto fail;
	ms->buf = malloc((size_t)sb.st_size + 1);
	ms->p = malloc(((size_t)sb.st_size / 2 + 1) * sizeof(*ms->p));
	ms->len = malloc(((size_t)sb.st_size / 2 + 1) * sizeof(*ms->len));
	if (!ms->buf || !ms->p || !ms->len ||
	    fread(ms->buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size)
		goto fail;
	while ((size_t)sb.st_size - off >= 2) {
		size_t l = (size_t)ms->buf[off] << 8 | ms->buf[off + 1];

		if (l > (size_t)sb.st_size - off - 2)
			break;
		ms->p[ms->n] = ms->buf + off + 2;
		ms->len[ms->n++] = l;
		off += 2 + l;
	}
	fclose(f);
	return 0;
fail:
	if (f)
		fclose(f);
	return -EIO;
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

struct ref_addr {
	uint8_t family;
	uint8_t a[16];
	uint32_t ttl;
};

/* Offset just after the name at p (labels up to a zero byte or a pointer), or 0. */
static inline size_t ref_skip_name(const uint8_t *m, size_t len, size_t p)
{
	while (p < len) {
		unsigned c = m[p];

		if (c == 0)
			return p + 1;
		if (c >= 0xc0)
			return len - p >= 2 ? p + 2 : 0;
		if (c > 63)
			return 0;
		p += 1 + c;
	}
	return 0;
}

/* Copies the name at p as lowercase text (pointers followed, bounded); 0 when malformed. */
static size_t ref_name(const uint8_t *m, size_t len, size_t p, char *out, size_t size)
{
	size_t o = 0;
	unsigned hops = 0;

	while (p < len) {
		uint8_t c = m[p];

		if (c == 0) {
			out[o ? o - 1 : 0] = '\0';
			return o ? o : 1;
		}
		if ((c & 0xc0) == 0xc0) {
			if (p + 1 >= len || ++hops > 16)
				return 0;
			p = (size_t)(c & 0x3f) << 8 | m[p + 1];
			continue;
		}
		if (c > 63 || len - p - 1 < c || o + c + 1 >= size)
			return 0;
		for (size_t i = 0; i < c; i++)
			out[o++] = (char)(m[p + 1 + i] | ((unsigned)(m[p + 1 + i] - 'A') < 26u ? 0x20 : 0));
		out[o++] = '.';
		p += 1 + c;
	}
	return 0;
}

/*
 * The reference: what any reply parser must at least do. One pass over header, question
 * and answers, every bound checked, A/AAAA of class IN copied out; nothing is attributed.
 * Without names, no name is decoded (the barest walk); with names, the question name and
 * every CNAME target are decoded as text, the least a parser that routes by name needs.
 * Returns the number of addresses or -1.
 */
static int ref_parse(const uint8_t *m, size_t len, struct ref_addr *out, size_t max,
		     char (*names)[256])
{
	size_t p, n = 0;
	unsigned an;

	if (len < 12 || !(m[2] & 0x80) || rd16(m + 4) != 1)
		return -1;
	if (names && !ref_name(m, len, 12, names[0], sizeof(names[0])))
		return -1;
	p = ref_skip_name(m, len, 12);
	if (!p || len - p < 4)
		return -1;
	p += 4;
	an = rd16(m + 6);
	for (unsigned i = 0; i < an; i++) {
		uint16_t type, class, rdlen;

		p = ref_skip_name(m, len, p);
		if (!p || len - p < 10)
			return -1;
		type = rd16(m + p);
		class = rd16(m + p + 2);
		rdlen = rd16(m + p + 8);
		if (len - p - 10 < rdlen)
			return -1;
		if (names && type == 5 && !ref_name(m, len, p + 10, names[1], sizeof(names[1])))
			return -1;
		if (class == 1 && n < max &&
		    ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16))) {
			out[n].family = type == 1 ? AF_INET : AF_INET6;
			out[n].ttl = (uint32_t)rd16(m + p + 4) << 16 | rd16(m + p + 6);
			memcpy(out[n].a, m + p + 10, rdlen);
			n++;
		}
		p += 10 + (size_t)rdlen;
	}
	return (int)n;
}

struct dns_timing {
	double ns_nfqr, ns_ref, ns_named;	/* per reply, fastest run */
	size_t ok, addrs;		/* dns_parse_reply: DNS_OK replies and addresses, per pass */
	size_t walked, ref_addrs;	/* reference: messages walked and A/AAAA, per pass */
};

/* Times both parsers over the same messages, alternating so that both see the same load. */
static void dns_time(const struct msgs *ms, struct dns_reply *reply, struct dns_timing *t)
{
	static struct ref_addr ref[DNS_ADDRS_MAX];	/* over 100 KiB: not on the stack */
	size_t loops = (DNS_MIN_PARSES + ms->n - 1) / ms->n, ok = 0, addrs = 0, wk = 0, ra = 0;
	double t_nfqr[REPS], t_ref[REPS], t_named[REPS];
	static char names[2][256];

	for (int r = 0; r < REPS; r++) {
		double t0 = now_s();

		ok = addrs = 0;
		for (size_t l = 0; l < loops; l++) {
			for (size_t i = 0; i < ms->n; i++) {
				if (dns_parse_reply(ms->p[i], ms->len[i], reply) == DNS_OK) {
					ok++;
					addrs += reply->n_addrs;
				}
			}
		}
		t_nfqr[r] = now_s() - t0;
		t0 = now_s();
		wk = ra = 0;
		for (size_t l = 0; l < loops; l++) {
			for (size_t i = 0; i < ms->n; i++) {
				int n = ref_parse(ms->p[i], ms->len[i], ref, DNS_ADDRS_MAX, NULL);

				wk += n >= 0;
				ra += n > 0 ? (size_t)n : 0;
			}
		}
		t_ref[r] = now_s() - t0;
		t0 = now_s();
		for (size_t l = 0; l < loops; l++)
			for (size_t i = 0; i < ms->n; i++)
				ref_parse(ms->p[i], ms->len[i], ref, DNS_ADDRS_MAX, names);
		t_named[r] = now_s() - t0;
	}
	t->ns_named = fastest(t_named, REPS) * 1e9 / (double)(loops * ms->n);
	t->ns_nfqr = fastest(t_nfqr, REPS) * 1e9 / (double)(loops * ms->n);
	t->ns_ref = fastest(t_ref, REPS) * 1e9 / (double)(loops * ms->n);
	t->ok = ok / loops;
	t->addrs = addrs / loops;
	t->walked = wk / loops;
	t->ref_addrs = ra / loops;
}

/*
 * The messages whose source in list_path (one line per message, as responses.list) does
 * (captured) or does not (fuzz corpora) start with "extracted/": replies taken from
 * packet captures rather than from parser fuzzing seeds.
 */
static size_t msgs_subset(const struct msgs *all, const char *list_path, bool captured,
			  struct msgs *sub)
{
	FILE *f = fopen(list_path, "re");
	char line[512];
	size_t i = 0;

	memset(sub, 0, sizeof(*sub));
	sub->p = malloc(all->n * sizeof(*sub->p));
	sub->len = malloc(all->n * sizeof(*sub->len));
	while (f && sub->p && sub->len && i < all->n && fgets(line, sizeof(line), f)) {
		if ((strncmp(line, "extracted/", 10) == 0) == captured) {
			sub->p[sub->n] = all->p[i];
			sub->len[sub->n++] = all->len[i];
		}
		i++;
	}
	if (f)
		fclose(f);
	return sub->n;
}

static void dns_row(const char *label, const struct msgs *ms, struct dns_reply *reply)
{
	struct dns_timing t;
	char b[2][16];

	dns_time(ms, reply, &t);
	printf("  %-22s %4zu  %8s/s %6.1f ns  %4zu OK %5zu addr  %8s/s %6.1f ns  %5zu addr  "
	       "%5.2fx   %6.1f ns %5.2fx\n", label, ms->n, human(1e9 / t.ns_nfqr, b[0], 16),
	       t.ns_nfqr, t.ok, t.addrs, human(1e9 / t.ns_ref, b[1], 16), t.ns_ref, t.ref_addrs,
	       t.ns_nfqr / t.ns_ref, t.ns_named, t.ns_nfqr / t.ns_named);
	if (strcmp(label, "all") == 0) {
		result_add(V_INFO, "(d) dns_parse_reply replies/s|%s|-", b[0]);
		result_add(V_INFO, "(d) dns_parse_reply ns/reply|%.1f ns|-", t.ns_nfqr);
		result_add(V_INFO, "(d) time vs a walk that decodes no name|%.2fx|-",
			   t.ns_nfqr / t.ns_ref);
		result_add(t.ns_nfqr / t.ns_named <= 2.0 ? V_PASS : V_MISS,
			   "(d) time vs bare one-pass parser (names as text)|%.2fx|<= 2x",
			   t.ns_nfqr / t.ns_named);
	} else {
		result_add(V_INFO, "(d)   same, %s only|%.2fx|-", label, t.ns_nfqr / t.ns_named);
	}
}

static void section_dns(void *arg)
{
	const char *path = arg;
	struct dns_reply *reply = malloc(sizeof(*reply));
	char list_path[4096];
	struct msgs ms, sub = { 0 };
	size_t bytes = 0;
	const char *dot;

	printf("(d) DNS replies: %s\n", path);
	if (!reply || msgs_load(path, &ms) < 0 || ms.n == 0) {
		printf("  cannot read the messages\n\n");
		free(reply);
		return;
	}
	for (size_t i = 0; i < ms.n; i++)
		bytes += ms.len[i];
	printf("  %zu messages, %zu bytes on average; each row at least %u parses per run, "
	       "fastest of %d runs\n", ms.n, bytes / ms.n, DNS_MIN_PARSES, REPS);
	printf("  %-22s %4s  %-40s  %-32s  %6s\n", "messages", "n", "dns_parse_reply",
	       "reference (no names)", "ratio   with names  ratio");
	dns_row("all", &ms, reply);
	/* responses.list names each message's source, in the same order */
	dot = strstr(path, ".u16be-len-prefixed.bin");
	snprintf(list_path, sizeof(list_path), "%.*s.list", dot ? (int)(dot - path) : 0, path);
	if (dot && msgs_subset(&ms, list_path, true, &sub) > 0)
		dns_row("captured (extracted/)", &sub, reply);
	free(sub.p);
	free(sub.len);
	memset(&sub, 0, sizeof(sub));
	if (dot && msgs_subset(&ms, list_path, false, &sub) > 0)
		dns_row("fuzz corpora (raw/)", &sub, reply);
	free(sub.p);
	free(sub.len);
	printf("  (dns_parse_reply also decodes names, follows CNAME/DNAME chains, reads "
	       "SVCB/HTTPS, attributes addresses)\n\n");
	free(ms.buf);
	free(ms.p);
	free(ms.len);
	free(reply);
}

/* ---- (e) learned-address table ---- */

static void am_addr(struct pkt_addr *a, int family, uint64_t i)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	if (family == AF_INET) {
		/* an odd multiplier is a bijection of 32-bit values: distinct addresses */
		uint32_t v = (uint32_t)(i * 2654435761u);

		memcpy(a->a, &v, 4);
	} else {
		uint64_t v = i * 0x9e3779b97f4a7c15ULL;

		a->a[0] = 0x20;
		a->a[1] = 0x01;
		a->a[2] = 0x0d;
		a->a[3] = 0xb8;
		memcpy(a->a + 8, &v, 8);
	}
}

struct am_case {
	int family;
	unsigned per_name;	/* addresses that share one name */
};

static void section_addrmap(void *arg)
{
	const struct am_case *ac = arg;
	int family = ac->family;
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	const uint64_t now = 1000000, expires = now + 3600 * 1000;
	char *names = malloc((size_t)AM_ENTRIES * AM_NAME_STRIDE), b[3][16];
	double t_ins, t_hit[REPS], t_miss[REPS], per;
	size_t rss0, found = 0, miss_found = 0;
	struct addrmap_entry e;
	struct addrmap *m;
	struct pkt_addr a;

	if (!names)
		exit(1);
	/* 24-character names, distinct per address (the worst case for the name pool) or
	 * shared by a few addresses as CDN answers are */
	for (size_t i = 0; i < AM_ENTRIES; i++)
		snprintf(names + i * AM_NAME_STRIDE, AM_NAME_STRIDE, "h%07zu.cdn.example.net",
			 i / ac->per_name);
	rss0 = rss_bytes();
	m = addrmap_new(AM_ENTRIES);
	if (!m)
		exit(1);
	addrmap_set_now(m, now);
	t_ins = now_s();
	for (size_t i = 0; i < AM_ENTRIES; i++) {
		am_addr(&a, family, i);
		addrmap_insert(m, &a, names + i * AM_NAME_STRIDE, 1, expires);
	}
	t_ins = now_s() - t_ins;
	per = (double)(rss_bytes() - rss0) / AM_ENTRIES;
	for (int r = 0; r < REPS; r++) {
		double t0 = now_s();

		found = 0;
		for (uint64_t i = 0; i < AM_ENTRIES; i++) {
			/* a stride coprime to the size: every entry once, in scattered order */
			am_addr(&a, family, (i * 7919) % AM_ENTRIES);
			found += addrmap_lookup(m, &a, now, &e) == 0;
		}
		t_hit[r] = now_s() - t0;
		t0 = now_s();
		miss_found = 0;
		for (uint64_t i = 0; i < AM_ENTRIES; i++) {
			am_addr(&a, family, AM_ENTRIES + i);
			miss_found += addrmap_lookup(m, &a, now, &e) == 0;
		}
		t_miss[r] = now_s() - t0;
	}
	printf("  %s, %u address%s per name: %zu entries, %zu names, %.1f B/mapping resident; "
	       "inserts %s/s, lookups: hit %s/s (%zu found), miss %s/s (%zu found)\n", fam,
	       ac->per_name, ac->per_name > 1 ? "es" : "", addrmap_count(m),
	       addrmap_name_count(m), per, human(AM_ENTRIES / t_ins, b[0], 16),
	       human(AM_ENTRIES / fastest(t_hit, REPS), b[1], 16), found,
	       human(AM_ENTRIES / fastest(t_miss, REPS), b[2], 16), miss_found);
	result_add(V_INFO, "(e) addrmap %s B/mapping, %u addr/name|%.1f B|-", fam, ac->per_name,
		   per);
	if (ac->per_name == 1) {
		result_add(V_INFO, "(e) addrmap %s inserts/s|%s|-", fam, b[0]);
		result_add(V_INFO, "(e) addrmap %s lookups/s hit / miss|%s / %s|-", fam, b[1],
			   b[2]);
	}
	addrmap_free(m);
	free(names);
}

/* ---- main ---- */

static int write_names(const struct names *nm, const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "# synthetic list written by bench/bench.c\n");
	for (size_t i = 0; i < nm->n; i++)
		fprintf(f, "%s\n", nm->v[i]);
	return fclose(f) ? -errno : 0;
}

static void print_results(void)
{
	static const char *const marks[] = { "", "PASS", "MISS" };
	int miss = 0;

	printf("Summary\n  %-46s %14s %12s  %s\n", "metric", "value", "target", "result");
	for (int i = 0; i < results->n; i++) {
		const struct result *r = &results->r[i];

		printf("  %-46s %14s %12s  %s\n", r->metric, r->value, r->target,
		       marks[r->verdict]);
		miss += r->verdict == V_MISS;
	}
	printf("%d target(s) missed\n", miss);
}

/* Other work on the machine skews every figure: say how busy it was. */
static void print_load(void)
{
	double l1;
	FILE *f = fopen("/proc/loadavg", "re");

	if (f && fscanf(f, "%lf", &l1) == 1)
		printf("load average %.2f on %ld CPUs%s\n", l1, sysconf(_SC_NPROCESSORS_ONLN),
		       l1 > 0.5 ? " (busy: figures may be low)" : "");
	if (f)
		fclose(f);
}

static void pin_one_core(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == 0)
		printf("pinned to CPU %d\n", cpu);
}

int main(int argc, char **argv)
{
	const char *data = argc > 1 ? argv[1] : getenv("NFQR_SHARED_DATA");
	const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct names rules, hits_1m, hits_100k, misses, zipf_1m;
	double *cdf;
	char list_path[4096], dns_path[4096];
	static const struct am_case am_cases[] = {
		{ AF_INET, 1 }, { AF_INET6, 1 }, { AF_INET, 4 }, { AF_INET6, 4 },
	};
	struct list_ctx lc;
	struct syn_ctx sc;

	if (!data)
		data = "../shared/data";
	results = mmap(NULL, sizeof(*results), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (results == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	printf("nfqroute benchmark: data %s\n", data);
	print_load();
	pin_one_core();
	printf("\n");

	lc = (struct list_ctx){ .data = data, .tmpdir = tmpdir };
	section_lists(&lc);

	snprintf(list_path, sizeof(list_path), "%s/nfqr-bench-1m.%d.list", tmpdir, (int)getpid());
	if (names_gen(&rules, SYN_RULES, 0x5eed, 0) < 0 ||
	    names_gen(&misses, N_QUERIES, 0xbad5eed, 1ull << 40) < 0 ||
	    !(cdf = zipf_cdf(SYN_RULES)) ||
	    queries_hits(&rules, SYN_RULES, N_QUERIES, NULL, &hits_1m) < 0 ||
	    queries_hits(&rules, SMALL_RULES, N_QUERIES, NULL, &hits_100k) < 0 ||
	    queries_hits(&rules, SYN_RULES, N_QUERIES, cdf, &zipf_1m) < 0 ||
	    write_names(&rules, list_path) < 0) {
		fprintf(stderr, "bench: cannot prepare the synthetic list in %s\n", tmpdir);
		return 1;
	}
	sc = (struct syn_ctx){ .list_path = list_path, .rules = &rules, .hits_1m = &hits_1m,
			       .hits_100k = &hits_100k, .misses = &misses, .zipf_1m = &zipf_1m };
	run_child(section_synthetic, &sc);
	unlink(list_path);
	names_free(&rules);
	names_free(&misses);
	names_free(&hits_1m);
	names_free(&hits_100k);
	names_free(&zipf_1m);
	free(cdf);

	snprintf(dns_path, sizeof(dns_path), "%s/dns/bench/responses.u16be-len-prefixed.bin",
		 data);
	run_child(section_dns, dns_path);

	printf("(e) addrmap at %u entries, fastest of %d lookup runs\n", AM_ENTRIES, REPS);
	for (size_t i = 0; i < sizeof(am_cases) / sizeof(am_cases[0]); i++)
		run_child(section_addrmap, (void *)&am_cases[i]);
	printf("\n");

	print_results();
	munmap(results, sizeof(*results));
	return 0;
}
