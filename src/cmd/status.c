/*
 * status.c - `helsefeed status`.
 *
 * status [--json | --check]
 *   The health of every configured feed from the database, problems
 *   first: as a table with advice, as JSON (status.json's schema) or as
 *   one line for monitoring (exit 0 OK, 1 WARNING, 2 CRITICAL).  Never
 *   writes to the database.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helsefeed/util.h"
#include "helsefeed/cli.h"
#include "helsefeed/config.h"
#include "helsefeed/digest.h"
#include "helsefeed/publish.h"
#include "helsefeed/store.h"
#include "helsefeed/text.h"

/* "2024-05-01 07:00:00Z" (sep ' ') or ISO 8601 (sep 'T'); `none` for 0. */
/* --- status ---------------------------------------------------------------
 *
 * The same words, advice and JSON as status.html and status.json
 * (publish.h): an admin at the terminal and one at the browser read the
 * same thing.
 */

/* A line of text that came (partly) from the network: no control
 * characters reach the terminal. */
static void put_clean(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
	putchar('\n');
}

/* "2024-05-01 09:00" in the configured zone; `none` for 0. */
static const char *local_time(const struct tz *tz, int64_t t, char out[32],
                              const char *none)
{
	if (!t || !tz || tz_format(tz, t, "%Y-%m-%d %H:%M", out, 32))
		return none;
	return out;
}

static int status_table(const struct config *cfg, struct store_feed_state *v,
                        size_t n, int64_t now)
{
	struct buf line = BUF_INIT, err = BUF_INIT;
	struct tz *tz = NULL;
	int w = 5, rc = HF_OK;
	char t1[32], t2[32];

	/* Dates in the configured zone; a zone that cannot be read was
	 * refused by config_load already, so this is about memory. */
	if (tz_open(cfg->timezone, &tz, &err))
		fprintf(stderr, "helsefeed status: %s\n", buf_str(&err));
	if ((rc = publish_status_summary(cfg, v, n, now, &line, NULL)))
		goto out;
	printf("%s\n\n", buf_str(&line));
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(v[i].name) > w)
			w = (int)strlen(v[i].name);
	printf("%-*s  %-12s  %4s  %-16s  %4s  %-16s  %6s\n", w, "KILDE", "TILSTAND",
	       "HTTP", "SIST VELLYKKET", "FEIL", "NESTE FORSØK", "SAKER");
	for (size_t i = 0; i < n; i++) {
		const struct store_feed_state *s = &v[i];
		struct publish_health h;

		publish_feed_health(cfg, s, now, &h);
		printf("%-*s  %-12s  %4d  %-16s  %4d  %-16s  %6lld\n", w, s->name,
		       h.label, s->last_status,
		       local_time(tz, s->last_success, t1, "aldri"), s->failures,
		       s->gone ? "stanset" : local_time(tz, s->next_fetch, t2, "nå"),
		       (long long)s->items);
	}
	for (size_t i = 0; i < n; i++) {
		const struct store_feed_state *s = &v[i];
		struct publish_health h;

		publish_feed_health(cfg, s, now, &h);
		buf_clear(&line);
		if ((rc = publish_feed_advice(cfg, s, now, &line)))
			goto out;
		if (line.len) {
			printf("%s: %s: ", s->name, h.label);
			put_clean(buf_str(&line));
		}
		if (s->last_error) {
			printf("%s: siste feil: ", s->name);
			put_clean(s->last_error);
		}
	}
out:
	tz_free(tz);
	buf_free(&line);
	buf_free(&err);
	return rc;
}

static int status_json(const struct config *cfg, struct store_feed_state *v,
                       size_t n, int64_t now, const struct digest_group_status *dg,
                       size_t ndg)
{
	struct buf b = BUF_INIT;
	int rc = publish_status_json(cfg, v, n, now, dg, ndg, &b);

	if (!rc && fwrite(b.data, 1, b.len, stdout) != b.len)
		rc = HF_EIO;
	buf_free(&b);
	return rc;
}

/* One line for a monitoring plugin (Nagios, Icinga, Zabbix's
 * check_nagios): "HELSEFEED WARNING - 12 OK · 2 feiler | ok=12 ...";
 * returns the exit code 0 OK, 1 WARNING, 2 CRITICAL. */
