/* test_publish.c - the output files: Atom, index.html, status, OPML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <sqlite3.h>

#include "helsefeed/util.h"
#include "helsefeed/publish.h"
#include "helsefeed/text.h"
#include "helsefeed/store.h"
/* White box: the query plans (pubdb_explain). */
#include "../src/publish/publish_int.h"

/* 2024-04-10T10:00:00Z: the fixture's "now" of the first fetch. */
#define T0 1712743200
#define HOUR 3600

static const char conf_fmt[] =
	"[helsefeed]\n"
	"database = %s/db/helsefeed.db\n"
	"output = %s/public\n"
	"base_url = https://helsenytt.example.no/\n"
	"title = Helsenytt\n"
	"timezone = Europe/Oslo\n"
	"max_entries = %d\n"
	"stale_after = 1d\n"
	"[category hospitals]\n"
	"title = Sykehus\n"
	"match = sykehus*\n"
	"[category covid]\n"
	"title = Covid-19\n"
	"match = covid*\n"
	"[feed hod]\n"
	"url = https://www.regjeringen.no/no/rss/Rss/2581966/?owner=421\n"
	"title = Helse- og omsorgsdepartementet\n"
	"kind = ministry\n"
	"[feed fhi]\n"
	"url = https://www.fhi.no/rss/nyheter/\n"
	"title = Folkehelseinstituttet\n"
	"kind = directorate\n";

struct fx {
	char dir[64];
	char out[128];
	struct config *cfg;
	struct store *st;
	int64_t story_id;      /* the item both feeds carried */
};

/* --- building the database through the store's ingest API ------------- */

struct ent {
	const char *feed, *key, *guid, *title, *link, *html;
	int64_t published;
	const char *category;
};

static void commit(struct store_ingest *in, int64_t now)
{
	struct store_fetch_result r = {0};

	r.started = now;
	r.http_status = 200;
	assert_int_equal(store_ingest_commit(in, &r), 0);
}

/* Store one entry as the parser would hand it over (content sanitised),
 * in its own fetch.  Returns the item id. */
static int64_t add(struct store *st, const struct ent *e, int64_t now,
                   uint64_t hash)
{
	struct store_ingest *in = NULL;
	struct feed_entry fe;
	struct buf html = BUF_INIT;
	int64_t id;
	int outcome = -1;

	memset(&fe, 0, sizeof fe);
	if (e->html)
		assert_int_equal(sanitize_html(e->html, strlen(e->html), e->link,
		                               1 << 20, &html), 0);
	fe.key = e->key;
	fe.raw_hash = hash;
	fe.id = e->guid;
	fe.title = e->title;
	fe.link = e->link;
	fe.published = e->published;
	fe.updated = HF_NOTIME;
	fe.content = html.len ? html.data : NULL;
	assert_int_equal(store_ingest_begin(st, e->feed, now, &in), 0);
	assert_int_equal(store_ingest_entry(in, &fe, &outcome), 0);
	assert_int_not_equal(outcome, STORE_UNCHANGED);
	id = store_ingest_item_id(in);
	if (e->category)
		assert_int_equal(store_item_set_categories(in, id,
		                 &(struct store_category){e->category, STORE_CAT_RULE}, 1), 0);
	commit(in, now);
	buf_free(&html);
	return id;
}

/* Six items of hod and fhi, one of them carried by both, one changed
 * after its first fetch, one with markup in its title. */
static const struct ent ents[] = {
	{"hod", "https://www.regjeringen.no/id1", "https://www.regjeringen.no/id1",
	 "Nytt sykehus i Stavanger åpner", "https://www.regjeringen.no/aktuelt/sus/",
	 "<p>Det nye <b>sykehuset</b> tar imot pasienter.</p>", T0 - 5 * HOUR,
	 "hospitals"},
	{"hod", "guid-42", "guid-42", "Ny covid-19-vaksine til eldre",
	 "https://www.regjeringen.no/aktuelt/vaksine/",
	 "<p>Koronavaksine til alle over 65.</p>", T0 - 4 * HOUR, "covid"},
	{"fhi", "https://www.fhi.no/a", NULL,
	 "<script>alert(1)</script> & \"sitat\" <img src=x onerror=alert(2)>",
	 "https://www.fhi.no/a",
	 "<p onclick=\"alert(3)\">Tekst<script>alert(4)</script>"
	 "<a href=\"javascript:alert(5)\">lenke</a>"
	 "<img src=\"x\" onerror=\"alert(6)\"></p>", T0 - 3 * HOUR, NULL},
	{"fhi", "https://www.fhi.no/b", "https://www.fhi.no/b",
	 "Influensasesongen er i gang", "https://www.fhi.no/b",
	 "<p>Flere smittet. <a href=\"https://www.fhi.no/b\">Les mer</a></p>",
	 T0 - 2 * HOUR, NULL},
	{"hod", "guid-43", "guid-43", "Statsbudsjettet for helse",
	 "https://www.regjeringen.no/aktuelt/budsjett/",
	 "<p>Mer til kommunene.</p>", T0 - 1 * HOUR, NULL},
	{"fhi", "https://www.fhi.no/c", "https://www.fhi.no/c",
	 "Udatert melding", "https://www.fhi.no/c", NULL, HF_NOTIME, NULL},
};
#define NENTS (sizeof ents / sizeof ents[0])

/* fhi's copy of the hospital story (merged into item ents[0]). */
static const struct ent story_copy = {
	"fhi", "https://www.fhi.no/sus", NULL, "Nytt sykehus i Stavanger åpner",
	"https://www.fhi.no/sus", NULL, T0 - 5 * HOUR, NULL};

