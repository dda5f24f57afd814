/*
 * publish.c - publish_run: which files, in which order, into cfg->output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "helsefeed/digest.h"
#include "helsefeed/util.h"
#include "helsefeed/limits.h"
#include "helsefeed/text.h"
#include "publish_int.h"

/* Titles of the per-kind feeds, in enum feed_kind order. */
static const char *const kind_titles[FEED_KIND__COUNT] = {
	[FEED_KIND_MINISTRY] = "Departementet",
	[FEED_KIND_DIRECTORATE] = "Direktorater og etater",
	[FEED_KIND_HOSPITAL] = "Sykehus og helseforetak",
	[FEED_KIND_MUNICIPAL] = "Kommuner",
	[FEED_KIND_OTHER] = "Andre kilder",
};

/* The list of feeds.  Each name is its own allocation (file and page
 * names of one feed share none). */
struct feedlist {
	struct pub_feed *v;
	char **names;          /* 2 per feed: file, page */
	size_t n, nnames;
};

static void feedlist_free(struct feedlist *l)
{
	for (size_t i = 0; i < l->nnames; i++)
		free(l->names[i]);
	free(l->names);
	free(l->v);
}

static const char *keep_name(struct feedlist *l, struct buf *b)
{
	char *s = buf_detach(b);

	if (s)
		l->names[l->nnames++] = s;
	return s;
}

static int feedlist_add(struct feedlist *l, const char *file, const char *page,
                        const char *title, enum pub_filter filter,
                        const char *arg, enum pub_group group, int legacy)
{
	struct buf b = BUF_INIT;
	struct pub_feed f = {0};
	int rc;

	if ((rc = buf_puts(&b, file)) || !(f.file = keep_name(l, &b)) ||
	    (rc = buf_puts(&b, page)) || !(f.page = keep_name(l, &b))) {
		buf_free(&b);
		return rc ? rc : HF_ENOMEM;
	}
	f.title = title;
	f.filter = filter;
	f.arg = arg;
	f.group = group;
	f.legacy = legacy;
	l->v[l->n++] = f;
	return 0;
}

/* The feeds of earlier versions, at their URLs: <category>.atom and
 * <kind>.atom, a kind whose name a category took as kind-<kind>.atom.
 * Published URLs never move; their pages are the new ones. */
static int legacy_name(const struct feedlist *l, const char *prefix,
                       const char *name, struct buf *out)
{
	buf_clear(out);
	if (buf_printf(out, "%s.atom", name))
		return HF_ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].legacy && !strcmp(l->v[i].file, out->data)) {
			buf_clear(out);
			return buf_printf(out, "%s-%s.atom", prefix, name) ? HF_ENOMEM : 0;
		}
	return 0;
}

/* A kind is published while a feed has it, and after that for as long
 * as its feed exists in the output (empty then): a published URL never
 * goes away. */
static int kind_used(const struct config *cfg, int k)
{
	struct buf p = BUF_INIT;
	struct stat sb;
	int used = 0;

	for (size_t i = 0; i < cfg->nfeeds; i++)
		if ((int)cfg->feeds[i].kind == k)
			return 1;
	if (!buf_printf(&p, "%s/kjelde/%s.atom", cfg->output,
	                config_kind_name((enum feed_kind)k)))
		used = stat(p.data, &sb) == 0;
	buf_free(&p);
	return used;
}

