/*
 * Domain matcher. Full and suffix rules live in one Robin Hood hash table of 8-byte
 * slots; keyword rules in an Aho-Corasick automaton; regexp rules in a list consulted
 * only when nothing else matched, and then only those with a literal part (found by a
 * second automaton) that occurs in the name, or without any.
 *
 * The table stores no names. A slot holds a 40-bit fingerprint of its name (from a second
 * hash, independent of the one that picks the home slot), the rule kind, the route and
 * the probe sequence length. A lookup compares fingerprints only, so a hit costs one
 * cache miss (the slot) instead of two (slot, then the name for verification), and the
 * table needs no string arena: 1M rules take ~15 MB, which stays in a large L3 cache.
 * The price is that a name whose fingerprint and home equal a rule's would be taken for
 * it: with random per-matcher seeds that is ~2^-(40 + log2 table size) per comparison,
 * below one in 2^56 for 100k rules. A name whose owner could steer this could be routed
 * like a listed name by a CNAME to that name anyway, so verification would add nothing
 * against an attacker. The high half of the home hash is kept per slot in a second
 * array that only growing the table and adding rules touch.
 *
 * Labels are hashed a word at a time and the label hashes chained right to left, so one
 * walk over a queried name yields the hash of every suffix that starts at a label
 * boundary; the lookup then prefetches all their slots and probes longest first.
 *
 * Why this shape: 1M rules must fit in < 40 bytes each and load in well under a second,
 * and lookups run on the DNS path at millions per second. The table stays between ~53%
 * and 80% full (grown by 1.5x), so it costs 15-23 bytes per rule. It has PSL_MAX spare
 * slots at its end instead of wrapping around, and home positions come from a multiply
 * ("fastrange"), so its size need not be a power of two and the slot order follows the
 * hash order: growing the table is a linear pass with hardly any shifting.
 *
 * Lookups only read, so any number of threads may look up while nobody adds.
 *
 * The pieces: this file parses and normalizes rules and owns the matcher's lifecycle;
 * domain_table.c holds the hash table and the lookup; domain_kw.c the keywords, the
 * regexps and their automata. include/domain_int.h is what they share.
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "domain.h"
#include "domain_int.h"

#define LABEL_MAX 63
#define N_MIN 64

#define H_SEED_A 0xcbf29ce484222325ULL
#define H_SEED_B 0x84222325cbf29ce4ULL

/* ---- the matcher ---- */

struct domain_matcher *domain_matcher_new(void)
{
	struct domain_matcher *m = calloc(1, sizeof(*m));
	uint64_t seed[2];

	if (!m)
		return NULL;
	m->n = N_MIN;
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
		seed[0] = H_SEED_A ^ (uintptr_t)m;
		seed[1] = H_SEED_B ^ ((uintptr_t)m << 7);
	}
	m->seed_a = seed[0];
	m->seed_b = seed[1];
	if (dm_table_alloc(m->n, &m->slots, &m->homes)) {
		free(m);
		return NULL;
	}
	return m;
}

void domain_matcher_free(struct domain_matcher *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_re; i++) {
		regfree(&m->re[i].re);
		free(m->re[i].lit);
	}
	free(m->re);
	free(m->re_always);
	dm_ac_free(m->re_ac);
	dm_ac_free(m->ac);
	free(m->kw);
	free(m->kw_text);
	dm_table_free(m->slots, m->homes, m->n);
	free(m);
}

int domain_matcher_add(struct domain_matcher *m, const char *name, uint16_t route)
{
	return dm_table_add(m, name, false, route);
}

int domain_matcher_add_rule(struct domain_matcher *m, const struct domain_rule *r,
			    uint16_t route, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	switch (r->kind) {
	case DOMAIN_SUFFIX:
	case DOMAIN_FULL:
		return dm_table_add(m, r->text, r->kind == DOMAIN_FULL, route);
	case DOMAIN_KEYWORD:
		return dm_keyword_add(m, r->text, route);
	case DOMAIN_REGEXP:
		if (!r->text[0])
			return -EINVAL;
		return dm_regexp_add(m, r->text, route, err, errlen);
	case DOMAIN_KIND_COUNT:
		break;
	}
	return -EINVAL;
}
size_t domain_matcher_count(const struct domain_matcher *m)
{
	return m->count + m->n_kw + m->n_re;
}

