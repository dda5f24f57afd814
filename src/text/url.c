/*
 * norm_url.c - URL resolution and canonical form through libcurl's URL
 * API, and the FNV-1a hash; see norm.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "helsefeed/norm.h"

/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":".
 * Returns the scheme's length, 0 when s has none. */
static size_t scheme_len(const char *s)
{
	size_t i = 0;

	if (!((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return 0;
	for (i = 1; s[i]; i++) {
		int c = (unsigned char)s[i];
		if (c == ':')
			return i;
		if (!(((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '-' || c == '.'))
			return 0;
	}
	return 0;
}

static int is_http(const char *s, size_t n)
{
	return (n == 4 && !strncasecmp(s, "http", 4)) || (n == 5 && !strncasecmp(s, "https", 5));
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

#define SET_FLAGS (CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE)

static int is_lalnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * An absolute http(s) URL that libcurl would hand back unchanged: lower
 * case scheme and host name (last label starting with a letter, so never
 * an IPv4 address in any of its spellings), no user, no port, a path of
 * unreserved characters without dot segments or empty segments, a query
 * of unreserved characters, '=' and '&', no fragment.  Most feed links
 * are like this, and libcurl's parse and re-assembly cost more than the
 * rest of an entry's link handling.  test_sanitize checks the claim
 * against libcurl.
 */
static int plain_http(const char *s)
{
	const char *p, *label;
	int q = 0;

	if (!strncmp(s, "https://", 8))
		p = s + 8;
	else if (!strncmp(s, "http://", 7))
		p = s + 7;
	else
		return 0;
	label = p;
	for (;; p++) {
		if (is_lalnum((unsigned char)*p) || (*p == '-' && p > label))
			continue;
		if (p == label || p[-1] == '-')
			return 0;
		if (*p == '.') {
			label = p + 1;
			continue;
		}
		break;
	}
	if (*p != '/' || !(*label >= 'a' && *label <= 'z') || label == s + 7 + (s[4] == 's'))
		return 0;
	for (; *p; p++) {
		int c = (unsigned char)*p;

		if (((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '~')
			continue;
		if (q) {
			if (c == '.' || c == '=' || c == '&' || c == '/')
				continue;
			return 0;
		}
		if (c == '/' && (p[1] == '/' || p[1] == '.'))
			return 0; /* empty or dot segment */
		if (c == '/' || (c == '.' && p[-1] != '/'))
			continue;
		if (c == '?' && p[1]) { /* libcurl drops an empty query */
			q = 1;
			continue;
		}
		return 0;
	}
	return 1;
}

int norm_url_resolve(const char *base, const char *ref, struct buf *out)
{
	struct buf r = BUF_INIT;
	CURLU *u = NULL;
	size_t sl;
	int rc;

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
	sl = scheme_len(ref);
	if (!sl && !base && !(ref[0] == '/' && ref[1] == '/' && ref[2] != '/')) {
		/* relative, nothing to resolve against: as written (below) */
		rc = buf_puts(out, ref);
		goto out;
	}
	if (sl && (!is_http(ref, sl) || plain_http(ref))) {
		rc = buf_puts(out, ref);
		goto out;
	}
	u = curl_url();
	if (!u) {
		rc = HF_ENOMEM;
		goto out;
	}
	if (sl) {
		/* Absolute already (RFC 3986 5.2.2): only http(s) is worth
		 * curl's normalisation, mailto: and the rest stay as written. */
		if (is_http(ref, sl) && curl_url_set(u, CURLUPART_URL, ref, SET_FLAGS) == CURLUE_OK)
			rc = url_put(u, out);
		else
			rc = buf_puts(out, ref);
		goto out;
	}
	if (!base || curl_url_set(u, CURLUPART_URL, base, SET_FLAGS) != CURLUE_OK) {
		/* No base to resolve against: a protocol-relative reference is
		 * taken as https, anything else is kept as is. */
		if (ref[0] == '/' && ref[1] == '/' && ref[2] != '/') {
			struct buf abs = BUF_INIT;
			rc = buf_printf(&abs, "https:%s", ref);
			if (!rc && curl_url_set(u, CURLUPART_URL, abs.data, SET_FLAGS) == CURLUE_OK)
				rc = url_put(u, out);
			else if (!rc)
				rc = buf_puts(out, ref);
			buf_free(&abs);
		} else {
			rc = buf_puts(out, ref);
		}
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
		rc = url_put(u, out);
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, ref, SET_FLAGS) == CURLUE_OK)
		rc = url_put(u, out);
	else
		rc = buf_puts(out, ref);
out:
	curl_url_cleanup(u);
	buf_free(&r);
	return rc;
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
	if (!is_http(r.data ? r.data : "", scheme_len(buf_str(&r)))) {
		rc = HF_EINVAL;
		goto out;
	}
	u = curl_url();
	if (!u) {
		rc = HF_ENOMEM;
		goto out;
	}
	uc = curl_url_set(u, CURLUPART_URL, r.data, SET_FLAGS);
	if (!uc)
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
