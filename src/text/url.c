/*
 * url.c - URL resolution and canonical form through libcurl's URL API;
 * see text.h.  Taking a URL apart is curl's job, with one exception that
 * a benchmark asked for: fast_resolve(), below.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "helsefeed/limits.h"
#include "helsefeed/text.h"

static int is_http(const char *scheme)
{
	return !strcmp(scheme, "http") || !strcmp(scheme, "https");
}

/*
 * The WHATWG URL standard's input clean-up, which browsers apply to every
 * href: leading and trailing C0 controls and spaces go, and tab, CR and LF
 * anywhere are removed.  Feeds wrap long links over lines.
 */
static int clean(const char *s, struct buf *b)
{
	size_t n = strlen(s);
	int rc;

	while (n && (unsigned char)s[n - 1] <= 0x20)
		n--;
	while (n && (unsigned char)*s <= 0x20)
		s++, n--;
	rc = buf_reserve(b, n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			b->data[b->len++] = s[i];
	b->data[b->len] = '\0';
	return 0;
}

static int url_put(CURLU *u, struct buf *out)
{
	char *s = NULL;
	int rc;

	if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
		return HF_EINVAL;
	rc = buf_puts(out, s);
	curl_free(s);
	return rc;
}

/* No control character in s (what a browser would not take as written). */
static int no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* url_put of an http(s) handle; *web as norm_url_web() would judge what
 * it appended: a host, and no control character. */
static int url_put_web(CURLU *u, struct buf *out, int *web)
{
	size_t at = out->len;
	char *host = NULL;
	int rc = url_put(u, out);

	if (rc)
		return rc;
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OUT_OF_MEMORY)
		return HF_ENOMEM;
	*web = host && *host && no_controls(buf_str(out) + at);
	curl_free(host);
	return HF_OK;
}

#define SET_FLAGS (CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE)

/* What parse_alone() found. */
enum url_kind {
	URL_OTHER,     /* a scheme, not http(s), or one curl cannot take
	                * apart (mailto:, urn:, "http:x") */
	URL_HTTP,      /* an absolute http or https URL */
	URL_RELATIVE,  /* no scheme */
};

/* Parse `s` alone into u: its kind, by curl's reading (the scheme lower
 * case), or HF_ENOMEM. */
static int parse_alone(CURLU *u, const char *s)
{
	CURLUcode uc = curl_url_set(u, CURLUPART_URL, s, SET_FLAGS);
	char *scheme = NULL;
	int rc;

	if (uc == CURLUE_BAD_SCHEME)
		return URL_RELATIVE;
	if (uc == CURLUE_OUT_OF_MEMORY)
		return HF_ENOMEM;
	if (uc != CURLUE_OK)
		return URL_OTHER;
	uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	if (uc == CURLUE_OUT_OF_MEMORY)
		return HF_ENOMEM;
	rc = uc == CURLUE_OK && is_http(scheme) ? URL_HTTP : URL_OTHER;
	curl_free(scheme);
	return rc;
}

/* --- the fast path -------------------------------------------------------- */

/*
 * Resolving the links of a document through curl's URL API was a third
 * of `helsefeed parse`, and without it the parse floor (0.4x sfeed's
 * MB/s, 30x python3-feedparser's) is missed (bench/parse/README.md).
 * Nearly every link of a feed is one of two shapes whose resolution by
 * curl is the text itself: an absolute http(s) URL of a plain host and
 * path, and an absolute path ("/no/aktuelt/id1/") against such a base.
 * fast_resolve() takes those, and only those, without curl; everything
 * else goes to curl.  fuzz_url checks on every input that what it gives
 * is the library path's answer byte for byte (norm_url_resolve_lib).
 */

/* A character that curl keeps as it is in a path, query or fragment. */
static int plain_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("-._~/=&+,;:@!$*", c));
}

static int hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* s is an absolute path ("/" first, not "//"), then a non-empty query
 * and fragment if any, of plain characters and %XX (not %2E, which curl
 * may read as a dot), with no "." or ".." segment for curl to remove. */
