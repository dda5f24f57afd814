/*
 * test_config.c - feeds.conf: good files parse to the right values, every
 * kind of bad file is reported with FILE:LINE, section, key and the
 * expected form, and `helsefeed check` prints and exits accordingly.
 *
 * Each test writes its configuration into a fresh temporary directory
 * (as feeds.conf), so relative paths and ${CONFDIR} have a known base.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helsefeed/classify.h"
#include "helsefeed/cli.h"
#include "helsefeed/config.h"
#include "helsefeed/limits.h"

/* The minimum valid file; tests append sections to it. */
#define BASE "[helsefeed]\nbase_url = https://helsenytt.example.no/\n"
#define FEED "[feed hod]\nurl = https://www.regjeringen.no/no/rss/Rss/2581966/?owner=421\n"

struct fx {
	char dir[PATH_MAX];      /* realpath of the temporary directory */
	char path[PATH_MAX + 16];
	struct config *cfg;
	struct buf err;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/hf-config-XXXXXX";

	if (!f || !mkdtemp(tmpl) || !realpath(tmpl, f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/feeds.conf", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[PATH_MAX + 32];

	config_free(f->cfg);
	buf_free(&f->err);
	/* Only this test's own directory, made by mkdtemp above. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* Write `text` as feeds.conf and load it; returns config_load's code. */
static int load(struct fx *f, const char *text)
{
	config_free(f->cfg);
	f->cfg = NULL;
	buf_clear(&f->err);
	write_file(f->path, text, strlen(text), 0644);
	return config_load(f->path, &f->cfg, &f->err);
}

static void load_ok(struct fx *f, const char *text)
{
	int rc = load(f, text);

	if (rc)
		fprintf(stderr, "unexpected errors:\n%s", buf_str(&f->err));
	assert_int_equal(rc, HF_OK);
	assert_non_null(f->cfg);
	assert_int_equal(f->err.len, 0);
}

/*
 * The file must fail with HF_ECONFIG and one of the error lines must be
 * exactly "<path>:<want>" (want starts with the line number).
 */
static void expect_error(struct fx *f, const char *text, const char *want)
{
	char line[8192];
	const char *e;
	int rc = load(f, text);

	assert_int_equal(rc, HF_ECONFIG);
	assert_null(f->cfg);
	snprintf(line, sizeof(line), "%s:%s\n", f->path, want);
	e = buf_str(&f->err);
	if (!strstr(e, line))
		fprintf(stderr, "wanted: %sgot:\n%s", line, e);
	assert_non_null(strstr(e, line));
}

/* The same, when only the start of the line is ours: the rest is
 * libcurl's text, which changes between versions. */
static void expect_error_prefix(struct fx *f, const char *text, const char *want)
{
	char line[8192];
	int rc = load(f, text);

	assert_int_equal(rc, HF_ECONFIG);
	assert_null(f->cfg);
	snprintf(line, sizeof(line), "%s:%s", f->path, want);
	if (!strstr(buf_str(&f->err), line))
		fprintf(stderr, "wanted: %s\ngot:\n%s", line, buf_str(&f->err));
	assert_non_null(strstr(buf_str(&f->err), line));
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* --- good files ------------------------------------------------------------ */

static void defaults_come_from_limits(void **state)
{
	struct fx *f = *state;
	const struct config *c;

	load_ok(f, BASE FEED);
	c = f->cfg;
	assert_string_equal(c->path, f->path);
	assert_string_equal(c->dir, f->dir);
	assert_string_equal(c->database, "/var/lib/helsefeed/helsefeed.db");
	assert_string_equal(c->output, "/var/lib/helsefeed/public");
	assert_string_equal(c->spool, "/var/lib/helsefeed/spool");
	assert_string_equal(c->title, "Helsenytt");
	assert_string_equal(c->timezone, "Europe/Oslo");
	assert_int_equal(c->interval, 15 * 60);
	assert_int_equal(c->allow_file_urls, 0);
	assert_int_equal(c->connect_timeout, HF_FETCH_CONNECT_TIMEOUT_S);
	assert_int_equal(c->timeout, HF_FETCH_TIMEOUT_S);
	assert_int_equal(c->low_speed_limit, HF_FETCH_LOW_SPEED_BYTES);
	assert_int_equal(c->low_speed_time, HF_FETCH_LOW_SPEED_TIME_S);
	assert_int_equal(c->max_body, HF_FETCH_MAX_BODY);
	assert_int_equal(c->max_redirects, HF_FETCH_MAX_REDIRECTS);
	assert_int_equal(c->max_connections, HF_FETCH_MAX_CONNECTIONS);
	assert_int_equal(c->max_per_host, HF_FETCH_MAX_PER_HOST);
	assert_int_equal(c->stale_after, HF_STALE_AFTER_S);
	assert_int_equal(c->dedup_window, 7 * 24 * 3600);
	assert_int_equal(c->max_entries, 100);
	assert_null(c->proxy);
	assert_null(c->contact);
	assert_null(c->log_level);
	assert_string_equal(c->user_agent, "helsefeed/" HELSEFEED_VERSION);
	assert_int_equal(c->smtp.present, 0);
	assert_int_equal(c->nfeeds, 1);
	assert_string_equal(c->feeds[0].name, "hod");
	assert_string_equal(c->feeds[0].title, "hod");
	assert_int_equal(c->feeds[0].kind, FEED_KIND_OTHER);
	assert_int_equal(c->feeds[0].authority, -1);
	assert_int_equal(c->feeds[0].interval, 15 * 60);
	assert_int_equal(c->feeds[0].ncategories, 0);
	assert_null(c->feeds[0].user_agent);
	assert_int_equal(c->feeds[0].line, 3);
}

static void every_key_is_read(void **state)
{
	struct fx *f = *state;
	const struct config *c;
	const struct config_feed *fd;
	const struct config_digest *d;
	char pw[PATH_MAX + 16];

	snprintf(pw, sizeof(pw), "%s/smtp-password", f->dir);
	write_file(pw, "hemmelig\n", 9, 0600);
	load_ok(f,
	        "[helsefeed]\n"
	        "database = /srv/hf/db.sqlite\n"
	        "output = /srv/hf/public\n"
	        "spool = /srv/hf/spool\n"
	        "base_url = https://helsenytt.example.no\n"
	        "title = Helsenytt test\n"
	        "timezone = UTC\n"
	        "interval = 1h30m\n"
	        "allow_file_urls = On\n"
	        "contact = mailto:drift@example.no\n"
	        "proxy = http://proxy.example.no:3128\n"
	        "log_level = debug\n"
	        "connect_timeout = 20s\n"
	        "timeout = 2m\n"
	        "low_speed_limit = 2k\n"
	        "low_speed_time = 30\n"
	        "max_body = 2M\n"
	        "max_redirects = 0\n"
	        "max_connections = 8\n"
	        "max_per_host = 1\n"
	        "stale_after = 2d\n"
	        "dedup_window = 14d\n"
	        "max_entries = 50\n"
	        "[smtp]\n"
	        "url = smtps://smtp.example.no:465\n"
	        "from = Helsenytt <helsenytt@example.no>\n"
	        "username = helsenytt\n"
	        "password_file = smtp-password\n"
	        "starttls = opportunistic\n"
	        "timeout = 45s\n"
	        "[category covid]\n"
	        "title = Covid-19\n"
	        "match = covid* korona* vaksin*[covid* korona*]\n"
	        "exclude = koronar*\n"
	        "[feed fhi]\n"
	        "url = https://www.fhi.no/rss/nyheter/\n"
	        "title = Folkehelseinstituttet\n"
	        "kind = directorate\n"
	        "categories = covid\n"
	        "interval = 10m\n"
	        "user_agent = helsefeed-test\n"
	        "authority = 3\n"
	        "[digest presse]\n"
	        "to = presse@example.no, vakt@example.no\n"
	        "categories = covid\n"
	        "time = 6:45\n"
	        "timezone = Europe/Oslo\n"
	        "subject = Helsenytt {date}\n"
	        "language = nn\n"
	        "send_empty = yes\n");
	c = f->cfg;
	assert_string_equal(c->database, "/srv/hf/db.sqlite");
	assert_string_equal(c->base_url, "https://helsenytt.example.no/");
	assert_string_equal(c->title, "Helsenytt test");
	assert_string_equal(c->timezone, "UTC");
	assert_int_equal(c->interval, 5400);
	assert_int_equal(c->allow_file_urls, 1);
	assert_string_equal(c->user_agent,
	                    "helsefeed/" HELSEFEED_VERSION " (+mailto:drift@example.no)");
	assert_string_equal(c->proxy, "http://proxy.example.no:3128");
	assert_string_equal(c->log_level, "debug");
	assert_int_equal(c->connect_timeout, 20);
	assert_int_equal(c->timeout, 120);
	assert_int_equal(c->low_speed_limit, 2048);
	assert_int_equal(c->low_speed_time, 30);
	assert_int_equal(c->max_body, 2 * 1024 * 1024);
	assert_int_equal(c->max_redirects, 0);
	assert_int_equal(c->max_connections, 8);
	assert_int_equal(c->max_per_host, 1);
	assert_int_equal(c->stale_after, 2 * 86400);
	assert_int_equal(c->dedup_window, 14 * 86400);
	assert_int_equal(c->max_entries, 50);
	assert_int_equal(c->smtp.present, 1);
	assert_string_equal(c->smtp.url, "smtps://smtp.example.no:465");
	assert_string_equal(c->smtp.from, "Helsenytt <helsenytt@example.no>");
	assert_string_equal(c->smtp.username, "helsenytt");
	assert_string_equal(c->smtp.password_file, pw);
	assert_int_equal(c->smtp.starttls, 0);
	assert_int_equal(c->smtp.timeout, 45);
	assert_int_equal(c->ncategories, 1);
	assert_string_equal(c->categories[0].title, "Covid-19");
	assert_string_equal(c->categories[0].match, "covid* korona* vaksin*[covid* korona*]");
	assert_string_equal(c->categories[0].exclude, "koronar*");
	fd = config_feed_find(c, "fhi");
	assert_non_null(fd);
	assert_string_equal(fd->title, "Folkehelseinstituttet");
	assert_int_equal(fd->kind, FEED_KIND_DIRECTORATE);
	assert_string_equal(config_kind_name(fd->kind), "directorate");
	assert_int_equal(fd->ncategories, 1);
	assert_string_equal(fd->categories[0], "covid");
	assert_int_equal(fd->interval, 600);
	assert_string_equal(fd->user_agent, "helsefeed-test");
	assert_int_equal(fd->authority, 3);
	assert_null(config_feed_find(c, "hod"));
	assert_non_null(config_category_find(c, "covid"));
	assert_null(config_category_find(c, "hospitals"));
	assert_int_equal(c->ndigests, 1);
	d = &c->digests[0];
	assert_int_equal(d->nto, 2);
	assert_string_equal(d->to[0], "presse@example.no");
	assert_string_equal(d->to[1], "vakt@example.no");
	assert_int_equal(d->time, 6 * 60 + 45);
	assert_string_equal(d->timezone, "Europe/Oslo");
	assert_string_equal(d->subject, "Helsenytt {date}");
	assert_string_equal(d->language, "nn");
	assert_int_equal(d->send_empty, 1);
}

static void durations_parse(void **state)
{
	static const struct { const char *s; int v; } good[] = {
		{"90s", 90}, {"15m", 900}, {"2h", 7200}, {"1h30m", 5400}, {"1d", 86400},
		{"1d2h3m4s", 93784}, {"45", 45}, {"0s", 0}, {"2147483647", INT_MAX},
	};
	static const char *const bad[] = {
		"", "m", "15", "15x", "30m1h", "1h1h", "1.5h", "-5m", " 5m", "5m ", "1h30",
		"99999999999s", "24856d", "+5", "5 m",
	};
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		assert_int_equal(config_parse_duration(good[i].s, &v), HF_OK);
		assert_int_equal(v, good[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!strcmp(bad[i], "15"))
			continue;  /* a bare number is seconds: good, see above */
		v = -1;
		assert_int_equal(config_parse_duration(bad[i], &v), HF_EINVAL);
		assert_int_equal(v, -1);
	}
}

static void times_parse(void **state)
{
	int v = -1;

	(void)state;
	assert_int_equal(config_parse_time("07:00", &v), HF_OK);
	assert_int_equal(v, 420);
	assert_int_equal(config_parse_time("0:05", &v), HF_OK);
	assert_int_equal(v, 5);
	assert_int_equal(config_parse_time("23:59", &v), HF_OK);
	assert_int_equal(v, 23 * 60 + 59);
	v = -1;
	assert_int_equal(config_parse_time("24:00", &v), HF_EINVAL);
	assert_int_equal(config_parse_time("7:60", &v), HF_EINVAL);
	assert_int_equal(config_parse_time("7", &v), HF_EINVAL);
	assert_int_equal(config_parse_time("07:0", &v), HF_EINVAL);
	assert_int_equal(config_parse_time("07:00:00", &v), HF_EINVAL);
	assert_int_equal(config_parse_time("123:00", &v), HF_EINVAL);
	assert_int_equal(v, -1);
}

static void timezones_are_checked_on_disk(void **state)
{
	(void)state;
	assert_true(config_timezone_valid("Europe/Oslo"));
	assert_true(config_timezone_valid("UTC"));
	assert_false(config_timezone_valid("Europe/Olso"));
	assert_false(config_timezone_valid("Europe"));           /* a directory */
	assert_false(config_timezone_valid("../../etc/passwd"));
	assert_false(config_timezone_valid("/etc/localtime"));
	assert_false(config_timezone_valid(""));
}

/* same_url: a pattern with one {N}, checked with file:line. */
static void same_url_patterns_are_checked(void **state)
{
	struct fx *f = *state;

	load_ok(f, BASE "same_url = https://www.regjeringen.no/*/id{N}/\n" FEED);
	assert_int_equal(f->cfg->nsame_url, 1);
	assert_string_equal(f->cfg->same_url[0], "https://www.regjeringen.no/*/id{N}/");
	expect_error(f, BASE "same_url = https://www.regjeringen.no/*/id/\n" FEED,
	             "3: [helsefeed] same_url: 'https://www.regjeringen.no/*/id/' is not"
	             " a URL pattern with one {N}, like https://www.example.no/*/id{N}/");
	/* A star could take some of the id's digits. */
	expect_error_prefix(f, BASE "same_url = https://www.regjeringen.no/*{N}/\n" FEED,
	                    "3: [helsefeed] same_url: 'https://www.regjeringen.no/*{N}/' is not");
	expect_error_prefix(f, BASE "same_url = ftp://x.no/id{N}/\n" FEED,
	                    "3: [helsefeed] same_url: 'ftp://x.no/id{N}/' is not");
	expect_error_prefix(f, BASE "same_url = https://x.no/{N}/id{N}/\n" FEED,
	                    "3: [helsefeed] same_url: 'https://x.no/{N}/id{N}/' is not");
}

static void lists_split_on_commas_and_whitespace(void **state)
{
	struct fx *f = *state;
	const struct config_feed *fd;

	load_ok(f, BASE "[category a]\n[category b]\n[category c-1]\n"
	           "[feed x]\nurl = https://x.example.no/\ncategories = a,b  ,\tc-1 , ,\n"
	           "[feed y]\nurl = https://y.example.no/\ncategories =\n");
	fd = config_feed_find(f->cfg, "x");
	assert_int_equal(fd->ncategories, 3);
	assert_string_equal(fd->categories[0], "a");
	assert_string_equal(fd->categories[1], "b");
	assert_string_equal(fd->categories[2], "c-1");
	assert_int_equal(config_feed_find(f->cfg, "y")->ncategories, 0);
	assert_string_equal(config_category_find(f->cfg, "b")->title, "b");
	assert_int_equal(config_category_find(f->cfg, "c-1")->line, 5);
}

static void confdir_and_relative_paths(void **state)
{
	struct fx *f = *state;
	char want[PATH_MAX + 64];

	load_ok(f, "[helsefeed]\nbase_url = https://h.example.no/\n"
	           "database = out/hf.db\noutput = ./public\nspool = ${CONFDIR}/spool\n"
	           "allow_file_urls = yes\n"
	           "[feed hod]\nurl = file://${CONFDIR}/feeds/hod.rss\n"
	           "title = Kostnad $5 ${CONFDIR}\n");
	snprintf(want, sizeof(want), "%s/out/hf.db", f->dir);
	assert_string_equal(f->cfg->database, want);
	snprintf(want, sizeof(want), "%s/./public", f->dir);
	assert_string_equal(f->cfg->output, want);
	snprintf(want, sizeof(want), "%s/spool", f->dir);
	assert_string_equal(f->cfg->spool, want);
	snprintf(want, sizeof(want), "file://%s/feeds/hod.rss", f->dir);
	assert_string_equal(f->cfg->feeds[0].url, want);
	snprintf(want, sizeof(want), "Kostnad $5 %s", f->dir);
	assert_string_equal(f->cfg->feeds[0].title, want);
}

static void comments_and_whitespace(void **state)
{
	struct fx *f = *state;

	load_ok(f, "; a comment\n# another\n   ; indented\n\n"
	           "[helsefeed]   ; the globals\n"
	           "base_url=https://h.example.no/   # served here\n"
	           "  title   =   Helse;nytt#1   \n"
	           "[feed hod]\t# tab before the comment\n"
	           "url = https://www.regjeringen.no/no/rss/#frag ; fragment kept\n");
	assert_string_equal(f->cfg->title, "Helse;nytt#1");
	assert_string_equal(f->cfg->feeds[0].url, "https://www.regjeringen.no/no/rss/#frag");
}

static void crlf_and_bom_are_tolerated(void **state)
{
	struct fx *f = *state;

	load_ok(f, "\xef\xbb\xbf[helsefeed]\r\nbase_url = https://h.example.no/\r\n"
	           "title = Helsenytt\r\n[feed hod]\r\nurl = https://a.example.no/\r\n"
	           "kind = ministry\r\n");
	assert_string_equal(f->cfg->title, "Helsenytt");
	assert_int_equal(f->cfg->feeds[0].kind, FEED_KIND_MINISTRY);
}

static void booleans_and_sizes(void **state)
{
	static const struct { const char *v; int b; } bools[] = {
		{"yes", 1}, {"true", 1}, {"on", 1}, {"1", 1}, {"YES", 1},
		{"no", 0}, {"false", 0}, {"off", 0}, {"0", 0},
	};
	struct fx *f = *state;
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(text, sizeof(text), BASE "allow_file_urls = %s\n" FEED, bools[i].v);
		load_ok(f, text);
		assert_int_equal(f->cfg->allow_file_urls, bools[i].b);
	}
	load_ok(f, BASE "max_body = 512k\nlow_speed_limit = 0\n" FEED);
	assert_int_equal(f->cfg->max_body, 512 * 1024);
	assert_int_equal(f->cfg->low_speed_limit, 0);
	load_ok(f, BASE "max_body = 1G\n" FEED);
	assert_int_equal(f->cfg->max_body, 1024L * 1024 * 1024);
}

static void feeds_inherit_the_global_interval(void **state)
{
	struct fx *f = *state;

	/* The [helsefeed] interval applies even when it comes after the feed. */
	load_ok(f, FEED "[helsefeed]\nbase_url = https://h.example.no/\ninterval = 2h\n"
	           "timezone = America/New_York\n[digest d]\nto = a@example.no\n");
	assert_int_equal(f->cfg->feeds[0].interval, 7200);
	assert_string_equal(f->cfg->digests[0].timezone, "America/New_York");
	assert_string_equal(f->cfg->digests[0].language, "nb");
	assert_int_equal(f->cfg->digests[0].time, 7 * 60);
	assert_int_equal(f->cfg->digests[0].ncategories, 0);
}

static void rule_syntax_accepted(void **state)
{
	struct fx *f = *state;
	struct classify *cls = NULL;

	load_ok(f, BASE FEED "[category m]\nmatch = sykehjem* *sjukeheim *legevakt* fastlege, "
	           "kommun*[helse* omsorg* sykehjem*] Ålesund ÆØÅ-test\nexclude = koronar* *kort\n");
	assert_int_equal(classify_compile(f->cfg, &cls, NULL), HF_OK);
	classify_free(cls);
}

/* --- bad files ---------------------------------------------------------------- */

static void unknown_key_did_you_mean(void **state)
{
	expect_error(*state, BASE FEED "intervall = 10m\n",
	             "5: [feed hod] intervall: unknown key; did you mean 'interval'?");
}

static void unknown_key_without_suggestion(void **state)
{
	expect_error(*state, BASE FEED "colour = blue\n", "5: [feed hod] colour: unknown key");
}

static void key_of_another_section(void **state)
{
	expect_error(*state, BASE FEED "[category c]\nurl = https://x.example.no/\n",
	             "6: [category c] url: unknown key here; it belongs in [smtp] or [feed NAME]");
}

static void unknown_section_type(void **state)
{
	expect_error(*state, BASE FEED "[fed x]\n",
	             "5: [fed x]: unknown section type 'fed'; did you mean 'feed'?");
	expect_error(*state, BASE FEED "[source x]\n",
	             "5: [source x]: unknown section type 'source'; expected [helsefeed], [smtp], "
	             "[category NAME], [feed NAME] or [digest NAME]");
}

static void key_outside_any_section(void **state)
{
	expect_error(*state, "title = Helsenytt\n" BASE FEED,
	             "1: title: key outside any section; put it under [helsefeed]");
}

static void missing_equals(void **state)
{
	expect_error(*state, BASE FEED "interval 10m\n",
	             "5: [feed hod]: expected 'key = value' or '[section]', not 'interval 10m'");
	expect_error(*state, BASE FEED "= 10m\n", "5: [feed hod]: missing key before '='");
}

static void missing_section_name(void **state)
{
	expect_error(*state, BASE FEED "[feed]\nurl = https://x.example.no/\n",
	             "5: [feed]: missing section name; expected [feed NAME]");
	expect_error(*state, BASE FEED "[helsefeed main]\n",
	             "5: [helsefeed main]: [helsefeed] takes no name");
}

static void bad_section_name(void **state)
{
	expect_error(*state, BASE FEED "[feed Helse Vest]\n",
	             "5: [feed Helse Vest]: bad name 'Helse Vest'; "
	             "use 1 to 64 of a-z, 0-9, '_' and '-'");
	expect_error(*state, BASE FEED "[feed sykehus/oslo]\n",
	             "5: [feed sykehus/oslo]: bad name 'sykehus/oslo'; "
	             "use 1 to 64 of a-z, 0-9, '_' and '-'");
}

static void unterminated_header(void **state)
{
	expect_error(*state, BASE FEED "[feed x\n",
	             "5: [feed x: expected ']' at the end of the section header");
}

static void duplicate_section(void **state)
{
	expect_error(*state, BASE FEED "title = A\n" FEED,
	             "6: [feed hod]: duplicate section; the first [feed hod] is at line 3");
	expect_error(*state, BASE FEED BASE,
	             "5: [helsefeed]: duplicate section; the first [helsefeed] is at line 1");
}

static void duplicate_key(void **state)
{
	expect_error(*state, BASE FEED "title = A\ntitle = B\n",
	             "6: [feed hod] title: duplicate key; first set at line 5");
}

static void feed_with_unknown_category(void **state)
{
	expect_error(*state, BASE "[category covid]\n" FEED "categories = covd\n",
	             "6: [feed hod] categories: unknown category 'covd'; did you mean 'covid'?");
}

static void digest_with_unknown_category(void **state)
{
	expect_error(*state, BASE FEED "[digest presse]\nto = a@example.no\ncategories = sport\n",
	             "7: [digest presse] categories: unknown category 'sport'; "
	             "define it with [category sport]");
}

static void malformed_url(void **state)
{
	expect_error_prefix(*state, BASE "[feed x]\nurl = https://exa mple.no/rss\n",
	                    "4: [feed x] url: malformed URL 'https://exa mple.no/rss': ");
	expect_error(*state, BASE "[feed x]\nurl = www.fhi.no/rss/nyheter/\n",
	             "4: [feed x] url: expected an absolute URL like https://..., "
	             "not 'www.fhi.no/rss/nyheter/'");
	expect_error_prefix(*state, BASE "[feed x]\nurl = http://\n",
	                    "4: [feed x] url: malformed URL 'http://': ");
	expect_error_prefix(*state, BASE "[feed x]\nurl = https://h.example.no:99999/\n",
	                    "4: [feed x] url: malformed URL 'https://h.example.no:99999/': ");
}

static void url_scheme_not_http(void **state)
{
	expect_error(*state, BASE "[feed x]\nurl = ftp://ftp.example.no/feed.xml\n",
	             "4: [feed x] url: unsupported scheme 'ftp'; expected https:// or http://");
}

static void file_url_needs_allow_file_urls(void **state)
{
	expect_error(*state, BASE "[feed x]\nurl = file:///srv/feeds/x.rss\n",
	             "4: [feed x] url: file:// URLs are only allowed with allow_file_urls = yes "
	             "in [helsefeed]");
	load_ok(*state, BASE "allow_file_urls = yes\n[feed x]\nurl = file:///srv/feeds/x.rss\n");
}

static void feed_without_url(void **state)
{
	expect_error(*state, BASE "[feed x]\ntitle = X\n", "3: [feed x]: missing key 'url'");
	expect_error(*state, BASE "[feed x]\nurl =\n", "4: [feed x] url: missing value");
}

static void interval_out_of_bounds(void **state)
{
	expect_error(*state, BASE FEED "interval = 30s\n",
	             "5: [feed hod] interval: 30s is below the minimum of 1m");
	expect_error(*state, BASE FEED "interval = 8d\n",
	             "5: [feed hod] interval: 8d is above the maximum of 7d");
	expect_error(*state, BASE "interval = 59\n" FEED,
	             "3: [helsefeed] interval: 59 is below the minimum of 1m");
}

static void bad_duration(void **state)
{
	expect_error(*state, BASE FEED "interval = 15 min\n",
	             "5: [feed hod] interval: expected a duration like 90s, 15m, 1h30m or 1d, "
	             "not '15 min'");
	expect_error(*state, BASE "dedup_window = 30m1h\n" FEED,
	             "3: [helsefeed] dedup_window: expected a duration like 90s, 15m, 1h30m or 1d, "
	             "not '30m1h'");
}

static void bad_time(void **state)
{
	expect_error(*state, BASE FEED "[digest d]\nto = a@example.no\ntime = 7.00\n",
	             "7: [digest d] time: expected a time of day like 07:00, not '7.00'");
}

static void bad_bool(void **state)
{
	expect_error(*state, BASE "allow_file_urls = ja\n" FEED,
	             "3: [helsefeed] allow_file_urls: expected yes or no, not 'ja'");
}

static void bad_integer(void **state)
{
	expect_error(*state, BASE "max_redirects = 5x\n" FEED,
	             "3: [helsefeed] max_redirects: expected an integer, not '5x'");
	expect_error(*state, BASE "max_redirects = 11\n" FEED,
	             "3: [helsefeed] max_redirects: 11 is out of range; expected 0 to 10");
	expect_error(*state, BASE FEED "authority = -2\n",
	             "5: [feed hod] authority: -2 is out of range; expected 0 to 100");
}

static void bad_size(void **state)
{
	expect_error(*state, BASE "max_body = 16MB\n" FEED,
	             "3: [helsefeed] max_body: expected a size in bytes, with k, M or G for "
	             "KiB, MiB, GiB, not '16MB'");
	expect_error(*state, BASE "max_body = 2G\n" FEED,
	             "3: [helsefeed] max_body: 2G is out of range; expected 1024 to 1073741824 bytes");
}

static void unknown_kind(void **state)
{
	expect_error(*state, BASE FEED "kind = hospitl\n",
	             "5: [feed hod] kind: unknown value 'hospitl'; did you mean 'hospital'? "
	             "(one of ministry, directorate, hospital, municipal, other)");
	expect_error(*state, BASE FEED "kind = agency\n",
	             "5: [feed hod] kind: unknown value 'agency'; expected one of ministry, "
	             "directorate, hospital, municipal, other");
}

static void bad_time_zone(void **state)
{
	expect_error(*state, BASE "timezone = Europe/Olso\n" FEED,
	             "3: [helsefeed] timezone: unknown time zone 'Europe/Olso'; "
	             "did you mean 'Europe/Oslo'?");
	expect_error(*state, BASE "timezone = Eruope/Oslo\n" FEED,
	             "3: [helsefeed] timezone: unknown time zone 'Eruope/Oslo'; "
	             "did you mean 'Europe/Oslo'?");
	expect_error(*state, BASE FEED "[digest d]\nto = a@example.no\ntimezone = ../../etc/passwd\n",
	             "7: [digest d] timezone: unknown time zone '../../etc/passwd'; "
	             "expected an IANA name like Europe/Oslo");
}

static void digest_without_to(void **state)
{
	expect_error(*state, BASE FEED "[digest presse]\ntime = 07:00\n",
	             "5: [digest presse]: missing key 'to'");
}

static void bad_mail_address(void **state)
{
	expect_error(*state, BASE FEED "[digest d]\nto = presse@example.no; vakt(at)example.no\n",
	             "6: [digest d] to: 'presse@example.no;' is not an e-mail address like "
	             "name@example.no");
	expect_error(*state, BASE FEED "[digest d]\nto = a@b..no, @example.no, x@-x.no\n",
	             "6: [digest d] to: '@example.no' is not an e-mail address like name@example.no");
	assert_int_equal(count_lines(buf_str(&((struct fx *)*state)->err)), 3);
}

static void smtp_without_url_or_from(void **state)
{
	struct fx *f = *state;

	expect_error(f, BASE FEED "[smtp]\nusername = x\n", "5: [smtp]: missing key 'url'");
	expect_error(f, BASE FEED "[smtp]\nusername = x\n", "5: [smtp]: missing key 'from'");
	expect_error(f, BASE FEED "[smtp]\nurl = smtp://localhost:2525\nfrom = Helsenytt <x@>\n",
	             "7: [smtp] from: expected 'Name <name@example.no>' or 'name@example.no', "
	             "not 'Helsenytt <x@>'");
}

static void smtp_bad_scheme(void **state)
{
	expect_error(*state, BASE FEED "[smtp]\nurl = https://smtp.example.no/\nfrom = a@example.no\n",
	             "6: [smtp] url: unsupported scheme 'https'; expected smtps:// or smtp://");
	expect_error(*state, BASE FEED "[smtp]\nurl = smtp.example.no:587\nfrom = a@example.no\n",
	             "6: [smtp] url: unsupported scheme 'smtp.example.no'; "
	             "expected smtps:// or smtp://");
}

static void password_file_missing(void **state)
{
	expect_error(*state, BASE FEED "[smtp]\nurl = smtp://localhost\nfrom = a@example.no\n"
	             "password_file = /nonexistent/smtp-password\n",
	             "8: [smtp] password_file: '/nonexistent/smtp-password': "
	             "No such file or directory");
}

static void password_file_readable_by_others(void **state)
{
	struct fx *f = *state;
	char pw[PATH_MAX + 16], want[PATH_MAX + 128];

	snprintf(pw, sizeof(pw), "%s/pw", f->dir);
	write_file(pw, "x", 1, 0644);
	snprintf(want, sizeof(want), "8: [smtp] password_file: '%s' is readable by others "
	         "(mode 0644); chmod 600 it", pw);
	expect_error(f, BASE FEED "[smtp]\nurl = smtp://localhost\nfrom = a@example.no\n"
	             "password_file = pw\n", want);
	write_file(pw, "x", 1, 0640);
	snprintf(want, sizeof(want), "8: [smtp] password_file: '%s' is readable by others "
	         "(mode 0640); chmod 600 it", pw);
	expect_error(f, BASE FEED "[smtp]\nurl = smtp://localhost\nfrom = a@example.no\n"
	             "password_file = pw\n", want);
	write_file(pw, "x", 1, 0600);
	load_ok(f, BASE FEED "[smtp]\nurl = smtp://localhost\nfrom = a@example.no\n"
	        "password_file = pw\n");
	assert_string_equal(f->cfg->smtp.password_file, pw);
	assert_int_equal(f->cfg->smtp.starttls, 1);
}

static void base_url_must_be_http(void **state)
{
	expect_error(*state, "[helsefeed]\nbase_url = ftp://helsenytt.example.no/\n" FEED,
	             "2: [helsefeed] base_url: unsupported scheme 'ftp'; expected https:// or http://");
	expect_error(*state, "[helsefeed]\nbase_url = file:///srv/www/\nallow_file_urls = yes\n" FEED,
	             "2: [helsefeed] base_url: unsupported scheme 'file'; expected https:// or http://");
	expect_error(*state, "[helsefeed]\ntitle = X\n" FEED,
	             "1: [helsefeed]: missing key 'base_url'");
}

static void base_url_gets_its_slash(void **state)
{
	struct fx *f = *state;

	load_ok(f, "[helsefeed]\nbase_url = https://h.example.no/helse\n" FEED);
	assert_string_equal(f->cfg->base_url, "https://h.example.no/helse/");
}

static void line_too_long(void **state)
{
	struct fx *f = *state;
	struct buf text = BUF_INIT;
	char want[64];
	size_t i;

	assert_int_equal(buf_puts(&text, BASE FEED "title = "), 0);
	for (i = 0; i < HF_CONF_MAX_LINE; i++)
		assert_int_equal(buf_putc(&text, 'x'), 0);
	assert_int_equal(buf_puts(&text, "\n"), 0);
	snprintf(want, sizeof(want), "5: line longer than %d bytes", HF_CONF_MAX_LINE);
	expect_error(f, buf_str(&text), want);
	buf_free(&text);
}

static void file_not_found(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32], want[PATH_MAX + 96];
	struct config *cfg = (struct config *)&path;  /* must stay untouched */

	snprintf(path, sizeof(path), "%s/missing.conf", f->dir);
	assert_int_equal(config_load(path, &cfg, &f->err), HF_EIO);
	assert_ptr_equal(cfg, (struct config *)&path);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory\n", path);
	assert_string_equal(buf_str(&f->err), want);

	buf_clear(&f->err);
	assert_int_equal(config_load(f->dir, &cfg, &f->err), HF_EIO);
	snprintf(want, sizeof(want), "%s: cannot read: is a directory\n", f->dir);
	assert_string_equal(buf_str(&f->err), want);
}

static void no_feed_section(void **state)
{
	struct fx *f = *state;
	char want[PATH_MAX + 64];

	assert_int_equal(load(f, BASE "[category covid]\n"), HF_ECONFIG);
	snprintf(want, sizeof(want), "%s: no [feed NAME] section: nothing to do\n", f->path);
	assert_string_equal(buf_str(&f->err), want);
}

static void broken_rules(void **state)
{
	expect_error(*state, BASE FEED "[category c]\nmatch = korona* * sykehus\n",
	             "6: [category c] match: empty term '*'");
	expect_error(*state, BASE FEED "[category c]\nmatch = kommun*[helse* omsorg*\n",
	             "6: [category c] match: '[' without ']'");
	expect_error(*state, BASE FEED "[category c]\nmatch = kommun* helse*]\n",
	             "6: [category c] match: ']' without '['");
	expect_error(*state, BASE FEED "[category c]\nmatch = [helse*]\n",
	             "6: [category c] match: '[' without a term before it");
	expect_error(*state, BASE FEED "[category c]\nmatch = kommun*[]\n",
	             "6: [category c] match: empty '[]'");
	expect_error(*state, BASE FEED "[category c]\nmatch = kommun*[helse*[x]]\n",
	             "6: [category c] match: '[' inside '[...]'");
	expect_error(*state, BASE FEED "[category c]\nmatch = ko*rona\n",
	             "6: [category c] match: '*' inside term 'ko*rona'; it may only start or end one");
	expect_error(*state, BASE FEED "[category c]\nexclude = koronar*[hjerte*]\n",
	             "6: [category c] exclude: no '[...]' conditions in exclude: "
	             "'koronar*[hjerte*]'");
}

static void unknown_variable(void **state)
{
	expect_error(*state, BASE FEED "title = ${HOME}/x\n",
	             "5: [feed hod] title: unknown variable in '${HOME}/x'; "
	             "only ${CONFDIR} is defined");
}

static void invalid_utf8_and_control_characters(void **state)
{
	expect_error(*state, BASE FEED "title = Helse \xf8st\n", "5: not valid UTF-8");
	expect_error(*state, BASE FEED "title = a\x1b[31mb\n", "5: control character 0x1b in line");
}

static void every_error_is_reported_in_line_order(void **state)
{
	struct fx *f = *state;
	const char *e, *a, *b, *c;

	assert_int_equal(load(f, BASE "intervall = 5m\n[feed a]\nurl = ftp://x/\n"
	                         "categories = nope\nkind = x\n"), HF_ECONFIG);
	e = buf_str(&f->err);
	assert_int_equal(count_lines(e), 4);
	a = strstr(e, ":3: [helsefeed] intervall");
	b = strstr(e, ":5: [feed a] url");
	c = strstr(e, ":7: [feed a] kind");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c);
}

static void loads_from_memory(void **state)
{
	struct buf err = BUF_INIT;
	struct config *cfg = NULL;
	static const char text[] = BASE FEED "kind = ministry\n";

	(void)state;
	assert_int_equal(config_load_mem("mem.conf", text, sizeof(text) - 1, &cfg, &err), HF_OK);
	assert_int_equal(cfg->feeds[0].kind, FEED_KIND_MINISTRY);
	config_free(cfg);
	cfg = NULL;
	assert_int_equal(config_load_mem("mem.conf", "[feed]\n", 7, &cfg, &err), HF_ECONFIG);
	assert_null(cfg);
	assert_non_null(strstr(buf_str(&err), "mem.conf:1: [feed]: missing section name"));
	buf_free(&err);
}

/* --- the production file and the command ------------------------------------- */

static void production_config_is_valid(void **state)
{
	struct buf err = BUF_INIT;
	struct config *cfg = NULL;
	struct classify *cls = NULL;
	const struct config_feed *hod;
	size_t i, hospitals = 0;

	(void)state;
	if (config_load("../feeds.conf", &cfg, &err))
		fprintf(stderr, "%s", buf_str(&err));
	assert_non_null(cfg);
	assert_int_equal(cfg->allow_file_urls, 0);
	assert_string_equal(cfg->base_url, "https://helsenytt.example.no/");
	assert_string_equal(cfg->database, "/var/lib/helsefeed/helsefeed.db");
	assert_int_equal(cfg->smtp.present, 0);
	hod = config_feed_find(cfg, "hod");
	assert_non_null(hod);
	assert_string_equal(hod->url, "https://www.regjeringen.no/no/rss/Rss/2581966/?owner=421");
	assert_int_equal(hod->kind, FEED_KIND_MINISTRY);
	for (i = 0; i < cfg->nfeeds; i++) {
		const struct config_feed *fd = &cfg->feeds[i];
		size_t j;
		int has = 0;

		for (j = 0; j < fd->ncategories; j++)
			has |= !strcmp(fd->categories[j], "hospitals");
		if (fd->kind == FEED_KIND_HOSPITAL) {
			assert_true(has);  /* everything from a hospital trust is hospitals */
			hospitals++;
		}
	}
	assert_true(hospitals >= 6);
	assert_non_null(config_category_find(cfg, "covid"));
	assert_non_null(config_category_find(cfg, "municipal"));
	assert_int_equal(cfg->ndigests, 1);
	assert_string_equal(cfg->digests[0].name, "presse");
	assert_int_equal(classify_compile(cfg, &cls, &err), HF_OK);
	classify_free(cls);
	config_free(cfg);
	buf_free(&err);
}

/* The production rules on sentences of the kind the sector writes. */
static void production_rules_classify(void **state)
{
	static const struct { const char *title; const char *want; } cases[] = {
		{"Nye koronaråd frå FHI", "covid"},
		{"Færre dør av koronar hjertesykdom", ""},
		{"Koronar bypass gir bedre overlevelse", ""},
		{"Vaksinasjon mot covid-19 for eldre", "covid"},
		{"Vaksine mot influensa", ""},
		{"Kommunane får meir til helsetenester", "municipal"},
		{"Kommunene får nye veier", ""},
		{"Nytt sjukehus i Stavanger", "hospitals"},
		{"Ventetidene i spesialisthelsetjenesten går ned", "hospitals"},
		{"Flere fastleger i Nord-Norge", "municipal"},
	};
	struct buf err = BUF_INIT;
	struct config *cfg = NULL;
	struct classify *cls = NULL;
	unsigned char hits[16];
	size_t i, j;

	(void)state;
	assert_int_equal(config_load("../feeds.conf", &cfg, &err), HF_OK);
	assert_int_equal(classify_compile(cfg, &cls, &err), HF_OK);
	assert_true(classify_count(cls) <= sizeof(hits));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct classify_input in = {cases[i].title, NULL, NULL, NULL, 0};
		char got[128] = "";

		memset(hits, 0, sizeof(hits));
		assert_int_equal(classify_item(cls, &in, hits, NULL), HF_OK);
		for (j = 0; j < cfg->ncategories; j++)
			if (hits[j])
				snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
				         got[0] ? " " : "", cfg->categories[j].name);
		if (strcmp(got, cases[i].want))
			fprintf(stderr, "'%s': got '%s', wanted '%s'\n", cases[i].title, got,
			        cases[i].want);
		assert_string_equal(got, cases[i].want);
	}
	classify_free(cls);
	config_free(cfg);
	buf_free(&err);
}