static void build(struct fx *f, int max_entries, int dummy_first)
{
	struct buf conf = BUF_INIT, err = BUF_INIT, path = BUF_INIT;
	struct store_ingest *in = NULL;
	struct feed_entry fe;
	size_t i;

	snprintf(f->dir, sizeof f->dir, "/tmp/hf-publish-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->out, sizeof f->out, "%s/public", f->dir);
	assert_int_equal(buf_printf(&conf, conf_fmt, f->dir, f->dir, max_entries), 0);
	assert_int_equal(config_load_mem("test.conf", conf.data, conf.len, &f->cfg,
	                                 &err), 0);
	assert_int_equal(buf_printf(&path, "%s/db", f->dir), 0);
	assert_int_equal(mkdir(path.data, 0700), 0);
	assert_int_equal(store_open(f->cfg->database, &f->st, &err), 0);
	assert_int_equal(store_sync_feeds(f->st, f->cfg), 0);
	/* Row ids must not reach the output: shift them in one build. */
	if (dummy_first) {
		struct ent d = {"fhi", "dummy", NULL, "Dummy", "https://www.fhi.no/d",
		                NULL, T0 - 900 * HOUR, NULL};
		add(f->st, &d, T0 - 900 * HOUR, 7);
	}
	for (i = 0; i < NENTS; i++) {
		int64_t id = add(f->st, &ents[i], T0 + (int64_t)i, 100 + i);
		if (i == 0)
			f->story_id = id;
	}
	/* Dedup found fhi's copy of the hospital story. */
	memset(&fe, 0, sizeof fe);
	fe.key = story_copy.key;
	fe.raw_hash = 555;
	fe.title = story_copy.title;
	fe.link = story_copy.link;
	fe.published = story_copy.published;
	fe.updated = HF_NOTIME;
	assert_int_equal(store_ingest_begin(f->st, "fhi", T0 + 50, &in), 0);
	assert_int_equal(store_ingest_add_source(in, f->story_id, &fe), 0);
	commit(in, T0 + 50);
	buf_free(&conf);
	buf_free(&err);
	buf_free(&path);
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[512];

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat sb;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			rm_rf(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static void destroy(struct fx *f)
{
	store_close(f->st);
	config_free(f->cfg);
	rm_rf(f->dir);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	build(f, 5, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	destroy(f);
	free(f);
	return 0;
}

/* --- reading the output ------------------------------------------------ */

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char p[256];
	FILE *fp;
	char *data;
	long n;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	fp = fopen(p, "rb");
	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
	data[n] = '\0';
	fclose(fp);
	if (len)
		*len = (size_t)n;
	return data;
}

/* Every string value of XPath `expr` (namespace a = Atom) in the file,
 * joined by '\n', malloc'ed; *n gets the count. */
static char *xpath(const char *dir, const char *file, const char *expr, int *n)
{
	char p[256];
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr obj;
	struct buf out = BUF_INIT;
	int i, count = 0;

	snprintf(p, sizeof p, "%s/%s", dir, file);
	doc = xmlReadFile(p, NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	ctx = xmlXPathNewContext(doc);
	assert_non_null(ctx);
	xmlXPathRegisterNs(ctx, (const xmlChar *)"a",
	                   (const xmlChar *)"http://www.w3.org/2005/Atom");
	obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	assert_non_null(obj);
	if (obj->nodesetval)
		for (i = 0; i < obj->nodesetval->nodeNr; i++) {
			xmlChar *s = xmlNodeGetContent(obj->nodesetval->nodeTab[i]);
			assert_int_equal(buf_printf(&out, "%s\n", s ? (char *)s : ""), 0);
			xmlFree(s);
			count++;
		}
	xmlXPathFreeObject(obj);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	if (n)
		*n = count;
	return buf_detach(&out);
}

static int count_str(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static int exists(const struct fx *f, const char *file);

static const char *const files[] = {
	"all.atom", "hospitals.atom", "covid.atom", "ministry.atom",
	"directorate.atom", "index.html", "status.html", "status.json",
	"feeds.opml", "feed.xsl",
	"tema/hospitals.atom", "tema/covid.atom", "kjelde/ministry.atom",
	"kjelde/directorate.atom", "tema/hospitals.html", "tema/covid.html",
	"kjelde/ministry.html", "kjelde/directorate.html", "arkiv/index.html",
	"arkiv/2024-04.html",
};
#define NFILES (sizeof files / sizeof files[0])

/* --- tests ------------------------------------------------------------- */

/* The text of the first column of the first row of `sql` on the
 * database at `path`, malloc'ed; NULL for SQL NULL or no row. */
static char *q_text(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *v = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void run(struct fx *f, struct publish_stats *s)
{
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 100, s), 0);
}

static void test_writes_every_file_and_only_configured_kinds(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	char p[256];
	struct stat sb;
	mode_t old = umask(027);    /* the service's UMask= */

	run(f, &s);
	umask(old);
	/* A web server of another user enters the directory and reads. */
	assert_int_equal(stat(f->out, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, PUBLISH_DIR_MODE);
	assert_int_equal(s.files, (int)NFILES);
	assert_int_equal(s.changed, (int)NFILES);
	for (size_t i = 0; i < NFILES; i++) {
		snprintf(p, sizeof p, "%s/%s", f->out, files[i]);
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, PUBLISH_FILE_MODE);
		assert_true(sb.st_size > 0);
	}
	/* No feed of kind hospital, municipal or other is configured. */
	snprintf(p, sizeof p, "%s/hospital.atom", f->out);
	assert_int_not_equal(stat(p, &sb), 0);
	snprintf(p, sizeof p, "%s/other.atom", f->out);
	assert_int_not_equal(stat(p, &sb), 0);
}

/* An output directory made 0750 by an older unit (UMask=0027) is opened
 * to readers; one they can already read is left as the admin set it. */
static void test_existing_output_dir_opened_to_readers(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	struct stat sb;

	assert_int_equal(mkdir(f->out, 0750), 0);
	assert_int_equal(chmod(f->out, 0750), 0);
	run(f, &s);
	assert_int_equal(stat(f->out, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, PUBLISH_DIR_MODE);
	assert_int_equal(chmod(f->out, 0775), 0);
	run(f, &s);
	assert_int_equal(stat(f->out, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0775);
}

static void test_second_run_rewrites_nothing(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	struct stat before[NFILES], after;
	char p[256];
	DIR *d;
	struct dirent *de;

	run(f, &s);
	for (size_t i = 0; i < NFILES; i++) {
		snprintf(p, sizeof p, "%s/%s", f->out, files[i]);
		assert_int_equal(stat(p, &before[i]), 0);
	}
	run(f, &s);
	assert_int_equal(s.files, (int)NFILES);
	assert_int_equal(s.changed, 0);
	for (size_t i = 0; i < NFILES; i++) {
		snprintf(p, sizeof p, "%s/%s", f->out, files[i]);
		assert_int_equal(stat(p, &after), 0);
		assert_int_equal(after.st_ino, before[i].st_ino);
		assert_int_equal(after.st_mtim.tv_sec, before[i].st_mtim.tv_sec);
		assert_int_equal(after.st_mtim.tv_nsec, before[i].st_mtim.tv_nsec);
	}
	/* No temporary file is left behind. */
	for (int i = 0; i < 4; i++) {
		static const char *const sub[] = {"", "/tema", "/kjelde", "/arkiv"};
		snprintf(p, sizeof p, "%s%s", f->out, sub[i]);
		d = opendir(p);
		assert_non_null(d);
		while ((de = readdir(d)))
			assert_false(de->d_name[0] == '.' && strlen(de->d_name) > 2);
		closedir(d);
	}
}

static void test_changed_item_rewrites_its_feeds_only(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	struct stat cov1, cov2, all1, all2;
	char pc[256], pa[256];
	struct ent e = ents[4];   /* hod's budget item, no category */
	char *upd;

	run(f, &s);
	snprintf(pc, sizeof pc, "%s/covid.atom", f->out);
	snprintf(pa, sizeof pa, "%s/all.atom", f->out);
	assert_int_equal(stat(pc, &cov1), 0);
	assert_int_equal(stat(pa, &all1), 0);
	/* The publisher corrected the text two days later. */
	e.html = "<p>Enda mer til kommunene.</p>";
	add(f->st, &e, T0 + 48 * HOUR, 999);
	run(f, &s);
	assert_true(s.changed > 0);
	assert_int_equal(stat(pc, &cov2), 0);
	assert_int_equal(stat(pa, &all2), 0);
	assert_int_equal(cov2.st_ino, cov1.st_ino);
	assert_int_not_equal(all2.st_ino, all1.st_ino);
	/* Readers see it again: updated is the change, published stays. */
	upd = xpath(f->out, "all.atom",
	            "//a:entry[a:title='Statsbudsjettet for helse']/a:updated | "
	            "//a:entry[a:title='Statsbudsjettet for helse']/a:published | "
	            "/a:feed/a:updated", NULL);
	assert_string_equal(upd, "2024-04-12T10:00:00Z\n"
	                         "2024-04-10T09:00:00Z\n2024-04-12T10:00:00Z\n");
	free(upd);
}

/* A correction shows: "Oppdatert" with the local time before the text,
 * in the entry and on the page, the category "oppdatert", and
 * atom:updated at the correction.  A change of markup alone is none, and
 * a new source moves nothing. */
static void test_correction_shown_and_only_then_updated(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	struct ent e = ents[4];   /* hod's budget item */
	struct ent copy = {"fhi", "https://www.fhi.no/budsjett", NULL,
	                   "Statsbudsjettet for helse", e.link, NULL, e.published,
	                   NULL};
	struct store_ingest *in = NULL;
	struct feed_entry fe;
	const char *q = "//a:entry[a:title='Statsbudsjettet for helse']"
	                "/a:updated | //a:entry[a:title='Statsbudsjettet for"
	                " helse']/a:category[@term='oppdatert']/@label";
	char *v;

	run(f, &s);
	v = xpath(f->out, "all.atom", q, NULL);
	assert_string_equal(v, "2024-04-10T09:00:00Z\n");
	free(v);
	/* Markup and white space only: no correction. */
	e.html = "<div>Mer  til <i>kommunene</i>.</div>";
	add(f->st, &e, T0 + 24 * HOUR, 998);
	/* Another feed carries it: a via link, nothing else moves. */
	memset(&fe, 0, sizeof fe);
	fe.key = copy.key;
	fe.raw_hash = 77;
	fe.title = copy.title;
	fe.link = copy.link;
	fe.published = copy.published;
	fe.updated = HF_NOTIME;
	assert_int_equal(store_ingest_begin(f->st, "fhi", T0 + 25 * HOUR, &in), 0);
	assert_int_equal(store_ingest_add_source(in, f->story_id + 4, &fe), 0);
	commit(in, T0 + 25 * HOUR);
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 26 * HOUR, &s), 0);
	v = xpath(f->out, "all.atom", q, NULL);
	assert_string_equal(v, "2024-04-10T09:00:00Z\n");
	free(v);
	v = xpath(f->out, "all.atom", "//a:entry[a:title='Statsbudsjettet for"
	          " helse']/a:link[@rel='via']/@href", NULL);
	assert_string_equal(v, "https://www.regjeringen.no/aktuelt/budsjett/\n");
	free(v);
	/* The words change: 12.04.2024 10:00 UTC is 12:00 in Oslo. */
	e.html = "<p>Enda mer til kommunene.</p>";
	add(f->st, &e, T0 + 48 * HOUR, 999);
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 49 * HOUR, &s), 0);
	v = xpath(f->out, "all.atom", q, NULL);
	assert_string_equal(v, "2024-04-12T10:00:00Z\nOppdatert\n");
	free(v);
	v = xpath(f->out, "all.atom", "//a:entry[a:title='Statsbudsjettet for"
	          " helse']/a:content", NULL);
	assert_string_equal(v, "<p class=\"oppdatert\"><em>Oppdatert 12.04.2024"
	                    " kl. 12:00</em></p><p>Enda mer til kommunene.</p>\n");
	free(v);
	v = slurp(f->out, "kjelde/ministry.html", NULL);
	assert_non_null(strstr(v, "<p class=\"oppdatert\"><em>Oppdatert"
	                       " 12.04.2024 kl. 12:00</em></p>\n<p>Enda mer til"
	                       " kommunene.</p>"));
	free(v);
	/* Every other entry is as it was. */
	v = xpath(f->out, "all.atom", "//a:category[@term='oppdatert']", NULL);
	free(v);
	v = xpath(f->out, "all.atom", "//a:entry[a:category/@term='oppdatert']"
	          "/a:title", NULL);
	assert_string_equal(v, "Statsbudsjettet for helse\n");
	free(v);
}

static void test_entries_newest_first_and_bounded(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	char *pub, *line, *save = NULL;
	char prev[32] = "9999";
	int n = 0;

	run(f, &s);
	pub = xpath(f->out, "all.atom", "/a:feed/a:entry/a:published", &n);
	/* max_entries = 5 of the 6 items; the undated one (first_seen = its
	 * fetch time, T0 + 5) is the newest. */
	assert_int_equal(n, 5);
	for (line = strtok_r(pub, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		assert_true(strcmp(line, prev) <= 0);
		snprintf(prev, sizeof prev, "%s", line);
	}
	free(pub);
	pub = xpath(f->out, "all.atom", "/a:feed/a:entry[1]/a:title", NULL);
	assert_string_equal(pub, "Udatert melding\n");
	free(pub);
	/* The oldest of the six does not fit. */
	pub = xpath(f->out, "all.atom", "//a:entry[a:title='Nytt sykehus i Stavanger åpner']", &n);
	assert_int_equal(n, 0);
	free(pub);
	pub = xpath(f->out, "hospitals.atom", "//a:entry", &n);
	assert_int_equal(n, 1);
	free(pub);
}

/* Every line of `lines` ("a\nb\n") is a line of `in`. */
static void assert_lines_in(const char *lines, const char *in)
{
	char line[256];

	for (const char *l = lines; *l; l = strchr(l, '\n') + 1) {
		size_t n = strcspn(l, "\n");
		assert_true(n + 2 < sizeof line);
		snprintf(line, sizeof line, "%.*s\n", (int)n, l);
		assert_non_null(strstr(in, line));
		if (!l[n])
			break;
	}
}

/* An entry's id is the item's own, from the store: a urn:uuid, never
 * the feed's guid, the same in every file and after an update, and
 * another database of the same entries has other ids (no feed can
 * predict them). */
static void test_entry_ids_are_ours_and_stay(void **state)
{
	struct fx *f = *state;
	struct fx g;
	struct publish_stats s;
	char *ids1, *ids2, *again, *db, *cov;
	int n1 = 0, n2 = 0;

	run(f, &s);
	ids1 = xpath(f->out, "all.atom", "/a:feed/a:entry/a:id", &n1);
	assert_int_equal(n1, 5);
	/* The guid that is an absolute URI is no longer the id. */
	assert_null(strstr(ids1, "https://www.fhi.no/b\n"));
	for (char *l = ids1; *l; l = strchr(l, '\n') + 1)
		assert_int_equal(strncmp(l, "urn:uuid:", 9), 0);
	db = q_text(f->cfg->database, "SELECT group_concat(atom_id, char(10))"
	            " || char(10) FROM items");
	assert_non_null(db);
	assert_lines_in(ids1, db);
	cov = xpath(f->out, "covid.atom", "/a:feed/a:entry/a:id", NULL);
	assert_lines_in(cov, ids1);
	/* An update and the next publish change no id. */
	add(f->st, &ents[4], T0 + 48 * HOUR, 999);
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 49 * HOUR, &s), 0);
	again = xpath(f->out, "all.atom", "/a:feed/a:entry/a:id", NULL);
	assert_string_equal(again, ids1);
	/* The same entries stored elsewhere get other ids. */
	memset(&g, 0, sizeof g);
	build(&g, 5, 1);
	assert_int_equal(publish_run(g.cfg, g.st, T0 + 100, &s), 0);
	ids2 = xpath(g.out, "all.atom", "/a:feed/a:entry/a:id", &n2);
	assert_int_equal(n2, 5);
	assert_null(strstr(ids1, strtok(ids2, "\n")));
	free(db);
	free(cov);
	free(again);
	free(ids1);
	free(ids2);
	destroy(&g);
}

static void test_merged_story_once_with_via_and_categories(void **state)
{
	struct fx *f = *state;
	struct fx g;
	struct publish_stats s;
	char *v;
	int n = 0;

	(void)f;
	memset(&g, 0, sizeof g);
	build(&g, 100, 0);
	assert_int_equal(publish_run(g.cfg, g.st, T0 + 100, &s), 0);
	v = xpath(g.out, "all.atom", "//a:entry[a:title='Nytt sykehus i Stavanger åpner']", &n);
	assert_int_equal(n, 1);
	free(v);
	v = xpath(g.out, "all.atom",
	          "//a:entry[a:title='Nytt sykehus i Stavanger åpner']"
	          "/a:link[@rel='via']/@href", &n);
	assert_int_equal(n, 1);
	assert_string_equal(v, "https://www.fhi.no/sus\n");
	free(v);
	v = xpath(g.out, "all.atom",
	          "//a:entry[a:title='Nytt sykehus i Stavanger åpner']/a:source/a:title"
	          " | //a:entry[a:title='Nytt sykehus i Stavanger åpner']/a:category/@label"
	          " | //a:entry[a:title='Nytt sykehus i Stavanger åpner']/a:category/@scheme"
	          " | //a:entry[a:title='Nytt sykehus i Stavanger åpner']/a:author/a:name",
	          &n);
	assert_string_equal(v, "Helse- og omsorgsdepartementet\n"
	                       "Sykehus\nhttps://helsenytt.example.no/categories\n"
	                       "Helse- og omsorgsdepartementet\n");
	free(v);
	/* index.html names the other source too, with its own link. */
	v = slurp(g.out, "index.html", NULL);
	assert_non_null(strstr(v, "<p class=\"also\">Også omtalt av: <a href="
	                       "\"https://www.fhi.no/sus\">Folkehelseinstituttet"
	                       "</a></p>"));
	free(v);
	destroy(&g);
}

static void test_markup_from_a_feed_arrives_inert(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	char *atom, *html, *v;

	run(f, &s);
	atom = slurp(f->out, "all.atom", NULL);
	html = slurp(f->out, "index.html", NULL);
	/* The title is text: escaped in the XML, and once more in HTML. */
	assert_null(strstr(atom, "<script"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<img"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;sitat&quot;"));
	v = xpath(f->out, "all.atom", "//a:entry[a:link/@href='https://www.fhi.no/a']/a:content", NULL);
	/* What a reader renders after unescaping once: sanitised HTML. */
	assert_non_null(strstr(v, "Tekst"));
	assert_null(strstr(v, "<script"));
	assert_null(strstr(v, "javascript:"));
	assert_null(strstr(v, "onerror"));
	assert_null(strstr(v, "onclick"));
	free(v);
	/* A "Les mer" link stays in the entry's content, its words leave
	 * the page's plain summary, which has no link. */
	v = xpath(f->out, "all.atom", "//a:entry[a:link/@href='https://www.fhi.no/b']/a:content", NULL);
	assert_non_null(strstr(v, ">Les mer</a>"));
	assert_non_null(strstr(html, "<p>Flere smittet.</p>"));
	assert_null(strstr(html, "Les mer"));
	free(v);
	free(atom);
	free(html);
}

static void test_index_html_per_category(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	char *html;

	run(f, &s);
	html = slurp(f->out, "index.html", NULL);
	assert_non_null(strstr(html, "<html lang=\"nb\">"));
	assert_non_null(strstr(html, "name=\"viewport\""));
	assert_null(strstr(html, "<script"));
	/* Nothing loaded from elsewhere (the XSS title holds "src=x" as
	 * escaped text, never as an attribute). */
	assert_null(strstr(html, " src=\""));
	assert_null(strstr(html, "<img"));
	assert_non_null(strstr(html, "<link rel=\"alternate\" type=\"application/atom+xml\""
	                             " title=\"Covid-19\" href=\"tema/covid.atom\">"));
	/* 6 in "siste" (PUBLISH_INDEX_ITEMS is more), 1 hospital, 1 covid. */
	assert_int_equal(count_str(html, "<article class=\"item\" data-id=\""), 6 + 1 + 1);
	/* 2024-04-10T06:00Z is 08:00 in Oslo (CEST). */
	assert_non_null(strstr(html, "<time datetime=\"2024-04-10T06:00:00Z\">"
	                             "10.04.2024 kl. 08:00</time>"));
	/* The summary is plain text, markup gone. */
	assert_non_null(strstr(html, "<p>Det nye sykehuset tar imot pasienter.</p>"));
	free(html);
}

static void test_status_stale_and_moved(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	struct store_fetch_result r = {0};
	char *json, *html;

	r.started = T0 - 30 * HOUR;
	r.error = "Could not resolve host: www.fhi.no";
	assert_int_equal(store_record_fetch(f->st, "fhi", &r), 0);
	memset(&r, 0, sizeof r);
	r.started = T0;
	r.http_status = 200;
	r.moved_to = "https://www.regjeringen.no/no/rss/ny/";
	assert_int_equal(store_record_fetch(f->st, "hod", &r), 0);
	run(f, &s);
	json = slurp(f->out, "status.json", NULL);
	assert_non_null(strstr(json, "\"name\":\"fhi\""));
	assert_non_null(strstr(json, "\"state\":\"failing\""));
	assert_non_null(strstr(json, "\"stale\":true"));
	assert_non_null(strstr(json, "\"last_error\":\"Could not resolve host: www.fhi.no\""));
	assert_non_null(strstr(json, "\"advice\":\"Flyttet permanent: sett url = "
	                             "https://www.regjeringen.no/no/rss/ny/ i feeds.conf.\""));
	assert_non_null(strstr(json, "\"summary\":{\"text\":\"0 OK · 1 feiler · "
	                             "1 flyttet\",\"severity\":\"critical\",\"feeds\":2,"
	                             "\"gone\":0,\"failing\":1,\"moved\":1,\"silent\":0,"
	                             "\"never\":0,\"ok\":0}"));
	/* Problems first: the failing feed before the moved one. */
	assert_true(strstr(json, "\"name\":\"fhi\"") < strstr(json, "\"name\":\"hod\""));
	assert_non_null(strstr(json, "\"generated\":\"2024-04-10T10:01:40Z\""));
	html = slurp(f->out, "status.html", NULL);
	assert_non_null(strstr(html, "class=\"st-failing crit\">feiler (utdatert)</td>"));
	assert_non_null(strstr(html, "<p class=\"summary crit\">0 OK · 1 feiler · 1 flyttet</p>"));
	assert_non_null(strstr(html, "Flyttet permanent: sett url = "
	                             "https://www.regjeringen.no/no/rss/ny/ i feeds.conf."));
	/* When it was made, in Oslo time. */
	assert_non_null(strstr(html, "<time class=\"made\" datetime=\"2024-04-10T10:01:40Z\">"
	                             "10.04.2024 kl. 12:01</time>"));
	free(json);
	free(html);
	/* Not stale yet a day earlier: only `now` moved. */
	assert_int_equal(publish_run(f->cfg, f->st, T0 - 20 * HOUR, &s), 0);
	json = slurp(f->out, "status.json", NULL);
	assert_non_null(strstr(json, "\"state\":\"failing\""));
	assert_null(strstr(json, "\"stale\":true"));
	assert_non_null(strstr(json, "\"severity\":\"warning\""));
	free(json);
}

/* A month page whose signature matches is not rendered again; a change
 * of its items, their categories or the configuration renders it. */
static void test_month_pages_render_only_when_changed(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	struct store_ingest *in = NULL;
	char p[256], *v;
	FILE *fp;
	struct ent e = ents[4];

	run(f, &s);
	snprintf(p, sizeof p, "%s/arkiv/2024-04.html", f->out);
	/* A mark only a run that skips the page leaves in place. */
	assert_non_null(fp = fopen(p, "a"));
	fputs("<!-- untouched -->\n", fp);
	fclose(fp);
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 500, &s), 0);
	v = slurp(f->out, "arkiv/2024-04.html", NULL);
	assert_non_null(strstr(v, "<!-- untouched -->"));
	assert_non_null(strstr(v, "\n<!-- helsefeed-sig "));
	free(v);
	/* A category given by the rules later: rendered again. */
	assert_int_equal(store_ingest_begin(f->st, "hod", T0 + 600, &in), 0);
	assert_int_equal(store_item_set_categories(in, f->story_id,
	                 &(struct store_category){"covid", STORE_CAT_RULE}, 1), 0);
	commit(in, T0 + 600);
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 700, &s), 0);
	v = slurp(f->out, "arkiv/2024-04.html", NULL);
	assert_null(strstr(v, "<!-- untouched -->"));
	free(v);
	/* A changed text: rendered again. */
	assert_non_null(fp = fopen(p, "a"));
	fputs("<!-- untouched -->\n", fp);
	fclose(fp);
	e.html = "<p>Rettet tekst om kommunene.</p>";
	add(f->st, &e, T0 + 800, 4343);
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 900, &s), 0);
	v = slurp(f->out, "arkiv/2024-04.html", NULL);
	assert_null(strstr(v, "<!-- untouched -->"));
	assert_non_null(strstr(v, "Rettet tekst om kommunene."));
	free(v);
}

