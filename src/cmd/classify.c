/*
 * cmd_classify.c - `helsefeed classify [--explain] ITEM-ID`: run the
 * keyword rules of feeds.conf over one stored item and show why it has
 * the categories it has, and which sources carried it.
 *
 * The database is opened read-only through a connection of its own: WAL
 * lets this run beside the daemon without blocking it, and nothing can
 * be written by mistake.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "helsefeed/classify.h"
#include "helsefeed/cli.h"
#include "helsefeed/config.h"
#include "helsefeed/dedup.h"
#include "helsefeed/ingest.h"

static void classify_usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s classify [--explain] ITEM-ID\n\n"
	           "Run the [category] rules and the gazetteer over stored item ITEM-ID\n"
	           "and print the categories they give; --explain names the rule term,\n"
	           "word and field behind each, and per category the gazetteer terms\n"
	           "found with their weights, words, fields and FILE:LINE, their sum\n"
	           "and the threshold it had to reach.  Then the categories stored for\n"
	           "the item (with their origin: feed, rule, entry) and every feed that\n"
	           "carried it.\n",
	        prog);
}

struct item_text {
	char *title, *summary, *content, *title_norm;
	char **cats;
	size_t ncats;
};

static void item_text_clear(struct item_text *t)
{
	free(t->title);
	free(t->summary);
	free(t->content);
	free(t->title_norm);
	for (size_t i = 0; i < t->ncats; i++)
		free(t->cats[i]);
	free(t->cats);
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);

	return v ? strdup(v) : NULL;
}

/* PRAGMA user_version, or -1. */
static int schema_version(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Read the item's texts.  1 found, 0 none, negative on error. */
static int read_item(sqlite3 *db, int64_t id, struct item_text *t)
{
	sqlite3_stmt *s = NULL;
	int rc = HF_EDB;

	if (sqlite3_prepare_v2(db, "SELECT title, summary, content, title_norm"
	                       " FROM items WHERE id = ?1", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		rc = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		rc = HF_EDB;
		goto out;
	}
	t->title = col_dup(s, 0);
	t->summary = col_dup(s, 1);
	t->content = col_dup(s, 2);
	t->title_norm = col_dup(s, 3);
	sqlite3_finalize(s);
	s = NULL;
	if (sqlite3_prepare_v2(db, "SELECT term FROM item_entry_categories"
	                       " WHERE item_id = ?1 ORDER BY term", -1, &s, NULL)
	    != SQLITE_OK || sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
		rc = HF_EDB;
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char **v = realloc(t->cats, (t->ncats + 1) * sizeof *v);

		if (!v) {
			rc = HF_ENOMEM;
			goto out;
		}
		t->cats = v;
		if (!(t->cats[t->ncats] = col_dup(s, 0))) {
			rc = HF_ENOMEM;
			goto out;
		}
		t->ncats++;
	}
	rc = rc == SQLITE_DONE ? 1 : HF_EDB;
out:
	sqlite3_finalize(s);
	return rc;
}

/* Print every row of a query bound to the item id, columns joined by
 * `sep`.  0 or HF_EDB. */
static int print_rows(sqlite3 *db, const char *sql, int64_t id,
                      const char *head)
{
	sqlite3_stmt *s = NULL;
	int rc, n, i;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
		sqlite3_finalize(s);
		return HF_EDB;
	}
	printf("%s\n", head);
	n = sqlite3_column_count(s);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		printf(" ");
		for (i = 0; i < n; i++) {
			const char *v = (const char *)sqlite3_column_text(s, i);
			printf(" %s", v ? v : "-");
		}
		printf("\n");
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? HF_OK : HF_EDB;
}

static int parse_id(const char *s, int64_t *out)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v <= 0)
		return HF_EINVAL;
	*out = v;
	return HF_OK;
}

