/*
 * Keyword and regexp rules of the domain matcher: the keywords and the literals of the
 * regexps each in an Aho-Corasick automaton, built by domain_matcher_finish, and the
 * regexp compiler with its RE2 translation and cost guard. See the note atop domain.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem */
#endif
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "domain_int.h"

#define DM_CANDIDATES 64	/* regexps whose literal occurs, per lookup */
#define DM_RE_COST_MAX 4096	/* nodes of a compiled regexp: a few ms of regcomp */

/* A string an automaton looks for, and what finding it means. */
struct dm_pattern {
	const char *s;
	uint32_t len;
	uint32_t id;		/* ascending along the array */
};

/*
 * Aho-Corasick automaton, in compressed rows: state s has the edges start[s] ..
 * start[s + 1] - 1 (sorted by byte), the root a full row. best[s] is the lowest id that
 * ends at s or at a state on its failure chain (what keywords need); ids[] lists the ids
 * ending exactly at s and dict[s] is the next state on the failure chain that has any (what
 * regexp literals need: every regexp whose literal occurs).
 */
struct dm_ac {
	uint32_t n;
	uint32_t root[256];
	uint32_t *start;
	uint8_t *ch;
	uint32_t *to;
	uint32_t *fail;
	uint32_t *best;
	uint32_t *dict;
	uint32_t *ids_start;
	uint32_t *ids;
};

/* ---- keywords ---- */