/* A category named like a kind: the old URLs stay as they were
 * (hospital.atom the category's, kind-hospital.atom the kind's), the new
 * ones never depend on it (tema/ and kjelde/). */
static void test_names_never_depend_on_collisions(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	struct config *cfg = NULL;
	struct buf conf = BUF_INIT, err = BUF_INIT;
	char *v;
	int n = 0;

	assert_int_equal(buf_printf(&conf, conf_fmt, f->dir, f->dir, 5), 0);
	assert_int_equal(buf_puts(&conf, "[category hospital]\ntitle = Sjukehus\n"
	                          "match = sykehus*\n[feed sus]\n"
	                          "url = https://www.sus.no/rss\nkind = hospital\n"), 0);
	assert_int_equal(config_load_mem("test.conf", conf.data, conf.len, &cfg, &err), 0);
	assert_int_equal(store_sync_feeds(f->st, cfg), 0);
	assert_int_equal(publish_run(cfg, f->st, T0 + 100, &s), 0);
	assert_true(exists(f, "hospital.atom"));
	assert_true(exists(f, "kind-hospital.atom"));
	assert_true(exists(f, "tema/hospital.atom"));
	assert_true(exists(f, "tema/hospital.html"));
	assert_true(exists(f, "kjelde/hospital.atom"));
	assert_true(exists(f, "kjelde/hospital.html"));
	v = xpath(f->out, "hospital.atom", "/a:feed/a:title", &n);
	assert_string_equal(v, "Helsenytt: Sjukehus\n");
	free(v);
	v = xpath(f->out, "kind-hospital.atom", "/a:feed/a:title", &n);
	assert_string_equal(v, "Helsenytt: Sykehus og helseforetak\n");
	free(v);
	v = slurp(f->out, "index.html", NULL);
	assert_non_null(strstr(v, "<a href=\"tema/hospital.html\">Sjukehus</a>"));
	assert_non_null(strstr(v, "<a href=\"kjelde/hospital.html\">Sykehus og "
	                          "helseforetak</a>"));
	free(v);
	config_free(cfg);
	buf_free(&conf);
	buf_free(&err);
}

