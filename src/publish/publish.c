/*
 * publish.c - publish_run: which files, in which order, into cfg->output.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "helsefeed/digest.h"
#include "helsefeed/fsutil.h"
#include "helsefeed/limits.h"
#include "helsefeed/log.h"
#include "publish_int.h"

/* Titles of the per-kind feeds, in enum feed_kind order. */
static const char *const kind_titles[FEED_KIND__COUNT] = {
	[FEED_KIND_MINISTRY] = "Departementet",
	[FEED_KIND_DIRECTORATE] = "Direktorater og etater",
	[FEED_KIND_HOSPITAL] = "Sykehus og helseforetak",
	[FEED_KIND_MUNICIPAL] = "Kommuner",
	[FEED_KIND_OTHER] = "Andre kilder",
};

/* The list of Atom files: all.atom, one per category, one per kind that
 * has a feed.  File names live in `names` (one NUL-separated buffer is
 * not enough: it may move while growing, so each one is its own).  A
 * name taken already gets a prefix: a [category hospital] must not
 * overwrite the hospital kind's file. */
struct feedlist {
	struct pub_feed *v;
	char **names;
	size_t n;
};

static void feedlist_free(struct feedlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->v);
}

static int feedlist_add(struct feedlist *l, const char *prefix,
                        const char *name, const char *title,
                        enum pub_filter filter, const char *arg)
{
	struct buf file = BUF_INIT;
	int rc;

	if ((rc = buf_printf(&file, "%s.atom", name)))
		goto out;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->names[i], file.data)) {
			buf_clear(&file);
			if ((rc = buf_printf(&file, "%s-%s.atom", prefix, name)))
				goto out;
			log_info("%s.atom is taken; publishing as %s", name, file.data);
			break;
		}
	l->names[l->n] = buf_detach(&file);
	if (!l->names[l->n]) {
		rc = HF_ENOMEM;
		goto out;
	}
	l->v[l->n] = (struct pub_feed){l->names[l->n], title, filter, arg};
	l->n++;
out:
	buf_free(&file);
	return rc;
}

static int feedlist_build(const struct config *cfg, struct feedlist *l)
{
	size_t max = 1 + cfg->ncategories + FEED_KIND__COUNT;
	int rc;

	l->v = calloc(max, sizeof *l->v);
	l->names = calloc(max, sizeof *l->names);
	if (!l->v || !l->names)
		return HF_ENOMEM;
	if ((rc = feedlist_add(l, "feed", "all", "Alle saker", PUB_ALL, NULL)))
		return rc;
	for (size_t i = 0; i < cfg->ncategories; i++) {
		const struct config_category *c = &cfg->categories[i];
		if ((rc = feedlist_add(l, "category", c->name,
		                       c->title ? c->title : c->name, PUB_CATEGORY,
		                       c->name)))
			return rc;
	}
	for (int k = 0; k < FEED_KIND__COUNT; k++) {
		size_t i;
		for (i = 0; i < cfg->nfeeds && (int)cfg->feeds[i].kind != k; i++)
			;
		if (i == cfg->nfeeds)
			continue;
		if ((rc = feedlist_add(l, "kind", config_kind_name((enum feed_kind)k),
		                       kind_titles[k], PUB_KIND,
		                       config_kind_name((enum feed_kind)k))))
			return rc;
	}
	return 0;
}

static int put(const struct config *cfg, const char *name, const struct buf *b,
               struct publish_stats *s)
{
	int changed = 0;
	int rc = publish_write_file(cfg->output, name, buf_str(b), b->len, &changed);

	if (rc)
		return rc;
	s->files++;
	s->changed += changed;
	log_debug("%s/%s: %s (%zu bytes)", cfg->output, name,
	          changed ? "written" : "unchanged", b->len);
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The published directory is for anyone to read, as its files (0644)
 * are: one made under a narrower umask (an older service unit ran with
 * UMask=0027 and made it 0750) is opened to PUBLISH_DIR_MODE.  Not being
 * its owner is only worth a warning: the admin decides then. */
static void open_to_readers(const char *dir)
{
	struct stat sb;

	if (stat(dir, &sb) != 0 || (sb.st_mode & 07777) == PUBLISH_DIR_MODE ||
	    (sb.st_mode & 0005) == 0005)
		return;
	if (chmod(dir, PUBLISH_DIR_MODE) != 0)
		log_warn("%s: mode %03o keeps a web server out; cannot set %03o: %s",
		         dir, (unsigned)(sb.st_mode & 07777), PUBLISH_DIR_MODE,
		         strerror(errno));
}

int publish_run(const struct config *cfg, struct store *st, int64_t now,
                struct publish_stats *out)
{
	struct publish_stats s = {0};
	struct feedlist fl = {NULL, NULL, 0};
	struct store_feed_state *states = NULL;
	struct digest_group_status *dg = NULL;
	size_t ndg = 0;
	struct pubdb *db = NULL;
	struct buf host = BUF_INIT, b = BUF_INIT;
	size_t nstates = 0;
	int64_t t0 = mono_ms(), newest = 0;
	int rc;

	if (!cfg->output || !cfg->base_url) {
		log_error("%s: publishing needs output and base_url", cfg->path);
		rc = HF_ECONFIG;
		goto out;
	}
	if ((rc = fs_mkdir_p(cfg->output, PUBLISH_DIR_MODE)))
		goto out;
	open_to_readers(cfg->output);
	if ((rc = feedlist_build(cfg, &fl)) ||
	    (rc = publish_url_host(cfg->base_url, &host)) ||
	    (rc = pubdb_open(st, &db)) ||
	    (rc = pubdb_feed_states(db, &states, &nstates)))
		goto out;

	/* all.atom first: its updated stands in for an empty feed's, a time
	 * that moves with the data, never with the clock. */
	for (size_t i = 0; i < fl.n; i++) {
		int n = 0;
		int64_t upd = 0;
		rc = pub_atom(cfg, db, buf_str(&host), &fl.v[i], newest, &b, &n, &upd);
		if (rc || (rc = put(cfg, fl.v[i].file, &b, &s)))
			goto out;
		if (i == 0)
			newest = upd;
		s.entries += n;
	}
	if ((rc = pub_index_html(cfg, db, fl.v, fl.n, &b)) ||
	    (rc = put(cfg, "index.html", &b, &s)))
		goto out;
	if ((rc = digest_status_all(cfg, st, now, &dg, &ndg)) ||
	    (rc = pub_status_html(cfg, states, nstates, now, dg, ndg, &b)) ||
	    (rc = put(cfg, "status.html", &b, &s)) ||
	    (rc = pub_status_json(cfg, states, nstates, now, dg, ndg, &b)) ||
	    (rc = put(cfg, "status.json", &b, &s)) ||
	    (rc = pub_opml(cfg, fl.v, fl.n, &b)) ||
	    (rc = put(cfg, "feeds.opml", &b, &s)))
		goto out;
	buf_clear(&b);
	if ((rc = buf_puts(&b, publish_feed_xsl)) ||
	    (rc = put(cfg, "feed.xsl", &b, &s)))
		goto out;
	/* The renames are durable only once the directory is. */
	if (s.changed && (rc = publish_sync_dir(cfg->output)))
		goto out;
	s.elapsed_ms = mono_ms() - t0;
	if (out)
		*out = s;
out:
	pubdb_close(db);
	store_feed_states_free(states, nstates);
	digest_status_free(dg, ndg);
	feedlist_free(&fl);
	buf_free(&host);
	buf_free(&b);
	return rc;
}
