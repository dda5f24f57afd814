/* fetch.c - the transfer engine on libcurl's multi interface; see fetch.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "helsefeed/util.h"
#include "helsefeed/fetch.h"
#include "helsefeed/limits.h"

/* A body buffer larger than this is released after its transfer instead
 * of being kept for the next one: the pool should not pin 16 MiB each. */
#define FETCH_KEEP_BUF (1024 * 1024)
/* Ask for feeds first; "*" last because many servers label feeds as
 * text/html or application/octet-stream. */
#define FETCH_ACCEPT "Accept: application/atom+xml, application/rss+xml, " \
	"application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"

/* The response headers we keep: one slot each, table-driven. */
enum { H_ETAG, H_LAST_MODIFIED, H_CONTENT_TYPE, H_RETRY_AFTER, H_CACHE_CONTROL, H__COUNT };

static const struct {
	const char *name;
	size_t len;
} header_names[H__COUNT] = {
	[H_ETAG] = {"etag", 4},
	[H_LAST_MODIFIED] = {"last-modified", 13},
	[H_CONTENT_TYPE] = {"content-type", 12},
	[H_RETRY_AFTER] = {"retry-after", 11},
	[H_CACHE_CONTROL] = {"cache-control", 13},
};

/* A queued request: the struct and its strings in one allocation. */
struct qreq {
	struct qreq *next;
	char *url, *etag, *last_modified, *user_agent, *host;
	void *ud;
};

/* A running (or pooled) transfer. */
struct xfer {
	struct xfer *next;          /* active list or free pool */
	struct fetch_engine *e;
	CURL *easy;
	struct curl_slist *hdrs;
	struct qreq *req;           /* owned while running */
	struct buf body;
	long max_body;
	int too_big;
	/* Redirect tracking from the status lines of every response. */
	long prev_status;
	int hops, all_permanent;
	char hv[H__COUNT][HF_FETCH_MAX_HEADER + 1];
	char errbuf[CURL_ERROR_SIZE];
	/* Why a redirect was not followed to its address (fetch.h,
	 * Addresses), or empty. */
	char refused[HF_MAX_URL + 128];
};

struct fetch_engine {
	const struct config *cfg;
	fetch_done_fn done;
	void *ctx;
	CURLM *multi;
	struct qreq *queue, **queue_tail;
	size_t nqueued, nactive;
	struct xfer *active;        /* running transfers */
	struct xfer *pool;          /* finished transfers kept for reuse */
	struct buf ua;              /* default User-Agent */
	struct buf err;             /* error text of the current result */
	char protocols[32];
	long max_connections, max_per_host;
	/* Options set on every transfer, computed once from the config. */
	struct {
		CURLoption opt;
		long val;
	} lopt[16];
	size_t nlopt;
	curl_off_t max_filesize;
	struct fetch_cidr *allow;   /* cfg->allow_networks, parsed */
	size_t nallow;
};

static long pick(long v, long def)
{
	return v > 0 ? v : def;
}

int fetch_default_user_agent(const char *contact, struct buf *out)
{
	if (contact && *contact)
		return buf_printf(out, "helsefeed/%s (+%s)", HELSEFEED_VERSION, contact);
	return buf_printf(out, "helsefeed/%s", HELSEFEED_VERSION);
}

static void lopt_add(struct fetch_engine *e, CURLoption opt, long val)
{
	e->lopt[e->nlopt].opt = opt;
	e->lopt[e->nlopt].val = val;
	e->nlopt++;
}

int fetch_engine_new(const struct config *cfg, fetch_done_fn done, void *ctx,
                     struct fetch_engine **out)
{
	struct fetch_engine *e = NULL;
	long redirs;
	int rc = HF_ENOMEM;