static int plain_path(const char *s)
{
	int part = 0;                   /* 0 path, 1 query, 2 fragment */
	const char *seg = s;

	if (s[0] != '/' || s[1] == '/')
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '%') {
			if (!hex((unsigned char)s[1]) || !hex((unsigned char)s[2]) ||
			    (s[1] == '2' && (s[2] | 0x20) == 'e'))
				return 0;
			s += 2;
			continue;
		}
		if (part == 0 && (c == '/' || c == '?' || c == '#')) {
			/* The segment that ends here. */
			size_t n = (size_t)(s - seg);

			if ((n == 2 && seg[1] == '.') || (n == 3 && seg[1] == '.' && seg[2] == '.'))
				return 0;
			if (c == '/' && s[1] == '/')
				return 0;
			seg = s;
		}
		if (c == '?' && part == 0) {
			part = 1;
			if (!s[1] || s[1] == '#')
				return 0;
			continue;
		}
		if (c == '#' && part < 2) {
			part = 2;
			if (!s[1])
				return 0;
			continue;
		}
		if (!plain_char(c) && !(part && c == '?'))
			return 0;
	}
	if (part == 0) {
		size_t n = (size_t)(s - seg);

		if ((n == 2 && seg[1] == '.') || (n == 3 && seg[1] == '.' && seg[2] == '.'))
			return 0;
	}
	return 1;
}

/* The length of "http://HOST" or "https://HOST" at the start of s, 0 if
 * it is not that with a plain host: lower-case letters, digits, '-' and
 * '.' in labels of 1-63, the last all letters (no IPv4 for curl to
 * rewrite), at most 253 in all, and no port or user. */