static int status_check(const struct config *cfg, struct store_feed_state *v,
                        size_t n, int64_t now, const struct digest_group_status *dg,
                        size_t ndg)
{
	static const char *const names[] = {"OK", "WARNING", "CRITICAL"};
	struct buf line = BUF_INIT;
	enum publish_severity sev = PUBLISH_CRITICAL;
	size_t per[6] = {0};
	static const char *const states[] = {"ok", "failing", "gone", "moved",
	                                     "silent", "never"};

	if (publish_status_summary(cfg, v, n, now, &line, &sev)) {
		printf("HELSEFEED CRITICAL - out of memory\n");
		buf_free(&line);
		return PUBLISH_CRITICAL;
	}
	for (size_t i = 0; i < n; i++) {
		struct publish_health h;
		publish_feed_health(cfg, &v[i], now, &h);
		for (size_t k = 0; k < 6; k++)
			per[k] += !strcmp(h.state, states[k]);
	}
	/* A digest group that failed, was refused or is overdue wants a
	 * look, whatever the feeds say. */
	for (size_t i = 0; i < ndg; i++) {
		const char *w = digest_status_word(&dg[i]);

		if (strcmp(w, "ok") && strcmp(w, "new") && sev < PUBLISH_WARNING) {
			sev = PUBLISH_WARNING;
			buf_printf(&line, " · e-post %s: %s", dg[i].group->name, w);
		}
	}
	printf("HELSEFEED %s - %s |", names[sev], buf_str(&line));
	for (size_t k = 0; k < 6; k++)
		printf(" %s=%zu", states[k], per[k]);
	putchar('\n');
	buf_free(&line);
	return (int)sev;
}

static void status_usage(FILE *f)
{
	fprintf(f, "usage: helsefeed [-c FILE] status [--json | --check]\n\n"
	           "The health of every feed, problems first: a summary line, then\n"
	           "state, last success, failures, next attempt and items, then what\n"
	           "to do.  States: borte (HTTP 410, paused), feiler (utdatert when\n"
	           "failing longer than stale_after), flyttet (update feeds.conf),\n"
	           "stille (answers, no new story for silent_after), aldri hentet, OK.\n"
	           "  --json    the schema of the published status.json\n"
	           "  --check   one line for monitoring; exit 0 OK, 1 WARNING,\n"
	           "            2 CRITICAL (a feed gone or stale, or no database)\n");
}

int cmd_status(const struct cli *cli, int argc, char **argv)
{
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct store_feed_state *v = NULL;
	struct digest_group_status *dg = NULL;
	size_t n = 0, ndg = 0;
	int as_json = 0, check = 0, ex = HF_EXIT_FAIL;
	int64_t now = (int64_t)time(NULL);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			as_json = 1;
		} else if (strcmp(argv[i], "--check") == 0) {
			check = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			status_usage(stdout);
			return HF_EXIT_OK;
		} else {
			fprintf(stderr, "helsefeed status: unknown argument '%s'; try "
			        "'helsefeed status --help'\n", argv[i]);
			return HF_EXIT_USAGE;
		}
	}
	if (as_json && check) {
		fprintf(stderr, "helsefeed status: --json and --check exclude each other\n");
		return HF_EXIT_USAGE;
	}
	if (cli_load_config(cli, &cfg)) {
		if (check)
			printf("HELSEFEED CRITICAL - %s: configuration error\n",
			       cli->config_path);
		ex = HF_EXIT_USAGE;
		goto out;
	}
	/* store_open would create an empty database: status only reads. */
	if (access(cfg->database, F_OK) != 0) {
		if (check) {
			printf("HELSEFEED CRITICAL - %s: no database yet\n", cfg->database);
			ex = PUBLISH_CRITICAL;
		} else {
			fprintf(stderr, "helsefeed status: %s: no database yet; run "
			        "'helsefeed fetch'\n", cfg->database);
		}
		goto out;
	}
	/* Only read: an admin may ask who cannot write the service's files,
	 * and asking never upgrades or writes the database. */
	if (store_open_readonly(cfg->database, &st, NULL) ||
	    store_feed_states(st, &v, &n) ||
	    digest_status_all(cfg, st, now, &dg, &ndg)) {
		if (check) {
			printf("HELSEFEED CRITICAL - %s: cannot read the database\n",
			       cfg->database);
			ex = PUBLISH_CRITICAL;
		}
		goto out;
	}
	publish_status_sort(cfg, v, n, now);
	if (check) {
		ex = status_check(cfg, v, n, now, dg, ndg);
		fflush(stdout);
		goto out;
	}
	if (as_json ? status_json(cfg, v, n, now, dg, ndg) : status_table(cfg, v, n, now))
		goto out;
	if (!as_json)
		digest_status_print(stdout, dg, ndg);
	ex = fflush(stdout) == 0 ? HF_EXIT_OK : HF_EXIT_FAIL;
out:
	store_feed_states_free(v, n);
	digest_status_free(dg, ndg);
	store_close(st);
	config_free(cfg);
	return ex;
}
