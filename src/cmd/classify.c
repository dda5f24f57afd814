/*
 * cmd_classify.c - `helsefeed classify [--explain] ITEM-ID`: run the
 * keyword rules of feeds.conf over one stored item and show why it has
 * the categories it has, and which sources carried it.
 *
 * The database is opened read-only (store_open_readonly): WAL lets this
 * run beside the daemon without blocking it, nothing is upgraded and
 * nothing can be written by mistake.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helsefeed/classify.h"
#include "helsefeed/cli.h"
#include "helsefeed/config.h"
#include "helsefeed/dedup.h"
#include "helsefeed/store.h"
#include "helsefeed/ingest.h"
#include "helsefeed/text.h"

static void classify_usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s classify [--explain] ITEM-ID\n\n"
	           "Run the [category] rules and the gazetteer over stored item ITEM-ID\n"
	           "and print the categories they give; --explain names the rule term,\n"
	           "word and field behind each, and per category the gazetteer terms\n"
	           "found with their weights, words, fields and FILE:LINE, their sum\n"
	           "and the threshold it had to reach.  Then the categories stored for\n"
	           "the item (with their origin: feed, rule, entry) and every feed that\n"
	           "carried it; with --explain, why each merged source is the same\n"
	           "story as the primary one: the same link, one release under a\n"
	           "same_url pattern, or the same-story rule with its scores and the\n"
	           "headline words the two share (the same word, a lemma, a spelling).\n",
	        prog);
}

/* A source as stored, for the same-story explanation. */
struct source {
	char *feed, *link, *title, *summary;
	int primary;
};

/* What the store says of the item: its texts for the rules, and the
 * stored categories and sources as lines to print. */
struct item_text {
	char *title, *summary, *content, *title_norm;
	char **cats;
	size_t ncats;
	struct source *src;
	size_t nsrc;
	struct buf stored, sources;
	int rc;
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
	for (size_t i = 0; i < t->nsrc; i++) {
		free(t->src[i].feed);
		free(t->src[i].link);
		free(t->src[i].title);
		free(t->src[i].summary);
	}
	free(t->src);
	buf_free(&t->stored);
	buf_free(&t->sources);
}

static int dup_to(const char *v, char **out)
{
	return v && !(*out = strdup(v)) ? HF_ENOMEM : HF_OK;
}

static int on_item(void *ud, const struct store_item_row *r)
{
	struct item_text *t = ud;

	if (dup_to(r->title, &t->title) || dup_to(r->summary, &t->summary) ||
	    dup_to(r->content, &t->content) || dup_to(r->title_norm, &t->title_norm))
		return HF_ENOMEM;
	return HF_OK;
}

static int on_source(void *ud, const struct store_source_row *r)
{
	struct item_text *t = ud;
	struct source *v = realloc(t->src, (t->nsrc + 1) * sizeof *v), *s;

	if (!v)
		return HF_ENOMEM;
	t->src = v;
	s = memset(&v[t->nsrc++], 0, sizeof *v);
	s->primary = r->primary;
	if (dup_to(r->feed, &s->feed) || dup_to(r->link, &s->link) ||
	    dup_to(r->title, &s->title) || dup_to(r->summary, &s->summary))
		return HF_ENOMEM;
	return buf_printf(&t->sources, "  %s %s %s\n", r->feed, r->primary ? "primary" : "merged",
	                  r->link ? r->link : "-") ? HF_ENOMEM : HF_OK;
}

/* The signature of a source's title and summary, with lemmas. */
static int source_sig(struct dedup *dd, const struct source *s, struct dedup_sig *sig)
{
	struct buf tn = BUF_INIT;
	int rc = dedup_title_norm(dd, s->title, &tn);

	if (!rc) {
		dedup_sig_make(sig, buf_str(&tn), s->summary);
		dedup_sig_lemmas(dd, sig);
	}
	buf_free(&tn);
	return rc;
}

/*
 * Why each merged source is the primary's story: the link (one canonical
 * URL, or one id under a same_url pattern), else the same-story rule
 * with its figures and the words the headlines share (dedup_explain).
 * The verdict is the one the rules give today, between the texts the
 * store holds now.
 */