/* A feed that answers but brought nothing new for silent_after (30 days
 * by default) is "stille"; one day earlier it is OK. */
static void test_status_silent_feed(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	struct store_fetch_result r = {0};
	struct store_feed_state *v = NULL;
	struct buf b = BUF_INIT;
	enum publish_severity sev = PUBLISH_OK;
	char *json;
	size_t n = 0;

	r.started = T0 + 31 * 24 * HOUR;
	r.http_status = 304;
	r.not_modified = 1;
	assert_int_equal(store_record_fetch(f->st, "hod", &r), 0);
	r.started = T0 + 31 * 24 * HOUR;
	assert_int_equal(store_record_fetch(f->st, "fhi", &r), 0);
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 31 * 24 * HOUR, &s), 0);
	json = slurp(f->out, "status.json", NULL);
	assert_non_null(strstr(json, "\"text\":\"0 OK · 2 stille\""));
	assert_non_null(strstr(json, "\"state\":\"silent\",\"label\":\"stille\","
	                             "\"severity\":\"warning\",\"stale\":false,"
	                             "\"silent\":true"));
	assert_non_null(strstr(json, "Svarer, men ingen nye saker siden"));
	free(json);
	/* The same through the functions the CLI uses. */
	assert_int_equal(store_feed_states(f->st, &v, &n), 0);
	assert_int_equal(publish_status_summary(f->cfg, v, n, T0 + 29 * 24 * HOUR,
	                                        &b, &sev), 0);
	assert_string_equal(buf_str(&b), "2 OK");
	assert_int_equal(sev, PUBLISH_OK);
	buf_clear(&b);
	assert_int_equal(publish_status_summary(f->cfg, v, n, T0 + 31 * 24 * HOUR,
	                                        &b, &sev), 0);
	assert_string_equal(buf_str(&b), "0 OK · 2 stille");
	assert_int_equal(sev, PUBLISH_WARNING);
	store_feed_states_free(v, n);
	buf_free(&b);
}