static int dm_grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap;
	void *p;

	if (need <= c)
		return 0;
	while (c < need)
		c = c ? c + c / 2 + 8 : 16;
	if (c > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*arr, c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

void dm_ac_free(struct dm_ac *ac)
{
	if (!ac)
		return;
	free(ac->start);
	free(ac->ch);
	free(ac->to);
	free(ac->fail);
	free(ac->best);
	free(ac->dict);
	free(ac->ids_start);
	free(ac->ids);
	free(ac);
}

int dm_keyword_add(struct domain_matcher *m, const char *word, uint16_t route)
{
	size_t len = strlen(word);

	if (len == 0 || len > DOMAIN_MAX)
		return -EINVAL;
	if (m->kw_len + len > UINT32_MAX ||
	    dm_grow((void **)&m->kw, &m->kw_cap, m->n_kw + 1, sizeof(*m->kw)) ||
	    dm_grow((void **)&m->kw_text, &m->kw_cap_text, m->kw_len + len, 1))
		return -ENOMEM;
	memcpy(m->kw_text + m->kw_len, word, len);
	m->kw[m->n_kw++] = (struct dm_keyword){ (uint32_t)m->kw_len, (uint16_t)len, route };
	m->kw_len += len;
	dm_ac_free(m->ac);
	m->ac = NULL;
	return 0;
}

/* The trie while it is built: children as sorted sibling lists, ids as linked lists. */
struct dm_trie {
	uint32_t *child, *sib, *head;
	uint8_t *ch;
	uint32_t n;
	uint32_t *next;		/* per pattern: the next pattern ending at the same node */
};

static uint32_t dm_trie_child(const struct dm_trie *t, uint32_t s, uint8_t c)
{
	for (uint32_t x = t->child[s]; x; x = t->sib[x]) {
		if (t->ch[x] == c)
			return x;
		if (t->ch[x] > c)
			break;
	}
	return 0;
}

static void dm_trie_insert(struct dm_trie *t, const struct dm_pattern *p, uint32_t k)
{
	uint32_t s = 0;

	for (size_t i = 0; i < p->len; i++) {
		uint8_t c = (uint8_t)p->s[i];
		uint32_t *link = &t->child[s], x;

		while (*link && t->ch[*link] < c)
			link = &t->sib[*link];
		if (*link && t->ch[*link] == c) {
			s = *link;
			continue;
		}
		x = t->n++;
		t->ch[x] = c;
		t->child[x] = 0;
		t->head[x] = AC_NONE;
		t->sib[x] = *link;
		*link = x;
		s = x;
	}
	t->next[k] = t->head[s];	/* newest first: reversed when the rows are written */
	t->head[s] = k;
}

/* Breadth-first order and failure links, then the compressed rows and the outputs. */
static int dm_ac_build(const struct dm_trie *t, const struct dm_pattern *pats, size_t n_pats,
		       struct dm_ac *ac)
{
	uint32_t *order = malloc(t->n * sizeof(*order)), *id = malloc(t->n * sizeof(*id));
	uint32_t *fail = calloc(t->n, sizeof(*fail)), head = 0, tail = 1, edges = 0, outs = 0;
	int rc = -ENOMEM;

	ac->start = calloc((size_t)t->n + 1, sizeof(*ac->start));
	ac->ch = malloc(t->n);
	ac->to = malloc(t->n * sizeof(*ac->to));
	ac->fail = malloc(t->n * sizeof(*ac->fail));
	ac->best = malloc(t->n * sizeof(*ac->best));
	ac->dict = malloc(t->n * sizeof(*ac->dict));
	ac->ids_start = malloc(((size_t)t->n + 1) * sizeof(*ac->ids_start));
	ac->ids = malloc((n_pats + 1) * sizeof(*ac->ids));
	if (!order || !id || !fail || !ac->start || !ac->ch || !ac->to || !ac->fail ||
	    !ac->best || !ac->dict || !ac->ids_start || !ac->ids)
		goto out;
	ac->n = t->n;
	order[0] = 0;
	id[0] = 0;
	while (head < tail) {
		uint32_t s = order[head++];

		for (uint32_t x = t->child[s]; x; x = t->sib[x]) {
			uint32_t f = fail[s], u = 0;

			if (s) {
				while (f && !dm_trie_child(t, f, t->ch[x]))
					f = fail[f];
				u = dm_trie_child(t, f, t->ch[x]);
			}
			fail[x] = u;
			id[x] = tail;
			order[tail++] = x;
		}
	}
	for (uint32_t k = 0; k < t->n; k++) {
		uint32_t s = order[k], f = id[fail[s]], b = AC_NONE, n = 0;

		ac->ids_start[k] = outs;
		for (uint32_t e = t->head[s]; e != AC_NONE; e = t->next[e])
			n++;
		outs += n;
		for (uint32_t e = t->head[s]; e != AC_NONE; e = t->next[e]) {
			ac->ids[--n + ac->ids_start[k]] = pats[e].id;
			b = pats[e].id;		/* the last one seen is the lowest */
		}
		/* fail[s] is shallower, so it was numbered and finished before s */
		if (k && ac->best[f] < b)
			b = ac->best[f];
		ac->best[k] = b;
		ac->fail[k] = f;
		/* ids_start[f + 1] is known: f + 1 <= k */
		ac->dict[k] = !k ? 0 : ac->ids_start[f + 1] > ac->ids_start[f] ? f : ac->dict[f];
		ac->start[k] = edges;
		for (uint32_t x = t->child[s]; x; x = t->sib[x]) {
			ac->ch[edges] = t->ch[x];
			ac->to[edges++] = id[x];
		}
	}
	ac->start[t->n] = edges;
	ac->ids_start[t->n] = outs;
	memset(ac->root, 0, sizeof(ac->root));
	for (uint32_t e = ac->start[0]; e < ac->start[1]; e++)
		ac->root[ac->ch[e]] = ac->to[e];
	rc = 0;
out:
	free(order);
	free(id);
	free(fail);
	return rc;
}

static int dm_ac_new(const struct dm_pattern *pats, size_t n_pats, size_t total,
		     struct dm_ac **out)
{
	size_t nodes = total + 1;
	struct dm_trie t = { .n = 1 };
	struct dm_ac *ac = calloc(1, sizeof(*ac));
	int rc = -ENOMEM;

	*out = NULL;
	if (nodes > UINT32_MAX || n_pats >= UINT32_MAX || !ac)
		goto out;
	t.child = malloc(nodes * sizeof(*t.child));
	t.sib = malloc(nodes * sizeof(*t.sib));
	t.head = malloc(nodes * sizeof(*t.head));
	t.ch = malloc(nodes);
	t.next = malloc((n_pats + 1) * sizeof(*t.next));
	if (!t.child || !t.sib || !t.head || !t.ch || !t.next)
		goto out;
	t.child[0] = t.sib[0] = 0;
	t.head[0] = AC_NONE;
	t.ch[0] = 0;
	for (size_t i = 0; i < n_pats; i++)
		dm_trie_insert(&t, &pats[i], (uint32_t)i);
	rc = dm_ac_build(&t, pats, n_pats, ac);
	if (rc == 0) {
		*out = ac;
		ac = NULL;
	}
out:
	free(t.child);
	free(t.sib);
	free(t.head);
	free(t.ch);
	free(t.next);
	dm_ac_free(ac);
	return rc;
}

static uint32_t dm_ac_next(const struct dm_ac *ac, uint32_t s, uint8_t c)
{
	for (;;) {
		if (!s)
			return ac->root[c];
		for (uint32_t e = ac->start[s]; e < ac->start[s + 1]; e++)
			if (ac->ch[e] == c)
				return ac->to[e];
		s = ac->fail[s];
	}
}

static int dm_keyword_ac(const struct domain_matcher *m, struct dm_ac **out)
{
	struct dm_pattern *pats = malloc((m->n_kw + 1) * sizeof(*pats));
	int rc;

	if (!pats)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_kw; i++)
		pats[i] = (struct dm_pattern){ m->kw_text + m->kw[i].off, m->kw[i].len,
					       (uint32_t)i };
	rc = dm_ac_new(pats, m->n_kw, m->kw_len, out);
	free(pats);
	return rc;
}

