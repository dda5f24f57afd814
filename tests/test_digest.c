/* test_digest.c - schedule (DST included), content and the exactly-once
 * bookkeeping of the digests, with the clock injected and the spool
 * directory as the outbox. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "helsefeed/util.h"
#include "helsefeed/config.h"
#include "helsefeed/digest.h"
#include "helsefeed/store.h"

/* Instants used below (UTC). */
#define T_0329_1000 1743242400  /* 2025-03-29 11:00 CET */
#define T_0329_1200 1743249600  /* 2025-03-29 13:00 CET */
#define T_0329_2000 1743278400
#define T_0330_0100 1743296400  /* 2025-03-30 03:00 CEST: just after the gap */
#define T_0330_0500 1743310800  /* 2025-03-30 07:00 CEST */
#define T_1025_1200 1761393600
#define T_1026_0030 1761438600  /* 2025-10-26 02:30 CEST, the first 02:30 */
#define T_1026_0130 1761442200  /* 2025-10-26 02:30 CET, the second one */
#define T_1026_0600 1761458400  /* 2025-10-26 07:00 CET */
#define T_1027_0130 1761528600
#define H 3600
#define D 86400
#define T_MEET (T_0329_1000 - D)            /* the groups first met */
#define T_FIRST (T_0329_1000 - D - 4 * H)   /* 2025-03-28 07:00 CET */

/* --- digest_next_send ---------------------------------------------------- */

static int64_t next(const char *tz, const char *hhmm, int64_t after)
{
	struct config_digest g = {.name = "t", .timezone = (char *)tz};
	int64_t t = 0;

	assert_int_equal(config_parse_time(hhmm, &g.time), 0);
	assert_int_equal(digest_next_send(&g, after, &t), 0);
	return t;
}

static void test_next_send_0700_summer_and_winter_time(void **state)
{
	(void)state;
	/* 07:00 in Oslo: 05:00Z in summer time, 06:00Z in winter time, on the
	 * very days the clocks change. */
	assert_int_equal(next("Europe/Oslo", "07:00", T_0329_1200), T_0330_0500);
	assert_int_equal(next("Europe/Oslo", "07:00", T_1025_1200), T_1026_0600);
	/* strictly after: at the send time itself, the next day's comes */
	assert_int_equal(next("Europe/Oslo", "07:00", T_0330_0500), T_0330_0500 + D);
	assert_int_equal(next("Europe/Oslo", "07:00", T_0330_0500 - 1), T_0330_0500);
}

static void test_next_send_in_spring_gap_is_end_of_gap(void **state)
{
	(void)state;
	/* 02:30 does not exist on 2025-03-30: 03:00 CEST = 01:00Z. */
	assert_int_equal(next("Europe/Oslo", "02:30", T_0329_1200), T_0330_0100);
	/* the day after, 02:30 CEST again */
	assert_int_equal(next("Europe/Oslo", "02:30", T_0330_0100), T_0330_0100 + D - 30 * 60);
}

static void test_next_send_in_repeated_hour_is_once(void **state)
{
	(void)state;
	/* 02:30 happens twice on 2025-10-26: the first one only. */
	assert_int_equal(next("Europe/Oslo", "02:30", T_1025_1200), T_1026_0030);
	assert_int_equal(next("Europe/Oslo", "02:30", T_1026_0030), T_1027_0130);
	assert_true(next("Europe/Oslo", "02:30", T_1026_0030) != T_1026_0130);
}

static void test_next_send_other_zones(void **state)
{
	(void)state;
	assert_int_equal(next("UTC", "00:00", 0), D);
	assert_int_equal(next("UTC", "23:59", 0), 23 * H + 59 * 60);
	/* Sao Paulo moved its clocks at midnight: 2018-11-04 00:00 did not
	 * exist, the day began at 01:00 (-02) = 03:00Z. */
	assert_int_equal(next("America/Sao_Paulo", "00:00", 1541300000), 1541300400);
}

static void test_next_send_unknown_zone(void **state)
{
	struct config_digest g = {.name = "t", .timezone = "Europe/Atlantis", .time = 420};
	int64_t t = 7;
	(void)state;
	assert_int_equal(digest_next_send(&g, 0, &t), HF_EINVAL);
	assert_int_equal(t, 7);
	g.timezone = "../../etc/passwd";
	assert_int_equal(digest_next_send(&g, 0, &t), HF_EINVAL);
}

/* --- fixture: a store, three feeds, two groups, a spool -------------- */

struct fx {
	char dir[64];
	char spool[96];
	struct config *cfg;
	struct store *st;
	int64_t n;                  /* entry counter */
};

static const char conf_fmt[] =
	"[helsefeed]\n"
	"database = %s/hf.db\n"
	"output = %s/out\n"
	"spool = %s\n"
	"base_url = https://helsenytt.example.no/\n"
	"title = Helsenytt\n"
	"timezone = Europe/Oslo\n"
	"[category covid]\ntitle = Covid-19\nmatch = covid*\n"
	"[category hospitals]\ntitle = Sykehus\nmatch = sykehus*\n"
	"[category municipal]\ntitle = Kommunehelse\nmatch = kommun*\n"
	"[feed hod]\nurl = https://example.no/hod.rss\n"
	"title = Helse- og omsorgsdepartementet\nkind = ministry\n"
	"[feed fhi]\nurl = https://example.no/fhi.rss\n"
	"title = Folkehelseinstituttet\nkind = directorate\n"
	"[feed helse-nord]\nurl = https://example.no/hn.atom\n"
	"title = Helse Nord RHF\nkind = hospital\n"
	"[digest presse]\n"
	"to = presse@example.no, vakt@example.no\n"
	"categories = hospitals covid\n"
	"time = 07:00\n"
	"timezone = Europe/Oslo\n"
	"subject = Nytt fra Helse- og omsorgsdepartementet – {date}: {count}\n"
	"[digest alle]\n"
	"to = alle@example.no\n"
	"time = 07:00\n"
	"language = nn\n"
	"send_empty = yes\n";

/* Sections after conf_fmt's, for the tests that need more groups. */
static const char *conf_extra = "";