static void test_opml_and_stylesheet(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	char *v, *xsl_out, *xsl_src;
	size_t n1 = 0, n2 = 0;
	int n = 0;

	run(f, &s);
	v = xpath(f->out, "feeds.opml", "//outline[@type='rss']/@xmlUrl", &n);
	/* 2 sources + all + 2 categories + 2 kinds */
	assert_int_equal(n, 7);
	assert_non_null(strstr(v, "https://www.fhi.no/rss/nyheter/\n"));
	assert_non_null(strstr(v, "https://helsenytt.example.no/tema/covid.atom\n"));
	free(v);
	v = xpath(f->out, "feeds.opml", "//outline[@text='Folkehelseinstituttet']/@htmlUrl", &n);
	assert_string_equal(v, "https://www.fhi.no/\n");
	free(v);
	v = slurp(f->out, "all.atom", NULL);
	assert_non_null(strstr(v, "<?xml-stylesheet type=\"text/xsl\" href=\"feed.xsl\"?>"));
	free(v);
	/* The stylesheet installed is publish/feed.xsl, byte for byte. */
	xsl_out = slurp(f->out, "feed.xsl", &n1);
	xsl_src = slurp("../publish", "feed.xsl", &n2);
	assert_non_null(xsl_src);
	assert_int_equal(n1, n2);
	assert_memory_equal(xsl_out, xsl_src, n1);
	free(xsl_out);
	free(xsl_src);
}


/* --- pages, archives, hidden and removed items ------------------------- */

/* 1 when `file` in the output exists. */
static int exists(const struct fx *f, const char *file)
{
	char p[256];
	struct stat sb;

	snprintf(p, sizeof p, "%s/%s", f->out, file);
	return stat(p, &sb) == 0;
}

static void test_pages_per_category_and_kind_with_menu(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	char *html, *a, *b;
	int na = 0, nb = 0;

	run(f, &s);
	html = slurp(f->out, "tema/covid.html", NULL);
	assert_non_null(html);
	/* The index's look: the same frame, menu grouped and labelled. */
	assert_non_null(strstr(html, "<span class=\"label\">Tema</span>"));
	assert_non_null(strstr(html, "<span class=\"label\">Avsendere</span>"));
	assert_non_null(strstr(html, "<a href=\"../tema/hospitals.html\">Sykehus</a>"));
	assert_non_null(strstr(html, "<a href=\"../tema/covid.html\" class=\"here\">"
	                             "Covid-19</a>"));
	assert_non_null(strstr(html, "<a href=\"../kjelde/ministry.html\">"
	                             "Departementet</a>"));
	assert_non_null(strstr(html, "<a class=\"subscribe\" type=\"application/atom+xml\""
	                             " href=\"../tema/covid.atom\">Abonner (Atom)</a>"));
	assert_non_null(strstr(html, "<time class=\"made\" datetime=\"2024-04-10T10:01:40Z\">"
	                             "10.04.2024 kl. 12:01</time>"));
	assert_non_null(strstr(html, "<link rel=\"alternate\" type=\"application/atom+xml\""
	                             " title=\"Covid-19\" href=\"../tema/covid.atom\">"));
	assert_int_equal(count_str(html, "<article class=\"item\""), 1);
	assert_non_null(strstr(html, "Ny covid-19-vaksine til eldre"));
	free(html);
	/* A kind's page: hod's three items, not fhi's. */
	html = slurp(f->out, "kjelde/ministry.html", NULL);
	assert_int_equal(count_str(html, "<article class=\"item\""), 3);
	assert_null(strstr(html, "Influensasesongen"));
	assert_non_null(strstr(html, "href=\"../kjelde/ministry.atom\">Abonner (Atom)"));
	free(html);
	/* The front page links the pages, never a bare .atom in its menu. */
	html = slurp(f->out, "index.html", NULL);
	assert_non_null(strstr(html, "<a href=\"tema/covid.html\">Covid-19</a>"));
	assert_non_null(strstr(html, " href=\"all.atom\">Abonner (Atom)</a>"));
	free(html);
	/* The old URL and the new one carry the same entries; each feed's
	 * page is its alternate. */
	a = xpath(f->out, "covid.atom", "//a:entry/a:id", &na);
	b = xpath(f->out, "tema/covid.atom", "//a:entry/a:id", &nb);
	assert_int_equal(na, 1);
	assert_string_equal(a, b);
	free(a);
	free(b);
	a = xpath(f->out, "tema/covid.atom", "/a:feed/a:link[@rel='alternate']/@href", NULL);
	assert_string_equal(a, "https://helsenytt.example.no/tema/covid.html\n");
	free(a);
	a = slurp(f->out, "tema/covid.atom", NULL);
	assert_non_null(strstr(a, "href=\"../feed.xsl\""));
	/* Local time for feed.xsl: 06:00Z is 08:00 in Oslo in April. */
	free(a);
	a = slurp(f->out, "all.atom", NULL);
	assert_non_null(strstr(a, "<hf:local>2024-04-10T08:00:00+02:00</hf:local>"));
	free(a);
}

