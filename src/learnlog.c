#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "learnlog.h"

struct learnlog {
	size_t n, next;
	bool wrapped;
	struct learnlog_entry e[];
};

struct learnlog *learnlog_new(size_t n)
{
	struct learnlog *l;

	if (n == 0)
		return NULL;
	l = calloc(1, sizeof(*l) + n * sizeof(l->e[0]));
	if (l)
		l->n = n;
	return l;
}

void learnlog_free(struct learnlog *l)
{
	free(l);
}

void learnlog_add(struct learnlog *l, const struct pkt_addr *addr, const struct pkt_addr *from,
		  time_t when)
{
	struct learnlog_entry *e = &l->e[l->next];

	e->addr = *addr;
	if (from)
		e->from = *from;
	else
		memset(&e->from, 0, sizeof(e->from));
	e->when = when;
	if (++l->next == l->n) {
		l->next = 0;
		l->wrapped = true;
	}
}

static bool addr_eq(const struct pkt_addr *a, const struct pkt_addr *b)
{
	return a->family == b->family && !memcmp(a->a, b->a, a->family == AF_INET ? 4 : 16);
}

int learnlog_find(const struct learnlog *l, const struct pkt_addr *addr,
		  struct learnlog_entry *out)
{
	size_t count = l->wrapped ? l->n : l->next;

	/* newest first: walk back from the slot written last */
	for (size_t k = 1; k <= count; k++) {
		const struct learnlog_entry *e = &l->e[(l->next + l->n - k) % l->n];

		if (addr_eq(&e->addr, addr)) {
			*out = *e;
			return 0;
		}
	}
	return -ENOENT;
}