static int feedlist_build(const struct config *cfg, struct feedlist *l)
{
	size_t max = 1 + 2 * (cfg->ncategories + FEED_KIND__COUNT);
	struct buf file = BUF_INIT, page = BUF_INIT;
	int rc = HF_ENOMEM;

	l->v = calloc(max, sizeof *l->v);
	l->names = calloc(2 * max, sizeof *l->names);
	if (!l->v || !l->names)
		goto out;
	if ((rc = feedlist_add(l, "all.atom", "index.html", "Alle saker", PUB_ALL,
	                       NULL, PUB_GROUP_ALL, 0)))
		goto out;
	for (size_t i = 0; i < cfg->ncategories; i++) {
		const struct config_category *c = &cfg->categories[i];
		buf_clear(&page);
		if ((rc = legacy_name(l, "category", c->name, &file)) ||
		    (rc = buf_printf(&page, "tema/%s.html", c->name)) ||
		    (rc = feedlist_add(l, file.data, page.data,
		                       c->title ? c->title : c->name, PUB_CATEGORY,
		                       c->name, PUB_GROUP_TOPIC, 1)))
			goto out;
	}
	for (int k = 0; k < FEED_KIND__COUNT; k++) {
		const char *kn = config_kind_name((enum feed_kind)k);
		if (!kind_used(cfg, k))
			continue;
		buf_clear(&page);
		if ((rc = legacy_name(l, "kind", kn, &file)) ||
		    (rc = buf_printf(&page, "kjelde/%s.html", kn)) ||
		    (rc = feedlist_add(l, file.data, page.data, kind_titles[k],
		                       PUB_KIND, kn, PUB_GROUP_KIND, 1)))
			goto out;
	}
	/* The feeds beside their pages: no name can collide across tema/
	 * and kjelde/. */
	for (size_t i = 0; i < cfg->ncategories; i++) {
		const struct config_category *c = &cfg->categories[i];
		buf_clear(&file);
		buf_clear(&page);
		if ((rc = buf_printf(&file, "tema/%s.atom", c->name)) ||
		    (rc = buf_printf(&page, "tema/%s.html", c->name)) ||
		    (rc = feedlist_add(l, file.data, page.data,
		                       c->title ? c->title : c->name, PUB_CATEGORY,
		                       c->name, PUB_GROUP_TOPIC, 0)))
			goto out;
	}
	for (int k = 0; k < FEED_KIND__COUNT; k++) {
		const char *kn = config_kind_name((enum feed_kind)k);
		if (!kind_used(cfg, k))
			continue;
		buf_clear(&file);
		buf_clear(&page);
		if ((rc = buf_printf(&file, "kjelde/%s.atom", kn)) ||
		    (rc = buf_printf(&page, "kjelde/%s.html", kn)) ||
		    (rc = feedlist_add(l, file.data, page.data, kind_titles[k],
		                       PUB_KIND, kn, PUB_GROUP_KIND, 0)))
			goto out;
	}
	rc = 0;
out:
	buf_free(&file);
	buf_free(&page);
	return rc;
}

/* The subdirectories of the output; their index + 1 is their bit in
 * struct out's `dirty` (bit 0: the output itself). */
static const char *const subdirs[] = {"tema", "kjelde", "arkiv"};
#define NSUBDIRS (sizeof subdirs / sizeof subdirs[0])

struct out {
	const struct config *cfg;
	struct publish_stats s;
	unsigned dirty;        /* directories with a rename to sync */
	struct buf dir;
};

/* The directory of `rel` ("all.atom", "tema/covid.html") in the output
 * into o->dir, made if it is a subdirectory; its bit of o->dirty and the
 * file's name in it. */
static int out_dir(struct out *o, const char *rel, const char **name,
                   unsigned *bit)
{
	const char *slash = strchr(rel, '/');

	*name = slash ? slash + 1 : rel;
	*bit = 1;
	buf_clear(&o->dir);
	if (buf_puts(&o->dir, o->cfg->output) ||
	    (slash && (buf_putc(&o->dir, '/') ||
	               buf_append(&o->dir, rel, (size_t)(slash - rel)))))
		return HF_ENOMEM;
	for (size_t i = 0; slash && i < NSUBDIRS; i++)
		if (strlen(subdirs[i]) == (size_t)(slash - rel) &&
		    !strncmp(subdirs[i], rel, (size_t)(slash - rel)))
			*bit = 2u << i;
	return *bit != 1 ? fs_mkdir_p(o->dir.data, PUBLISH_DIR_MODE) : HF_OK;
}

/* A file of the output written (changed) or found as it was. */
static void out_count(struct out *o, const char *rel, unsigned bit,
                      int changed, size_t len)
{
	o->s.files++;
	o->s.changed += changed;
	if (changed)
		o->dirty |= bit;
	log_debug("%s/%s: %s (%zu bytes)", o->cfg->output, rel,
	          changed ? "written" : "unchanged", len);
}

