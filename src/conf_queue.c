/*
 * The kernel queues of [global]: which queues new connections fan out over (queue = N-M),
 * where DNS replies go (dns-queue), and the per-queue settings. DNS replies never share a
 * queue with several new-connection queues: one thread learns, so a reply and the
 * connection it announces are never raced by two threads.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

/* "N" or "N-M" */
int conf_key_queue(struct conf_parser *p, const struct conf_key *k, char *val)
{
	struct conf *c = p->c;
	char *dash = strchr(val, '-');
	uint64_t lo, hi;
	int bad;

	if (dash == val)
		dash = NULL;	/* "-1": a sign, reported as not a number */
	if (dash)
		*dash = '\0';
	bad = conf_num(val, &lo) < 0 || (dash && conf_num(dash + 1, &hi) < 0);
	if (dash)
		*dash = '-';
	if (bad)
		return conf_err(p, p->line, "%s %s is not a queue number or a range FIRST-LAST",
				k->name, conf_q(p, val));
	if (!dash)
		hi = lo;
	if (lo > UINT16_MAX || hi > UINT16_MAX)
		return conf_err(p, p->line, "%s %s is out of range (0-65535)",
				k->name, conf_q(p, val));
	if (hi < lo)
		return conf_err(p, p->line, "%s %s is invalid (the last queue is below the first)",
				k->name, conf_q(p, val));
	if (hi - lo + 1 > CONF_QUEUES_MAX)
		return conf_err(p, p->line, "%s %s spans %" PRIu64 " queues (at most %d)", k->name,
				conf_q(p, val), hi - lo + 1, CONF_QUEUES_MAX);
	c->queue = (uint16_t)lo;
	c->queue_count = (uint16_t)(hi - lo + 1);
	return 0;
}

/* Stored as read; conf_check_queues decides what it means once queue = is known. */
int conf_key_dns_queue(struct conf_parser *p, const struct conf_key *k, char *val)
{
	uint32_t v;
	int ret = conf_range(p, k, val, &v);

	if (ret == 0)
		p->c->dns_queue = (int32_t)v;
	return ret;
}

int conf_key_fanout(struct conf_parser *p, const struct conf_key *k, char *val)
{
	if (!strcmp(val, "hash"))
		p->c->fanout_cpu = false;
	else if (!strcmp(val, "cpu"))
		p->c->fanout_cpu = true;
	else
		return conf_err(p, p->line, "%s %s is invalid (use hash or cpu)",
				k->name, conf_q(p, val));
	return 0;
}

/* A byte count in the largest unit that divides it: 65536 -> "64K", 1000 -> "1000". */
static void conf_size_text(uint64_t v, char *buf, size_t size)
{
	static const char units[] = "GMK";

	for (int i = 0; i < 3; i++) {
		unsigned shift = 10u * (unsigned)(3 - i);

		if (v && !(v & ((1ull << shift) - 1))) {
			snprintf(buf, size, "%" PRIu64 "%c", v >> shift, units[i]);
			return;
		}
	}
	snprintf(buf, size, "%" PRIu64, v);
}

/* Bytes, or a number followed by K, M or G (powers of 1024, either letter case). */
int conf_key_size(struct conf_parser *p, const struct conf_key *k, char *val)
{
	static const char units[] = "KMG";
	char num[32], lo[16], hi[16];
	size_t len = strlen(val);
	const char *u = NULL;
	uint64_t v, mult = 1;

	if (len < sizeof(num)) {
		strcpy(num, val);
		if (len > 1 && isalpha((unsigned char)num[len - 1]))
			u = strchr(units, toupper((unsigned char)num[len - 1]));
		if (u) {
			mult = 1ull << (10 * (u - units + 1));
			num[len - 1] = '\0';
		}
	}
	if (len >= sizeof(num) || conf_num(num, &v) < 0)
		return conf_err(p, p->line, "%s %s is not a size (bytes, or a number followed by "
				"K, M or G)", k->name, conf_q(p, val));
	conf_size_text(k->min, lo, sizeof(lo));
	conf_size_text(k->max, hi, sizeof(hi));
	if (v > UINT32_MAX / mult || v * mult < k->min || v * mult > k->max)
		return conf_err(p, p->line, "%s %s is out of range (%s-%s)",
				k->name, conf_q(p, val), lo, hi);
	*(uint32_t *)conf_field(p, k) = (uint32_t)(v * mult);
	return 0;
}

int conf_check_queues(struct conf_parser *p)
{
	struct conf *c = p->c;
	const unsigned *seen = p->global.line;
	uint32_t last = (uint32_t)c->queue + c->queue_count - 1;

	if (!seen[K_DNS_QUEUE]) {
		if (c->queue_count == 1) {
			c->dns_queue = -1;
			return 0;
		}
		if (last == UINT16_MAX)
			return conf_err(p, seen[K_QUEUE], "queue %u-%" PRIu32 " leaves no queue "
					"for DNS replies after it (65536 does not exist); set "
					"dns-queue", c->queue, last);
		c->dns_queue = (int32_t)last + 1;
		return 0;
	}
	if (c->queue_count == 1 && c->dns_queue == c->queue) {
		c->dns_queue = -1;	/* said explicitly: shared */
		return 0;
	}
	if (c->dns_queue >= c->queue && (uint32_t)c->dns_queue <= last)
		return conf_err(p, seen[K_DNS_QUEUE], "dns-queue %" PRId32 " is one of the "
				"new-connection queues (queue = %u-%" PRIu32 "); DNS replies need "
				"a queue of their own", c->dns_queue, c->queue, last);
	return 0;
}

int conf_queue_describe(const struct conf *c, char *buf, size_t size)
{
	unsigned count = c->queue_count ? c->queue_count : 1;

	if (count == 1 && c->dns_queue < 0)
		return snprintf(buf, size, "queue %u (new connections and DNS replies)", c->queue);
	if (count == 1)
		return snprintf(buf, size, "queue %u (new connections), DNS replies on queue %"
				PRId32, c->queue, c->dns_queue);
	return snprintf(buf, size, "queues %u-%u (new connections, %s fanout), DNS replies on "
			"queue %" PRId32, c->queue, c->queue + count - 1,
			c->fanout_cpu ? "cpu" : "hash", c->dns_queue);
}

void conf_queue_print(const struct conf *c, FILE *out)
{
	unsigned count = c->queue_count ? c->queue_count : 1;
	char layout[160], buffer[16];

	conf_queue_describe(c, layout, sizeof(layout));
	conf_size_text(c->queue_buffer, buffer, sizeof(buffer));
	fprintf(out, "%s\n", layout);
	if (count == 1)
		fprintf(out, "worker threads: 1 (every queue)");
	else
		fprintf(out, "worker threads: %u (one per new-connection queue, one for DNS "
			"replies)", count + 1);
	fprintf(out, ", pin-workers %s\n", c->pin_workers ? "yes" : "no");
	fprintf(out, "per queue: queue-length %" PRIu32 " packets, queue-buffer %s, queue-batch %"
		PRIu32 "\n", c->queue_length, buffer, c->queue_batch);
}