size_t domain_matcher_count_kind(const struct domain_matcher *m, enum domain_kind kind)
{
	switch (kind) {
	case DOMAIN_SUFFIX:
		return m->count - m->n_full;
	case DOMAIN_FULL:
		return m->n_full;
	case DOMAIN_KEYWORD:
		return m->n_kw;
	case DOMAIN_REGEXP:
		return m->n_re;
	case DOMAIN_KIND_COUNT:
		break;
	}
	return 0;
}

const char *domain_kind_name(enum domain_kind kind)
{
	static const char *const names[] = { "suffix", "full", "keyword", "regexp" };

	return (unsigned)kind < DOMAIN_KIND_COUNT ? names[kind] : "?";
}

/* ---- names and rules ---- */

static inline bool domain_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int domain_normalize_why(const char *in, char *out, size_t size, const char **why)
{
	const char *dummy;
	size_t len, label = 0;

	if (!why)
		why = &dummy;
	if (in[0] == '*' && in[1] == '.')
		in += 2;
	else if (in[0] == '.')
		in++;
	len = strnlen(in, DOMAIN_MAX + 2);
	if (len && in[len - 1] == '.')
		len--;
	if (len == 0) {
		*why = "empty name";
		return -EINVAL;
	}
	if (len > DOMAIN_MAX) {
		*why = "name longer than 253 bytes";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (!label) {
				*why = "empty label";
				return -EINVAL;
			}
			label = 0;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (!domain_char_ok(c)) {
			*why = c == ' ' || c == '\t' ? "contains whitespace" : "invalid character";
			return -EINVAL;
		}
		if (++label > LABEL_MAX) {
			*why = "label longer than 63 bytes";
			return -EINVAL;
		}
	}
	if (!label) {
		*why = "empty label";
		return -EINVAL;
	}
	if (size < len + 1) {
		*why = "output buffer too small";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[len] = '\0';
	*why = NULL;
	return 0;
}

int domain_normalize(const char *in, char *out, size_t size)
{
	return domain_normalize_why(in, out, size, NULL);
}

static int dm_keyword_normalize(const char *in, char *out, const char **why)
{
	size_t len = strnlen(in, DOMAIN_MAX + 1);

	if (len == 0) {
		*why = "empty keyword";
		return -EINVAL;
	}
	if (len > DOMAIN_MAX) {
		*why = "keyword longer than 253 bytes";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)in[i]);

		if (!domain_char_ok(c) && c != '.') {
			*why = c == ' ' || c == '\t' ? "contains whitespace" : "invalid character";
			return -EINVAL;
		}
		out[i] = (char)c;
	}
	out[len] = '\0';
	return 0;
}

int domain_rule_parse(const char *in, struct domain_rule *out, const char **why)
{
	static const struct {
		const char *prefix;
		enum domain_kind kind;
	} pfx[] = {
		{ "domain:", DOMAIN_SUFFIX }, { "full:", DOMAIN_FULL },
		{ "keyword:", DOMAIN_KEYWORD }, { "regexp:", DOMAIN_REGEXP },
	};
	const char *dummy, *text = in;
	size_t len;

	if (!why)
		why = &dummy;
	*why = NULL;
	out->kind = DOMAIN_SUFFIX;
	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++) {
		len = strlen(pfx[i].prefix);
		if (!strncmp(in, pfx[i].prefix, len)) {
			out->kind = pfx[i].kind;
			text = in + len;
			break;
		}
	}
	if (text == in) {
		len = strspn(in, "abcdefghijklmnopqrstuvwxyz");
		if (len && in[len] == ':') {
			*why = "unknown rule type (use domain:, full:, keyword: or regexp:)";
			return -EINVAL;
		}
	}
	switch (out->kind) {
	case DOMAIN_FULL:
		if (text[0] == '*' || text[0] == '.') {
			*why = "full: takes an exact name";
			return -EINVAL;
		}
		/* fall through */
	case DOMAIN_SUFFIX:
		return domain_normalize_why(text, out->text, sizeof(out->text), why);
	case DOMAIN_KEYWORD:
		return dm_keyword_normalize(text, out->text, why);
	case DOMAIN_REGEXP:
		len = strlen(text);
		if (!len) {
			*why = "empty regexp";
			return -EINVAL;
		}
		if (len >= sizeof(out->text)) {
			*why = "regexp longer than 1023 bytes";
			return -EINVAL;
		}
		memcpy(out->text, text, len + 1);
		return 0;
	case DOMAIN_KIND_COUNT:
		break;
	}
	return -EINVAL;
}
