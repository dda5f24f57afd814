/*
 * items.c - `helsefeed items`, `items show`, `hide` and `unhide`: the
 * stored items for an admin or an editor.
 *
 * items [--category C] [--feed F] [--since DATE] [--search WORDS]
 *       [--limit N] [--hidden] [--json]
 *   Newest first: id, time (configured zone), feed, title, categories.
 *   --search is full-text (FTS5 over title and summary): every word must
 *   match as a word or the start of one ("sjuke" finds "sjukehus"),
 *   æ, ø and å are letters of their own.
 * items show [--json] ID
 *   One item: its fields, every source that carried it, its categories
 *   with their origin, its revisions and enclosures.
 * hide ID... / unhide ID...
 *   Pull items from every published file, or put them back, keeping
 *   them in the database; then publish.  Pages show an item's ID as
 *   data-id.
 *
 * Exit 0 ok, 1 runtime failure (also: no such item), 2 usage or
 * configuration error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helsefeed/util.h"
#include "helsefeed/cli.h"
#include "helsefeed/config.h"
#include "helsefeed/text.h"
#include "helsefeed/publish.h"
#include "helsefeed/store.h"

/* Items listed when --limit is not given: a screenful and more. */
#define ITEMS_DEFAULT_LIMIT 50

static int load(const struct cli *cli, const char *cmd, struct config **cfg,
                struct store **st)
{
	struct buf errs = BUF_INIT;

	if (cli_load_config(cli, cfg))
		return HF_EXIT_USAGE;
	/* store_open would create an empty database. */
	if (access((*cfg)->database, F_OK) != 0) {
		fprintf(stderr, "helsefeed %s: %s: no database yet; run 'helsefeed "
		        "fetch'\n", cmd, (*cfg)->database);
		return HF_EXIT_FAIL;
	}
	buf_clear(&errs);
	if (store_open((*cfg)->database, st, &errs)) {
		fprintf(stderr, "%s\n", buf_str(&errs));
		buf_free(&errs);
		return HF_EXIT_FAIL;
	}
	buf_free(&errs);
	return HF_EXIT_OK;
}

/* "2024-05-01" (midnight in the configured zone), "2024-05-01T08:00"
 * (local), or a duration back from now ("7d", "12h"). */