/* A page's stamp moves only when the rest of it changed. */
static void test_made_stamp_moves_with_content_only(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	struct stat a, b;
	char p[256], *html;
	struct ent e = {"hod", "guid-99", "guid-99", "Ny sak om sjukehus",
	                "https://www.regjeringen.no/aktuelt/ny/", NULL, T0 + 150,
	                "hospitals"};

	snprintf(p, sizeof p, "%s/index.html", f->out);
	run(f, &s);
	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 200, &s), 0);
	assert_int_equal(stat(p, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	html = slurp(f->out, "index.html", NULL);
	assert_non_null(strstr(html, "datetime=\"2024-04-10T10:01:40Z\""));
	free(html);
	add(f->st, &e, T0 + 250, 4242);
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 300, &s), 0);
	html = slurp(f->out, "index.html", NULL);
	assert_non_null(strstr(html, "<time class=\"made\" datetime=\"2024-04-10T10:05:00Z\">"));
	assert_non_null(strstr(html, "Ny sak om sjukehus"));
	free(html);
	/* covid's page did not change: its stamp stays. */
	html = slurp(f->out, "tema/covid.html", NULL);
	assert_non_null(strstr(html, "datetime=\"2024-04-10T10:01:40Z\""));
	free(html);
}

static const char *const outputs_with_vaccine[] = {
	"all.atom", "covid.atom", "tema/covid.atom", "ministry.atom",
	"kjelde/ministry.atom", "index.html", "tema/covid.html",
	"kjelde/ministry.html", "arkiv/2024-04.html",
};

static void test_hidden_item_leaves_every_output(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	int64_t id = 0;
	char *v;
	size_t i;
	int n = 0;

	run(f, &s);
	v = xpath(f->out, "all.atom", "//a:entry[a:title='Ny covid-19-vaksine til eldre']", &n);
	assert_int_equal(n, 1);
	free(v);
	for (i = 0; i < sizeof outputs_with_vaccine / sizeof *outputs_with_vaccine; i++) {
		v = slurp(f->out, outputs_with_vaccine[i], NULL);
		assert_non_null(strstr(v, "Ny covid-19-vaksine"));
		free(v);
	}
	/* Its id, as the pages show it. */
	v = slurp(f->out, "tema/covid.html", NULL);
	assert_non_null(strstr(v, "data-id=\""));
	id = strtoll(strstr(v, "data-id=\"") + 9, NULL, 10);
	free(v);
	assert_true(id > 0);
	assert_int_equal(store_item_set_hidden(f->st, id, 1, T0 + 150, NULL), 0);
	run(f, &s);
	for (i = 0; i < sizeof outputs_with_vaccine / sizeof *outputs_with_vaccine; i++) {
		v = slurp(f->out, outputs_with_vaccine[i], NULL);
		assert_null(strstr(v, "Ny covid-19-vaksine"));
		free(v);
	}
	assert_int_equal(store_item_set_hidden(f->st, id, 0, T0 + 160, NULL), 0);
	run(f, &s);
	v = slurp(f->out, "tema/covid.html", NULL);
	assert_non_null(strstr(v, "Ny covid-19-vaksine"));
	free(v);
}

/* A feed taken out of feeds.conf: its items leave every file at the
 * next publish; a story another configured feed carried too stays. */
static void test_removed_feed_leaves_the_output(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	struct config *cfg = NULL;
	struct buf conf = BUF_INIT, err = BUF_INIT;
	char *v, *cut;
	int n = 0;

	assert_int_equal(buf_printf(&conf, conf_fmt, f->dir, f->dir, 5), 0);
	cut = strstr(conf.data, "[feed fhi]");
	assert_non_null(cut);
	*cut = '\0';
	conf.len = strlen(conf.data);
	assert_int_equal(config_load_mem("test.conf", conf.data, conf.len, &cfg, &err), 0);
	assert_int_equal(store_sync_feeds(f->st, cfg), 0);
	assert_int_equal(publish_run(cfg, f->st, T0 + 100, &s), 0);
	v = xpath(f->out, "all.atom", "//a:entry/a:title", &n);
	assert_int_equal(n, 3);
	assert_null(strstr(v, "Influensasesongen"));
	assert_null(strstr(v, "Udatert melding"));
	assert_non_null(strstr(v, "Nytt sykehus i Stavanger"));
	free(v);
	/* The story hod carried stays, without a via link to fhi. */
	v = xpath(f->out, "all.atom", "//a:link[@rel='via']", &n);
	assert_int_equal(n, 0);
	free(v);
	v = slurp(f->out, "index.html", NULL);
	assert_null(strstr(v, "Influensasesongen"));
	free(v);
	v = slurp(f->out, "arkiv/2024-04.html", NULL);
	assert_null(strstr(v, "Influensasesongen"));
	free(v);
	config_free(cfg);
	buf_free(&conf);
	buf_free(&err);
}

static void test_enclosures_republished(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	struct store_ingest *in = NULL;
	struct feed_entry fe;
	const struct feed_enclosure enc[] = {
		{(char *)"https://www.fhi.no/podkast/ep1.mp3", (char *)"audio/mpeg", 4321},
		{(char *)"ftp://ftp.fhi.no/rapport.pdf", (char *)"application/pdf", -1},
		{(char *)"https://www.fhi.no/rapport.pdf", NULL, -1},
	};
	char *v;
	int n = 0;

	memset(&fe, 0, sizeof fe);
	fe.key = "pod-1";
	fe.raw_hash = 77;
	fe.title = "Podkast om vaksiner";
	fe.link = "https://www.fhi.no/podkast/";
	fe.published = T0 + 60;
	fe.updated = HF_NOTIME;
	fe.enclosures = enc;
	fe.nenclosures = 3;
	assert_int_equal(store_ingest_begin(f->st, "fhi", T0 + 60, &in), 0);
	assert_int_equal(store_ingest_entry(in, &fe, NULL), 0);
	commit(in, T0 + 60);
	run(f, &s);
	v = xpath(f->out, "all.atom", "//a:entry[a:title='Podkast om vaksiner']"
	          "/a:link[@rel='enclosure']/@href", &n);
	assert_int_equal(n, 2);
	assert_string_equal(v, "https://www.fhi.no/podkast/ep1.mp3\n"
	                       "https://www.fhi.no/rapport.pdf\n");
	free(v);
	v = xpath(f->out, "all.atom", "//a:link[@rel='enclosure'][1]/@type | "
	          "//a:link[@rel='enclosure'][1]/@length", &n);
	assert_string_equal(v, "audio/mpeg\n4321\n");
	free(v);
	v = slurp(f->out, "index.html", NULL);
	assert_non_null(strstr(v, "Vedlegg: <a href=\"https://www.fhi.no/podkast/ep1.mp3\">"
	                          "ep1.mp3</a>, <a href=\"https://www.fhi.no/rapport.pdf\">"
	                          "rapport.pdf</a></p>"));
	assert_null(strstr(v, "ftp:"));
	free(v);
}