static int explain_merges(const struct config *cfg, const struct item_text *t,
                          struct buf *out)
{
	static struct dedup_sig a, b;
	const struct source *p = NULL;
	struct dedup *dd = NULL;
	size_t i, k;
	int rc = HF_OK;

	for (i = 0; i < t->nsrc && !p; i++)
		if (t->src[i].primary)
			p = &t->src[i];
	if (!p || t->nsrc < 2)
		return HF_OK;
	if ((rc = dedup_new(cfg, &dd)) || (rc = source_sig(dd, p, &b)))
		goto out;
	for (i = 0; i < t->nsrc && rc >= 0; i++) {
		const struct source *s = &t->src[i];
		const char *ida, *idb;
		size_t na, nb;

		if (s == p)
			continue;
		if ((rc = buf_printf(out, "same story: %s with %s (primary)\n", s->feed, p->feed)))
			break;
		if (norm_url_same_canon(s->link, p->link)) {
			rc = buf_puts(out, "  the same link\n");
			continue;
		}
		for (k = 0; k < cfg->nsame_url; k++)
			if (dedup_url_match(cfg->same_url[k], s->link, &ida, &na) &&
			    dedup_url_match(cfg->same_url[k], p->link, &idb, &nb) &&
			    na == nb && !memcmp(ida, idb, na))
				break;
		if (k < cfg->nsame_url) {
			rc = buf_printf(out, "  one release under same_url = %s\n", cfg->same_url[k]);
			continue;
		}
		if ((rc = source_sig(dd, s, &a)))
			break;
		{
			struct buf ex = BUF_INIT;
			const char *l, *e;

			if ((rc = dedup_explain(&a, &b, &ex)) >= 0)
				for (l = buf_str(&ex); *l && rc >= 0; l = *e ? e + 1 : e) {
					e = strchr(l, '\n');
					if (!e)
						e = l + strlen(l);
					rc = buf_printf(out, "  %.*s\n", (int)(e - l), l) ? HF_ENOMEM : HF_OK;
				}
			buf_free(&ex);
		}
	}
out:
	dedup_free(dd);
	return rc < 0 ? rc : HF_OK;
}

static int on_category(void *ud, const char *name, const char *origin)
{
	struct item_text *t = ud;

	return buf_printf(&t->stored, "  %s %s\n", name, origin) ? HF_ENOMEM : HF_OK;
}

static int on_entry_category(void *ud, const char *term)
{
	struct item_text *t = ud;
	char **v = realloc(t->cats, (t->ncats + 1) * sizeof *v);

	if (!v)
		return HF_ENOMEM;
	t->cats = v;
	if (!(t->cats[t->ncats] = strdup(term)))
		return HF_ENOMEM;
	t->ncats++;
	return HF_OK;
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
	struct item_text t = {NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, BUF_INIT, BUF_INIT, 0};
	struct config *cfg = NULL;
	struct classify *cls = NULL;
	struct classify_input ci;
	unsigned char *hits = NULL;
	const char *id_arg = NULL;
	static const struct store_item_visitor visit = {
		on_item, on_source, on_category, NULL, on_entry_category,
	};
	struct store *st = NULL;
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
	/* Read-only, beside a running daemon: never upgrade here. */
	if (store_open_readonly(cfg->database, &st, &errors)) {
		fprintf(stderr, "%s\n", buf_str(&errors));
		goto out;
	}
	rc = store_item_get(st, id, &visit, &t);
	if (rc == HF_EINVAL) {
		fprintf(stderr, "%s: no item %" PRId64 "\n", cfg->database, id);
		goto out;
	}
	if (rc) {
		fprintf(stderr, "%s\n", rc == HF_ENOMEM ? hf_strerror(rc) : store_errmsg(st));
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
	printf("stored categories:\n%ssources:\n%s", buf_str(&t.stored), buf_str(&t.sources));
	if (want_explain) {
		buf_clear(&explain);
		if (explain_merges(cfg, &t, &explain))
			goto out;
		printf("%s", buf_str(&explain));
	}
	code = HF_EXIT_OK;
out:
	item_text_clear(&t);
	free(hits);
	store_close(st);
	classify_free(cls);
	config_free(cfg);
	buf_free(&errors);
	buf_free(&explain);
	return code;
}