static int parse_since(const struct tz *tz, const char *s, int64_t now,
                       int64_t *out)
{
	struct tm tm;
	int secs, n = 0;

	memset(&tm, 0, sizeof tm);
	if (config_parse_duration(s, &secs) == 0 && strchr("smhdy", s[strlen(s) - 1])) {
		*out = now - secs;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 ||
	    tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31)
		return HF_EINVAL;
	if (s[n] == 'T' || s[n] == ' ') {
		int m = 0;
		if (sscanf(s + n + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &m) != 2 ||
		    tm.tm_hour > 23 || tm.tm_min > 59 || s[n + 1 + m])
			return HF_EINVAL;
	} else if (s[n]) {
		return HF_EINVAL;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = tz_from_local(tz, &tm, 0);
	return 0;
}

static void local(const struct tz *tz, int64_t t, char out[32])
{
	if (t == HF_NOTIME || tz_format(tz, t, "%Y-%m-%d %H:%M", out, 32))
		strcpy(out, "-");
}

/* Text from a feed on a terminal: no control characters. */
static void put_clean(const char *s)
{
	for (; s && *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

/* "covid hospitals" as a JSON array. */
static void jcats(struct json *j, const char *cats)
{
	json_key(j, "categories");
	json_begin_array(j);
	while (cats && *cats) {
		size_t n = strcspn(cats, " ");
		json_string(j, cats, n);
		cats += n + (cats[n] == ' ');
	}
	json_end_array(j);
}

struct lister {
	const struct tz *tz;
	struct json *j;        /* NULL: a table */
	int n;
};

static int list_row(void *ud, const struct store_item_row *r)
{
	struct lister *l = ud;
	char t[32];

	l->n++;
	if (l->j) {
		json_begin_object(l->j);
		json_key(l->j, "id");
		json_int(l->j, r->id);
		json_key(l->j, "feed");
		json_str(l->j, r->feed);
		json_key(l->j, "title");
		json_str(l->j, r->title);
		json_key(l->j, "link");
		json_str(l->j, r->link);
		json_time(l->j, "time", r->t, HF_NOTIME);
		json_time(l->j, "published", r->published, HF_NOTIME);
		json_time(l->j, "first_seen", r->first_seen, HF_NOTIME);
		jcats(l->j, r->categories);
		json_key(l->j, "hidden");
		json_bool(l->j, r->hidden);
		json_end_object(l->j);
		return 0;
	}
	local(l->tz, r->t, t);
	printf("%7lld  %-16s  %-14s  ", (long long)r->id, t, r->feed);
	put_clean(r->title && *r->title ? r->title : "(uten tittel)");
	if (r->categories) {
		printf("  [");
		put_clean(r->categories);
		putchar(']');
	}
	if (r->hidden)
		printf("  (skjult)");
	putchar('\n');
	return 0;
}

/* --- items show -------------------------------------------------------- */

struct shower {
	const struct tz *tz;
	struct json *j;
	int section;           /* which array is open in j: 0 none, 1 sources,
	                          2 categories, 3 enclosures */
};

static void open_section(struct shower *s, int which, const char *key,
                         const char *heading)
{
	if (s->section == which)
		return;
	if (s->j) {
		if (s->section)
			json_end_array(s->j);
		json_key(s->j, key);
		json_begin_array(s->j);
	} else {
		printf("\n%s:\n", heading);
	}
	s->section = which;
}

static int show_item(void *ud, const struct store_item_row *r)
{
	struct shower *s = ud;
	struct buf plain = BUF_INIT;
	const char *sum;
	char t1[32], t2[32];

	if (s->j) {
		json_key(s->j, "id");
		json_int(s->j, r->id);
		json_key(s->j, "feed");
		json_str(s->j, r->feed);
		json_key(s->j, "title");
		json_str(s->j, r->title);
		json_key(s->j, "link");
		json_str(s->j, r->link);
		json_key(s->j, "guid");
		json_str(s->j, r->guid);
		json_key(s->j, "author");
		json_str(s->j, r->author);
		json_time(s->j, "published", r->published, HF_NOTIME);
		json_time(s->j, "updated", r->updated, HF_NOTIME);
		json_time(s->j, "first_seen", r->first_seen, HF_NOTIME);
		json_time(s->j, "last_changed", r->last_changed, HF_NOTIME);
		json_key(s->j, "revision");
		json_int(s->j, r->revision);
		json_key(s->j, "hidden");
		json_bool(s->j, r->hidden);
		json_key(s->j, "summary");
		json_str(s->j, r->summary);
		json_key(s->j, "content");
		json_str(s->j, r->content);
		return 0;
	}
	printf("id:         %lld%s\ntitle:      ", (long long)r->id,
	       r->hidden ? "  (skjult: in no published file)" : "");
	put_clean(r->title);
	printf("\nlink:       ");
	put_clean(r->link);
	printf("\nguid:       ");
	put_clean(r->guid);
	printf("\nauthor:     ");
	put_clean(r->author);
	local(s->tz, r->published, t1);
	local(s->tz, r->updated, t2);
	printf("\npublished:  %s\nupdated:    %s\n", t1, t2);
	local(s->tz, r->first_seen, t1);
	local(s->tz, r->last_changed, t2);
	printf("revisions:  %lld (first seen %s, last changed %s)\n",
	       (long long)r->revision, t1, t2);
	sum = r->summary && *r->summary ? r->summary : r->content;
	if (sum && norm_text(sum, strlen(sum), 1, 600, &plain, NULL) == 0 &&
	    plain.len) {
		printf("summary:    ");
		put_clean(buf_str(&plain));
		putchar('\n');
	}
	buf_free(&plain);
	return 0;
}

static int show_source(void *ud, const struct store_source_row *r)
{
	struct shower *s = ud;
	const char *feed = r->feed, *link = r->link;
	int64_t first_seen = r->first_seen;
	int primary = r->primary;
	char t[32];

	open_section(s, 1, "sources", "sources");
	if (s->j) {
		json_begin_object(s->j);
		json_key(s->j, "feed");
		json_str(s->j, feed);
		json_key(s->j, "link");
		json_str(s->j, link);
		json_time(s->j, "first_seen", first_seen, HF_NOTIME);
		json_key(s->j, "primary");
		json_bool(s->j, primary);
		json_end_object(s->j);
		return 0;
	}
	local(s->tz, first_seen, t);
	printf("  %-14s  %s  %s", feed, t, primary ? "primary  " : "merged   ");
	put_clean(link);
	putchar('\n');
	return 0;
}

static int show_category(void *ud, const char *name, const char *origin)
{
	struct shower *s = ud;

	open_section(s, 2, "categories", "categories");
	if (s->j) {
		json_begin_object(s->j);
		json_key(s->j, "name");
		json_str(s->j, name);
		json_key(s->j, "origin");
		json_str(s->j, origin);
		json_end_object(s->j);
		return 0;
	}
	printf("  %-20s  %s\n", name, origin);
	return 0;
}

static int show_enclosure(void *ud, const char *url, const char *type,
                          int64_t length)
{
	struct shower *s = ud;

	open_section(s, 3, "enclosures", "enclosures");
	if (s->j) {
		json_begin_object(s->j);
		json_key(s->j, "url");
		json_str(s->j, url);
		json_key(s->j, "type");
		json_str(s->j, type);
		json_key(s->j, "length");
		if (length >= 0)
			json_int(s->j, length);
		else
			json_null(s->j);
		json_end_object(s->j);
		return 0;
	}
	printf("  ");
	put_clean(url);
	printf("  %s", type ? type : "-");
	if (length >= 0)
		printf("  %lld bytes", (long long)length);
	putchar('\n');
	return 0;
}

static int parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 1)
		return HF_EINVAL;
	*id = v;
	return 0;
}

static int items_show(const struct config *cfg, struct store *st,
                      const struct tz *tz, int argc, char **argv)
{
	static const struct store_item_visitor v = {
		show_item, show_source, show_category, show_enclosure, NULL,
	};
	struct shower s = {tz, NULL, 0};
	struct json j;
	int64_t id = 0;
	int as_json = 0, rc;
	const char *arg = NULL;

	(void)cfg;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			as_json = 1;
		else if (!arg)
			arg = argv[i];
		else
			arg = "";
	}
	if (!arg || parse_id(arg, &id)) {
		fprintf(stderr, "usage: helsefeed items show [--json] ID (a number "
		        "from 'helsefeed items' or a page's data-id)\n");
		return HF_EXIT_USAGE;
	}
	if (as_json) {
		json_init_file(&j, stdout);
		json_begin_object(&j);
		s.j = &j;
	}
	rc = store_item_get(st, id, &v, &s);
	if (as_json) {
		if (s.section)
			json_end_array(&j);
		json_end_object(&j);
		if (json_finish(&j) == 0 && !rc)
			putchar('\n');
	}
	if (rc == HF_EINVAL) {
		fprintf(stderr, "helsefeed items show: no item %lld\n", (long long)id);
		return HF_EXIT_FAIL;
	}
	return rc ? HF_EXIT_FAIL : HF_EXIT_OK;
}