	e = calloc(1, sizeof *e);
	if (!e)
		goto out;
	/* Reference-counted and thread-safe since libcurl 7.84; paired with
	 * the cleanup in fetch_engine_free. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(e);
		e = NULL;
		rc = HF_ERR;
		goto out;
	}
	e->cfg = cfg;
	e->done = done;
	e->ctx = ctx;
	e->queue_tail = &e->queue;
	if (cfg->nallow_networks &&
	    !(e->allow = calloc(cfg->nallow_networks, sizeof *e->allow)))
		goto out;
	for (size_t i = 0; i < cfg->nallow_networks; i++) {
		/* config.c checked them */
		if (fetch_cidr_parse(cfg->allow_networks[i], &e->allow[e->nallow]) == HF_OK)
			e->nallow++;
	}
	e->max_connections = pick(cfg->max_connections, HF_FETCH_MAX_CONNECTIONS);
	e->max_per_host = pick(cfg->max_per_host, HF_FETCH_MAX_PER_HOST);
	/* file:// only for offline samples, and CURLOPT_REDIR_PROTOCOLS_STR
	 * below never includes it: a feed must not redirect us to local files. */
	snprintf(e->protocols, sizeof e->protocols, "%s",
	         cfg->allow_file_urls ? "http,https,file" : "http,https");
	if (cfg->user_agent && *cfg->user_agent)
		rc = buf_puts(&e->ua, cfg->user_agent);
	else
		rc = fetch_default_user_agent(cfg->contact, &e->ua);
	if (rc)
		goto out;
	rc = HF_ERR;
	redirs = cfg->max_redirects < 0 ? HF_FETCH_MAX_REDIRECTS : cfg->max_redirects;
	if (redirs > HF_FETCH_MAX_REDIRECTS)
		redirs = HF_FETCH_MAX_REDIRECTS;
	lopt_add(e, CURLOPT_NOSIGNAL, 1L);
	lopt_add(e, CURLOPT_FOLLOWLOCATION, redirs > 0);
	lopt_add(e, CURLOPT_MAXREDIRS, redirs);
	lopt_add(e, CURLOPT_CONNECTTIMEOUT, pick(cfg->connect_timeout, HF_FETCH_CONNECT_TIMEOUT_S));
	lopt_add(e, CURLOPT_TIMEOUT, pick(cfg->timeout, HF_FETCH_TIMEOUT_S));
	/* low_speed_limit = 0 in feeds.conf switches the check off. */
	lopt_add(e, CURLOPT_LOW_SPEED_LIMIT,
	         cfg->low_speed_limit >= 0 ? cfg->low_speed_limit : HF_FETCH_LOW_SPEED_BYTES);
	lopt_add(e, CURLOPT_LOW_SPEED_TIME, pick(cfg->low_speed_time, HF_FETCH_LOW_SPEED_TIME_S));
	lopt_add(e, CURLOPT_SSL_VERIFYPEER, 1L);
	lopt_add(e, CURLOPT_SSL_VERIFYHOST, 2L);
	/* No CURLOPT_PIPEWAIT: with it a transfer waits until libcurl knows
	 * whether the host's first connection can multiplex, which for
	 * HTTP/1.1 is when that connection's response arrives; one feed that
	 * answers slowly held up every other feed of its host, which then
	 * failed on their own time-outs.  Without it a second transfer opens
	 * its own connection (at most max_per_host of them). */
	e->max_filesize = (curl_off_t)pick(cfg->max_body, HF_FETCH_MAX_BODY);

	e->multi = curl_multi_init();
	if (!e->multi)
		goto out;
	if (curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, e->max_connections) ||
	    curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, e->max_per_host))
		goto out;
	*out = e;
	e = NULL;
	rc = HF_OK;
out:
	fetch_engine_free(e);
	return rc;
}

static void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	buf_free(&x->body);
	free(x->req);
	free(x);
}

void fetch_engine_free(struct fetch_engine *e)
{
	struct xfer *x, *xn;
	struct qreq *q, *qn;

	if (!e)
		return;
	for (x = e->active; x; x = xn) {
		xn = x->next;
		curl_multi_remove_handle(e->multi, x->easy);
		xfer_free(x);
	}
	for (x = e->pool; x; x = xn) {
		xn = x->next;
		xfer_free(x);
	}
	for (q = e->queue; q; q = qn) {
		qn = q->next;
		free(q);
	}
	if (e->multi)
		curl_multi_cleanup(e->multi);
	buf_free(&e->ua);
	buf_free(&e->err);
	free(e->allow);
	free(e);
	curl_global_cleanup();
}

/* Host part of `url`, lower-cased by libcurl's URL parser, into `out`;
 * empty for file:// and for URLs libcurl cannot parse (it reports those
 * itself when the transfer starts). */
