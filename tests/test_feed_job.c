/*
 * test_feed_job.c - parsing in a child process (feed.h): the entries come
 * back as the in-process parse gives them; a document that costs more than
 * the budget fails with a message that says so, and the parent stays
 * responsive; malformed answers from the child are refused.  The parser
 * host: one, holding nothing of the daemon's, started again when lost.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "helsefeed/util.h"
#include "helsefeed/feed.h"
#include "helsefeed/limits.h"

#define NOW 1717200000

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return s;
}

static struct feed_job_opts opts(int cpu, int wall)
{
	struct feed_job_opts o = {0};

	o.base_url = "https://www.regjeringen.no/no/rss/";
	o.now = NOW;
	o.cpu_s = cpu;
	o.wall_s = wall;
	o.mem_bytes = HF_PARSE_MEM;
	return o;
}

/* The in-process parse, for comparison. */
struct local {
	struct buf wire;
	size_t n;
};

static int on_local(void *ud, const struct feed_info *info, const struct feed_entry *e)
{
	struct local *l = ud;

	(void)info;
	l->n++;
	return feed_wire_entry(&l->wire, e);
}

static void same_as_in_process(const char *path)
{
	struct feed_job_opts o = opts(HF_PARSE_CPU_S, HF_PARSE_WALL_S);
	struct feed_parse_opts po = {0};
	struct feed_info info = {0};
	struct local l = {BUF_INIT, 0};
	struct buf wire = BUF_INIT;
	const struct feed_doc *doc;
	struct feed_job *j = NULL;
	const char *msg;
	size_t len;
	char *data = slurp(path, &len);

	po.base_url = o.base_url;
	po.now = o.now;
	po.on_entry = on_local;
	po.ud = &l;
	assert_int_equal(feed_parse(data, len, &po, &info, NULL), 0);
	assert_true(l.n > 0);

	assert_int_equal(feed_job_start(data, len, &o, &j), 0);
	free(data);  /* the child has its own copy */
	assert_int_equal(feed_job_wait(j), 0);
	assert_int_equal(feed_job_result(j, &doc, &msg), 0);
	assert_null(msg);
	assert_int_equal(doc->nentries, l.n);
	assert_int_equal(doc->info.format, info.format);
	assert_string_equal(doc->info.title ? doc->info.title : "-", info.title ? info.title : "-");
	/* Entry for entry, field for field: the decoded entries encode to
	 * the very bytes the in-process entries do. */
	for (size_t i = 0; i < doc->nentries; i++)
		assert_int_equal(feed_wire_entry(&wire, &doc->entries[i]), 0);
	assert_int_equal(wire.len, l.wire.len);
	assert_memory_equal(wire.data, l.wire.data, wire.len);
	feed_job_free(j);
	feed_info_clear(&info);
	buf_free(&l.wire);
	buf_free(&wire);
}

static void child_gives_the_entries_of_the_in_process_parse(void **state)
{
	(void)state;
	same_as_in_process("data/feeds/regjeringen_hod.xml");
	same_as_in_process("data/feeds/atom10.xml");
	same_as_in_process("data/feeds/regjeringen_nynorsk.xml");
}

static void not_a_feed_is_reported_with_what_was_found(void **state)
{
	static const char html[] = "<!DOCTYPE html><html><body>Vedlikehold</body></html>";
	struct feed_job_opts o = opts(HF_PARSE_CPU_S, HF_PARSE_WALL_S);
	const struct feed_doc *doc;
	struct feed_job *j = NULL;
	const char *msg;

	(void)state;
	assert_int_equal(feed_job_start(html, sizeof html - 1, &o, &j), 0);
	assert_int_equal(feed_job_wait(j), HF_ENOTFEED);
	assert_int_equal(feed_job_result(j, &doc, &msg), HF_ENOTFEED);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "<html>"));
	feed_job_free(j);
}

/* One element with this many attributes: libxml2 2.9 checks each new
 * attribute against all before it. */