/* Index of the first keyword (in add order) that name contains, or AC_NONE. */
uint32_t dm_keyword_find(const struct domain_matcher *m, const char *name, size_t len)
{
	uint32_t best = AC_NONE, s = 0;

	if (!m->ac) {
		for (size_t i = 0; i < m->n_kw; i++)
			if (memmem(name, len, m->kw_text + m->kw[i].off, m->kw[i].len))
				return (uint32_t)i;
		return AC_NONE;
	}
	for (size_t i = 0; i < len && best; i++) {
		s = dm_ac_next(m->ac, s, (uint8_t)name[i]);
		if (m->ac->best[s] < best)
			best = m->ac->best[s];
	}
	return best;
}

/* ---- regexps ---- */

/*
 * Rewrites the Perl classes of RE2 (v2ray's syntax) that POSIX lacks or glibc only knows
 * outside brackets; everything else is kept. Sets *backref when re uses a back-reference
 * (\1-\9): names never need one and they make glibc's regexec backtrack. Returns a new
 * string or NULL.
 */
static char *dm_re_translate(const char *re, bool *backref)
{
	static const char *const outside[] = { ['d'] = "[0-9]", ['D'] = "[^0-9]",
		['w'] = "[[:alnum:]_]", ['W'] = "[^[:alnum:]_]", ['s'] = "[[:space:]]",
		['S'] = "[^[:space:]]" };
	static const char *const inside[] = { ['d'] = "0-9", ['w'] = "[:alnum:]_",
		['s'] = "[:space:]" };
	size_t len = strlen(re), o = 0;
	char *out = malloc(len * 7 + 1);	/* "\W" (2 bytes) grows the most, to 13 */
	bool br = false, quant = false, ivl = false;

	*backref = false;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)re[i], d = (unsigned char)re[i + 1];
		const char *rep = NULL;

		if (!br && c == '?' && quant) {
			quant = false;	/* RE2's lazy "+?" accepts the same names as "+" */
			continue;
		}
		quant = false;
		if (!br && c == '[') {
			br = true;
			out[o++] = re[i];
			/* "[]" and "[^]" start with a literal ']' */
			if (re[i + 1] == '^')
				out[o++] = re[++i];
			if (re[i + 1] == ']')
				out[o++] = re[++i];
			continue;
		}
		if (br && c == '[' && (d == ':' || d == '.' || d == '=')) {
			const char *end = strchr(re + i + 2, d);

			while (end && end[1] != ']')
				end = strchr(end + 1, d);
			if (end) {
				size_t n = (size_t)(end + 2 - (re + i));

				memcpy(out + o, re + i, n);
				o += n;
				i += n - 1;
				continue;
			}
		}
		if (br && c == ']') {
			br = false;
		} else if (c == '\\' && d < 128) {
			rep = br ? (d < sizeof(inside) / sizeof(inside[0]) ? inside[d] : NULL)
				 : (d < sizeof(outside) / sizeof(outside[0]) ? outside[d] : NULL);
			if (!br && !rep && d) {
				*backref |= d >= '1' && d <= '9';
				/* keep any other escape pair together */
				out[o++] = re[i++];
				out[o++] = re[i];
				continue;
			}
			if (br && !rep && ispunct(d) && !strchr("]-^\\", d)) {
				/* "[\.]" means '.' to RE2, but '\' or '.' to POSIX */
				out[o++] = re[++i];
				continue;
			}
		}
		if (rep) {
			memcpy(out + o, rep, strlen(rep));
			o += strlen(rep);
			i++;
			continue;
		}
		if (!br) {
			ivl |= c == '{';
			quant = c == '*' || c == '+' || c == '?' || (c == '}' && ivl);
			ivl &= c != '}';
		}
		out[o++] = re[i];
	}
	out[o] = '\0';
	return out;
}