static void url_host(const char *url, char *out, size_t size)
{
	CURLU *u = curl_url();
	char *host = NULL;

	out[0] = '\0';
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) {
		snprintf(out, size, "%s", host);
		for (char *p = out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	curl_free(host);
	curl_url_cleanup(u);
}

static char *qreq_str(char **p, const char *s, size_t n)
{
	char *r = *p;

	memcpy(r, s, n);
	r[n] = '\0';
	*p += n + 1;
	return r;
}

int fetch_engine_add(struct fetch_engine *e, const struct fetch_request *req)
{
	char host[256];
	const char *ua;
	size_t lu, le, ll, la, lh;
	struct qreq *q;
	char *p;

	if (!req->url || !*req->url)
		return HF_EINVAL;
	url_host(req->url, host, sizeof host);
	ua = req->user_agent && *req->user_agent ? req->user_agent : buf_str(&e->ua);
	lu = strlen(req->url);
	le = req->etag ? strlen(req->etag) : 0;
	ll = req->last_modified ? strlen(req->last_modified) : 0;
	la = strlen(ua);
	lh = strlen(host);
	q = malloc(sizeof *q + lu + le + ll + la + lh + 5);
	if (!q)
		return HF_ENOMEM;
	p = (char *)(q + 1);
	q->next = NULL;
	q->ud = req->ud;
	q->url = qreq_str(&p, req->url, lu);
	q->etag = le ? qreq_str(&p, req->etag, le) : NULL;
	q->last_modified = ll ? qreq_str(&p, req->last_modified, ll) : NULL;
	q->user_agent = qreq_str(&p, ua, la);
	q->host = qreq_str(&p, host, lh);
	*e->queue_tail = q;
	e->queue_tail = &q->next;
	e->nqueued++;
	return HF_OK;
}

size_t fetch_engine_pending(const struct fetch_engine *e)
{
	return e->nqueued + e->nactive;
}

/* --- callbacks ----------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;

	/* Checked on decoded bytes: CURLOPT_MAXFILESIZE only sees the declared
	 * (compressed) length, so this is what stops a decompression bomb. */
	if ((long)(x->body.len + len) > x->max_body) {
		x->too_big = 1;
		return 0;
	}
	if (buf_append(&x->body, p, len))
		return 0;
	return len;
}

/* Copy a header value: trimmed, control characters dropped (they could
 * forge log lines or request headers when the value is sent back). */
static void header_store(char *dst, const char *v, size_t n)
{
	size_t j = 0;

	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	if (n > HF_FETCH_MAX_HEADER) {
		dst[0] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] >= 0x20 && v[i] != 0x7f)
			dst[j++] = v[i];
	dst[j] = '\0';
}

/*
 * Every response of a redirect chain arrives here, each starting with its
 * status line (RFC 9112 4; "HTTP/2 200" for h2).  Headers are kept for the
 * last response only; the status lines tell whether every hop was
 * permanent.  1xx interim responses are neither hops nor final.
 */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	const char *colon;

	if (len > 5 && memcmp(p, "HTTP/", 5) == 0) {
		const char *s = memchr(p, ' ', len);
		long code = 0;

		for (s = s ? s + 1 : p + len; s < p + len && *s >= '0' && *s <= '9' && code < 1000; s++)
			code = code * 10 + (*s - '0');
		if (code < 200)
			return len;
		if (x->prev_status) {
			x->hops++;
			if (x->prev_status != 301 && x->prev_status != 308)
				x->all_permanent = 0;
		}
		x->prev_status = code;
		for (int i = 0; i < H__COUNT; i++)
			x->hv[i][0] = '\0';
		/* A redirect's body is not the feed's. */
		buf_clear(&x->body);
		return len;
	}
	colon = memchr(p, ':', len);
	if (!colon)
		return len;
	for (int i = 0; i < H__COUNT; i++) {
		if ((size_t)(colon - p) == header_names[i].len &&
		    strncasecmp(p, header_names[i].name, header_names[i].len) == 0) {
			header_store(x->hv[i], colon + 1, len - (size_t)(colon + 1 - p));
			break;
		}
	}
	return len;
}

/* --- starting transfers --------------------------------------------------- */

/* --- redirects never reach inside (fetch.h, Addresses) ------------------- */