static void items_usage(FILE *f)
{
	fprintf(f, "usage: helsefeed [-c FILE] items [--category C] [--feed F]\n"
	           "           [--since DATE] [--search WORDS] [--limit N] [--hidden]\n"
	           "           [--json]\n"
	           "       helsefeed [-c FILE] items show [--json] ID\n\n"
	           "The stored items, newest first: id, time, feed, title, categories.\n"
	           "  --since DATE   2024-05-01, 2024-05-01T08:00 (local time) or a\n"
	           "                 duration back from now: 7d, 12h\n"
	           "  --search WORDS every word, or a word that starts with it, in\n"
	           "                 the title or summary (\"sjuke\" finds sjukehus)\n"
	           "  --limit N      at most N items (default %d)\n"
	           "  --hidden       hidden items too (marked \"skjult\")\n"
	           "'items show ID' prints one item with its sources, categories,\n"
	           "revisions and enclosures.\n", ITEMS_DEFAULT_LIMIT);
}

int cmd_items(const struct cli *cli, int argc, char **argv)
{
	struct store_items_query q = {NULL, NULL, HF_NOTIME, NULL,
	                              ITEMS_DEFAULT_LIMIT, 0};
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct tz *tz = NULL;
	struct buf err = BUF_INIT;
	const char *since = NULL;
	struct lister l = {NULL, NULL, 0};
	struct json j;
	int as_json = 0, ex, rc;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		items_usage(stdout);
		return HF_EXIT_OK;
	}
	for (int i = 1; i < argc && !(i == 1 && !strcmp(argv[1], "show")); i++) {
		const char *a = argv[i];
		const char **val = !strcmp(a, "--category") ? &q.category :
		                   !strcmp(a, "--feed") ? &q.feed :
		                   !strcmp(a, "--since") ? &since :
		                   !strcmp(a, "--search") ? &q.search : NULL;
		if (val && i + 1 < argc) {
			*val = argv[++i];
		} else if (!strcmp(a, "--limit") && i + 1 < argc) {
			char *end;
			long n = strtol(argv[++i], &end, 10);
			if (*end || n < 1 || n > 1000000) {
				fprintf(stderr, "helsefeed items: --limit needs a number from "
				        "1 to 1000000, not '%s'\n", argv[i]);
				return HF_EXIT_USAGE;
			}
			q.limit = (int)n;
		} else if (!strcmp(a, "--json")) {
			as_json = 1;
		} else if (!strcmp(a, "--hidden")) {
			q.with_hidden = 1;
		} else {
			fprintf(stderr, "helsefeed items: unknown or incomplete argument "
			        "'%s'\n", a);
			items_usage(stderr);
			return HF_EXIT_USAGE;
		}
	}
	if ((ex = load(cli, "items", &cfg, &st)))
		goto out;
	ex = HF_EXIT_FAIL;
	if (tz_open(cfg->timezone, &tz, &err)) {
		fprintf(stderr, "helsefeed items: %s\n", buf_str(&err));
		goto out;
	}
	if (argc > 1 && !strcmp(argv[1], "show")) {
		ex = items_show(cfg, st, tz, argc - 1, argv + 1);
		goto out;
	}
	if (since && parse_since(tz, since, (int64_t)time(NULL), &q.since)) {
		fprintf(stderr, "helsefeed items: --since '%s': expected 2024-05-01, "
		        "2024-05-01T08:00 or a duration such as 7d\n", since);
		ex = HF_EXIT_USAGE;
		goto out;
	}
	if (q.feed && !config_feed_find(cfg, q.feed))
		fprintf(stderr, "helsefeed items: note: no [feed %s] in %s; listing "
		        "what the database has\n", q.feed, cfg->path);
	if (q.category && !config_category_find(cfg, q.category))
		fprintf(stderr, "helsefeed items: note: no [category %s] in %s\n",
		        q.category, cfg->path);
	l.tz = tz;
	if (as_json) {
		json_init_file(&j, stdout);
		json_begin_object(&j);
		json_key(&j, "items");
		json_begin_array(&j);
		l.j = &j;
	}
	rc = store_items_list(st, &q, list_row, &l);
	if (as_json) {
		json_end_array(&j);
		json_end_object(&j);
		if (json_finish(&j) == 0 && !rc)
			putchar('\n');
	}
	if (rc == HF_EINVAL) {
		fprintf(stderr, "helsefeed items: --search '%s' has no word to look "
		        "for (letters or digits)\n", q.search);
		ex = HF_EXIT_USAGE;
		goto out;
	}
	if (rc)
		goto out;
	ex = fflush(stdout) == 0 ? HF_EXIT_OK : HF_EXIT_FAIL;