static size_t plain_origin(const char *s)
{
	size_t at = !strncmp(s, "https://", 8) ? 8 : !strncmp(s, "http://", 7) ? 7 : 0;
	size_t i, label = 0;
	int letters = 1;

	if (!at)
		return 0;
	for (i = at; s[i] && s[i] != '/' && s[i] != '?' && s[i] != '#'; i++) {
		char c = s[i];

		if (c == '.') {
			if (!label)
				return 0;
			label = 0;
			letters = 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
		if (!(c >= 'a' && c <= 'z'))
			letters = 0;
		if (++label > 63)
			return 0;
	}
	if (label < 2 || !letters || i - at > 253)
		return 0;
	return i;
}

/* What the library path gives for (base origin, ref), when the fast path
 * knows it: 1 and appended, 0 when curl must do it, or HF_ENOMEM.
 * `origin` is curl's own print of the base up to its path, or NULL. */
static int fast_resolve(const char *origin, const char *ref, struct buf *out)
{
	size_t n;

	/* Far below curl's own bound on input (8 MB), past which it would
	 * refuse what this path takes. */
	if (strlen(ref) > HF_MAX_URL)
		return 0;
	n = plain_origin(ref);

	if (n)
		return plain_path(ref + n) ? (buf_puts(out, ref) ? HF_ENOMEM : 1) : 0;
	if (origin && plain_path(ref))
		return buf_puts(out, origin) || buf_puts(out, ref) ? HF_ENOMEM : 1;
	return 0;
}

/*
 * The last base read, kept by this file: the links of a document share
 * its base, and reading the base again was half the cost of resolving a
 * relative link (bench/parse/README.md).  A copy of the kept handle is
 * what curl resolves the link in; the result is the same as from a
 * fresh read.  One thread (doc/design.md); freed at exit with the
 * process.
 */
static struct {
	char *text;
	CURLU *u;
	int kind;
	char *origin;   /* fast_resolve's, or NULL */
} last_base;

/* curl's print of the http(s) handle u up to its path, when that is a
 * plain origin (fast_resolve); NULL otherwise.  0 or HF_ENOMEM. */
static int origin_of(CURLU *u, char **origin)
{
	struct buf b = BUF_INIT;
	size_t n;
	int rc;

	*origin = NULL;
	if ((rc = url_put(u, &b)))
		return rc == HF_ENOMEM ? rc : HF_OK;
	if ((n = plain_origin(buf_str(&b))) && b.data[n] == '/') {
		b.data[n] = '\0';
		b.len = n;
		*origin = buf_detach(&b);
	}
	buf_free(&b);
	return HF_OK;
}

/* A handle of `base` read alone (*u, the caller's: NULL when its kind is
 * not URL_HTTP; u NULL: no handle wanted) and its kind, or HF_ENOMEM. */
static int base_read(const char *base, CURLU **u, int *kind)
{
	if (u)
		*u = NULL;
	if (!last_base.text || strcmp(last_base.text, base) != 0) {
		CURLU *nu = curl_url();
		char *text = strdup(base);
		int k = nu && text ? parse_alone(nu, base) : HF_ENOMEM;

		char *origin = NULL;

		if (k == URL_HTTP && origin_of(nu, &origin))
			k = HF_ENOMEM;
		if (k < 0) {
			curl_url_cleanup(nu);
			free(text);
			return k;
		}
		curl_url_cleanup(last_base.u);
		free(last_base.text);
		free(last_base.origin);
		last_base.text = text;
		last_base.u = nu;
		last_base.kind = k;
		last_base.origin = origin;
	}
	*kind = last_base.kind;
	if (u && *kind == URL_HTTP && !(*u = curl_url_dup(last_base.u)))
		return HF_ENOMEM;
	return HF_OK;
}

static int resolve(const char *base, const char *ref, struct buf *out, int *web,
                   int fast)
{
	struct buf r = BUF_INIT, abs = BUF_INIT;
	CURLU *u = NULL;
	int rc, kind, w = 0;

	if (!ref)
		ref = "";
	rc = clean(ref, &r);
	if (rc)
		goto out;
	ref = buf_str(&r);
	if (!*ref) {
		/* RFC 3986 5.2.2 makes "" the base itself, but in a feed an empty
		 * <link> means no link: as the base it would merge every such
		 * entry into one story. */
		rc = HF_EINVAL;
		goto out;
	}
	if (fast) {
		const char *origin = NULL;

		if (base && ref[0] == '/') {
			/* The base's origin, not a handle of it. */
			if ((rc = base_read(base, NULL, &kind)))
				goto out;
			origin = kind == URL_HTTP ? last_base.origin : NULL;
		}
		if ((rc = fast_resolve(origin, ref, out)) != 0) {
			w = rc == 1;
			rc = rc == 1 ? HF_OK : rc;
			goto out;
		}
	}
	if (!(u = curl_url())) {
		rc = HF_ENOMEM;
		goto out;
	}
	if ((kind = parse_alone(u, ref)) != URL_RELATIVE) {
		/* Absolute already (RFC 3986 5.2.2): only http(s) is worth
		 * curl's normalisation, mailto: and the rest stay as written. */
		rc = kind < 0 ? kind : kind == URL_HTTP ? url_put_web(u, out, &w) : buf_puts(out, ref);
		goto out;
	}
	if (base) {
		curl_url_cleanup(u);
		if ((rc = base_read(base, &u, &kind)))
			goto out;
	}
	if (!base || kind != URL_HTTP) {
		if (!u && !(u = curl_url())) {
			rc = HF_ENOMEM;
			goto out;
		}
		/* No base to resolve against: a protocol-relative reference is
		 * taken as https, anything else is kept as is. */
		if (ref[0] == '/' && ref[1] == '/' && ref[2] != '/' &&
		    !(rc = buf_printf(&abs, "https:%s", ref)) && parse_alone(u, abs.data) == URL_HTTP)
			rc = url_put_web(u, out, &w);
		else if (!rc)
			rc = buf_puts(out, ref);
		goto out;
	}
	/* libcurl 7.88 resolves "#f" against the base's directory; RFC 3986
	 * 5.2.2 keeps the base's path and query. */
	if (ref[0] == '#') {
		CURLUcode uc = curl_url_set(u, CURLUPART_FRAGMENT, ref + 1, CURLU_URLENCODE);
		if (uc != CURLUE_OK) {
			rc = uc == CURLUE_OUT_OF_MEMORY ? HF_ENOMEM : HF_EINVAL;
			goto out;
		}
		rc = url_put_web(u, out, &w);
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, ref, SET_FLAGS) == CURLUE_OK)
		rc = url_put_web(u, out, &w);
	else
		rc = buf_puts(out, ref);
out:
	if (web)
		*web = !rc && w;
	curl_url_cleanup(u);
	buf_free(&r);
	buf_free(&abs);
	return rc;
}