/* Write `rel` in the output; `page`: an HTML page with a made stamp. */
static int put(struct out *o, const char *rel, const struct buf *b, int page)
{
	const char *name;
	unsigned bit;
	int changed = 0, rc;

	if ((rc = out_dir(o, rel, &name, &bit)))
		return rc;
	rc = page ? pub_write_page(o->dir.data, name, buf_str(b), b->len, &changed)
	          : publish_write_file(o->dir.data, name, buf_str(b), b->len,
	                               &changed);
	if (rc)
		return rc;
	out_count(o, rel, bit, changed, b->len);
	return 0;
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

/*
 * The RFC 5005 archives: one document per UTC month of first
 * publication that is complete (over for PUBLISH_ARCHIVE_GRACE).  A
 * document that exists is left as it is, unless an item of its month was
 * hidden or shown again after it was written: archives never change
 * otherwise.  *prev gets the newest document's name (for all.atom), or
 * stays NULL.
 */
static int atom_archives(struct out *o, struct pubdb *db, const char *host,
                         int64_t now, struct buf *prev)
{
	const struct config *cfg = o->cfg;
	struct buf path = BUF_INIT, b = BUF_INIT, last = BUF_INIT;
	int64_t tmin, tmax, smin, smax, *ids = NULL;
	size_t n = 0;
	int rc;

	if ((rc = pubdb_span(db, &tmin, &tmax, &smin, &smax)) || smin == HF_NOTIME)
		goto out;
	for (int64_t ym = pub_month_of(NULL, smin); !rc; ym++) {
		int64_t from = pub_month_start(NULL, ym);
		int64_t to = pub_month_start(NULL, ym + 1), hid = 0;
		char file[16];
		struct stat sb;
		struct pub_feed f = {0};

		if (now < to + PUBLISH_ARCHIVE_GRACE)
			break;
		pub_month_file(ym, file);
		buf_clear(&path);
		if ((rc = buf_printf(&path, "%s/arkiv/%s.atom", cfg->output, file)) ||
		    (rc = pubdb_hidden_changed(db, from, to, &hid)))
			goto out;
		if (stat(path.data, &sb) == 0 && hid <= sb.st_mtime) {
			buf_clear(&last);
			if ((rc = buf_printf(&last, "arkiv/%s.atom", file)))
				goto out;
			o->s.files++;
			continue;
		}
		free(ids);
		ids = NULL;
		if ((rc = pubdb_range(db, from, to, 1, &ids, &n)))
			goto out;
		/* A month without items has no document; the chain skips it.
		 * One written before keeps its URL, empty. */
		if (!n && stat(path.data, &sb) != 0)
			continue;
		f.title = "Arkiv";
		f.filter = PUB_ALL;
		f.group = PUB_GROUP_ALL;
		f.legacy = 1;
		f.ids = ids;
		f.nids = n;
		f.archive = 1;
		f.current = "all.atom";
		f.prev_archive = last.len ? last.data : NULL;
		f.page = "arkiv/index.html";
		buf_clear(&path);
		if ((rc = buf_printf(&path, "arkiv/%s.atom", file)))
			goto out;
		f.file = path.data;
		if ((rc = pub_atom(cfg, db, host, NULL, &f, to - 1, &b, NULL, NULL)) ||
		    (rc = put(o, path.data, &b, 0)))
			goto out;
		buf_clear(&last);
		if ((rc = buf_puts(&last, path.data)))
			goto out;
	}
	if (!rc && last.len)
		rc = buf_puts(prev, last.data);
out:
	free(ids);
	buf_free(&path);
	buf_free(&b);
	buf_free(&last);
	return rc;
}

/* What every page shows from the configuration and the program: the
 * menu, the feeds' and categories' titles, the zone, the version (its
 * templates).  Part of a month page's signature. */
static uint64_t frame_sig(const struct pub_site *site)
{
	const struct config *cfg = site->cfg;
	uint64_t h = NORM_FNV_INIT;

#define MIX(s) do { const char *m_ = (s) ? (s) : "-";                        \
		h = norm_fnv1a(h, m_, strlen(m_) + 1); } while (0)
	MIX(HELSEFEED_VERSION);
	MIX(cfg->title);
	MIX(cfg->timezone);
	for (size_t i = 0; i < site->nfeeds; i++) {
		MIX(site->feeds[i].page);
		MIX(site->feeds[i].title);
	}
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		MIX(cfg->feeds[i].name);
		MIX(cfg->feeds[i].title);
	}
	for (size_t i = 0; i < cfg->ncategories; i++) {
		MIX(cfg->categories[i].name);
		MIX(cfg->categories[i].title);
	}
#undef MIX
	return h;
}

/* 1 when the page at output/rel carries signature `sig` (PUB_SIG on
 * its second line): it shows what it would show again. */
