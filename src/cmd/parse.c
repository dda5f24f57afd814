/*
 * cmd_parse.c - `helsefeed parse FILE [--content-type TYPE] [--base URL]`:
 * one feed file to JSON on stdout, in the contract of DESIGN.md.
 *
 * Entries are written as the parser delivers them, through one buffered
 * JSON writer, so memory stays bounded by the largest entry plus the
 * input; the feed's title and link follow the entries (JSON objects have
 * no order).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helsefeed/cli.h"
#include "helsefeed/feed.h"
#include "helsefeed/util.h"
#include "helsefeed/limits.h"
#include "helsefeed/text.h"

/* `parse` is a tool for files on disk, not for fetched bodies: allow far
 * more than HF_FETCH_MAX_BODY so benchmarks can use large files. */
#define PARSE_MAX_FILE (1024L * 1024 * 1024)

static void usage(FILE *f)
{
	fprintf(f, "usage: helsefeed parse FILE [--content-type TYPE] [--base URL]\n\n"
	           "Parse one RSS or Atom file (FILE '-' is standard input) and print it\n"
	           "as JSON.  TYPE is an HTTP Content-Type whose charset applies when the\n"
	           "document declares none; URL is the base for relative links.  Every\n"
	           "entry is printed (a fetch stores the first 1,000).\n");
}

static void set_err(struct buf *err, const char *msg)
{
	if (buf_puts(err, msg))
		buf_clear(err);
}

/* Read a whole file (or stdin) into memory. */
static int read_all(const char *path, struct buf *out, void **map, size_t *maplen,
                    struct buf *err)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	int rc = HF_OK;

	if (fd < 0) {
		set_err(err, strerror(errno));
		return HF_EIO;
	}
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
		if (sb.st_size > PARSE_MAX_FILE) {
			set_err(err, "file larger than 1 GiB");
			rc = HF_ETOOBIG;
			goto out;
		}
		/* A regular file is mapped, not copied: a twelfth of the time
		 * of a 40 MB parse went into read()'s copy.  (A file cut short
		 * by another process while mapped ends the command with
		 * SIGBUS; the daemon never reads feeds this way.) */
		*map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (*map != MAP_FAILED) {
			*maplen = (size_t)sb.st_size;
			goto out;
		}
		*map = NULL;
		if ((rc = buf_reserve(out, (size_t)sb.st_size)))
			goto out;
	}
	for (;;) {
		ssize_t n;

		if (out->cap - out->len < 65536 + 1 && (rc = buf_reserve(out, 65536)))
			goto out;
		n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_err(err, strerror(errno));
			rc = HF_EIO;
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len > (size_t)PARSE_MAX_FILE) {
			set_err(err, "input larger than 1 GiB");
			rc = HF_ETOOBIG;
			goto out;
		}
	}
out:
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

struct printer {
	struct json j;
	int started;          /* "{"entries":[" written */
};

static int start_doc(struct printer *p)
{
	if (p->started)
		return HF_OK;
	p->started = 1;
	json_begin_object(&p->j);
	json_key(&p->j, "entries");
	return json_begin_array(&p->j);
}

static int print_entry(void *ud, const struct feed_info *info, const struct feed_entry *e)
{
	struct printer *p = ud;
	struct json *j = &p->j;

	(void)info;
	start_doc(p);
	json_begin_object(j);
	json_key(j, "id"), json_str(j, e->id);
	json_key(j, "title"), json_str(j, e->title);
	json_key(j, "link"), json_str(j, e->link);
	json_time(j, "published", e->published, HF_NOTIME);
	json_time(j, "updated", e->updated, HF_NOTIME);
	json_key(j, "author"), json_str(j, e->author);
	json_key(j, "summary"), json_str(j, e->summary);
	json_key(j, "content"), json_str(j, e->content);
	json_key(j, "categories");
	json_begin_array(j);
	for (size_t i = 0; i < e->ncategories; i++)
		json_str(j, e->categories[i]);
	json_end_array(j);
	json_key(j, "enclosures");
	json_begin_array(j);
	for (size_t i = 0; i < e->nenclosures; i++) {
		const struct feed_enclosure *x = &e->enclosures[i];
		json_begin_object(j);
		json_key(j, "url"), json_str(j, x->url);
		json_key(j, "type"), json_str(j, x->type);
		json_key(j, "length");
		if (x->length >= 0)
			json_int(j, x->length);
		else
			json_null(j);
		json_end_object(j);
	}
	json_end_array(j);
	return json_end_object(j);
}