int norm_url_resolve(const char *base, const char *ref, struct buf *out, int *web)
{
	return resolve(base, ref, out, web, 1);
}

int norm_url_resolve_lib(const char *base, const char *ref, struct buf *out, int *web)
{
	return resolve(base, ref, out, web, 0);
}

/* --- canonical form ---------------------------------------------------- */

/* Query parameters that only say where a click came from.  Any utm_*
 * parameter is one too (checked apart). */
static const char *const tracking[] = {
	"_ga", "_gl", "_hsenc", "_hsmi", "dclid", "fbclid", "gbraid", "gclid",
	"gclsrc", "igshid", "mc_cid", "mc_eid", "mkt_tok", "msclkid",
	"ref_src", "twclid", "wbraid", "yclid",
};

static int str_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static int is_tracking(const char *name, size_t n)
{
	char low[16];

	if (n >= 4 && !strncasecmp(name, "utm_", 4))
		return 1;
	if (n >= sizeof(low))
		return 0;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
	low[n] = '\0';
	return bsearch(low, tracking, sizeof(tracking) / sizeof(tracking[0]),
	               sizeof(tracking[0]), str_cmp) != NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int is_unreserved(int c)
{
	return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 6.2.2.1 and 6.2.2.2: upper-case hex, decode unreserved.  In
 * a path "%2E" stays encoded: decoded it would make a dot segment that
 * the next parse removes, and the canonical form must be a fixed point. */
static int pct_norm(const char *s, size_t n, int path, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = buf_reserve(out, n * 3);

	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] != '%') {
			out->data[out->len++] = s[i];
			continue;
		}
		if (i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			int c = hi * 16 + lo;
			if (is_unreserved(c) && !(path && c == '.')) {
				out->data[out->len++] = (char)c;
			} else {
				out->data[out->len++] = '%';
				out->data[out->len++] = hex[hi];
				out->data[out->len++] = hex[lo];
			}
			i += 2;
		} else {
			memcpy(out->data + out->len, "%25", 3);
			out->len += 3;
		}
	}
	out->data[out->len] = '\0';
	return 0;
}

static int put_query(const char *q, struct buf *out)
{
	size_t mark = out->len;
	int rc = 0, first = 1;

	while (*q) {
		const char *amp = strchr(q, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);
		size_t name = strcspn(q, "=&");

		if (name > n)
			name = n;
		if (n && !is_tracking(q, name)) {
			rc = buf_putc(out, first ? '?' : '&');
			if (!rc)
				rc = pct_norm(q, n, 0, out);
			if (rc)
				break;
			first = 0;
		}
		q += n;
		if (*q == '&')
			q++;
	}
	if (rc) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
	}
	return rc;
}

/* RFC 3986 3.2.2 reg-name or IP literal, and raw UTF-8 for IDN: curl
 * 7.88 lets "%" and worse through, which would not survive a reparse. */
static int host_ok(const char *h)
{
	for (const unsigned char *p = (const unsigned char *)h; *p; p++)
		if (!(is_unreserved(*p) || *p >= 0x80 || *p == '[' || *p == ']' || *p == ':'))
			return 0;
	return 1;
}

static int cu_err(CURLUcode uc)
{
	return uc == CURLUE_OUT_OF_MEMORY ? HF_ENOMEM : HF_EINVAL;
}

int norm_url_web(const char *url)
{
	struct buf r = BUF_INIT;
	CURLU *u = NULL;
	char *host = NULL;
	int rc = 0;

	if (!url || clean(url, &r) || !(u = curl_url()))
		goto out;
	/* What is left after the clean-up a browser does (white space and
	 * controls around, tab/CR/LF inside): "JaVa\tScRiPt:" is javascript:
	 * to a browser and URL_OTHER here. */
	if (!no_controls(buf_str(&r)))
		goto out;
	if (parse_alone(u, buf_str(&r)) != URL_HTTP)
		goto out;
	rc = curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host;
out:
	curl_free(host);
	curl_url_cleanup(u);
	buf_free(&r);
	return rc;
}