static char *attribute_bomb(size_t nattrs, size_t *len)
{
	struct buf b = BUF_INIT;

	assert_int_equal(buf_puts(&b, "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>"
	                              "<title>t</title><item><title>x</title><x"), 0);
	for (size_t i = 0; i < nattrs; i++)
		assert_int_equal(buf_printf(&b, " a%zu=\"\"", i), 0);
	assert_int_equal(buf_puts(&b, "/></item></channel></rss>"), 0);
	*len = b.len;
	return buf_detach(&b);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cpu_budget_stops_a_quadratic_document(void **state)
{
	struct feed_job_opts o = opts(1, 60);
	const struct feed_doc *doc;
	struct feed_job *j = NULL;
	const char *msg;
	size_t len;
	char *bomb = attribute_bomb(500000, &len);
	int64_t t0, polls = 0;

	(void)state;
	assert_int_equal(feed_job_start(bomb, len, &o, &j), 0);
	free(bomb);
	/* The parent is never held: each poll returns at once. */
	t0 = now_ms();
	while (!feed_job_poll(j)) {
		int64_t p0 = now_ms();

		polls++;
		assert_true(now_ms() - p0 < 1000);
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	assert_true(polls > 1);
	assert_true(now_ms() - t0 < 30000);
	assert_int_equal(feed_job_result(j, &doc, &msg), HF_ETOOBIG);
	assert_non_null(msg);
	assert_string_equal(msg, "parsing took more than 1 s of CPU");
	feed_job_free(j);
}

static void wall_deadline_kills_the_child(void **state)
{
	struct feed_job_opts o = opts(60, 1);
	const struct feed_doc *doc;
	struct feed_job *j = NULL;
	const char *msg;
	size_t len;
	char *bomb = attribute_bomb(500000, &len);

	(void)state;
	assert_int_equal(feed_job_start(bomb, len, &o, &j), 0);
	free(bomb);
	assert_int_equal(feed_job_wait(j), HF_ETOOBIG);
	assert_int_equal(feed_job_result(j, &doc, &msg), HF_ETOOBIG);
	assert_string_equal(msg, "parsing took more than 1 s");
	feed_job_free(j);
}

/*
 * The processes below `root` (the parser host, its watchers and their
 * children), from /proc: their pids in out[], how many.
 */
static size_t descendants(pid_t root, pid_t *out, size_t max)
{
	pid_t pid[4096], ppid[4096];
	size_t n = 0, k = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) && n < 4096) {
		char path[300], line[512], *p, state;
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		/* pid (comm) state ppid: comm may hold spaces, so after ')'.
		 * A zombie has ended: it is no process of ours any more. */
		if (fgets(line, sizeof line, f) && (p = strrchr(line, ')')) &&
		    sscanf(p + 1, " %c %d", &state, &ppid[n]) == 2 && state != 'Z') {
			pid[n] = (pid_t)atoi(de->d_name);
			n++;
		}
		fclose(f);
	}
	closedir(d);
	out[k++] = root;
	for (size_t i = 0; i < k; i++)          /* out[] grows as it is walked */
		for (size_t j = 0; j < n && k < max; j++)
			if (ppid[j] == out[i])
				out[k++] = pid[j];
	for (size_t i = 1; i < k; i++)
		out[i - 1] = out[i];
	return k - 1;
}

static size_t wait_for_descendants(size_t want, int64_t ms)
{
	pid_t p[64];
	int64_t end = now_ms() + ms;
	size_t n;

	while ((n = descendants(getpid(), p, 64)) != want && now_ms() < end) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return n;
}

/*
 * Kill the parser host and wait until it is gone as a whole: its thread
 * group leader turns zombie before its other threads end (the sanitizers
 * give it one), and until the last one has, its socket is open and a job
 * sent to it is lost.
 */
