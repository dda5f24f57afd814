/*
 * test_fetch.c - the transfer engine against tests/httpd.py on 127.0.0.1.
 *
 * The group setup fails (and with it every test) when /usr/bin/python3 or
 * the server cannot be started: a missing server is not a passing engine.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "helsefeed/util.h"
#include "helsefeed/config.h"
#include "helsefeed/fetch.h"
#include "helsefeed/ingest.h"
#include "helsefeed/limits.h"

#define NRES 64

static const char FEED[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	"<rss version=\"2.0\"><channel><title>Test</title>"
	"<link>http://example.no/</link>"
	"<item><title>Nytt sykehus</title><guid>a1</guid></item>"
	"</channel></rss>\n";

struct got {
	char *url, *etag, *last_modified, *content_type, *final_url, *moved_to, *error;
	int code, redirects, seen;
	long status;
	int64_t retry_after, max_age;
	size_t body_len;
	char *body;
};

static char loopback_net[] = "127.0.0.0/8";
static char *loopback[] = {loopback_net};

static struct {
	pid_t pid;
	int port;
	char dir[64];
	struct config cfg;
	struct got res[NRES];
	int nres;
} T;

static char *dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void on_done(void *ctx, const struct fetch_result *r)
{
	struct got *g = &T.res[(intptr_t)r->ud];

	(void)ctx;
	g->seen++;
	g->url = dup0(r->url);
	g->etag = dup0(r->etag);
	g->last_modified = dup0(r->last_modified);
	g->content_type = dup0(r->content_type);
	g->final_url = dup0(r->final_url);
	g->moved_to = dup0(r->moved_to);
	g->error = dup0(r->error);
	g->code = r->code;
	g->status = r->status;
	g->redirects = r->redirects;
	g->retry_after = r->retry_after;
	g->max_age = r->max_age;
	g->body_len = r->body_len;
	g->body = malloc(r->body_len + 1);
	memcpy(g->body, r->body, r->body_len + 1);
}

static void got_clear(void)
{
	for (int i = 0; i < NRES; i++) {
		struct got *g = &T.res[i];
		free(g->url), free(g->etag), free(g->last_modified), free(g->content_type);
		free(g->final_url), free(g->moved_to), free(g->error), free(g->body);
		memset(g, 0, sizeof *g);
	}
	T.nres = 0;
}

static char *url(const char *path)
{
	static char u[8][256];
	static int k;

	k = (k + 1) % 8;
	snprintf(u[k], sizeof u[k], "http://127.0.0.1:%d%s", T.port, path);
	return u[k];
}

/* Fetch each of `reqs` in one engine run. */
static void run(struct fetch_request *reqs, int n)
{
	struct fetch_engine *e = NULL;
	int left;

	got_clear();
	assert_int_equal(fetch_engine_new(&T.cfg, on_done, NULL, &e), 0);
	for (int i = 0; i < n; i++) {
		reqs[i].ud = (void *)(intptr_t)i;
		assert_int_equal(fetch_engine_add(e, &reqs[i]), 0);
	}
	assert_int_equal(fetch_engine_pending(e), (size_t)n);
	while ((left = fetch_engine_perform(e, 1000, NULL, 0)) > 0)
		;
	assert_int_equal(left, 0);
	assert_int_equal(fetch_engine_pending(e), 0);
	fetch_engine_free(e);
	for (int i = 0; i < n; i++)
		assert_int_equal(T.res[i].seen, 1);
}

static struct got *one(const char *u)
{
	struct fetch_request r = {u, NULL, NULL, NULL, NULL};