static int page_current(const struct config *cfg, const char *rel, uint64_t sig)
{
	char head[128], want[64];
	struct buf path = BUF_INIT;
	FILE *f;
	size_t n = 0;

	snprintf(want, sizeof want, "\n" PUB_SIG "%016llx -->\n",
	         (unsigned long long)sig);
	if (buf_printf(&path, "%s/%s", cfg->output, rel) ||
	    !(f = fopen(path.data, "re"))) {
		buf_free(&path);
		return 0;
	}
	n = fread(head, 1, sizeof head - 1, f);
	fclose(f);
	buf_free(&path);
	head[n] = '\0';
	return strstr(head, want) != NULL;
}

/* A month's page of the archive, written as it is made: it holds every
 * story of the month, megabytes by its end, and its signature line
 * differs from the page there (nothing to compare). */
static int put_month(struct out *o, const struct pub_site *site,
                     const struct pub_month *months, size_t nm, size_t i,
                     const int64_t *ids, size_t n, uint64_t sig,
                     const char *rel, struct buf *b)
{
	struct fs_atomic w;
	const char *name;
	unsigned bit;
	int rc;

	buf_clear(b);
	if ((rc = out_dir(o, rel, &name, &bit)) ||
	    (rc = fs_atomic_open(&w, o->dir.data, name, PUBLISH_FILE_MODE)))
		return rc;
	if ((rc = pub_month_html(site, months, nm, i, ids, n, sig, &w, b)) ||
	    (rc = fs_atomic_write(&w, b->data, b->len))) {
		fs_atomic_abort(&w);
		return rc;
	}
	if ((rc = fs_atomic_commit(&w, name)))
		return rc;
	out_count(o, rel, bit, 1, b->len);
	return HF_OK;
}

/* arkiv/index.html and arkiv/YYYY-MM.html: every visible item in the
 * month of its time in the configured zone.  A month page whose
 * signature (its items, their changes, sources and categories, its
 * neighbours, the frame) is the one it carries is not rendered again:
 * a publish reads the whole archive's index entries, not its items. */
static int html_archives(struct out *o, const struct pub_site *site)
{
	struct pub_month *months = NULL;
	int64_t *ids = NULL, tmin, tmax, smin, smax;
	size_t nm = 0, cap = 0, n = 0;
	struct buf b = BUF_INIT, rel = BUF_INIT;
	uint64_t frame = frame_sig(site);
	int rc;

	if ((rc = pubdb_span(site->db, &tmin, &tmax, &smin, &smax)))
		goto out;
	for (int64_t ym = tmax == HF_NOTIME ? -1 : pub_month_of(site->tz, tmax);
	     tmin != HF_NOTIME && ym >= pub_month_of(site->tz, tmin); ym--) {
		int64_t from = pub_month_start(site->tz, ym);
		int64_t to = pub_month_start(site->tz, ym + 1);
		uint64_t sig = 0;
		if ((rc = pubdb_range_sig(site->db, from, to, &n, &sig)))
			goto out;
		if (!n)
			continue;
		if (nm == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct pub_month *nmo = realloc(months, ncap * sizeof *nmo);
			if (!nmo) {
				rc = HF_ENOMEM;
				goto out;
			}
			months = nmo;
			cap = ncap;
		}
		months[nm++] = (struct pub_month){ym, n, sig};
	}
	for (size_t i = 0; i < nm; i++) {
		char file[16];
		uint64_t sig = months[i].sig ^ frame;
		int64_t nb[2] = {i ? months[i - 1].ym : -1,
		                 i + 1 < nm ? months[i + 1].ym : -1};
		sig = norm_fnv1a(sig, nb, sizeof nb);
		pub_month_file(months[i].ym, file);
		buf_clear(&rel);
		if ((rc = buf_printf(&rel, "arkiv/%s.html", file)))
			goto out;
		if (page_current(o->cfg, rel.data, sig)) {
			o->s.files++;
			continue;
		}
		free(ids);
		ids = NULL;
		if ((rc = pubdb_range(site->db, pub_month_start(site->tz, months[i].ym),
		                      pub_month_start(site->tz, months[i].ym + 1), 0,
		                      &ids, &n)) ||
		    (rc = put_month(o, site, months, nm, i, ids, n, sig, rel.data, &b)))
			goto out;
	}
	if ((rc = pub_archive_index_html(site, months, nm, &b)) ||
	    (rc = put(o, "arkiv/index.html", &b, 1)))
		goto out;
out:
	free(ids);
	free(months);
	buf_free(&b);
	buf_free(&rel);
	return rc;
}