/* Past a bracket expression that starts at p ('['), or NULL if it does not end. */
static const char *dm_re_skip_bracket(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	for (; *p; p++) {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			char d = p[1];

			for (p += 2; *p && !(p[0] == d && p[1] == ']'); p++)
				;
			if (!*p)
				return NULL;
			p++;
		} else if (*p == ']') {
			return p + 1;
		}
	}
	return NULL;
}

/* Past a group that starts at p ('('), or NULL if it does not end. */
static const char *dm_re_skip_group(const char *p)
{
	unsigned depth = 0;

	while (*p) {
		if (*p == '\\') {
			if (!p[1])
				return NULL;
			p += 2;
		} else if (*p == '[') {
			p = dm_re_skip_bracket(p);
			if (!p)
				return NULL;
		} else {
			if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0)
				return p + 1;
			p++;
		}
	}
	return NULL;
}

static bool dm_re_top_alternation(const char *p)
{
	while (*p) {
		if (*p == '|')
			return true;
		if (*p == '\\' && p[1])
			p += 2;
		else if (*p == '[' || *p == '(')
			p = *p == '[' ? dm_re_skip_bracket(p) : dm_re_skip_group(p);
		else
			p++;
		if (!p)
			return true;	/* cannot tell: claim nothing */
	}
	return false;
}

/* Reads a repetition operator at *pp: true, *pp past it and its copy count in *mult. */
static bool dm_re_quant(const char **pp, size_t *mult)
{
	const char *p = *pp;
	size_t lo = 0, hi;

	if (*p == '*' || *p == '?' || *p == '+') {
		*mult = *p == '+' ? 2 : 1;	/* glibc builds X+ as XX* */
		*pp = p + 1;
		return true;
	}
	if (*p != '{' || !(isdigit((unsigned char)p[1]) || p[1] == ','))
		return false;
	for (p++; isdigit((unsigned char)*p); p++)
		lo = lo > DM_RE_COST_MAX ? lo : lo * 10 + (size_t)(*p - '0');
	hi = lo;
	if (*p == ',') {
		hi = lo + 1;			/* X{m,} is m copies and a star */
		if (isdigit((unsigned char)p[1]))
			for (hi = 0, p++; isdigit((unsigned char)*p); p++)
				hi = hi > DM_RE_COST_MAX ? hi : hi * 10 + (size_t)(*p - '0');
		else
			p++;
	}
	if (*p != '}')
		return false;
	*mult = hi > lo ? hi : lo ? lo : 1;
	*pp = p + 1;
	return true;
}

static size_t dm_sat(size_t a, size_t b, bool mul)
{
	if (mul)
		return b && a > DM_RE_COST_MAX / b ? DM_RE_COST_MAX + 1 : a * b;
	return a + b > DM_RE_COST_MAX ? DM_RE_COST_MAX + 1 : a + b;
}

/*
 * The size of the tree glibc's regcomp builds for a sequence up to ')' or the end: it
 * copies the operand of every repetition, so nested repetitions multiply, and "((a+)+)+"
 * 30 deep takes minutes and gigabytes. Sets *stacked for a repetition of a repetition
 * ("a**"), which RE2 refuses too.
 */
static size_t dm_re_cost(const char **pp, unsigned depth, bool *stacked)
{
	const char *p = *pp;
	size_t total = 0;

	while (*p && *p != ')') {
		size_t atom = 1, mult;

		if (*p == '|') {
			p++;
			continue;
		}
		if (*p == '(') {
			p++;
			if (depth >= DOMAIN_RULE_MAX) {
				*pp = p + strlen(p);
				return DM_RE_COST_MAX + 1;
			}
			atom = dm_sat(1, dm_re_cost(&p, depth + 1, stacked), false);
			if (*p == ')')
				p++;
		} else if (*p == '[') {
			const char *e = dm_re_skip_bracket(p);

			p = e ? e : p + strlen(p);
		} else {
			p += *p == '\\' && p[1] ? 2 : 1;
		}
		for (bool first = true; dm_re_quant(&p, &mult); first = false) {
			*stacked |= !first;
			atom = dm_sat(atom, mult, true);
		}
		total = dm_sat(total, atom, false);
	}
	*pp = p;
	return total;
}