struct run {
	int code;
	char out[4096];
	char err[8192];
};

static void slurp(int fd, char *dst, size_t n)
{
	ssize_t got;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	got = read(fd, dst, n - 1);
	assert_true(got >= 0);
	dst[got] = '\0';
	close(fd);
}

/* Run cmd_check with stdout and stderr going to files, then read them. */
static void run_check(struct run *r, const char *config, int argc, char **argv)
{
	struct cli cli = {config, "helsefeed"};
	char o[] = "/tmp/hf-check-out-XXXXXX", e[] = "/tmp/hf-check-err-XXXXXX";
	int fo = mkstemp(o), fe = mkstemp(e), so, se;

	assert_true(fo >= 0 && fe >= 0);
	unlink(o);
	unlink(e);
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(fo, 1);
	dup2(fe, 2);
	r->code = cmd_check(&cli, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(fo, r->out, sizeof(r->out));
	slurp(fe, r->err, sizeof(r->err));
}

static void check_prints_summary(void **state)
{
	struct run r;
	char *argv[] = {"check", NULL};

	(void)state;
	run_check(&r, "data/conf/good.conf", 1, argv);
	assert_int_equal(r.code, HF_EXIT_OK);
	assert_string_equal(r.out, "data/conf/good.conf: ok: 3 feeds, 2 categories, 1 digest\n");
	assert_string_equal(r.err, "");
}

static void check_option_overrides_global_config(void **state)
{
	struct run r;
	char *argv[] = {"check", "-c", "data/conf/one-feed.conf", NULL};

	(void)state;
	run_check(&r, "/nonexistent/feeds.conf", 3, argv);
	assert_int_equal(r.code, HF_EXIT_OK);
	assert_string_equal(r.out, "data/conf/one-feed.conf: ok: 1 feed, 0 categories, 0 digests\n");
}

static void check_reports_every_error(void **state)
{
	struct run r;
	char *argv[] = {"check", NULL};

	(void)state;
	run_check(&r, "data/conf/bad.conf", 1, argv);
	assert_int_equal(r.code, HF_EXIT_USAGE);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err,
	    "data/conf/bad.conf:4: [helsefeed] timezone: unknown time zone 'Europe/Olso'; "
	    "did you mean 'Europe/Oslo'?\n"
	    "data/conf/bad.conf:11: [feed hod] intervall: unknown key; did you mean 'interval'?\n"
	    "data/conf/bad.conf:12: [feed hod] categories: unknown category 'covd'; "
	    "did you mean 'covid'?\n"
	    "data/conf/bad.conf:14: [feed fhi] url: file:// URLs are only allowed with "
	    "allow_file_urls = yes in [helsefeed]\n"
	    "data/conf/bad.conf:17: [digest presse]: missing key 'to'\n");
}