out:
	tz_free(tz);
	store_close(st);
	config_free(cfg);
	buf_free(&err);
	return ex;
}

/* --- hide, unhide ------------------------------------------------------ */

static int set_hidden(const struct cli *cli, int argc, char **argv, int hidden)
{
	const char *cmd = hidden ? "hide" : "unhide";
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct publish_stats ps;
	int64_t now = (int64_t)time(NULL);
	int ex, any = 0, publish = 1;

	for (int i = 1; i < argc; i++) {
		int64_t id;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: helsefeed [-c FILE] %s [--no-publish] ID...\n\n"
			       "%s the items from every published file (Atom, pages,\n"
			       "archives), keeping them in the database, then publish.\n"
			       "IDs are those of 'helsefeed items' and of the pages'\n"
			       "data-id.\n", cmd, hidden ? "Pull" : "Put back");
			return HF_EXIT_OK;
		}
		if (!strcmp(argv[i], "--no-publish")) {
			publish = 0;
			continue;
		}
		if (parse_id(argv[i], &id)) {
			fprintf(stderr, "helsefeed %s: '%s' is no item id; try "
			        "'helsefeed %s --help'\n", cmd, argv[i], cmd);
			return HF_EXIT_USAGE;
		}
		any = 1;
	}
	if (!any) {
		fprintf(stderr, "usage: helsefeed [-c FILE] %s [--no-publish] ID...\n", cmd);
		return HF_EXIT_USAGE;
	}
	if ((ex = load(cli, cmd, &cfg, &st)))
		goto out;
	ex = HF_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		int64_t id;
		int changed = 0, rc;
		if (parse_id(argv[i], &id))
			continue;
		rc = store_item_set_hidden(st, id, hidden, now, &changed);
		if (rc == HF_EINVAL) {
			fprintf(stderr, "helsefeed %s: no item %lld\n", cmd, (long long)id);
			ex = HF_EXIT_FAIL;
		} else if (rc) {
			ex = HF_EXIT_FAIL;
			goto out;
		} else {
			printf("item %lld: %s\n", (long long)id,
			       !changed ? (hidden ? "already hidden" : "not hidden") :
			       hidden ? "hidden" : "shown again");
		}
	}
	if (publish && cfg->output && cfg->base_url) {
		if (store_sync_feeds(st, cfg) || publish_run(cfg, st, now, &ps)) {
			fprintf(stderr, "helsefeed %s: the flag is set, but publishing "
			        "failed; 'helsefeed publish' tries again\n", cmd);
			ex = HF_EXIT_FAIL;
			goto out;
		}
		printf("published %d files (%d changed) into %s\n", ps.files, ps.changed,
		       cfg->output);
	}
out:
	store_close(st);
	config_free(cfg);
	return ex;
}

int cmd_hide(const struct cli *cli, int argc, char **argv)
{
	return set_hidden(cli, argc, argv, 1);
}

int cmd_unhide(const struct cli *cli, int argc, char **argv)
{
	return set_hidden(cli, argc, argv, 0);
}