static void address_text(const struct sockaddr *sa, char *out, size_t n)
{
	const void *a = sa->sa_family == AF_INET6 ?
	                (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr :
	                (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;

	if (!inet_ntop(sa->sa_family, a, out, (socklen_t)n))
		snprintf(out, n, "an address of family %d", sa->sa_family);
}

/* 1 when the transfer has followed a redirect and `sa` is not for it. */
static int refuse(struct xfer *x, const struct sockaddr *sa)
{
	long hops = 0;
	char *url = NULL, ip[INET6_ADDRSTRLEN];

	curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_COUNT, &hops);
	/* The configured URL always works: an admin chose it. */
	if (hops == 0 || fetch_addr_public(sa, x->e->allow, x->e->nallow))
		return 0;
	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
	address_text(sa, ip, sizeof ip);
	snprintf(x->refused, sizeof x->refused,
	         "redirect to %.*s refused: %s is not a public address (allow_networks)",
	         HF_MAX_URL, url ? url : "?", ip);
	return 1;
}

/* Before every connect: a new connection for a redirect is never made to
 * an internal address, so nothing reaches it, not even a SYN. */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose,
                                    struct curl_sockaddr *a)
{
	struct xfer *x = ud;

	if (purpose == CURLSOCKTYPE_IPCXN && (a->family == AF_INET || a->family == AF_INET6) &&
	    refuse(x, &a->addr))
		return CURL_SOCKET_BAD;
	return socket(a->family, a->socktype, a->protocol);
}

/* Before every request, on a new or a reused connection: a redirect to
 * the host of a connection already open is judged too. */
static int on_prereq(void *ud, char *peer, char *local, int peer_port, int local_port)
{
	struct xfer *x = ud;
	struct sockaddr_storage ss = {0};

	(void)local;
	(void)local_port;
	(void)peer_port;
	if (inet_pton(AF_INET, peer, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, peer, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		return CURL_PREREQFUNC_OK;  /* file://, a Unix socket: no redirect */
	return refuse(x, (struct sockaddr *)&ss) ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

static int xfer_get(struct fetch_engine *e, struct xfer **out)
{
	struct xfer *x = e->pool;

	if (x) {
		e->pool = x->next;
		curl_easy_reset(x->easy);
	} else {
		x = calloc(1, sizeof *x);
		if (!x)
			return HF_ENOMEM;
		x->easy = curl_easy_init();
		if (!x->easy) {
			free(x);
			return HF_ENOMEM;
		}
	}
	x->next = NULL;
	x->e = e;
	*out = x;
	return HF_OK;
}

static void xfer_put(struct fetch_engine *e, struct xfer *x)
{
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	free(x->req);
	x->req = NULL;
	if (x->body.cap > FETCH_KEEP_BUF)
		buf_free(&x->body);
	buf_clear(&x->body);
	x->next = e->pool;
	e->pool = x;
}

static int add_header(struct curl_slist **l, struct buf *tmp, const char *name, const char *v)
{
	struct curl_slist *n;

	buf_clear(tmp);
	if (buf_printf(tmp, "%s: %s", name, v))
		return HF_ENOMEM;
	n = curl_slist_append(*l, buf_str(tmp));
	if (!n)
		return HF_ENOMEM;
	*l = n;
	return HF_OK;
}

/* Start `q` (ownership moves to the transfer).  On failure `q` is still
 * the caller's. */
static int xfer_start(struct fetch_engine *e, struct qreq *q)
{
	struct xfer *x = NULL;
	struct buf tmp = BUF_INIT;
	CURL *h;
	int rc;

	rc = xfer_get(e, &x);
	if (rc)
		goto out;
	h = x->easy;
	x->max_body = (long)e->max_filesize;
	x->too_big = 0;
	x->prev_status = 0;
	x->hops = 0;
	x->all_permanent = 1;
	x->errbuf[0] = '\0';
	x->refused[0] = '\0';
	for (int i = 0; i < H__COUNT; i++)
		x->hv[i][0] = '\0';
	rc = HF_ENOMEM;
	/* RFC 9110 13.1.2 / 13.1.3: the stored validators, byte for byte. */
	if (q->etag && add_header(&x->hdrs, &tmp, "If-None-Match", q->etag))
		goto out;
	if (q->last_modified && add_header(&x->hdrs, &tmp, "If-Modified-Since", q->last_modified))
		goto out;
	{
		struct curl_slist *n = curl_slist_append(x->hdrs, FETCH_ACCEPT);
		if (!n)
			goto out;
		x->hdrs = n;
	}
	rc = HF_ERR;
	for (size_t i = 0; i < e->nlopt; i++)
		if (curl_easy_setopt(h, e->lopt[i].opt, e->lopt[i].val) != CURLE_OK)
			goto out;
	if (curl_easy_setopt(h, CURLOPT_URL, q->url) ||
	    curl_easy_setopt(h, CURLOPT_PRIVATE, x) ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf) ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, x) ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, x) ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs) ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, q->user_agent) ||
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, e->max_filesize) ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, e->protocols) ||
	    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket) ||
	    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, x) ||
	    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq) ||
	    curl_easy_setopt(h, CURLOPT_PREREQDATA, x) ||
	    /* "": every encoding this libcurl decodes (gzip, deflate, br, zstd). */
	    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""))
		goto out;
	if (e->cfg->proxy && *e->cfg->proxy && curl_easy_setopt(h, CURLOPT_PROXY, e->cfg->proxy))
		goto out;
	if (curl_multi_add_handle(e->multi, h) != CURLM_OK)
		goto out;
	x->req = q;
	x->next = e->active;
	e->active = x;
	e->nactive++;
	x = NULL;
	rc = HF_OK;