static void load_config(struct fx *f)
{
	struct buf text = BUF_INIT, errs = BUF_INIT;

	config_free(f->cfg);
	f->cfg = NULL;
	assert_int_equal(buf_printf(&text, conf_fmt, f->dir, f->dir, f->spool), 0);
	assert_int_equal(buf_puts(&text, conf_extra), 0);
	if (config_load_mem("digest.conf", text.data, text.len, &f->cfg, &errs))
		fail_msg("config: %s", buf_str(&errs));
	buf_free(&text);
	buf_free(&errs);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/hf-digest-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
	load_config(f);
	assert_int_equal(store_open(f->cfg->database, &f->st, NULL), 0);
	assert_int_equal(store_sync_feeds(f->st, f->cfg), 0);
	/* Both groups were met a day before the tests' clock starts: their
	 * first digest is due at 07:00 on 2025-03-29. */
	for (size_t i = 0; i < f->cfg->ndigests; i++) {
		int64_t created, mark;
		assert_int_equal(store_digest_group(f->st, f->cfg->digests[i].name, T_MEET,
		                                    &created, &mark), 0);
		assert_int_equal(created, T_MEET);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	store_close(f->st);
	config_free(f->cfg);
	conf_extra = "";
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Store one entry of `feed` at `now`, published at `published`
 * (HF_NOTIME: not given), with categories (space-separated), and return
 * the item id. */
static int64_t add_pub(struct fx *f, const char *feed, int64_t now, int64_t published,
                       const char *key, const char *title, const char *summary,
                       const char *cats)
{
	struct store_ingest *in = NULL;
	struct feed_entry e;
	struct store_fetch_result res = {.started = now, .http_status = 200};
	char link[256], buf[256];
	struct store_category sc[8];
	size_t nc = 0;
	int64_t id;
	int outcome;

	memset(&e, 0, sizeof e);
	snprintf(link, sizeof link, "https://example.no/%s", key);
	e.key = key;
	e.id = key;
	e.raw_hash = (uint64_t)++f->n;
	e.title = title;
	e.link = link;
	e.summary = summary;
	e.published = published;
	e.updated = HF_NOTIME;
	assert_int_equal(store_ingest_begin(f->st, feed, now, &in), 0);
	assert_int_equal(store_ingest_entry(in, &e, &outcome), 0);
	id = store_ingest_item_id(in);
	snprintf(buf, sizeof buf, "%s", cats);
	for (char *save = NULL, *c = strtok_r(buf, " ", &save); c && nc < 8;
	     c = strtok_r(NULL, " ", &save))
		sc[nc++] = (struct store_category){c, STORE_CAT_RULE};
	if (nc)
		assert_int_equal(store_item_set_categories(in, id, sc, nc), 0);
	assert_int_equal(store_ingest_commit(in, &res), 0);
	return id;
}

static int64_t add(struct fx *f, const char *feed, int64_t now, const char *key,
                   const char *title, const char *summary, const char *cats)
{
	return add_pub(f, feed, now, HF_NOTIME, key, title, summary, cats);
}

static int count_eml(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strstr(de->d_name, ".eml"))
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!fp)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), 0);
	fclose(fp);
	return buf_detach(&b);
}

/* The decoded part of type `type` ("text/plain", "text/html"). */
static char *part(const char *msg, const char *type)
{
	char key[64];
	const char *p, *end;
	struct buf out = BUF_INIT;

	snprintf(key, sizeof key, "Content-Type: %s; charset=UTF-8\r\n", type);
	p = strstr(msg, key);
	assert_non_null(p);
	p = strstr(p, "\r\n\r\n") + 4;
	end = strstr(p, "\r\n--=_hf_");
	assert_non_null(end);
	for (; p < end; p++) {
		unsigned v;
		if (p[0] == '=' && p[1] == '\r') {
			p += 2;
		} else if (p[0] == '=') {
			assert_int_equal(sscanf(p + 1, "%2X", &v), 1);
			assert_int_equal(buf_putc(&out, (char)v), 0);
			p += 2;
		} else {
			assert_int_equal(buf_putc(&out, *p), 0);
		}
	}
	return buf_detach(&out);
}