/*
 * Finds the longest run of literal characters that every match must contain, so lookups
 * can skip regexec when it is absent. Conservative: anything it does not understand ends
 * the run, and a doubt about the structure gives no literal at all. re has compiled.
 */
static size_t dm_re_literal(const char *re, char *best, size_t size)
{
	size_t run = 0, n = 0;
	char cur[DOMAIN_RULE_MAX];
	bool lit = false;	/* the previous atom is the last byte of cur */
	const char *p = re;

	if (strlen(re) >= sizeof(cur) || dm_re_top_alternation(re))
		return 0;
#define FLUSH() do { if (run > n && run < size) { memcpy(best, cur, run); n = run; } \
		     run = 0; lit = false; } while (0)
	while (*p) {
		unsigned char c = (unsigned char)*p;

		if (c == '*' || c == '?' || c == '+' || c == '{') {
			bool optional = c != '+';

			if (c == '{') {
				const char *e = strchr(p, '}');

				if (!e)
					return 0;
				optional = !(p[1] >= '1' && p[1] <= '9');
				p = e + 1;
			} else {
				p++;
			}
			if (lit && optional)
				run--;
			FLUSH();
			continue;
		}
		if (c == '\\' && p[1] && !isalnum((unsigned char)p[1]) && !strchr("<>`'", p[1])) {
			cur[run++] = (char)tolower((unsigned char)p[1]);
			lit = true;
			p += 2;
			continue;
		}
		if (c == '\\' || c == '(' || c == '[' || c == '.' || c == '^' || c == '$' ||
		    c == ')' || c == '|') {
			FLUSH();
			if (c == '\\')
				p = p[1] ? p + 2 : p + 1;
			else if (c == '(' || c == '[')
				p = c == '(' ? dm_re_skip_group(p) : dm_re_skip_bracket(p);
			else
				p++;
			if (!p)
				return 0;
			continue;
		}
		cur[run++] = (char)tolower(c);
		lit = true;
		p++;
	}
	FLUSH();
#undef FLUSH
	best[n] = '\0';
	return n;
}

/* Compiles a regexp rule; *tr (if not NULL) receives the translated source to free. */
static int dm_re_compile(const char *src, regex_t *re, char **tr, char *err, size_t errlen)
{
	bool backref, stacked = false;
	size_t cost = 0;
	char *t = dm_re_translate(src, &backref);
	int rc;

	if (!t)
		return -ENOMEM;
	if (backref) {
		free(t);
		snprintf(err, errlen, "back-references are not supported");
		return -EINVAL;
	}
	for (const char *p = t; *p; p += *p == ')')	/* a stray ')' is an ordinary byte */
		cost = dm_sat(cost, dm_re_cost(&p, 0, &stacked), false);
	if (stacked || cost > DM_RE_COST_MAX) {
		free(t);
		snprintf(err, errlen, stacked ? "repetition of a repetition (as in \"a**\")" :
			 "too complex: its repetitions expand beyond %d nodes", DM_RE_COST_MAX);
		return -EINVAL;
	}
	rc = regcomp(re, t, REG_EXTENDED | REG_NOSUB | REG_ICASE);
	if (rc == 0 && tr)
		*tr = t;
	else
		free(t);
	if (rc == 0)
		return 0;
	if (rc == REG_ESPACE) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (errlen)
		regerror(rc, re, err, errlen);
	return -EINVAL;
}

int domain_regexp_check(const char *re, char *err, size_t errlen)
{
	regex_t r;
	int rc = dm_re_compile(re, &r, NULL, err, errlen);

	if (rc == 0)
		regfree(&r);
	return rc;
}