out:
	if (x)
		xfer_put(e, x);
	buf_free(&tmp);
	return rc;
}

static size_t host_active(const struct fetch_engine *e, const char *host)
{
	size_t n = 0;

	for (const struct xfer *x = e->active; x; x = x->next)
		n += strcmp(x->req->host, host) == 0;
	return n;
}

/* Start queued requests while the limits allow, oldest first; a request
 * whose host is busy waits without holding up the others. */
static int fill(struct fetch_engine *e)
{
	struct qreq **pp = &e->queue;
	int rc = HF_OK;

	while (*pp && e->nactive < (size_t)e->max_connections) {
		struct qreq *q = *pp;

		if (q->host[0] && e->max_per_host < e->max_connections &&
		    host_active(e, q->host) >= (size_t)e->max_per_host) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		if (!*pp)
			e->queue_tail = pp;
		e->nqueued--;
		q->next = NULL;
		rc = xfer_start(e, q);
		if (rc) {
			/* Nothing could be started: report it as this request's
			 * failure so that every request still completes once. */
			struct fetch_result r = {0};
			r.ud = q->ud;
			r.url = q->url;
			r.code = rc;
			r.body = "";
			r.retry_after = FETCH_NOTIME;
			r.max_age = -1;
			r.error = "could not start the transfer";
			log_error("%s: could not start the transfer: %s", q->url, hf_strerror(rc));
			free(q);
			e->done(e->ctx, &r);
			rc = HF_OK;
		}
	}
	return rc;
}

/* --- completion ----------------------------------------------------------- */

static int64_t now_utc(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

/* RFC 9110 10.2.3: Retry-After = HTTP-date / delay-seconds. */
static int64_t parse_retry_after(const char *v, int64_t now)
{
	int64_t secs = 0;
	const char *p = v;
	time_t t;

	if (!*v)
		return FETCH_NOTIME;
	for (; *p >= '0' && *p <= '9'; p++) {
		/* A delay of more than ~30 years is nonsense; cap to keep the
		 * sum in range, the caller bounds it further. */
		if (secs < 1000000000)
			secs = secs * 10 + (*p - '0');
	}
	if (p != v && *p == '\0')
		return now + secs;
	t = curl_getdate(v, NULL);
	return t == -1 ? FETCH_NOTIME : (int64_t)t;
}

/* RFC 9111 5.2.2.1: max-age=delta-seconds, possibly quoted, among other
 * comma-separated directives. */
static int64_t parse_max_age(const char *v)
{
	const char *p = v;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (strncasecmp(p, "max-age", 7) == 0 && (p[7] == '=' || p[7] == ' ')) {
			int64_t n = 0;
			int digits = 0;

			p += 7;
			while (*p == ' ' || *p == '=' || *p == '"')
				p++;
			for (; *p >= '0' && *p <= '9'; p++, digits++)
				if (n < 1000000000)
					n = n * 10 + (*p - '0');
			if (digits)
				return n;
		}
		p += strcspn(p, ",");
	}
	return -1;
}

static int map_code(CURLcode c, const struct xfer *x)
{
	if (c == CURLE_OK)
		return HF_OK;
	if (x->too_big || c == CURLE_FILESIZE_EXCEEDED)
		return HF_ETOOBIG;
	if (c == CURLE_OUT_OF_MEMORY)
		return HF_ENOMEM;
	return HF_ENET;
}