static int occurrences(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static int64_t q_int(struct fx *f, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(f->cfg->database, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_type(s, 0) == SQLITE_NULL ? -2 : sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* Step 1 as digest_run takes it: the group's latest window must be
 * `after` (0: none); the item range from the times. */
static int record(struct fx *f, int64_t after, int64_t start, int64_t end, int64_t now,
                  const char *mid, int64_t *id)
{
	struct store_digest_new w = {"presse", STORE_DIGEST_SCHEDULED, start, end, now, mid,
	                             after, -1, start, -1, 0};
	return store_digest_record(f->st, &w, id);
}

static int run(struct fx *f, int64_t now, int flags, const char *group, struct digest_stats *s)
{
	memset(s, 0, sizeof *s);
	return digest_run(f->cfg, f->st, now, flags, group, NULL, s);
}

/* --- schedule through digest_run ---------------------------------------- */

static void test_first_digest_then_daily_at_send_time(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;
	struct store_digest_row r;
	char path[256], *msg;

	add(f, "helse-nord", T_0329_1000, "hn1", "Sjukehus i Nord-Norge får ny båt", NULL, "hospitals");
	assert_int_equal(run(f, T_0329_1200, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 1);
	assert_int_equal(count_eml(f->spool), 1);
	snprintf(path, sizeof path, "%s/presse-20250329T1300.eml", f->spool);
	assert_non_null(msg = slurp(path));
	assert_int_equal(store_digest_latest(f->st, "presse", &r), 1);
	/* the first window: from the send time before the first */
	assert_int_equal(r.window_start, T_FIRST);
	assert_int_equal(r.window_end, T_0329_1200);
	assert_int_equal(r.state, STORE_DIGEST_SENT);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.sent_at, T_0329_1200);
	assert_non_null(strstr(msg, r.message_id));
	assert_non_null(strstr(r.message_id, "<digest.presse.1743141600."));
	store_digest_row_clear(&r);
	free(msg);

	/* not again before 07:00 the next morning (summer time by then) */
	add(f, "helse-nord", T_0329_2000, "hn2", "Sykehuset får nytt bygg", NULL, "hospitals");
	assert_int_equal(run(f, T_0329_1200 + H, 0, "presse", &s), 0);
	assert_int_equal(run(f, T_0330_0500 - 1, 0, "presse", &s), 0);
	assert_int_equal(s.waiting, 1);
	assert_int_equal(count_eml(f->spool), 1);
	assert_int_equal(run(f, T_0330_0500, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 1);
	snprintf(path, sizeof path, "%s/presse-20250330T0700.eml", f->spool);
	assert_non_null(msg = slurp(path));
	{
		char *text = part(msg, "text/plain");
		assert_int_equal(occurrences(text, "Sykehuset får nytt bygg"), 1);
		assert_int_equal(occurrences(text, "Sjukehus i Nord-Norge"), 0);
		free(text);
	}
	free(msg);
	assert_int_equal(q_int(f, "SELECT count(*) FROM digests WHERE group_name = 'presse'"), 2);
}

static void test_days_missed_are_one_digest(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;
	char path[256], *msg, *text;

	assert_int_equal(run(f, T_0329_1200, 0, "presse", &s), 0); /* empty: recorded */
	add(f, "hod", T_0330_0500 + 2 * H, "a", "Covid-tiltak avvikles", NULL, "covid");
	add(f, "hod", T_0330_0500 + D + H, "b", "Covid-vaksine til eldre", NULL, "covid");
	add(f, "hod", T_0330_0500 + 2 * D + H, "c", "Covid-rapport lagt fram", NULL, "covid");
	/* down from Sunday to Wednesday noon: one digest, all three */
	assert_int_equal(run(f, T_0330_0500 + 3 * D + 5 * H, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 1);
	assert_int_equal(count_eml(f->spool), 1);
	snprintf(path, sizeof path, "%s/presse-20250402T1200.eml", f->spool);
	assert_non_null(msg = slurp(path));
	text = part(msg, "text/plain");
	assert_non_null(strstr(text, "Covid-tiltak avvikles"));
	assert_non_null(strstr(text, "Covid-vaksine til eldre"));
	assert_non_null(strstr(text, "Covid-rapport lagt fram"));
	free(text);
	free(msg);
	/* and nothing more that day */
	assert_int_equal(run(f, T_0330_0500 + 3 * D + 6 * H, 0, "presse", &s), 0);
	assert_int_equal(s.sent + s.empty, 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM digests WHERE group_name = 'presse'"), 2);
}

static void test_empty_window_sends_nothing_but_moves_on(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;

	assert_int_equal(run(f, T_0329_1200, 0, "presse", &s), 0);
	assert_int_equal(s.empty, 1);
	assert_int_equal(s.sent, 0);
	assert_int_equal(count_eml(f->spool), 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM digests WHERE state = 'sent'"
	                          " AND message_id IS NULL"), 1);
	/* a story later that day waits for the next send time */
	add(f, "hod", T_0329_2000, "late", "Covid-nytt om kvelden", NULL, "covid");
	assert_int_equal(run(f, T_0329_2000 + 60, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 0);
	assert_int_equal(s.waiting, 1);
	assert_int_equal(run(f, T_0330_0500, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 1);
}

static void test_send_empty_says_no_news(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;
	char path[256], *msg, *text;

	assert_int_equal(run(f, T_0329_1200, 0, "alle", &s), 0);
	assert_int_equal(s.sent, 1);
	snprintf(path, sizeof path, "%s/alle-20250329T1300.eml", f->spool);
	assert_non_null(msg = slurp(path));
	text = part(msg, "text/plain");
	assert_non_null(strstr(text, "Ingen nye saker."));
	assert_non_null(strstr(text, "Saker frå 28.03.2025 kl. 07:00 til 29.03.2025 kl. 13:00"));
	assert_non_null(strstr(msg, "Subject: Helsenytt 29.03.2025: ingen nye saker\r\n"));
	free(text);
	free(msg);
}

/* --- content --------------------------------------------------------- */

static void test_content_categories_kinds_updates_and_escaping(void **state)
{
	struct fx *f = *state;
	struct buf out = BUF_INIT;
	const struct config_digest *presse = &f->cfg->digests[0], *alle = &f->cfg->digests[1];
	char long_summary[1200], *text, *html;
	size_t count = 0;
	int64_t old;

	/* long summary: cut near 300 bytes at a word */
	snprintf(long_summary, sizeof long_summary, "<p>%s</p>",
	         "Dette er en lang tekst om sykehus og kommuner som fortsetter og fortsetter "
	         "med mange ord slik at den blir lengre enn tre hundre tegn, for sammendraget "
	         "i e-posten skal bare være noen få linjer og kuttes ved et ordskille. Her "
	         "kommer enda flere ord om ventetider, ambulanser, fastleger og legevakt, og "
	         "om covid-19 og vaksiner, helt til teksten er lang nok. SLUTTORDET");
	old = add(f, "fhi", T_0329_1000 - 2 * D, "old", "Gammel covid-sak", NULL, "covid");
	(void)old;
	add(f, "hod", T_0329_1000, "both", "Sykehus og covid i samme sak", long_summary,
	    "hospitals covid");
	add(f, "helse-nord", T_0329_1000 + 60, "hn", "Ny ambulansebåt <script>",
	    "<b>Fin</b> båt. <a href=\"https://example.no/hn\">Les mer</a>", "hospitals");
	add(f, "fhi", T_0329_1000 + 120, "kommune", "Kommunehelse", NULL, "municipal");
	add(f, "fhi", T_0329_1000 + 180, "none", "Sak uten kategori", NULL, "");
	{
		/* the old item changes in the window: revision 2 */
		struct store_ingest *in = NULL;
		struct feed_entry e;
		struct store_fetch_result res = {.started = T_0329_1000, .http_status = 200};
		int outcome;
		memset(&e, 0, sizeof e);
		e.key = e.id = "old";
		e.raw_hash = 999;
		e.title = "Gammel covid-sak, rettet";
		e.link = "javascript:alert(1)";
		e.published = e.updated = HF_NOTIME;
		assert_int_equal(store_ingest_begin(f->st, "fhi", T_0329_1000 + 240, &in), 0);
		assert_int_equal(store_ingest_entry(in, &e, &outcome), 0);
		assert_int_equal(outcome, STORE_UPDATED);
		assert_int_equal(store_item_set_categories(in, store_ingest_item_id(in),
		                 &(struct store_category){"covid", STORE_CAT_RULE}, 1), 0);
		assert_int_equal(store_ingest_commit(in, &res), 0);
	}

	assert_int_equal(digest_render(f->cfg, f->st, presse, T_0329_1000 - 60, T_0329_1200,
	                               "<x@example.no>", &out, &count), 0);
	assert_int_equal(count, 3); /* both, hn, old (updated) */
	text = part(out.data, "text/plain");
	html = part(out.data, "text/html");
	/* once, under the group's first category (hospitals before covid) */
	assert_int_equal(occurrences(text, "Sykehus og covid i samme sak"), 1);
	assert_true(strstr(text, "Sykehus\r\n-------") < strstr(text, "Sykehus og covid i samme sak"));
	assert_null(strstr(text, "Covid-19\r\n--------\r\n\r\n[Departement]"));
	assert_null(strstr(text, "Kommunehelse"));
	assert_null(strstr(text, "Sak uten kategori"));
	/* kinds in order: ministry before hospital within one category */
	assert_true(strstr(text, "[Departement]") < strstr(text, "[Sykehus og helseforetak]"));
	/* updated items under their own heading, after the new ones */
	assert_true(strstr(text, "Nye saker") < strstr(text, "Oppdaterte saker"));
	assert_true(strstr(text, "Oppdaterte saker") < strstr(text, "Gammel covid-sak, rettet"));
	assert_non_null(strstr(text, "oppdatert 29.03.2025 kl. 11:04"));
	/* local time, Norwegian format */
	assert_non_null(strstr(text, "29.03.2025 kl. 11:00 · Kilde: Helse- og omsorgsdepartementet"));
	/* summary: text only, cut at a word near 300 bytes */
	assert_null(strstr(text, "SLUTTORDET"));
	assert_non_null(strstr(text, " …"));
	assert_non_null(strstr(text, "Fin båt."));
	/* the words of a "read more" link, which the message does not carry */
	assert_null(strstr(text, "Les mer"));
	assert_null(strstr(html, "Les mer"));
	/* escaping and links */
	assert_non_null(strstr(html, "Ny ambulansebåt &lt;script&gt;"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "javascript:"));
	assert_non_null(strstr(html, "href=\"https://example.no/hn\""));
	assert_null(strstr(html, "<img"));
	/* the encoded subject carries the template */
	assert_non_null(strstr(out.data, "Subject: =?UTF-8?B?"));
	free(text);
	free(html);

	/* a group of all categories lists every item once, uncategorised last */
	buf_clear(&out);
	assert_int_equal(digest_render(f->cfg, f->st, alle, T_0329_1000 - 60, T_0329_1200,
	                               "<y@example.no>", &out, &count), 0);
	assert_int_equal(count, 5);
	text = part(out.data, "text/plain");
	assert_int_equal(occurrences(text, "Sykehus og covid i samme sak"), 1);
	/* config order: covid comes first */
	assert_true(strstr(text, "Covid-19\r\n") < strstr(text, "Sykehus og covid i samme sak"));
	assert_true(strstr(text, "Kommunehelse\r\n") < strstr(text, "Andre saker"));
	assert_true(strstr(text, "Andre saker") < strstr(text, "Sak uten kategori"));
	assert_non_null(strstr(text, "Kjelde:"));
	/* the category it does not appear under is named beside it */
	assert_non_null(strstr(text, "Også under: Sykehus"));
	free(text);
	buf_free(&out);
}

static void test_sources_of_a_merged_story_are_listed(void **state)
{
	struct fx *f = *state;
	struct buf out = BUF_INIT;
	struct store_ingest *in = NULL;
	struct feed_entry e;
	struct store_fetch_result res = {.started = T_0329_1000, .http_status = 200};
	int64_t id;
	char *text;

	id = add(f, "hod", T_0329_1000, "press", "Covid-forskrift oppheves", NULL, "covid");
	memset(&e, 0, sizeof e);
	e.key = e.id = "fhi-press";
	e.raw_hash = 4242;
	e.title = "Covid-forskrift oppheves";
	e.link = "https://example.no/fhi-press";
	e.published = e.updated = HF_NOTIME;
	assert_int_equal(store_ingest_begin(f->st, "fhi", T_0329_1000 + 60, &in), 0);
	assert_int_equal(store_ingest_add_source(in, id, &e), 0);
	assert_int_equal(store_ingest_commit(in, &res), 0);

	assert_int_equal(digest_render(f->cfg, f->st, &f->cfg->digests[0], T_0329_1000 - 60,
	                               T_0329_1200, "<z@example.no>", &out, NULL), 0);
	text = part(out.data, "text/plain");
	assert_int_equal(occurrences(text, "Covid-forskrift oppheves"), 1);
	assert_non_null(strstr(text, "Kilder: Helse- og omsorgsdepartementet, Folkehelseinstituttet"));
	free(text);
	buf_free(&out);
}

/* --- bookkeeping ------------------------------------------------------ */

static void test_dry_run_records_nothing(void **state)
{
	struct fx *f = *state;
	struct buf out = BUF_INIT;
	struct digest_stats s = {0};
	struct store_digest_row r;

	add(f, "hod", T_0329_1000, "a", "Covid-sak", NULL, "covid");
	assert_int_equal(digest_run(f->cfg, f->st, T_0329_1200, DIGEST_DRY_RUN, "presse", &out, &s), 0);
	assert_non_null(strstr(out.data, "MIME-Version: 1.0\r\n"));
	assert_null(strstr(out.data, "From helsefeed@localhost"));
	assert_int_equal(store_digest_latest(f->st, "presse", &r), 0);
	assert_int_equal(count_eml(f->spool), 0);
	/* all groups: an mbox of both */
	buf_clear(&out);
	assert_int_equal(digest_run(f->cfg, f->st, T_0329_1200, DIGEST_DRY_RUN, NULL, &out, &s), 0);
	assert_int_equal(occurrences(out.data, "\r\nMIME-Version: 1.0\r\n"), 2);
	assert_int_equal(occurrences(out.data, "From helsefeed@localhost "), 2);
	assert_int_equal(q_int(f, "SELECT count(*) FROM digests"), 0);
	buf_free(&out);
}

static void test_send_now_ignores_schedule_but_not_a_fresh_window(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;

	add(f, "hod", T_0329_1000, "a", "Covid-sak", NULL, "covid");
	assert_int_equal(run(f, T_0329_1200, 0, "presse", &s), 0);
	add(f, "hod", T_0329_1200 + 60, "b", "Covid-sak to", NULL, "covid");
	assert_int_equal(run(f, T_0329_1200 + 30, DIGEST_SEND_NOW, "presse", &s), 0);
	assert_int_equal(s.sent, 0); /* a 30 s window: nothing */
	assert_int_equal(run(f, T_0329_1200 + 2 * H, DIGEST_SEND_NOW, "presse", &s), 0);
	assert_int_equal(s.sent, 1);
	assert_int_equal(count_eml(f->spool), 2);
	assert_int_equal(run(f, T_0329_1200, 0, "nope", &s), HF_EINVAL);
}

static void test_failure_is_retried_with_same_window_and_message_id(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;
	struct store_digest_row r, r2;
	char good[96], path[256], *msg;

	add(f, "hod", T_0329_1000, "a", "Covid-sak", NULL, "covid");
	/* the spool cannot be created: a file is in the way */
	snprintf(good, sizeof good, "%s", f->spool);
	snprintf(f->spool, sizeof f->spool, "%s/hf.db/spool", f->dir);
	load_config(f);
	assert_int_equal(run(f, T_0329_1200, 0, "presse", &s), HF_ENET);
	assert_int_equal(s.failed, 1);
	assert_int_equal(store_digest_latest(f->st, "presse", &r), 1);
	assert_int_equal(r.state, STORE_DIGEST_FAILED);
	assert_int_equal(r.attempts, 1);
	assert_non_null(r.last_error);

	snprintf(f->spool, sizeof f->spool, "%s", good);
	load_config(f);
	/* first retry 5 minutes after the window closed, not before */
	assert_int_equal(run(f, T_0329_1200 + 299, 0, "presse", &s), 0);
	assert_int_equal(s.waiting, 1);
	assert_int_equal(count_eml(f->spool), 0);
	/* later stories stay out of this window */
	add(f, "hod", T_0329_1200 + 100, "b", "Covid-sak etterpå", NULL, "covid");
	assert_int_equal(run(f, T_0329_1200 + 300, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 1);
	assert_int_equal(store_digest_latest(f->st, "presse", &r2), 1);
	assert_int_equal(r2.id, r.id);
	assert_int_equal(r2.state, STORE_DIGEST_SENT);
	assert_int_equal(r2.attempts, 2);
	assert_null(r2.last_error);
	assert_string_equal(r2.message_id, r.message_id);
	snprintf(path, sizeof path, "%s/presse-20250329T1300.eml", f->spool);
	assert_non_null(msg = slurp(path));
	assert_non_null(strstr(msg, r.message_id));
	{
		char *text = part(msg, "text/plain");
		assert_null(strstr(text, "Covid-sak etterpå"));
		free(text);
	}
	free(msg);
	store_digest_row_clear(&r);
	store_digest_row_clear(&r2);
}

static void test_backoff_doubles_and_is_capped(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;
	int64_t id, t;
	/* attempts so far -> earliest next try after creation */
	static const int64_t due[] = {0, 300, 900, 2100, 4500, 9300, 18900, 38100,
	                              59700, 81300};

	add(f, "hod", T_0329_1000, "a", "Covid-sak", NULL, "covid");
	assert_int_equal(record(f, 0, T_0329_1000 - D, T_0329_1200, T_0329_1200,
	                        "<b@example.no>", &id), 1);
	for (int a = 0; a < 9; a++) {
		assert_int_equal(store_digest_claim(f->st, id, a, T_0329_1200 + due[a]), 1);
		assert_int_equal(store_digest_mark_failed(f->st, id, "451 later"), 0);
		t = T_0329_1200 + due[a + 1];
		assert_int_equal(run(f, t - 1, 0, "presse", &s), 0);
		assert_int_equal(s.waiting, 1);
	}
	/* the 10th attempt is due at its time, and goes out */
	assert_int_equal(run(f, t, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 1);
	/* a claim with a stale count is refused */
	assert_int_equal(store_digest_claim(f->st, id, 3, t), 0);
}

/* A daemon stopped for a day while the server was down: back, it tries
 * once and then waits the next delay from that attempt, instead of
 * catching up on every delay it missed with a burst of attempts. */
static void test_late_run_retries_once_not_in_a_burst(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;
	int64_t id, back = T_0329_1200 + D;

	add(f, "hod", T_0329_1000, "a", "Covid-sak", NULL, "covid");
	assert_int_equal(record(f, 0, T_0329_1000 - D, T_0329_1200, T_0329_1200,
	                        "<g@example.no>", &id), 1);
	assert_int_equal(store_digest_claim(f->st, id, 0, T_0329_1200), 1);
	assert_int_equal(store_digest_mark_failed(f->st, id, "421 busy"), 0);
	assert_int_equal(store_digest_claim(f->st, id, 1, back), 1);
	assert_int_equal(store_digest_mark_failed(f->st, id, "421 busy"), 0);
	/* attempt 2 failed at `back`: the third waits 10 minutes from it */
	assert_int_equal(run(f, back + 1, 0, "presse", &s), 0);
	assert_int_equal(s.waiting, 1);
	assert_int_equal(run(f, back + 599, 0, "presse", &s), 0);
	assert_int_equal(s.waiting, 1);
	assert_int_equal(run(f, back + 600, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 1);
}

static void test_crash_after_record_is_sent_once(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;
	struct store_digest_row r;
	int64_t id;

	add(f, "hod", T_0329_1000, "a", "Covid-sak", NULL, "covid");
	/* what a crash right after step 1 leaves behind */
	assert_int_equal(record(f, 0, T_0329_1200 - D, T_0329_1200, T_0329_1200,
	                        "<c@example.no>", &id), 1);
	/* the same window cannot be recorded twice */
	assert_int_equal(record(f, 0, T_0329_1200 - D, T_0329_1200 + 1, T_0329_1200,
	                        "<d@example.no>", &id), 0);
	assert_int_equal(record(f, 0, T_0329_1200 - D, T_0329_1200, T_0329_1200,
	                        "<d@example.no>", &id), 0);
	assert_int_equal(run(f, T_0329_1200 + 60, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 1);
	assert_int_equal(count_eml(f->spool), 1);
	assert_int_equal(store_digest_latest(f->st, "presse", &r), 1);
	assert_int_equal(r.state, STORE_DIGEST_SENT);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.window_end, T_0329_1200);
	assert_string_equal(r.message_id, "<c@example.no>");
	store_digest_row_clear(&r);
	assert_int_equal(run(f, T_0329_1200 + 120, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 0);
	assert_int_equal(count_eml(f->spool), 1);
}

static void test_cut_off_transfer_is_resent_once_never_twice(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;
	struct store_digest_row r;
	int64_t id;

	add(f, "hod", T_0329_1000, "a", "Covid-sak", NULL, "covid");
	assert_int_equal(record(f, 0, T_0329_1200 - D, T_0329_1200, T_0329_1200,
	                        "<e@example.no>", &id), 1);
	/* died during the transfer: claimed, never marked */
	assert_int_equal(store_digest_claim(f->st, id, 0, T_0329_1200), 1);
	assert_int_equal(run(f, T_0329_1200 + 60, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 1);
	assert_int_equal(store_digest_latest(f->st, "presse", &r), 1);
	assert_int_equal(r.state, STORE_DIGEST_SENT);
	assert_int_equal(r.attempts, 2);
	store_digest_row_clear(&r);

	/* a second window whose re-send is cut off too: closed, not sent */
	add(f, "hod", T_0330_0500 - H, "b", "Covid-sak to", NULL, "covid");
	assert_int_equal(record(f, id, T_0329_1200, T_0330_0500, T_0330_0500,
	                        "<f@example.no>", &id), 1);
	assert_int_equal(store_digest_claim(f->st, id, 0, T_0329_1200), 1);
	assert_int_equal(store_digest_note(f->st, id, "interrupted: a transfer was cut off; "
	                                   "sent once more"), 0);
	assert_int_equal(store_digest_claim(f->st, id, 1, T_0330_0500), 1);
	assert_int_equal(run(f, T_0330_0500 + 60, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 0);
	assert_int_equal(count_eml(f->spool), 1);
	assert_int_equal(store_digest_latest(f->st, "presse", &r), 1);
	assert_int_equal(r.state, STORE_DIGEST_SENT);
	assert_int_equal(r.sent_at, 0);
	assert_non_null(strstr(r.last_error, "outcome unknown"));
	store_digest_row_clear(&r);
	/* and the schedule goes on from that window */
	assert_int_equal(run(f, T_0330_0500 + D, 0, "presse", &s), 0);
	assert_int_equal(s.empty, 1);
}


/* --- timing and content (issue: the right hour, today's news) -------- */

/* The message of `group` that run() wrote last: the newest .eml. */
static char *newest_eml(struct fx *f, const char *name)
{
	char path[256];

	snprintf(path, sizeof path, "%s/%s", f->spool, name);
	return slurp(path);
}

static void test_new_group_waits_for_its_first_send_time(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;
	struct store_digest_row r;
	char *msg, *text;

	conf_extra = "[digest ny]\nto = ny@example.no\ncategories = covid\ntime = 07:00\n";
	load_config(f);
	add(f, "hod", T_0329_1000 - 2 * D, "old", "Covid-sak fra før", NULL, "covid");
	add(f, "hod", T_0329_1000, "a", "Covid-sak i dag", NULL, "covid");
	/* added at 13:00 (a reload): nothing at once, whatever is stored */
	assert_int_equal(run(f, T_0329_1200, 0, "ny", &s), 0);
	assert_int_equal(s.sent + s.empty, 0);
	assert_int_equal(s.waiting, 1);
	assert_int_equal(store_digest_latest(f->st, "ny", &r), 0);
	assert_int_equal(q_int(f, "SELECT created FROM digest_groups WHERE group_name = 'ny'"),
	                 T_0329_1200);
	assert_int_equal(run(f, T_0330_0500 - 1, 0, "ny", &s), 0);
	assert_int_equal(s.waiting, 1);
	assert_int_equal(count_eml(f->spool), 0);
	/* the first send time: the news since the send time before it */
	assert_int_equal(run(f, T_0330_0500, 0, "ny", &s), 0);
	assert_int_equal(s.sent, 1);
	assert_int_equal(store_digest_latest(f->st, "ny", &r), 1);
	assert_int_equal(r.window_start, T_0329_1000 - 4 * H); /* 07:00 CET on the 29th */
	store_digest_row_clear(&r);
	assert_non_null(msg = newest_eml(f, "ny-20250330T0700.eml"));
	text = part(msg, "text/plain");
	assert_int_equal(occurrences(text, "Covid-sak i dag"), 1);
	assert_int_equal(occurrences(text, "Covid-sak fra før"), 0);
	free(text);
	free(msg);
}

static void test_archive_items_are_stored_but_never_new(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;
	char *msg, *text;

	/* a new feed brings its archive: published years before it was seen */
	add_pub(f, "hod", T_0329_1000, T_0329_1000 - 3 * 365 * D, "arkiv",
	        "Covid-sak fra 2022", NULL, "covid");
	/* published 49 h before first seen: beyond max_age (48 h) */
	add_pub(f, "hod", T_0329_1000, T_0329_1000 - 49 * H, "gammel",
	        "Covid-sak fra forrige uke", NULL, "covid");
	/* published 47 h before: a late poll, still news */
	add_pub(f, "hod", T_0329_1000, T_0329_1000 - 47 * H, "sen",
	        "Covid-sak hentet sent", NULL, "covid");
	assert_int_equal(run(f, T_0329_1200, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 1);
	assert_non_null(msg = newest_eml(f, "presse-20250329T1300.eml"));
	text = part(msg, "text/plain");
	assert_int_equal(occurrences(text, "Covid-sak fra 2022"), 0);
	assert_int_equal(occurrences(text, "Covid-sak fra forrige uke"), 0);
	assert_int_equal(occurrences(text, "Covid-sak hentet sent"), 1);
	/* the dates covered are the publication dates, in local time */
	assert_non_null(strstr(text, "Publisert 27.03.2025 kl. 12:00 – 27.03.2025 kl. 12:00"));
	free(text);
	free(msg);
	/* stored all the same */
	assert_int_equal(q_int(f, "SELECT count(*) FROM items"), 3);
}

static void test_send_now_includes_items_stored_in_the_same_second(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;
	char *msg, *text;

	assert_int_equal(run(f, T_0329_1200, 0, "presse", &s), 0); /* empty */
	add(f, "hod", T_0329_2000, "same", "Covid-sak i samme sekund", NULL, "covid");
	assert_int_equal(run(f, T_0329_2000, DIGEST_SEND_NOW, "presse", &s), 0);
	assert_int_equal(s.sent, 1);
	assert_non_null(msg = newest_eml(f, "presse-20250329T2100.eml"));
	text = part(msg, "text/plain");
	assert_int_equal(occurrences(text, "Covid-sak i samme sekund"), 1);
	free(text);
	free(msg);
	/* stored in that second after the digest: in the next one, once */
	add(f, "hod", T_0329_2000, "after", "Covid-sak rett etter", NULL, "covid");
	assert_int_equal(run(f, T_0330_0500, 0, "presse", &s), 0);
	assert_int_equal(s.sent, 1);
	assert_non_null(msg = newest_eml(f, "presse-20250330T0700.eml"));
	text = part(msg, "text/plain");
	assert_int_equal(occurrences(text, "Covid-sak rett etter"), 1);
	assert_int_equal(occurrences(text, "Covid-sak i samme sekund"), 0);
	free(text);
	free(msg);
}

static void test_weekly_group_on_its_day(void **state)
{
	struct config_digest g = {.name = "uke", .timezone = "Europe/Oslo", .time = 7 * 60,
	                          .frequency = CONFIG_WEEKLY, .day = 1};
	struct config *cfg = NULL;
	struct buf errs = BUF_INIT;
	int64_t t = 0;
	static const char base[] =
		"[helsefeed]\nbase_url = https://h.example.no/\n"
		"[feed a]\nurl = https://example.no/a.rss\n"
		"[digest uke]\nto = a@example.no\n";
	char conf[512];

	(void)state;
	/* Saturday 2025-03-29 -> Monday 2025-03-31 07:00 CEST */
	assert_int_equal(digest_next_send(&g, T_0329_1200, &t), 0);
	assert_int_equal(t, T_0330_0500 + D);
	assert_int_equal(digest_next_send(&g, t, &t), 0);
	assert_int_equal(t, T_0330_0500 + 8 * D);
	g.frequency = CONFIG_IMMEDIATE;
	assert_int_equal(digest_next_send(&g, T_0329_1200, &t), HF_EINVAL);
	/* the keys */
	snprintf(conf, sizeof conf, "%sfrequency = weekly\nday = friday\ntitle = Uka\n"
	         "max_age = 3d\n", base);
	assert_int_equal(config_load_mem("w.conf", conf, strlen(conf), &cfg, &errs), 0);
	assert_int_equal(cfg->digests[0].frequency, CONFIG_WEEKLY);
	assert_int_equal(cfg->digests[0].day, 5);
	assert_int_equal(cfg->digests[0].max_age, 3 * D);
	assert_string_equal(cfg->digests[0].title, "Uka");
	config_free(cfg);
	cfg = NULL;
	snprintf(conf, sizeof conf, "%sday = friday\n", base);
	assert_int_equal(config_load_mem("w.conf", conf, strlen(conf), &cfg, &errs), HF_ECONFIG);
	assert_non_null(strstr(errs.data, "w.conf:7: [digest uke] day: only a weekly group"));
	buf_clear(&errs);
	snprintf(conf, sizeof conf, "%sfrequency = hourly\n", base);
	assert_int_equal(config_load_mem("w.conf", conf, strlen(conf), &cfg, &errs), HF_ECONFIG);
	assert_non_null(strstr(errs.data, "frequency"));
	buf_free(&errs);
}

static void test_immediate_group_mails_each_new_item_once(void **state)
{
	struct fx *f = *state;
	struct digest_stats s;
	struct store_digest_row r;
	int64_t t = T_0329_1200;

	conf_extra = "[digest akutt]\nto = akutt@example.no\ncategories = covid\n"
	             "frequency = immediate\n";
	load_config(f);
	add(f, "fhi", t - H, "before", "Covid-sak før gruppen", NULL, "covid");
	assert_int_equal(run(f, t, 0, "akutt", &s), 0); /* met: nothing yet */
	assert_int_equal(s.sent, 0);
	add(f, "fhi", t + 60, "a", "Covid: nytt smittevernråd", NULL, "covid");
	add(f, "fhi", t + 61, "b", "Covid: råd til sykehjem", NULL, "covid");
	assert_int_equal(run(f, t + 120, 0, "akutt", &s), 0);
	assert_int_equal(s.sent, 1); /* both, in one message */
	assert_int_equal(store_digest_latest(f->st, "akutt", &r), 1);
	assert_int_equal(r.kind, STORE_DIGEST_IMMEDIATE);
	assert_int_equal(r.item_count, 2);
	store_digest_row_clear(&r);
	/* the next cycle: nothing new, no row */
	assert_int_equal(run(f, t + 240, 0, "akutt", &s), 0);
	assert_int_equal(s.sent + s.empty, 0);
	/* news outside its categories: no mail, no row */
	add(f, "helse-nord", t + 300, "h", "Sykehus åpner", NULL, "hospitals");
	assert_int_equal(run(f, t + 360, 0, "akutt", &s), 0);
	assert_int_equal(s.sent + s.empty, 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM digests WHERE group_name = 'akutt'"), 1);
	add(f, "fhi", t + 400, "c", "Covid: nytt varsel", NULL, "covid");
	assert_int_equal(run(f, t + 420, 0, "akutt", &s), 0);
	assert_int_equal(s.sent, 1);
	assert_int_equal(store_digest_latest(f->st, "akutt", &r), 1);
	assert_int_equal(r.item_count, 1);
	store_digest_row_clear(&r);
	assert_int_equal(count_eml(f->spool), 2);
}

static void test_subject_counts_and_heading(void **state)
{
	struct fx *f = *state;
	struct buf out = BUF_INIT;
	struct store_ingest *in = NULL;
	struct feed_entry e;
	struct store_fetch_result res = {.started = T_0329_1000, .http_status = 200};
	int outcome;

	conf_extra = "[digest vakt]\nto = vakt@example.no\ntitle = Pressevakta Nord\n"
	             "language = nn\n";
	load_config(f);
	add(f, "hod", T_0329_1000, "a", "Covid-sak", NULL, "covid");
	assert_int_equal(digest_render(f->cfg, f->st, &f->cfg->digests[2], T_0329_1000 - 60,
	                               T_0329_1200, "<s@example.no>", &out, NULL), 0);
	assert_non_null(strstr(out.data, "Subject: Pressevakta Nord 29.03.2025: 1 ny sak\r\n"));
	assert_non_null(strstr(out.data, "Pressevakta Nord\r\n################"));
	assert_non_null(strstr(out.data, "List-Id: vakt <vakt.localhost>\r\n"));
	buf_clear(&out);
	add(f, "hod", T_0329_1000 + 1, "b", "Sykehus-sak", NULL, "hospitals");
	add(f, "hod", T_0329_1000 + 2, "c", "Kommune-sak", NULL, "municipal");
	add(f, "fhi", T_0329_1000 - 3 * D, "old", "Gammel sak", NULL, "covid");
	memset(&e, 0, sizeof e);
	e.key = e.id = "old";
	e.raw_hash = 777;
	e.title = "Gammel sak, ny versjon";
	e.link = "https://example.no/old";
	e.published = e.updated = HF_NOTIME;
	assert_int_equal(store_ingest_begin(f->st, "fhi", T_0329_1000 + 3, &in), 0);
	assert_int_equal(store_ingest_entry(in, &e, &outcome), 0);
	assert_int_equal(store_ingest_commit(in, &res), 0);
	assert_int_equal(digest_render(f->cfg, f->st, &f->cfg->digests[2], T_0329_1000 - 60,
	                               T_0329_1200, "<s@example.no>", &out, NULL), 0);
	assert_non_null(strstr(out.data, "Subject: Pressevakta Nord 29.03.2025: 3 nye saker,"
	                                 " 1 oppdatert\r\n"));
	buf_free(&out);
}

static void test_overdue_after_26_hours_without_a_digest(void **state)
{
	struct fx *f = *state;
	struct digest_group_status gs;
	struct digest_stats s;
	const struct config_digest *g = &f->cfg->digests[0];

	/* met at T_MEET, nothing sent yet: not overdue within 26 h */
	assert_int_equal(digest_group_status(f->cfg, f->st, g, T_MEET + 26 * H, &gs), 0);
	assert_false(gs.overdue);
	assert_int_equal(gs.last_success, 0);
	assert_int_equal(gs.next_due, T_0329_1000 - 4 * H);
	digest_group_status_clear(&gs);
	assert_int_equal(digest_group_status(f->cfg, f->st, g, T_MEET + 26 * H + 1, &gs), 0);
	assert_true(gs.overdue);
	assert_string_equal(digest_status_word(&gs), "overdue");
	digest_group_status_clear(&gs);
	/* a digest: its time counts from then, the next one is tomorrow */
	assert_int_equal(run(f, T_0329_1200, 0, "presse", &s), 0);
	assert_int_equal(digest_group_status(f->cfg, f->st, g, T_0329_1200 + 26 * H, &gs), 0);
	assert_false(gs.overdue);
	assert_int_equal(gs.last_success, T_0329_1200);
	assert_int_equal(gs.next_due, T_0330_0500);
	digest_group_status_clear(&gs);
	assert_int_equal(digest_group_status(f->cfg, f->st, g, T_0329_1200 + 26 * H + 1, &gs), 0);
	assert_true(gs.overdue);
	digest_group_status_clear(&gs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_send_0700_summer_and_winter_time),
		cmocka_unit_test(test_next_send_in_spring_gap_is_end_of_gap),
		cmocka_unit_test(test_next_send_in_repeated_hour_is_once),
		cmocka_unit_test(test_next_send_other_zones),
		cmocka_unit_test(test_next_send_unknown_zone),
		cmocka_unit_test_setup_teardown(test_first_digest_then_daily_at_send_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_days_missed_are_one_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_window_sends_nothing_but_moves_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_empty_says_no_news, setup, teardown),
		cmocka_unit_test_setup_teardown(test_content_categories_kinds_updates_and_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources_of_a_merged_story_are_listed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_records_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_now_ignores_schedule_but_not_a_fresh_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_is_retried_with_same_window_and_message_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_run_retries_once_not_in_a_burst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_doubles_and_is_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_record_is_sent_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_off_transfer_is_resent_once_never_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_group_waits_for_its_first_send_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_archive_items_are_stored_but_never_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_now_includes_items_stored_in_the_same_second, setup, teardown),
		cmocka_unit_test(test_weekly_group_on_its_day),
		cmocka_unit_test_setup_teardown(test_immediate_group_mails_each_new_item_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subject_counts_and_heading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overdue_after_26_hours_without_a_digest, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