/* The offline sample's feeds are files: nothing public names a path. */
static void test_no_file_url_in_public_files(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	struct config *cfg = NULL;
	struct store_fetch_result r = {0};
	struct buf conf = BUF_INIT, err = BUF_INIT;
	struct ent e = {"lokal", "l-1", NULL, "Lokal sak", "https://www.fhi.no/l",
	                NULL, T0 - 30 * 60, NULL};
	static const char *const pub[] = {
		"all.atom", "kjelde/other.atom", "other.atom", "index.html",
		"kjelde/other.html", "status.html", "status.json", "feeds.opml",
		"arkiv/2024-04.html",
	};
	char *v;

	assert_int_equal(buf_printf(&conf, conf_fmt, f->dir, f->dir, 5), 0);
	v = strstr(conf.data, "stale_after = 1d\n");
	assert_non_null(v);
	*v = '\0';
	assert_int_equal(buf_printf(&err, "%sallow_file_urls = yes\n%s[feed lokal]\n"
	                            "url = file:///srv/helsefeed/lokal.rss\n"
	                            "kind = other\n", conf.data, v + 17), 0);
	assert_int_equal(config_load_mem("test.conf", err.data, err.len, &cfg, &conf), 0);
	assert_int_equal(store_sync_feeds(f->st, cfg), 0);
	add(f->st, &e, T0, 31);
	r.started = T0 + 10;
	r.error = "file:///srv/helsefeed/lokal.rss: not a feed: root element <html>";
	assert_int_equal(store_record_fetch(f->st, "lokal", &r), 0);
	assert_int_equal(publish_run(cfg, f->st, T0 + 100, &s), 0);
	for (size_t i = 0; i < sizeof pub / sizeof *pub; i++) {
		v = slurp(f->out, pub[i], NULL);
		assert_non_null(v);
		assert_null(strstr(v, "file:"));
		assert_null(strstr(v, "/srv/helsefeed"));
		free(v);
	}
	v = xpath(f->out, "all.atom", "//a:entry[a:title='Lokal sak']/a:source/a:id", NULL);
	assert_string_equal(v, "tag:helsenytt.example.no,2024:feed/lokal\n");
	free(v);
	/* A web feed's source names its feed and its publisher's site. */
	v = xpath(f->out, "all.atom", "//a:entry[a:title='Influensasesongen er i gang']"
	          "/a:source/a:link/@href", NULL);
	assert_string_equal(v, "https://www.fhi.no/rss/nyheter/\nhttps://www.fhi.no/\n");
	free(v);
	v = slurp(f->out, "status.json", NULL);
	assert_non_null(strstr(v, "\"last_error\":\"[lokal fil]: not a feed: root element <html>\""));
	free(v);
	config_free(cfg);
	buf_free(&conf);
	buf_free(&err);
}

/* A month of hundreds of stories: its page is written as it is made, in
 * pieces of PUB_STREAM_CHUNK bytes, and is one whole page with every
 * story, no temporary file left beside it. */
static void test_month_page_written_in_pieces(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	char key[32], title[64], *v, *at, dir[256];
	struct ent e = {"fhi", NULL, NULL, NULL, "https://www.fhi.no/m",
	                "<p>Rapport om legevakt og sykehjem i kommunen, med tall for"
	                " hver region og en lang oppsummering av funnene.</p>",
	                0, NULL};
	size_t n = 0, before;
	DIR *d;
	struct dirent *de;

	run(f, &s);
	v = slurp(f->out, "arkiv/2024-04.html", NULL);
	for (at = v; (at = strstr(at, "data-id=")); at++)
		n++;
	free(v);
	before = n;
	for (int i = 0; i < 400; i++) {
		snprintf(key, sizeof key, "m%d", i);
		snprintf(title, sizeof title, "Månedsrapport nummer %d fra FHI", i);
		e.key = key;
		e.title = title;
		e.published = T0 - 20 * HOUR - i * 60;
		add(f->st, &e, T0 + 1, 7000 + (uint64_t)i);
	}
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 100, &s), 0);
	v = slurp(f->out, "arkiv/2024-04.html", NULL);
	assert_true(strlen(v) > 2 * PUB_STREAM_CHUNK);
	assert_true(!strncmp(v, "<!DOCTYPE html>\n" PUB_SIG, 16 + strlen(PUB_SIG)));
	assert_non_null(strstr(v, "Månedsrapport nummer 0 fra FHI"));
	assert_non_null(strstr(v, "Månedsrapport nummer 399 fra FHI"));
	for (n = 0, at = v; (at = strstr(at, "data-id=")); at++)
		n++;
	assert_int_equal(n, before + 400);
	assert_non_null(strstr(v, "</html>\n"));
	assert_int_equal(strlen(strstr(v, "</html>\n")), 8);
	free(v);
	snprintf(dir, sizeof dir, "%s/arkiv", f->out);
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)))
		assert_false(de->d_name[0] == '.' && strlen(de->d_name) > 2);
	closedir(d);
}

/* RFC 5005 archives of complete months, which never change; the monthly
 * pages reach every story. */
static void test_archives(void **state)
{
	struct fx *f = *state;
	struct publish_stats s;
	struct stat a, b;
	char p[256], *v, *w;
	int n = 0, total = 0;
	struct ent d = {"fhi", "dummy", NULL, "Dummy", "https://www.fhi.no/d",
	                "<p>Endret</p>", T0 - 900 * HOUR, NULL};
	int64_t id;

	destroy(f);
	memset(f, 0, sizeof *f);
	build(f, 5, 1);    /* an item first seen in March 2024 */
	run(f, &s);
	assert_true(exists(f, "arkiv/2024-03.atom"));
	/* April is not over: no document for it yet. */
	assert_false(exists(f, "arkiv/2024-04.atom"));
	v = slurp(f->out, "arkiv/2024-03.atom", NULL);
	assert_non_null(strstr(v, "<fh:archive></fh:archive>"));
	assert_non_null(strstr(v, "xmlns:fh=\"http://purl.org/syndication/history/1.0\""));
	assert_non_null(strstr(v, "rel=\"current\" type=\"application/atom+xml\" "
	                          "href=\"https://helsenytt.example.no/all.atom\""));
	assert_null(strstr(v, "prev-archive"));
	free(v);
	v = xpath(f->out, "arkiv/2024-03.atom", "//a:entry/a:title", &n);
	assert_string_equal(v, "Dummy\n");
	free(v);
	v = xpath(f->out, "all.atom", "/a:feed/a:link[@rel='prev-archive']/@href", &n);
	assert_string_equal(v, "https://helsenytt.example.no/arkiv/2024-03.atom\n");
	free(v);

	/* A later change of the archived item leaves the document alone. */
	snprintf(p, sizeof p, "%s/arkiv/2024-03.atom", f->out);
	assert_int_equal(stat(p, &a), 0);
	id = add(f->st, &d, T0 + 3600, 8);
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 40 * 24 * HOUR, &s), 0);
	assert_int_equal(stat(p, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	/* April is complete now: its document links March. */
	v = xpath(f->out, "arkiv/2024-04.atom", "/a:feed/a:link[@rel='prev-archive']/@href", &n);
	assert_string_equal(v, "https://helsenytt.example.no/arkiv/2024-03.atom\n");
	free(v);
	v = xpath(f->out, "all.atom", "/a:feed/a:link[@rel='prev-archive']/@href", &n);
	assert_string_equal(v, "https://helsenytt.example.no/arkiv/2024-04.atom\n");
	free(v);
	/* An editor withdraws it: the one change an archive takes. */
	assert_int_equal(store_item_set_hidden(f->st, id, 1, (int64_t)time(NULL) + 5,
	                                       NULL), 0);
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 40 * 24 * HOUR, &s), 0);
	v = xpath(f->out, "arkiv/2024-03.atom", "//a:entry", &n);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(store_item_set_hidden(f->st, id, 0, (int64_t)time(NULL) + 6,
	                                       NULL), 0);
	assert_int_equal(publish_run(f->cfg, f->st, T0 + 40 * 24 * HOUR, &s), 0);

	/* The monthly pages hold every item once: 7 items, 2 months. */
	v = slurp(f->out, "arkiv/2024-03.html", NULL);
	w = slurp(f->out, "arkiv/2024-04.html", NULL);
	total = count_str(v, "<article class=\"item\"") + count_str(w, "<article class=\"item\"");
	assert_int_equal(total, 7);
	assert_non_null(strstr(v, "Dummy"));
	assert_non_null(strstr(w, "<a rel=\"prev\" href=\"2024-03.html\">← mars 2024</a>"));
	assert_non_null(strstr(v, "<a rel=\"next\" href=\"2024-04.html\">april 2024 →</a>"));
	/* "1 sak.", "6 saker." */
	for (int k = 0; k < 2; k++) {
		char want[32];
		int items = count_str(k ? w : v, "<article class=\"item\"");
		snprintf(want, sizeof want, "<p>%d %s.", items, items == 1 ? "sak" : "saker");
		assert_non_null(strstr(k ? w : v, want));
	}
	assert_int_equal(count_str(v, "<article class=\"item\""), 1);
	free(v);
	free(w);
	v = slurp(f->out, "arkiv/index.html", NULL);
	assert_non_null(strstr(v, "<a href=\"2024-04.html\">april 2024</a> (6)"));
	assert_non_null(strstr(v, "<a href=\"2024-03.html\">mars 2024</a> (1)"));
	free(v);
}