	run(&r, 1);
	return &T.res[0];
}

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", T.dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	char portfile[128], line[32];
	FILE *f = NULL;

	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0)
		return -1;
	snprintf(T.dir, sizeof T.dir, "/tmp/hf-test-fetch-XXXXXX");
	if (!mkdtemp(T.dir))
		return -1;
	write_file("feed.xml", FEED);
	snprintf(portfile, sizeof portfile, "%s/port", T.dir);
	T.pid = fork();
	if (T.pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execl("/usr/bin/python3", "python3", "httpd.py", "--dir", T.dir,
		      "--port-file", portfile, "--lifetime", "120", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && !(f = fopen(portfile, "r")); i++) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (!f || !fgets(line, sizeof line, f))
		return -1;
	fclose(f);
	T.port = (int)strtol(line, NULL, 10);

	T.cfg.connect_timeout = 5;
	T.cfg.timeout = 30;
	T.cfg.low_speed_limit = 100;
	T.cfg.low_speed_time = 2;
	T.cfg.max_body = 1024 * 1024;
	T.cfg.max_redirects = 5;
	/* The test server's redirects stay on this machine. */
	T.cfg.allow_networks = loopback;
	T.cfg.nallow_networks = 1;
	T.cfg.max_connections = 8;
	T.cfg.max_per_host = 2;
	T.cfg.contact = "mailto:drift@example.no";
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	got_clear();
	if (T.pid > 0) {
		/* SIGTERM, then SIGKILL when the server has not gone after 5 s. */
		kill(T.pid, SIGTERM);
		for (int i = 0; i < 100 && waitpid(T.pid, NULL, WNOHANG) == 0; i++) {
			struct timespec ts = {0, 50 * 1000 * 1000};
			nanosleep(&ts, NULL);
			if (i == 99) {
				kill(T.pid, SIGKILL);
				waitpid(T.pid, NULL, 0);
			}
		}
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", T.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Last value of a per-path statistic, from /_stats. */
static int stat_has(const char *key, const char *path, const char *needle)
{
	struct got *g = one(url("/_stats"));
	char pat[512];
	const char *p, *sect;

	assert_int_equal(g->status, 200);
	snprintf(pat, sizeof pat, "\"%s\": {", key);
	sect = strstr(g->body, pat);
	assert_non_null(sect);
	snprintf(pat, sizeof pat, "\"%s\": ", path);
	p = strstr(sect, pat);
	return p && strncmp(p + strlen(pat), needle, strlen(needle)) == 0;
}

static void test_fetch_ok_gives_validators_and_body(void **state)
{
	struct got *g;

	(void)state;
	g = one(url("/feeds/feed.xml"));
	assert_int_equal(g->code, 0);
	assert_int_equal(g->status, 200);
	assert_null(g->error);
	assert_non_null(g->etag);
	assert_non_null(g->last_modified);
	assert_string_equal(g->content_type, "application/rss+xml");
	assert_int_equal(g->body_len, strlen(FEED));
	assert_memory_equal(g->body, FEED, strlen(FEED));
	assert_null(g->moved_to);
	assert_int_equal(g->redirects, 0);
	assert_true(g->retry_after == FETCH_NOTIME);
	assert_int_equal(g->max_age, -1);
	assert_true(stat_has("ua", "/feeds/feed.xml", "\"helsefeed/"));
	assert_true(stat_has("ua", "/feeds/feed.xml", "\"helsefeed/" HELSEFEED_VERSION " (+mailto:drift@example.no)\""));
}

static void test_fetch_conditional_get_gives_304(void **state)
{
	struct fetch_request r = {0};
	char *etag, *lm;

	(void)state;
	one(url("/feeds/feed.xml"));
	etag = strdup(T.res[0].etag);
	lm = strdup(T.res[0].last_modified);
	r.url = url("/feeds/feed.xml");
	r.etag = etag;
	r.last_modified = lm;
	r.user_agent = "eigen/1.0";
	run(&r, 1);
	assert_int_equal(T.res[0].code, 0);
	assert_int_equal(T.res[0].status, 304);
	assert_null(T.res[0].error);
	assert_int_equal(T.res[0].body_len, 0);
	assert_true(stat_has("inm", "/feeds/feed.xml", "\"\\\""));
	assert_true(stat_has("ua", "/feeds/feed.xml", "\"eigen/1.0\""));
	/* Last-Modified alone works too. */
	r.etag = NULL;
	run(&r, 1);
	assert_int_equal(T.res[0].status, 304);
	free(etag);
	free(lm);
}

static void test_fetch_gzip_is_decoded(void **state)
{
	struct got *g;

	(void)state;
	g = one(url("/gzip/feed.xml"));
	assert_int_equal(g->code, 0);
	assert_int_equal(g->status, 200);
	assert_int_equal(g->body_len, strlen(FEED));
	assert_memory_equal(g->body, FEED, strlen(FEED));
	assert_true(stat_has("ae", "/gzip/feed.xml", "\"deflate, gzip"));
}

static void test_fetch_gzip_bomb_is_stopped(void **state)
{
	struct got *g;

	(void)state;
	g = one(url("/bomb/64"));
	assert_int_equal(g->code, HF_ETOOBIG);
	assert_int_equal(g->body_len, 0);
	assert_non_null(strstr(g->error, "/bomb/64"));
	assert_non_null(strstr(g->error, "larger than"));
}

static void test_fetch_declared_and_chunked_size_limits(void **state)
{
	char p[64];

	(void)state;
	snprintf(p, sizeof p, "/big/%d", 2 * 1024 * 1024);
	assert_int_equal(one(url(p))->code, HF_ETOOBIG);
	snprintf(p, sizeof p, "/bigchunked/%d", 2 * 1024 * 1024);
	assert_int_equal(one(url(p))->code, HF_ETOOBIG);
	/* Exactly at the limit is fine. */
	snprintf(p, sizeof p, "/big/%d", 1024 * 1024);
	assert_int_equal(one(url(p))->code, 0);
	assert_int_equal(T.res[0].body_len, 1024 * 1024);
}

static void test_fetch_http_errors_carry_status_and_text(void **state)
{
	static const long codes[] = {404, 410, 500};
	struct fetch_request r[3] = {{0}};
	char p[3][32];

	(void)state;
	for (int i = 0; i < 3; i++) {
		snprintf(p[i], sizeof p[i], "/status/%ld", codes[i]);
		r[i].url = url(p[i]);
	}
	run(r, 3);
	for (int i = 0; i < 3; i++) {
		char want[32];
		assert_int_equal(T.res[i].code, 0);
		assert_int_equal(T.res[i].status, codes[i]);
		snprintf(want, sizeof want, "HTTP %ld", codes[i]);
		assert_non_null(strstr(T.res[i].error, want));
		assert_non_null(strstr(T.res[i].error, p[i]));
	}
}

static void test_fetch_retry_after_both_forms(void **state)
{
	struct fetch_request r[3] = {{0}};
	int64_t now = (int64_t)time(NULL);

	(void)state;
	r[0].url = url("/retry/429/secs/3600");
	r[1].url = url("/retry/429/date/7200");
	r[2].url = url("/retry/503/secs/120");
	run(r, 3);
	assert_int_equal(T.res[0].status, 429);
	assert_in_range(T.res[0].retry_after, now + 3590, now + 3700);
	assert_int_equal(T.res[1].status, 429);
	assert_in_range(T.res[1].retry_after, now + 7190, now + 7300);
	assert_int_equal(T.res[2].status, 503);
	assert_in_range(T.res[2].retry_after, now + 110, now + 200);
}

static void test_fetch_max_age(void **state)
{
	struct got *g;

	(void)state;
	g = one(url("/maxage/1800/feed.xml"));
	assert_int_equal(g->status, 200);
	assert_int_equal(g->max_age, 1800);
}

static void test_fetch_permanent_chains_report_moved_to(void **state)
{
	struct fetch_request r[4] = {{0}};

	(void)state;
	r[0].url = url("/r301/3/feed.xml");
	r[1].url = url("/r308/2/feed.xml");
	r[2].url = url("/r302/1/feed.xml");
	r[3].url = url("/mixed/feed.xml");
	run(r, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(T.res[i].code, 0);
		assert_int_equal(T.res[i].status, 200);
		assert_string_equal(T.res[i].final_url, url("/feeds/feed.xml"));
		assert_int_equal(T.res[i].body_len, strlen(FEED));
	}
	assert_int_equal(T.res[0].redirects, 3);
	assert_string_equal(T.res[0].moved_to, url("/feeds/feed.xml"));
	assert_int_equal(T.res[1].redirects, 2);
	assert_string_equal(T.res[1].moved_to, url("/feeds/feed.xml"));
	/* A temporary hop anywhere in the chain: not moved. */
	assert_null(T.res[2].moved_to);
	assert_int_equal(T.res[3].redirects, 2);
	assert_null(T.res[3].moved_to);
}

static void test_fetch_redirect_loop_and_file_target_fail(void **state)
{
	struct fetch_request r[3] = {{0}};

	(void)state;
	T.cfg.allow_file_urls = 1; /* even then, never as a redirect target */
	r[0].url = url("/loop/a");
	r[1].url = url("/tofile");
	r[2].url = url("/r301/6/feed.xml");
	run(r, 3);
	T.cfg.allow_file_urls = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(T.res[i].code, HF_ENET);
		assert_int_equal(T.res[i].body_len, 0);
		assert_null(T.res[i].moved_to);
		assert_non_null(strstr(T.res[i].error, r[i].url));
	}
	assert_null(strstr(T.res[1].body, "root:"));
}

static void test_fetch_file_urls_only_when_allowed(void **state)
{
	char u[128];

	(void)state;
	snprintf(u, sizeof u, "file://%s/feed.xml", T.dir);
	assert_int_equal(one(u)->code, HF_ENET);
	T.cfg.allow_file_urls = 1;
	one(u);
	T.cfg.allow_file_urls = 0;
	assert_int_equal(T.res[0].code, 0);
	assert_int_equal(T.res[0].status, 200);
	assert_int_equal(T.res[0].body_len, strlen(FEED));
}

static void test_fetch_reset_mid_body_is_an_error(void **state)
{
	struct got *g;

	(void)state;
	g = one(url("/reset/feed.xml"));
	assert_int_equal(g->code, HF_ENET);
	assert_int_equal(g->body_len, 0);
	assert_non_null(g->error);
}

static void test_fetch_slow_body_hits_low_speed_limit(void **state)
{
	struct fetch_request r[2] = {{0}};

	(void)state;
	r[0].url = url("/slow/feed.xml");
	r[1].url = url("/feeds/feed.xml");
	run(r, 2);
	assert_int_equal(T.res[0].code, HF_ENET);
	assert_non_null(strstr(T.res[0].error, "/slow/feed.xml"));
	assert_int_equal(T.res[1].code, 0);
	assert_int_equal(T.res[1].status, 200);
}

static void test_fetch_many_requests_with_small_limits(void **state)
{
	enum { N = 40 };
	struct fetch_request r[N];

	(void)state;
	memset(r, 0, sizeof r);
	T.cfg.max_connections = 3;
	T.cfg.max_per_host = 1;
	for (int i = 0; i < N; i++)
		r[i].url = url(i % 2 ? "/feeds/feed.xml" : "/gzip/feed.xml");
	run(r, N);
	T.cfg.max_connections = 8;
	T.cfg.max_per_host = 2;
	for (int i = 0; i < N; i++) {
		assert_int_equal(T.res[i].status, 200);
		assert_int_equal(T.res[i].body_len, strlen(FEED));
	}
}

static void test_fetch_unreachable_and_bad_urls(void **state)
{
	struct fetch_request r[3] = {{0}};
	struct fetch_engine *e = NULL;
	struct fetch_request empty = {0};

	(void)state;
	r[0].url = "http://127.0.0.1:1/feed";
	r[1].url = "ftp://127.0.0.1/feed";
	r[2].url = "not a url";
	run(r, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(T.res[i].code, HF_ENET);
		assert_int_equal(T.res[i].status, 0);
		assert_non_null(strstr(T.res[i].error, r[i].url));
	}
	assert_int_equal(fetch_engine_new(&T.cfg, on_done, NULL, &e), 0);
	assert_int_equal(fetch_engine_add(e, &empty), HF_EINVAL);
	fetch_engine_free(e);
}

static void test_fetch_engine_free_with_pending_requests(void **state)
{
	struct fetch_engine *e = NULL;
	struct fetch_request r = {0};

	(void)state;
	got_clear();
	r.url = url("/slow/feed.xml");
	assert_int_equal(fetch_engine_new(&T.cfg, on_done, NULL, &e), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(fetch_engine_add(e, &r), 0);
	assert_true(fetch_engine_perform(e, 100, NULL, 0) >= 0);
	fetch_engine_free(e);
	assert_int_equal(T.res[0].seen, 0);
}

static void test_fetch_default_user_agent(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(fetch_default_user_agent("https://x.no/om", &b), 0);
	assert_string_equal(buf_str(&b), "helsefeed/" HELSEFEED_VERSION " (+https://x.no/om)");
	buf_clear(&b);
	assert_int_equal(fetch_default_user_agent(NULL, &b), 0);
	assert_string_equal(buf_str(&b), "helsefeed/" HELSEFEED_VERSION);
	buf_free(&b);
}

static void test_ingest_schedule_jitter_backoff_and_caps(void **state)
{
	const int64_t now = 1700000000;
	const int ival = 600;

	(void)state;
	for (uint64_t seed = 0; seed < 200; seed++) {
		int64_t n = ingest_next_fetch(now, ival, 1, 0, -1, 0, seed);
		assert_in_range(n, now + 540, now + 660);
		/* n-th failure: interval * 2^(n-1), +-10 %. */
		n = ingest_next_fetch(now, ival, 0, 1, -1, 0, seed);
		assert_in_range(n, now + 540, now + 660);
		n = ingest_next_fetch(now, ival, 0, 3, -1, 0, seed);
		assert_in_range(n, now + 4 * 540, now + 4 * 660);
		/* Capped at a day, whatever the count. */
		n = ingest_next_fetch(now, ival, 0, 40, -1, 0, seed);
		assert_in_range(n, now + HF_BACKOFF_MAX_S * 9 / 10, now + HF_BACKOFF_MAX_S);
		/* max-age: later than the jittered delay, never beyond the interval. */
		n = ingest_next_fetch(now, ival, 1, 0, 86400, 0, seed);
		assert_int_equal(n, now + ival);
		n = ingest_next_fetch(now, ival, 1, 0, 30, 0, seed);
		assert_in_range(n, now + 540, now + 660);
		/* Retry-After wins over a shorter backoff, up to a day. */
		n = ingest_next_fetch(now, ival, 0, 1, -1, now + 7200, seed);
		assert_int_equal(n, now + 7200);
		n = ingest_next_fetch(now, ival, 0, 1, -1, now + 90 * 86400, seed);
		assert_int_equal(n, now + HF_BACKOFF_MAX_S);
	}
	/* The jitter really varies between feeds. */
	assert_true(ingest_next_fetch(now, ival, 1, 0, -1, 0, 1) !=
	            ingest_next_fetch(now, ival, 1, 0, -1, 0, 2) ||
	            ingest_next_fetch(now, ival, 1, 0, -1, 0, 3) !=
	            ingest_next_fetch(now, ival, 1, 0, -1, 0, 4));
}

int main(void)
{
	/* HF_NO_SERVERS=1 (the package build, tests/itlib.py): no httpd.py. */
	const char *no_servers = getenv("HF_NO_SERVERS");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_default_user_agent),
		cmocka_unit_test(test_ingest_schedule_jitter_backoff_and_caps),
		cmocka_unit_test(test_fetch_ok_gives_validators_and_body),
		cmocka_unit_test(test_fetch_conditional_get_gives_304),
		cmocka_unit_test(test_fetch_gzip_is_decoded),
		cmocka_unit_test(test_fetch_gzip_bomb_is_stopped),
		cmocka_unit_test(test_fetch_declared_and_chunked_size_limits),
		cmocka_unit_test(test_fetch_http_errors_carry_status_and_text),
		cmocka_unit_test(test_fetch_retry_after_both_forms),
		cmocka_unit_test(test_fetch_max_age),
		cmocka_unit_test(test_fetch_permanent_chains_report_moved_to),
		cmocka_unit_test(test_fetch_redirect_loop_and_file_target_fail),
		cmocka_unit_test(test_fetch_file_urls_only_when_allowed),
		cmocka_unit_test(test_fetch_reset_mid_body_is_an_error),
		cmocka_unit_test(test_fetch_slow_body_hits_low_speed_limit),
		cmocka_unit_test(test_fetch_many_requests_with_small_limits),
		cmocka_unit_test(test_fetch_unreachable_and_bad_urls),
		cmocka_unit_test(test_fetch_engine_free_with_pending_requests),
	};

	if (no_servers && strcmp(no_servers, "1") == 0) {
		puts("skipped: needs a loopback server (HF_NO_SERVERS=1)");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
