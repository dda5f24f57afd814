/*
 * metrics.c - metrics_file: the Prometheus text exposition format
 * (version 0.0.4) for node_exporter's textfile collector, written after
 * each cycle of the service.  The file is replaced atomically (a
 * temporary name in its directory, then rename), as the collector's
 * documentation asks, so it never reads half a file.
 */
#include <string.h>

#include "helsefeed/util.h"
#include "publish_int.h"

/* A label value: backslash, double quote and newline escaped. */
static int label(struct buf *o, const char *v)
{
	for (; *v; v++) {
		if ((*v == '\\' || *v == '"') && buf_putc(o, '\\'))
			return HF_ENOMEM;
		if (*v == '\n' ? buf_puts(o, "\\n") : buf_putc(o, *v))
			return HF_ENOMEM;
	}
	return 0;
}

static int head(struct buf *o, const char *name, const char *type,
                const char *help)
{
	return buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample per feed of `name`, the value from `val`. */
static int per_feed(struct buf *o, const char *name, const char *type,
                    const char *help, const struct config *cfg,
                    const struct store_feed_state *v, size_t n,
                    int64_t (*val)(const struct config *,
                                   const struct store_feed_state *, int64_t),
                    int64_t now)
{
	if (head(o, name, type, help))
		return HF_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (buf_printf(o, "%s{feed=\"", name) || label(o, v[i].name) ||
		    buf_printf(o, "\"} %lld\n", (long long)val(cfg, &v[i], now)))
			return HF_ENOMEM;
	return 0;
}

static int64_t up(const struct config *cfg, const struct store_feed_state *s,
                  int64_t now)
{
	(void)cfg;
	(void)now;
	return s->last_success && !s->failures && !s->gone;
}

static int64_t severity(const struct config *cfg,
                        const struct store_feed_state *s, int64_t now)
{
	struct publish_health h;

	publish_feed_health(cfg, s, now, &h);
	return h.severity;
}

static int64_t last_success(const struct config *cfg,
                            const struct store_feed_state *s, int64_t now)
{
	(void)cfg;
	(void)now;
	return s->last_success;
}

static int64_t failures(const struct config *cfg,
                        const struct store_feed_state *s, int64_t now)
{
	(void)cfg;
	(void)now;
	return s->failures;
}

static int64_t items(const struct config *cfg, const struct store_feed_state *s,
                     int64_t now)
{
	(void)cfg;
	(void)now;
	return s->items < 0 ? 0 : s->items;
}

int publish_metrics(const struct config *cfg, const struct store_feed_state *v,
                    size_t n, int64_t now, const struct publish_cycle *c,
                    struct buf *o)
{
	buf_clear(o);
	if (per_feed(o, "helsefeed_feed_up", "gauge", "1 when the feed's last "
	             "fetch worked (200 or 304), else 0.", cfg, v, n, up, now) ||
	    per_feed(o, "helsefeed_feed_severity", "gauge", "0 ok, 1 warning "
	             "(failing, moved, silent, never fetched), 2 critical (gone, "
	             "stale), as `helsefeed status --check`.", cfg, v, n, severity,
	             now) ||
	    per_feed(o, "helsefeed_feed_last_success_timestamp_seconds", "gauge",
	             "When the feed was last fetched without error; 0 never.",
	             cfg, v, n, last_success, now) ||
	    per_feed(o, "helsefeed_feed_failures", "gauge", "Failed fetches in "
	             "a row.", cfg, v, n, failures, now) ||
	    per_feed(o, "helsefeed_feed_items", "gauge", "Stories the feed "
	             "carried, merged ones included.", cfg, v, n, items, now))
		return HF_ENOMEM;
	if (head(o, "helsefeed_digests_sent_total", "counter", "Digests "
	         "delivered since the service started.") ||
	    buf_printf(o, "helsefeed_digests_sent_total %d\n", c->digests_sent) ||
	    head(o, "helsefeed_digests_failed_total", "counter", "Digest "
	         "deliveries that failed (retried) since the service started.") ||
	    buf_printf(o, "helsefeed_digests_failed_total %d\n", c->digests_failed) ||
	    head(o, "helsefeed_cycle_duration_seconds", "gauge", "Wall time of "
	         "the last cycle's fetches.") ||
	    buf_printf(o, "helsefeed_cycle_duration_seconds %.3f\n",
	               (double)c->cycle_ms / 1000.0) ||
	    head(o, "helsefeed_publish_duration_seconds", "gauge", "Wall time "
	         "of the last publish.") ||
	    buf_printf(o, "helsefeed_publish_duration_seconds %.3f\n",
	               (double)c->publish_ms / 1000.0) ||
	    head(o, "helsefeed_last_cycle_timestamp_seconds", "gauge", "When "
	         "these figures were written.") ||
	    buf_printf(o, "helsefeed_last_cycle_timestamp_seconds %lld\n",
	               (long long)now))
		return HF_ENOMEM;
	return 0;
}

int publish_write_metrics(const struct config *cfg, struct store *st,
                          int64_t now, const struct publish_cycle *c)
{
	struct store_feed_state *v = NULL;
	struct buf b = BUF_INIT, dir = BUF_INIT;
	const char *slash;
	size_t n = 0;
	int changed = 0, rc;

	if (!cfg->metrics_file)
		return 0;
	slash = strrchr(cfg->metrics_file, '/');
	if ((rc = store_feed_states(st, &v, &n)) ||
	    (rc = publish_metrics(cfg, v, n, now, c, &b)))
		goto out;
	if ((rc = slash ? buf_append(&dir, cfg->metrics_file,
	                             (size_t)(slash - cfg->metrics_file))
	                : buf_puts(&dir, ".")))
		goto out;
	if (!dir.len && (rc = buf_puts(&dir, "/")))
		goto out;
	rc = publish_write_file(buf_str(&dir), slash ? slash + 1 : cfg->metrics_file,
	                        buf_str(&b), b.len, &changed);
out:
	store_feed_states_free(v, n);
	buf_free(&b);
	buf_free(&dir);
	return rc;
}