/* The host of an http(s) URL, lower-cased, without "www.": into out. */
static int site_of(const char *url, struct buf *out)
{
	CURLU *u = curl_url();
	char *host = NULL;
	const char *h;
	int rc = HF_EINVAL;

	if (!u)
		return HF_ENOMEM;
	if (parse_alone(u, url) == URL_HTTP &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host) {
		h = host;
		if (!strncasecmp(h, "www.", 4) && h[4])
			h += 4;
		rc = HF_OK;
		for (; *h && !rc; h++)
			rc = buf_putc(out, (char)(*h >= 'A' && *h <= 'Z' ? *h + 32 : *h));
	}
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* a and b through f into two buffers, the same bytes? */
static int same_by(int (*f)(const char *, struct buf *), const char *a, const char *b)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	int same = a && b && !f(a, &x) && !f(b, &y) &&
	           x.len == y.len && !memcmp(x.data, y.data, x.len);

	buf_free(&x);
	buf_free(&y);
	return same;
}

int norm_url_same_site(const char *a, const char *b)
{
	return same_by(site_of, a, b);
}

int norm_url_same_canon(const char *a, const char *b)
{
	return same_by(norm_url_canon, a, b);
}

int norm_url_canon(const char *url, struct buf *out)
{
	struct buf r = BUF_INIT;
	CURLU *u = NULL;
	char *scheme = NULL, *user = NULL, *pass = NULL, *host = NULL;
	char *port = NULL, *path = NULL, *query = NULL;
	size_t mark = out->len, hl;
	CURLUcode uc;
	int rc, again = 0;

	if (!url)
		return HF_EINVAL;
	rc = clean(url, &r);
	if (rc)
		goto out;
	u = curl_url();
	if (!u) {
		rc = HF_ENOMEM;
		goto out;
	}
	/* Only http(s) URLs are compared: another scheme is no story link. */
	if ((rc = parse_alone(u, buf_str(&r))) != URL_HTTP) {
		rc = rc < 0 ? rc : HF_EINVAL;
		goto out;
	}
	rc = 0;
	uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	if (!uc)
		uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
	if (!uc)
		uc = curl_url_get(u, CURLUPART_PATH, &path, 0);
	if (uc) {
		rc = cu_err(uc);
		goto out;
	}
	/* The optional parts report their absence as an error code. */
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
	curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);

	/* RFC 3986 6.2.2.1: scheme and host are case-insensitive. */
	for (char *p = scheme; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 32;
	for (char *p = host; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 32;
	hl = strlen(host);
	while (hl > 0 && host[hl - 1] == '.') {
		host[--hl] = '\0'; /* "www.fhi.no." is www.fhi.no */
		again = 1;
	}
	if (!hl || !host_ok(host)) {
		rc = HF_EINVAL;
		goto out;
	}
	rc = buf_printf(out, "%s://", scheme);
	if (!rc && user) {
		rc = pct_norm(user, strlen(user), 0, out);
		if (!rc && pass)
			rc = buf_putc(out, ':');
		if (!rc && pass)
			rc = pct_norm(pass, strlen(pass), 0, out);
		if (!rc)
			rc = buf_putc(out, '@');
	}
	if (!rc)
		rc = buf_append(out, host, hl);
	if (!rc && port)
		rc = buf_printf(out, ":%s", port);
	if (!rc)
		rc = path[0] ? pct_norm(path, strlen(path), 1, out) : buf_putc(out, '/');
	if (!rc && query)
		rc = put_query(query, out);
	if (!rc && again) {
		/* Without its dot the host may read differently ("5." is a
		 * name, "5" is 0.0.0.5): parse the result once more. */
		buf_clear(&r);
		rc = buf_append(&r, out->data + mark, out->len - mark);
		out->len = mark;
		out->data[mark] = '\0';
		if (!rc)
			rc = norm_url_canon(r.data, out);
	}
out:
	if (rc && out->data) {
		out->len = mark;
		out->data[mark] = '\0';
	}
	curl_free(scheme);
	curl_free(user);
	curl_free(pass);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	buf_free(&r);
	return rc;
}