int cmd_parse(const struct cli *cli, int argc, char **argv)
{
	struct feed_parse_opts opts = {0};
	struct feed_info info = {0};
	struct printer p = {0};
	struct buf data = BUF_INIT, err = BUF_INIT;
	void *map = NULL;
	size_t maplen = 0;
	const char *file = NULL;
	int rc, ret = HF_EXIT_FAIL;

	(void)cli;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return HF_EXIT_OK;
		}
		if (strcmp(a, "--content-type") == 0)
			dst = &opts.content_type;
		else if (strcmp(a, "--base") == 0)
			dst = &opts.base_url;
		else if (strncmp(a, "--content-type=", 15) == 0)
			opts.content_type = a + 15;
		else if (strncmp(a, "--base=", 7) == 0)
			opts.base_url = a + 7;
		else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "helsefeed: parse: unknown option '%s'; try 'helsefeed parse --help'\n", a);
			return HF_EXIT_USAGE;
		} else if (file) {
			fprintf(stderr, "helsefeed: parse: one FILE only; try 'helsefeed parse --help'\n");
			return HF_EXIT_USAGE;
		} else {
			file = a;
		}
		if (dst) {
			if (++i >= argc) {
				fprintf(stderr, "helsefeed: parse: %s needs a value\n", a);
				return HF_EXIT_USAGE;
			}
			*dst = argv[i];
		}
	}
	if (!file) {
		fprintf(stderr, "helsefeed: parse: no FILE given; try 'helsefeed parse --help'\n");
		return HF_EXIT_USAGE;
	}

	if ((rc = read_all(file, &data, &map, &maplen, &err))) {
		fprintf(stderr, "helsefeed: %s: %s\n", file, err.len ? err.data : hf_strerror(rc));
		goto out;
	}
	json_init_file(&p.j, stdout);
	/* A local file is read whole; a fetch stores HF_MAX_ENTRIES. */
	opts.max_entries = SIZE_MAX;
	opts.on_entry = print_entry;
	opts.ud = &p;
	rc = map ? feed_parse(map, maplen, &opts, &info, &err)
	         : feed_parse(data.data ? data.data : "", data.len, &opts, &info, &err);
	if (rc == HF_ENOTFEED || (rc && !p.started)) {
		fprintf(stderr, "helsefeed: %s: %s\n", file, err.len ? err.data : hf_strerror(rc));
		goto out;
	}
	/* Close the document even after a late failure, so what was printed
	 * stays valid JSON; the exit code tells the failure. */
	start_doc(&p);
	json_end_array(&p.j);
	json_key(&p.j, "format"), json_str(&p.j, feed_format_name(info.format));
	json_key(&p.j, "title"), json_str(&p.j, info.title);
	json_key(&p.j, "link"), json_str(&p.j, info.link);
	if (info.recovered)
		json_key(&p.j, "recovered"), json_bool(&p.j, 1);
	json_end_object(&p.j);
	if (!p.j.err)
		p.j.err = buf_putc(p.j.out, '\n');
	if (rc) {
		fprintf(stderr, "helsefeed: %s: %s\n", file, err.len ? err.data : hf_strerror(rc));
	} else if (p.j.err) {
		fprintf(stderr, "helsefeed: %s: writing output: %s\n", file, hf_strerror(p.j.err));
	} else {
		ret = HF_EXIT_OK;
	}
out:
	if (json_finish(&p.j) && ret == HF_EXIT_OK) {
		fprintf(stderr, "helsefeed: %s: writing output failed\n", file);
		ret = HF_EXIT_FAIL;
	}
	feed_info_clear(&info);
	if (map)
		munmap(map, maplen);
	buf_free(&data);
	buf_free(&err);
	return ret;
}