static void kill_host(pid_t host)
{
	char path[64];
	int64_t end = now_ms() + 5000;

	assert_int_equal(kill(host, SIGKILL), 0);
	snprintf(path, sizeof path, "/proc/%d/task", (int)host);
	for (;;) {
		DIR *d = opendir(path);
		struct dirent *de;
		int threads = 0;

		if (d) {
			while ((de = readdir(d)))
				threads += de->d_name[0] != '.';
			closedir(d);
		}
		if (threads <= 1 && wait_for_descendants(0, 0) == 0)
			break;
		assert_true(now_ms() < end);
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static void free_while_running_kills_the_child(void **state)
{
	struct feed_job_opts o = opts(60, 60);
	struct feed_job *j = NULL;
	size_t len;
	char *bomb = attribute_bomb(500000, &len);

	(void)state;
	assert_int_equal(feed_job_start(bomb, len, &o, &j), 0);
	free(bomb);
	assert_int_equal(feed_job_poll(j), 0);
	/* The host, the job's watcher and the parser child. */
	assert_int_equal(wait_for_descendants(3, 5000), 3);
	feed_job_free(j);  /* no leak: valgrind and ASan see it */
	/* The watcher finds the pipe closed and kills the child at once, not
	 * at the 60 s deadline; the host stays for the next job. */
	assert_int_equal(wait_for_descendants(1, 5000), 1);
}

static const char rss[] = "<rss version=\"2.0\"><channel><title>t</title>"
                          "<item><title>x</title><link>https://a.no/1</link>"
                          "</item></channel></rss>";

/* The host is forked once; killed, it is started again at the next job. */
static void a_killed_host_is_started_again(void **state)
{
	struct feed_job_opts o = opts(HF_PARSE_CPU_S, HF_PARSE_WALL_S);
	const struct feed_doc *doc;
	struct feed_job *j = NULL;
	const char *msg;
	pid_t p[64], host;

	(void)state;
	assert_int_equal(feed_host_start(), 0);
	assert_int_equal(wait_for_descendants(1, 5000), 1);
	assert_int_equal(descendants(getpid(), p, 64), 1);
	host = p[0];
	assert_int_equal(feed_host_start(), 0);          /* no second one */
	assert_int_equal(descendants(getpid(), p, 64), 1);
	kill_host(host);
	assert_int_equal(feed_job_start(rss, sizeof rss - 1, &o, &j), 0);
	assert_int_equal(feed_job_wait(j), 0);
	assert_int_equal(feed_job_result(j, &doc, &msg), 0);
	assert_int_equal(doc->nentries, 1);
	assert_string_equal(doc->entries[0].title, "x");
	feed_job_free(j);
	assert_int_equal(wait_for_descendants(1, 5000), 1);
	assert_int_equal(descendants(getpid(), p, 64), 1);
	assert_true(p[0] != host);
}

/* The host keeps no descriptor of the daemon's but its socket, so that a
 * parser child cannot write to the database or a transfer. */
/* The descriptors above 2 that process pid holds. */
static int fds_of(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)))
		n += de->d_name[0] != '.' && atoi(de->d_name) > 2;
	closedir(d);
	return n;
}

static void the_host_holds_no_descriptor_of_the_daemon(void **state)
{
	struct feed_job_opts o = opts(HF_PARSE_CPU_S, HF_PARSE_WALL_S);
	struct feed_job *j = NULL;
	int64_t end;
	pid_t p[64];
	int fd;

	(void)state;
	/* A host started after this file was opened must not hold it. */
	assert_int_equal(wait_for_descendants(1, 5000), 1);
	assert_int_equal(descendants(getpid(), p, 64), 1);
	kill_host(p[0]);
	fd = open("/dev/null", O_RDONLY);   /* no O_CLOEXEC: fork keeps it */
	assert_true(fd > 2);
	assert_int_equal(feed_job_start(rss, sizeof rss - 1, &o, &j), 0);
	assert_int_equal(feed_job_wait(j), 0);
	feed_job_free(j);
	assert_int_equal(wait_for_descendants(1, 5000), 1);
	assert_int_equal(descendants(getpid(), p, 64), 1);
	/* Its socket alone, once it has closed what it passed to the job's
	 * watcher (it may be a moment behind). */
	end = now_ms() + 5000;
	while (fds_of(p[0]) != 1 && now_ms() < end) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	assert_int_equal(fds_of(p[0]), 1);
	close(fd);
}

/* Everything below the daemon killed mid-parse: the job fails and says
 * that the parser went away, and no process of it is left. */