static void test_write_file_replaces_atomically(void **state)
{
	char dir[] = "/tmp/hf-pubw-XXXXXX";
	char p[64];
	struct stat a, b;
	int changed = -1;
	char *v;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof p, "%s/x.txt", dir);
	assert_int_equal(publish_write_file(dir, "x.txt", "abc", 3, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(publish_write_file(dir, "x.txt", "abc", 3, &changed), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(stat(p, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	/* Same length, other bytes; then a prefix of the old content. */
	assert_int_equal(publish_write_file(dir, "x.txt", "abd", 3, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(publish_write_file(dir, "x.txt", "ab", 2, &changed), 0);
	assert_int_equal(changed, 1);
	v = slurp(dir, "x.txt", NULL);
	assert_string_equal(v, "ab");
	free(v);
	assert_int_equal(fs_sync_dir(dir), 0);
	assert_int_equal(publish_write_file("/nonexistent/dir", "x", "a", 1, &changed),
	                 HF_EIO);
	rm_rf(dir);
}

static void test_entry_id_forms(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(publish_entry_id("h.no", "hod", "k", "https://x.no/1", &b), 0);
	assert_string_equal(buf_str(&b), "https://x.no/1");
	buf_clear(&b);
	assert_int_equal(publish_entry_id("h.no", "hod", "k",
	                                  "urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6", &b), 0);
	assert_string_equal(buf_str(&b), "urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6");
	/* Not absolute, or not an IRI: the tag form, the same every time. */
	static const char *const not_uri[] = {
		"12345", "/no/aktuelt/1", "a b:c", "http://x.no/a b", "1x:y", ":x", "x:",
		NULL,
	};
	for (int i = 0; not_uri[i]; i++) {
		buf_clear(&b);
		assert_int_equal(publish_entry_id("h.no", "hod", "k", not_uri[i], &b), 0);
		assert_string_equal(buf_str(&b), "tag:h.no,2024:item/hod/af63e64c8601fd8a");
	}
	buf_clear(&b);
	assert_int_equal(publish_entry_id("h.no", "hod", "k2", NULL, &b), 0);
	assert_string_not_equal(buf_str(&b), "tag:h.no,2024:item/hod/af63e64c8601fd8a");
	buf_free(&b);
}

static void test_url_host(void **state)
{
	static const struct {
		const char *url, *host;
	} t[] = {
		{"https://helsenytt.example.no/", "helsenytt.example.no"},
		{"https://User:pw@Host.Example.NO:8443/x?y#z", "host.example.no"},
		{"http://[2001:db8::1]:80/", "[2001:db8::1]"},
		{"https://x.no", "x.no"},
		{"file:///tmp/x", "localhost"},
		{"no url", "localhost"},
	};
	struct buf b = BUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		buf_clear(&b);
		assert_int_equal(publish_url_host(t[i].url, &b), 0);
		assert_string_equal(buf_str(&b), t[i].host);
	}
	buf_free(&b);
}

static void test_date_nb_in_oslo(void **state)
{
	static const struct {
		int64_t t;
		const char *s;
	} t[] = {
		{1653292800, "23.05.2022 kl. 10:00"},   /* 08:00Z, summer time */
		{1641805200, "10.01.2022 kl. 10:00"},   /* 09:00Z, winter time */
		{1648342799, "27.03.2022 kl. 01:59"},   /* the second before DST */
		{1648342800, "27.03.2022 kl. 03:00"},
		{1703977200, "31.12.2023 kl. 00:00"},   /* 23:00Z the day before */
	};
	char out[32];
	const char *tz = getenv("TZ");

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(publish_date_nb(t[i].t, "Europe/Oslo", out), 0);
		assert_string_equal(out, t[i].s);
	}
	assert_int_equal(publish_date_nb(1653292800, "UTC", out), 0);
	assert_string_equal(out, "23.05.2022 kl. 08:00");
	/* The process's zone is given back. */
	if (tz)
		assert_string_equal(getenv("TZ"), tz);
	else
		assert_null(getenv("TZ"));
}

/* items_t walked in its order (newest first, stopped by LIMIT), no
 * other scan of items and no sort. */
static int walks_time_index(const char *plan)
{
	const char *p = strstr(plan, "SCAN items USING INDEX items_t\n");

	return p && !strstr(p + 1, "SCAN items") &&
	       !strstr(plan, "SCAN items\n") && !strstr(plan, "TEMP B-TREE");
}

/* Every list walks the time index, whatever its filter; the filter is a
 * probe by key of item_categories or feeds.  A limit gives the newest
 * items first. */
static void test_query_plans_use_indexes(void **state)
{
	struct fx *f = *state;
	struct pubdb *db = NULL;
	struct buf plan = BUF_INIT;
	int64_t one[1], all[100];
	size_t n1 = 0, n = 0;

	for (int i = 0; i < 70; i++) {
		char key[32], title[64];
		snprintf(key, sizeof key, "covid-%d", i);
		snprintf(title, sizeof title, "Covid-melding %d", i);
		struct ent e = {"hod", key, NULL, title, "https://www.regjeringen.no/c",
		                NULL, T0 - 100 * HOUR + i * HOUR, "covid"};
		add(f->st, &e, T0 + 10 + i, 1000 + (uint64_t)i);
	}
	assert_int_equal(pubdb_open(f->st, &db), 0);

	assert_int_equal(pubdb_explain(db, PUB_ALL, NULL, 1, &plan), 0);
	assert_true(walks_time_index(plan.data));

	/* 71 covid items. */
	buf_clear(&plan);
	assert_int_equal(pubdb_explain(db, PUB_CATEGORY, "covid", 1, &plan), 0);
	assert_true(walks_time_index(plan.data));
	assert_non_null(strstr(plan.data, "SEARCH c USING "));
	assert_non_null(strstr(plan.data, "category=?"));
	assert_non_null(strstr(plan.data, "item_id=?"));
	assert_int_equal(pubdb_newest(db, PUB_CATEGORY, "covid", 1, one, &n1), 0);
	assert_int_equal(pubdb_newest(db, PUB_CATEGORY, "covid", 100, all, &n), 0);
	assert_int_equal(n1, 1);
	assert_int_equal(n, 71);
	assert_int_equal(one[0], all[0]);

	buf_clear(&plan);
	assert_int_equal(pubdb_explain(db, PUB_KIND, "ministry", 1, &plan), 0);
	assert_true(walks_time_index(plan.data));
	assert_non_null(strstr(plan.data,
	                       "SEARCH f USING INTEGER PRIMARY KEY (rowid=?)"));
	assert_int_equal(pubdb_newest(db, PUB_KIND, "ministry", 1, one, &n1), 0);
	assert_int_equal(pubdb_newest(db, PUB_KIND, "ministry", 100, all, &n), 0);
	assert_int_equal(n1, 1);
	assert_int_equal(n, 73);
	assert_int_equal(one[0], all[0]);

	pubdb_close(db);
	buf_free(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_writes_every_file_and_only_configured_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_output_dir_opened_to_readers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_run_rewrites_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_item_rewrites_its_feeds_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_correction_shown_and_only_then_updated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entries_newest_first_and_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_ids_are_ours_and_stay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merged_story_once_with_via_and_categories, setup, teardown),
		cmocka_unit_test_setup_teardown(test_markup_from_a_feed_arrives_inert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_html_per_category, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_stale_and_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opml_and_stylesheet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_plans_use_indexes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pages_per_category_and_kind_with_menu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_made_stamp_moves_with_content_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hidden_item_leaves_every_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removed_feed_leaves_the_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enclosures_republished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_file_url_in_public_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_archives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_silent_feed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_never_depend_on_collisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_month_pages_render_only_when_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_month_page_written_in_pieces, setup, teardown),
		cmocka_unit_test(test_write_file_replaces_atomically),
		cmocka_unit_test(test_entry_id_forms),
		cmocka_unit_test(test_url_host),
		cmocka_unit_test(test_date_nb_in_oslo),
	};

	log_set_level(LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
