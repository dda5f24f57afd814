/*
 * cmd_check.c - `helsefeed check`: validate feeds.conf, touch nothing.
 *
 * The configuration is loaded exactly as the daemon loads it, and the
 * keyword rules are compiled as the classifier compiles them, so a file
 * that passes here is one the daemon accepts.  Nothing is opened for
 * writing: no database, no directory, no spool.
 */
#include <stdio.h>
#include <string.h>

#include "helsefeed/classify.h"
#include "helsefeed/cli.h"
#include "helsefeed/config.h"

static void check_usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s check [-c FILE]\n\n"
	           "Validate the configuration file (default %s)\n"
	           "without touching anything.  Prints a one-line summary and exits 0\n"
	           "when it is valid; otherwise prints every error on stderr as\n"
	           "FILE:LINE: [section] key: message, and exits 2.\n",
	        prog, HF_DEFAULT_CONFIG);
}

/* "1 feed", "2 feeds", "1 category", "3 categories". */
static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Print each line of `msg` on stderr, prefixed with `prefix` when given. */
static void print_lines(const char *prefix, const char *msg)
{
	const char *p = msg;

	while (*p) {
		size_t n = strcspn(p, "\n");

		/* The rules' messages ("category covid: ...") get the file in
		 * front; the gazetteer's name their FILE:LINE already. */
		fprintf(stderr, "%s%.*s\n",
		        prefix && !strncmp(p, "category ", 9) ? prefix : "", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

int cmd_check(const struct cli *cli, int argc, char **argv)
{
	const char *path = cli->config_path;
	struct buf errors = BUF_INIT;
	struct config *cfg = NULL;
	struct classify *cls = NULL;
	char prefix[512];
	int i, rc, code = HF_EXIT_USAGE;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			check_usage(stdout, cli->prog);
			code = HF_EXIT_OK;
			goto out;
		} else if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
			path = argv[++i];
		} else if (!strncmp(argv[i], "--config=", 9)) {
			path = argv[i] + 9;
		} else {
			fprintf(stderr, "%s check: unexpected argument '%s'; try '%s check --help'\n",
			        cli->prog, argv[i], cli->prog);
			goto out;
		}
	}

	rc = config_load(path, &cfg, &errors);
	if (rc) {
		print_lines(NULL, errors.len ? buf_str(&errors) : hf_strerror(rc));
		code = rc == HF_ENOMEM ? HF_EXIT_FAIL : HF_EXIT_USAGE;
		goto out;
	}
	/* The rules' letters and limits are the classifier's to judge. */
	rc = classify_compile(cfg, &cls, &errors);
	if (rc) {
		snprintf(prefix, sizeof(prefix), "%s: ", path);
		print_lines(prefix, errors.len ? buf_str(&errors) : hf_strerror(rc));
		code = rc == HF_ENOMEM ? HF_EXIT_FAIL : HF_EXIT_USAGE;
		goto out;
	}
	printf("%s: ok: %zu %s, %zu %s, %zu %s\n", path, cfg->nfeeds,
	       plural(cfg->nfeeds, "feed", "feeds"), cfg->ncategories,
	       plural(cfg->ncategories, "category", "categories"), cfg->ndigests,
	       plural(cfg->ndigests, "digest", "digests"));
	code = fflush(stdout) ? HF_EXIT_FAIL : HF_EXIT_OK;
out:
	classify_free(cls);
	config_free(cfg);
	buf_free(&errors);
	return code;
}