static void a_lost_parser_is_an_error(void **state)
{
	struct feed_job_opts o = opts(60, 60);
	const struct feed_doc *doc;
	struct feed_job *j = NULL;
	const char *msg;
	pid_t p[64];
	size_t len, n;
	char *bomb = attribute_bomb(500000, &len);

	(void)state;
	assert_int_equal(feed_job_start(bomb, len, &o, &j), 0);
	free(bomb);
	assert_int_equal(wait_for_descendants(3, 5000), 3);
	n = descendants(getpid(), p, 64);
	for (size_t i = 0; i < n; i++)
		kill(p[i], SIGKILL);
	assert_int_equal(feed_job_wait(j), HF_ERR);
	assert_int_equal(feed_job_result(j, &doc, &msg), HF_ERR);
	assert_string_equal(msg, "the parser process went away before the parse ended");
	feed_job_free(j);
	assert_int_equal(wait_for_descendants(0, 5000), 0);
}

/* A well-formed answer of one entry, for the decoder tests. */
static void one_entry(struct buf *b, const char *title)
{
	static const char *const cats[] = {"Sykehus"};
	struct feed_enclosure enc = {(char *)"https://example.no/a.mp3", (char *)"audio/mpeg", 42};
	struct feed_entry e = {0};
	struct feed_info info = {0};

	e.key = "https://example.no/1";
	e.raw_hash = 7;
	e.id = e.key;
	e.title = title;
	e.link = e.key;
	e.published = NOW;
	e.updated = INT64_MIN;
	e.categories = cats;
	e.ncategories = 1;
	e.enclosures = &enc;
	e.nenclosures = 1;
	info.format = FEED_FORMAT_RSS20;
	assert_int_equal(feed_wire_entry(b, &e), 0);
	assert_int_equal(feed_wire_done(b, 0, &info, NULL), 0);
}

static int decode(const char *data, size_t len)
{
	struct feed_doc d = {0};
	int rc;

	assert_int_equal(buf_append(&d.raw, data, len), 0);
	rc = feed_doc_decode(&d, NULL);
	feed_doc_free(&d);
	return rc;
}

static void decoder_refuses_malformed_answers(void **state)
{
	struct buf b = BUF_INIT;
	struct feed_doc d = {0};
	char *long_title = malloc(HF_MAX_TITLE + 2);

	(void)state;
	one_entry(&b, "Nytt sjukehus");
	assert_int_equal(decode(b.data, b.len), 0);
	/* Every truncation is refused. */
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(decode(b.data, n), HF_ERR);
	/* Trailing bytes after the end record. */
	assert_int_equal(buf_putc(&b, 'E'), 0);
	assert_int_equal(decode(b.data, b.len), HF_ERR);
	buf_clear(&b);
	/* Invalid UTF-8 and an embedded NUL in a string. */
	one_entry(&b, "Nytt \xff sjukehus");
	assert_int_equal(decode(b.data, b.len), HF_ERR);
	buf_clear(&b);
	/* A title over its bound. */
	memset(long_title, 'a', HF_MAX_TITLE + 1);
	long_title[HF_MAX_TITLE + 1] = '\0';
	one_entry(&b, long_title);
	assert_int_equal(decode(b.data, b.len), HF_ERR);
	buf_clear(&b);
	/* A good one decodes to what was written. */
	one_entry(&b, "Nytt sjukehus");
	d.raw = b;
	assert_int_equal(feed_doc_decode(&d, NULL), 0);
	assert_int_equal(d.nentries, 1);
	assert_string_equal(d.entries[0].title, "Nytt sjukehus");
	assert_string_equal(d.entries[0].categories[0], "Sykehus");
	assert_int_equal(d.entries[0].enclosures[0].length, 42);
	assert_int_equal(d.entries[0].updated, INT64_MIN);
	assert_int_equal(d.info.format, FEED_FORMAT_RSS20);
	feed_doc_free(&d);
	free(long_title);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(child_gives_the_entries_of_the_in_process_parse),
		cmocka_unit_test(not_a_feed_is_reported_with_what_was_found),
		cmocka_unit_test(cpu_budget_stops_a_quadratic_document),
		cmocka_unit_test(wall_deadline_kills_the_child),
		cmocka_unit_test(free_while_running_kills_the_child),
		cmocka_unit_test(a_killed_host_is_started_again),
		cmocka_unit_test(the_host_holds_no_descriptor_of_the_daemon),
		cmocka_unit_test(a_lost_parser_is_an_error),
		cmocka_unit_test(decoder_refuses_malformed_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
