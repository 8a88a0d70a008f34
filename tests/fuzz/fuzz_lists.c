/*
 * libFuzzer target for the domain list parsers (src/dlist.c) and the matcher they fill
 * (src/domain.c). Input: when the first byte is below 0x08 it picks the format (0 = auto,
 * then plain, dnsmasq, gfwlist, hosts, v2fly, auto) and the rest is the list; otherwise the
 * whole input is a list of detected format, so real lists (tests/data/lists) are seeds as
 * they are. v2fly includes are not followed (no directory): the target never touches the
 * filesystem.
 *
 * Besides memory errors it checks invariants and aborts when one breaks: every loaded rule
 * has a kind and every skipped entry a reason, and lookups give the same answer before and
 * after domain_matcher_finish (keyword automaton versus one-by-one search).
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/fuzz_lists.c
 *        src/dlist.c src/domain.c
 * Without libFuzzer, -DFUZZ_STANDALONE adds a main() that runs each file given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"
#include "domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_stats(const struct dlist_stats *st)
{
	size_t sum = st->other;

	for (size_t i = 0; i < st->n_reasons; i++)
		sum += st->reasons[i].count;
	if (sum != st->skipped || st->n_samples > DLIST_SAMPLES || st->n_reasons > DLIST_REASONS)
		abort();
	sum = 0;
	for (int k = 0; k < DOMAIN_KIND_COUNT; k++)
		sum += st->kinds[k];
	if (sum != st->loaded || st->direct > st->loaded)
		abort();
	if (st->format == DLIST_AUTO || st->format >= DLIST_FORMAT_COUNT)
		abort();
}

/* Query names: fixed ones, and slices of the input (which is where the rules came from). */
static size_t fuzz_names(const uint8_t *data, size_t size, char names[][300], size_t max)
{
	static const char *const fixed[] = {
		"example.com", "www.google.com", "a.b.c.d.e.f.g", "", ".", "x..y", "cdn1.j.com",
	};
	size_t n = 0;

	for (; n < sizeof(fixed) / sizeof(fixed[0]) && n < max; n++)
		strcpy(names[n], fixed[n]);
	for (size_t off = 0; off < size && n < max; off += 1 + size / 8) {
		size_t len = size - off < 299 ? size - off : 299, k = 0;

		/* up to the end of the line, lowercased and without NUL, like a DNS name */
		for (; k < len && data[off + k] != '\n' && data[off + k] != '\0'; k++) {
			uint8_t c = data[off + k];

			names[n][k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		names[n++][k] = '\0';
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dlist_format formats[8] = {
		DLIST_AUTO, DLIST_PLAIN, DLIST_DNSMASQ, DLIST_GFWLIST, DLIST_HOSTS, DLIST_V2FLY,
		DLIST_AUTO, DLIST_AUTO,
	};
	enum dlist_format f = DLIST_AUTO;
	struct domain_matcher *m;
	struct dlist_stats st;
	char err[256], names[24][300];
	int before[24];
	size_t lens[24], n;

	if (size && data[0] < 8) {
		f = formats[data[0]];
		data++;
		size--;
	}
	if (dlist_detect((const char *)data, size) == DLIST_AUTO)
		abort();
	m = domain_matcher_new();
	if (!m)
		return 0;
	if (dlist_load_mem((const char *)data, size, "fuzz", NULL, f, m, 1, &st, err,
			   sizeof(err)) == 0) {
		fuzz_check_stats(&st);
		n = fuzz_names(data, size, names, 24);
		for (size_t i = 0; i < n; i++)
			before[i] = domain_matcher_lookup(m, names[i], &lens[i]);
		if (domain_matcher_finish(m) == 0) {
			for (size_t i = 0; i < n; i++) {
				size_t len;
				int r = domain_matcher_lookup(m, names[i], &len);

				if (r != before[i] || (r >= 0 && len != lens[i]))
					abort();
			}
		}
	}
	domain_matcher_free(m);
	return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		uint8_t *buf;
		long len;

		if (!fp || fseek(fp, 0, SEEK_END) || (len = ftell(fp)) < 0) {
			perror(argv[i]);
			return 1;
		}
		rewind(fp);
		buf = malloc((size_t)len + 1);
		if (!buf || fread(buf, 1, (size_t)len, fp) != (size_t)len) {
			perror(argv[i]);
			return 1;
		}
		fclose(fp);
		for (uint8_t sel = 0; sel < 8; sel++) {
			uint8_t *in = malloc((size_t)len + 1);

			if (!in)
				return 1;
			in[0] = sel;
			memcpy(in + 1, buf, (size_t)len);
			LLVMFuzzerTestOneInput(in, (size_t)len + 1);
			free(in);
		}
		LLVMFuzzerTestOneInput(buf, (size_t)len);
		free(buf);
	}
	return 0;
}
#endif