/* The atom:id an item of schema 8 was published with (store.h). */
static int legacy_id(void *ud, const char *feed, const char *key,
                     const char *guid, struct buf *out)
{
	return publish_entry_id(ud, feed, key, guid, out);
}

int publish_run(const struct config *cfg, struct store *st, int64_t now,
                struct publish_stats *out)
{
	struct out o = {cfg, {0}, 0, BUF_INIT};
	struct feedlist fl = {NULL, NULL, 0, 0};
	struct store_feed_state *states = NULL;
	struct digest_group_status *dg = NULL;
	size_t ndg = 0;
	struct pubdb *db = NULL;
	struct tz *tz = NULL;
	struct buf host = BUF_INIT, b = BUF_INIT, prev = BUF_INIT;
	struct pub_site site;
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
	    (rc = pub_tz_open(cfg->timezone, &tz)) ||
	    (rc = store_assign_atom_ids(st, legacy_id, host.data, NULL)) ||
	    (rc = pubdb_open(st, &db)) ||
	    (rc = pubdb_feed_states(db, &states, &nstates)))
		goto out;
	site = (struct pub_site){cfg, db, tz, fl.v, fl.n, now};

	if ((rc = atom_archives(&o, db, buf_str(&host), now, &prev)))
		goto out;
	fl.v[0].prev_archive = prev.len ? prev.data : NULL;
	/* all.atom first: its updated stands in for an empty feed's, a time
	 * that moves with the data, never with the clock. */
	for (size_t i = 0; i < fl.n; i++) {
		int n = 0;
		int64_t upd = 0;
		rc = pub_atom(cfg, db, buf_str(&host), tz, &fl.v[i], newest, &b, &n,
		              &upd);
		if (rc || (rc = put(&o, fl.v[i].file, &b, 0)))
			goto out;
		if (i == 0)
			newest = upd;
		o.s.entries += n;
	}
	if ((rc = pub_index_html(&site, &b)) || (rc = put(&o, "index.html", &b, 1)))
		goto out;
	for (size_t i = 0; i < fl.n; i++) {
		if (fl.v[i].legacy || fl.v[i].group == PUB_GROUP_ALL)
			continue;
		if ((rc = pub_list_html(&site, &fl.v[i], &b)) ||
		    (rc = put(&o, fl.v[i].page, &b, 1)))
			goto out;
	}
	if ((rc = html_archives(&o, &site)))
		goto out;
	publish_status_sort(cfg, states, nstates, now);
	if ((rc = digest_status_all(cfg, st, now, &dg, &ndg)) ||
	    (rc = pub_status_html(&site, states, nstates, dg, ndg, &b)) ||
	    (rc = put(&o, "status.html", &b, 0)) ||
	    (rc = publish_status_json(cfg, states, nstates, now, dg, ndg, &b)) ||
	    (rc = put(&o, "status.json", &b, 0)) ||
	    (rc = pub_opml(cfg, fl.v, fl.n, &b)) ||
	    (rc = put(&o, "feeds.opml", &b, 0)))
		goto out;
	buf_clear(&b);
	if ((rc = buf_puts(&b, publish_feed_xsl)) ||
	    (rc = put(&o, "feed.xsl", &b, 0)))
		goto out;
	/* The renames are durable only once their directories are. */
	for (size_t i = 0; i <= NSUBDIRS; i++) {
		if (!(o.dirty & (1u << i)))
			continue;
		buf_clear(&b);
		if ((rc = buf_printf(&b, "%s%s%s", cfg->output, i ? "/" : "",
		                     i ? subdirs[i - 1] : "")) ||
		    (rc = fs_sync_dir(b.data)))
			goto out;
	}
	o.s.elapsed_ms = mono_ms() - t0;
	if (out)
		*out = o.s;
out:
	pubdb_close(db);
	store_feed_states_free(states, nstates);
	digest_status_free(dg, ndg);
	feedlist_free(&fl);
	tz_free(tz);
	buf_free(&host);
	buf_free(&b);
	buf_free(&prev);
	buf_free(&o.dir);
	return rc;
}