int dm_regexp_add(struct domain_matcher *m, const char *src, uint16_t route, char *err,
			 size_t errlen)
{
	struct dm_regexp *r;
	char lit[DOMAIN_RULE_MAX], *tr;
	int rc;

	if (dm_grow((void **)&m->re, &m->re_cap, m->n_re + 1, sizeof(*m->re)))
		return -ENOMEM;
	r = &m->re[m->n_re];
	memset(r, 0, sizeof(*r));
	rc = dm_re_compile(src, &r->re, &tr, err, errlen);
	if (rc)
		return rc;
	r->lit_len = (uint16_t)dm_re_literal(tr, lit, sizeof(lit));
	free(tr);
	if (r->lit_len) {
		r->lit = strdup(lit);
		if (!r->lit) {
			regfree(&r->re);
			return -ENOMEM;
		}
	}
	if (!r->lit_len) {
		if (dm_grow((void **)&m->re_always, &m->always_cap, m->n_always + 1,
			    sizeof(*m->re_always))) {
			regfree(&r->re);
			return -ENOMEM;
		}
		m->re_always[m->n_always++] = (uint32_t)m->n_re;
	}
	r->route = route;
	m->n_re++;
	dm_ac_free(m->re_ac);
	m->re_ac = NULL;
	return 0;
}

static int dm_regexp_ac(const struct domain_matcher *m, struct dm_ac **out)
{
	struct dm_pattern *pats = malloc((m->n_re + 1) * sizeof(*pats));
	size_t n = 0, total = 0;
	int rc;

	if (!pats)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_re; i++) {
		if (!m->re[i].lit_len)
			continue;
		pats[n++] = (struct dm_pattern){ m->re[i].lit, m->re[i].lit_len, (uint32_t)i };
		total += m->re[i].lit_len;
	}
	rc = dm_ac_new(pats, n, total, out);
	free(pats);
	return rc;
}

static uint32_t dm_regexp_scan(const struct domain_matcher *m, const char *name, size_t len)
{
	for (size_t i = 0; i < m->n_re; i++) {
		const struct dm_regexp *r = &m->re[i];

		if (r->lit_len && !memmem(name, len, r->lit, r->lit_len))
			continue;
		if (regexec(&r->re, name, 0, NULL, 0) == 0)
			return (uint32_t)i;
	}
	return AC_NONE;
}

/*
 * Index of the first regexp that matches name, or AC_NONE. One pass of the literal
 * automaton collects the regexps whose literal occurs; only they and those without a
 * literal run, in order. Too many candidates (a list of near-identical regexps) fall
 * back to checking the literals one by one.
 */
uint32_t dm_regexp_find(const struct domain_matcher *m, const char *name, size_t len)
{
	uint32_t cand[DM_CANDIDATES], s = 0;
	size_t nc = 0, i = 0, j = 0;

	if (!m->re_ac)
		return dm_regexp_scan(m, name, len);
	for (size_t p = 0; p < len; p++) {
		const struct dm_ac *ac = m->re_ac;

		s = dm_ac_next(ac, s, (uint8_t)name[p]);
		for (uint32_t t = ac->ids_start[s + 1] > ac->ids_start[s] ? s : ac->dict[s]; t;
		     t = ac->dict[t]) {
			for (uint32_t e = ac->ids_start[t]; e < ac->ids_start[t + 1]; e++) {
				if (nc == DM_CANDIDATES)
					return dm_regexp_scan(m, name, len);
				cand[nc++] = ac->ids[e];
			}
		}
	}
	for (size_t a = 1; a < nc; a++)		/* insertion sort: few and nearly sorted */
		for (size_t b = a; b > 0 && cand[b - 1] > cand[b]; b--) {
			uint32_t x = cand[b];

			cand[b] = cand[b - 1];
			cand[b - 1] = x;
		}
	while (i < nc || j < m->n_always) {
		uint32_t k = j == m->n_always || (i < nc && cand[i] < m->re_always[j]) ?
			     cand[i++] : m->re_always[j++];

		while (i < nc && cand[i] == k)	/* a literal found twice */
			i++;
		if (regexec(&m->re[k].re, name, 0, NULL, 0) == 0)
			return k;
	}
	return AC_NONE;
}

/* ---- building the automata ---- */

int domain_matcher_finish(struct domain_matcher *m)
{
	int rc = 0;

	if (!m->ac && m->n_kw)
		rc = dm_keyword_ac(m, &m->ac);
	if (!rc && !m->re_ac && m->n_re > m->n_always)
		rc = dm_regexp_ac(m, &m->re_ac);
	return rc;
}