static void finish(struct fetch_engine *e, struct xfer *x, CURLcode cc)
{
	struct fetch_result r = {0};
	char *eff = NULL, *scheme = NULL;
	curl_off_t total_us = 0;
	long status = 0, nredir = 0;
	int err;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eff);
	curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_COUNT, &nredir);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
	curl_easy_getinfo(x->easy, CURLINFO_SCHEME, &scheme);
	if (cc == CURLE_OK && status == 0 && scheme && strcasecmp(scheme, "file") == 0)
		status = 200;

	r.ud = x->req->ud;
	r.url = x->req->url;
	r.code = map_code(cc, x);
	r.status = status;
	r.etag = x->hv[H_ETAG][0] ? x->hv[H_ETAG] : NULL;
	r.last_modified = x->hv[H_LAST_MODIFIED][0] ? x->hv[H_LAST_MODIFIED] : NULL;
	r.content_type = x->hv[H_CONTENT_TYPE][0] ? x->hv[H_CONTENT_TYPE] : NULL;
	r.retry_after = parse_retry_after(x->hv[H_RETRY_AFTER], now_utc());
	r.max_age = parse_max_age(x->hv[H_CACHE_CONTROL]);
	r.final_url = eff ? eff : x->req->url;
	r.redirects = (int)nredir;
	if (r.code == HF_OK && nredir > 0 && x->hops > 0 && x->all_permanent)
		r.moved_to = r.final_url;
	r.body = buf_str(&x->body);
	r.body_len = x->body.len;
	r.duration_ms = (int64_t)(total_us / 1000);

	buf_clear(&e->err);
	err = 0;
	if (r.code == HF_ETOOBIG)
		err = buf_printf(&e->err, "%s: body larger than %ld bytes", r.url, x->max_body);
	else if (r.code && x->refused[0])
		err = buf_printf(&e->err, "%s: %s", r.url, x->refused);
	else if (r.code)
		err = buf_printf(&e->err, "%s: %s%s%s", r.url, curl_easy_strerror(cc),
		                 x->errbuf[0] ? ": " : "", x->errbuf);
	else if (!(status >= 200 && status < 300) && status != 304)
		err = buf_printf(&e->err, "%s: HTTP %ld%s%s", r.url, status,
		                 nredir ? " from " : "", nredir ? r.final_url : "");
	if (r.code || (!(status >= 200 && status < 300) && status != 304))
		r.error = err ? "out of memory" : buf_str(&e->err);
	/* A partial body (reset, time-out, size limit) is never handed out. */
	if (r.code) {
		r.body = "";
		r.body_len = 0;
	}
	e->done(e->ctx, &r);
}

static int drain(struct fetch_engine *e)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(e->multi, &left))) {
		struct xfer *x, **pp;
		CURLcode cc;
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		x = (struct xfer *)(void *)priv;
		cc = m->data.result;
		curl_multi_remove_handle(e->multi, x->easy);
		for (pp = &e->active; *pp && *pp != x; pp = &(*pp)->next)
			;
		if (*pp)
			*pp = x->next;
		e->nactive--;
		finish(e, x, cc);
		xfer_put(e, x);
	}
	return fill(e);
}

static int step(struct fetch_engine *e)
{
	int running = 0;
	int rc = fill(e);

	if (rc)
		return rc;
	if (curl_multi_perform(e->multi, &running) != CURLM_OK) {
		log_error("fetch: curl_multi_perform failed");
		return HF_ERR;
	}
	return drain(e);
}

int fetch_engine_perform(struct fetch_engine *e, int timeout_ms, const int *fds, size_t nfds)
{
	struct curl_waitfd wfd[FETCH_MAX_WAKE_FDS];
	int rc;

	if (nfds > FETCH_MAX_WAKE_FDS)
		nfds = FETCH_MAX_WAKE_FDS;
	for (size_t i = 0; i < nfds; i++)
		wfd[i] = (struct curl_waitfd){fds[i], CURL_WAIT_POLLIN, 0};

	rc = step(e);
	if (rc)
		return rc;
	if (fetch_engine_pending(e) == 0 || timeout_ms <= 0)
		return (int)fetch_engine_pending(e);
	if (curl_multi_poll(e->multi, nfds ? wfd : NULL, (unsigned)nfds, timeout_ms,
	                    NULL) != CURLM_OK) {
		log_error("fetch: curl_multi_poll failed");
		return HF_ERR;
	}
	rc = step(e);
	if (rc)
		return rc;
	return (int)fetch_engine_pending(e);
}