static void check_missing_file_and_usage(void **state)
{
	struct run r;
	char *help[] = {"check", "--help", NULL};
	char *extra[] = {"check", "now", NULL};
	char *none[] = {"check", NULL};

	(void)state;
	run_check(&r, "data/conf/does-not-exist.conf", 1, none);
	assert_int_equal(r.code, HF_EXIT_USAGE);
	assert_string_equal(r.err, "data/conf/does-not-exist.conf: cannot open: "
	                           "No such file or directory\n");
	run_check(&r, "data/conf/good.conf", 2, help);
	assert_int_equal(r.code, HF_EXIT_OK);
	assert_non_null(strstr(r.out, "usage: helsefeed check [-c FILE]"));
	run_check(&r, "data/conf/good.conf", 2, extra);
	assert_int_equal(r.code, HF_EXIT_USAGE);
	assert_string_equal(r.err, "helsefeed check: unexpected argument 'now'; "
	                           "try 'helsefeed check --help'\n");
}

static void check_runs_the_classifier_compiler(void **state)
{
	struct fx *f = *state;
	struct run r;
	char *argv[] = {"check", NULL};
	char want[PATH_MAX + 128];

	/* Syntax fine for config, but '+' is not a letter of any word. */
	load_ok(f, BASE FEED "[category c]\nmatch = c++\n");
	run_check(&r, f->path, 1, argv);
	assert_int_equal(r.code, HF_EXIT_USAGE);
	snprintf(want, sizeof(want), "%s: category c: match: not a letter, digit or '-' in term "
	         "'c++'\n", f->path);
	assert_string_equal(r.err, want);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(defaults_come_from_limits),
		T(every_key_is_read),
		cmocka_unit_test(durations_parse),
		cmocka_unit_test(times_parse),
		cmocka_unit_test(timezones_are_checked_on_disk),
		T(lists_split_on_commas_and_whitespace),
		T(confdir_and_relative_paths),
		T(comments_and_whitespace),
		T(crlf_and_bom_are_tolerated),
		T(booleans_and_sizes),
		T(feeds_inherit_the_global_interval),
		T(rule_syntax_accepted),
		T(unknown_key_did_you_mean),
		T(unknown_key_without_suggestion),
		T(key_of_another_section),
		T(unknown_section_type),
		T(key_outside_any_section),
		T(missing_equals),
		T(missing_section_name),
		T(bad_section_name),
		T(unterminated_header),
		T(duplicate_section),
		T(duplicate_key),
		T(feed_with_unknown_category),
		T(digest_with_unknown_category),
		T(malformed_url),
		T(url_scheme_not_http),
		T(file_url_needs_allow_file_urls),
		T(feed_without_url),
		T(interval_out_of_bounds),
		T(bad_duration),
		T(bad_time),
		T(bad_bool),
		T(bad_integer),
		T(bad_size),
		T(unknown_kind),
		T(bad_time_zone),
		T(digest_without_to),
		T(bad_mail_address),
		T(smtp_without_url_or_from),
		T(smtp_bad_scheme),
		T(password_file_missing),
		T(password_file_readable_by_others),
		T(base_url_must_be_http),
		T(base_url_gets_its_slash),
		T(line_too_long),
		T(file_not_found),
		T(no_feed_section),
		T(broken_rules),
		T(unknown_variable),
		T(invalid_utf8_and_control_characters),
		T(every_error_is_reported_in_line_order),
		cmocka_unit_test(loads_from_memory),
		cmocka_unit_test(production_config_is_valid),
		cmocka_unit_test(production_rules_classify),
		cmocka_unit_test(check_prints_summary),
		cmocka_unit_test(check_option_overrides_global_config),
		cmocka_unit_test(check_reports_every_error),
		cmocka_unit_test_setup_teardown(same_url_patterns_are_checked, setup, teardown),
		cmocka_unit_test(check_missing_file_and_usage),
		T(check_runs_the_classifier_compiler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