int cmd_classify(const struct cli *cli, int argc, char **argv)
{
	struct buf errors = BUF_INIT, explain = BUF_INIT;
	struct item_text t = {0};
	struct config *cfg = NULL;
	struct classify *cls = NULL;
	struct classify_input ci;
	unsigned char *hits = NULL;
	const char *id_arg = NULL;
	sqlite3 *db = NULL;
	int64_t id = 0;
	int want_explain = 0, i, rc, code = HF_EXIT_USAGE;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			classify_usage(stdout, cli->prog);
			code = HF_EXIT_OK;
			goto out;
		} else if (!strcmp(argv[i], "--explain")) {
			want_explain = 1;
		} else if (argv[i][0] != '-' && !id_arg) {
			id_arg = argv[i];
		} else {
			fprintf(stderr, "%s classify: unexpected argument '%s'; try '%s classify --help'\n",
			        cli->prog, argv[i], cli->prog);
			goto out;
		}
	}
	if (!id_arg || parse_id(id_arg, &id)) {
		fprintf(stderr, "%s classify: an ITEM-ID (a positive number) is needed; try '%s classify --help'\n",
		        cli->prog, cli->prog);
		goto out;
	}
	if ((rc = config_load(cli->config_path, &cfg, &errors)) ||
	    (rc = classify_compile(cfg, &cls, &errors))) {
		fprintf(stderr, "%s", errors.len ? buf_str(&errors) : hf_strerror(rc));
		code = rc == HF_ENOMEM ? HF_EXIT_FAIL : HF_EXIT_USAGE;
		goto out;
	}
	code = HF_EXIT_FAIL;
	if (sqlite3_open_v2(cfg->database, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", cfg->database, sqlite3_errmsg(db));
		goto out;
	}
	/* Read-only, beside a running daemon: never upgrade here. */
	if ((rc = schema_version(db)) != STORE_SCHEMA_VERSION) {
		if (rc < 0)
			fprintf(stderr, "%s: cannot read the schema version: %s\n",
			        cfg->database, sqlite3_errmsg(db));
		else
			fprintf(stderr, "%s: schema version %d, this program reads %d;"
			        " %s\n", cfg->database, rc, STORE_SCHEMA_VERSION,
			        rc > STORE_SCHEMA_VERSION ? "use a newer helsefeed" :
			        rc >= STORE_SCHEMA_OLDEST ? "the next fetch or daemon"
			        " start of this version upgrades it" :
			        "older than this program upgrades: open it once with"
			        " helsefeed 0.1.0, then a fetch of this version"
			        " upgrades it");
		goto out;
	}
	rc = read_item(db, id, &t);
	if (rc <= 0) {
		if (rc == 0)
			fprintf(stderr, "%s: no item %" PRId64 "\n", cfg->database, id);
		else
			fprintf(stderr, "%s: cannot read item %" PRId64 ": %s\n",
			        cfg->database, id, sqlite3_errmsg(db));
		goto out;
	}
	if (!(hits = calloc(classify_count(cls) + 1, 1)))
		goto out;
	ci.title = t.title;
	ci.summary = t.summary;
	ci.content = t.content;
	ci.categories = (const char *const *)t.cats;
	ci.ncategories = t.ncats;
	if (classify_item(cls, &ci, hits, want_explain ? &explain : NULL))
		goto out;
	printf("item %" PRId64 ": %s\n", id, t.title ? t.title : "(no title)");
	printf("title_norm: %s\n", t.title_norm ? t.title_norm : "-");
	printf("rules:");
	for (size_t k = 0; k < classify_count(cls); k++)
		if (hits[k])
			printf(" %s", cfg->categories[k].name);
	printf("\n");
	if (want_explain)
		printf("%s", buf_str(&explain));
	if (print_rows(db, "SELECT category, origin FROM item_categories"
	               " WHERE item_id = ?1 ORDER BY category, origin", id,
	               "stored categories:") ||
	    print_rows(db, "SELECT f.name, 'primary', i.link FROM items i"
	               " JOIN feeds f ON f.id = i.feed_id WHERE i.id = ?1"
	               " UNION ALL"
	               " SELECT * FROM (SELECT f.name, 'merged', s.link"
	               " FROM item_sources s JOIN feeds f ON f.id = s.feed_id"
	               " WHERE s.item_id = ?1 ORDER BY s.id)", id, "sources:")) {
		fprintf(stderr, "%s: %s\n", cfg->database, sqlite3_errmsg(db));
		goto out;
	}
	code = HF_EXIT_OK;
out:
	item_text_clear(&t);
	free(hits);
	sqlite3_close(db);
	classify_free(cls);
	config_free(cfg);
	buf_free(&errors);
	buf_free(&explain);
	return code;
}
