/*
 * util.c - atomic file replacement, ids, dates and text helpers of the
 * publish module; the time zones themselves are tz.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <utf8proc.h>

#include "helsefeed/util.h"
#include "helsefeed/text.h"
#include "publish_int.h"

/* --- files ------------------------------------------------------------- */

/* 1 when the file at dirfd/name holds exactly data[0..len), 0 when not
 * (or absent).  Compared in chunks: no copy of the old file in memory. */
static int same_content(int dirfd, const char *name, const char *data,
                        size_t len)
{
	char chunk[16384];
	struct stat sb;
	size_t off = 0;
	int fd, same = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (uintmax_t)sb.st_size != (uintmax_t)len)
		goto out;
	while (off < len) {
		size_t want = len - off < sizeof chunk ? len - off : sizeof chunk;
		ssize_t r = read(fd, chunk, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || memcmp(chunk, data + off, (size_t)r) != 0)
			goto out;
		off += (size_t)r;
	}
	/* The file must end where the data ends. */
	same = read(fd, chunk, 1) == 0;
out:
	close(fd);
	return same;
}

int publish_write_file(const char *dir, const char *name, const char *data,
                       size_t len, int *changed)
{
	struct fs_atomic w;
	int dirfd, same, rc;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		log_error("%s: cannot open directory: %s", dir, strerror(errno));
		return HF_EIO;
	}
	same = same_content(dirfd, name, data, len);
	close(dirfd);
	if (same) {
		*changed = 0;
		return HF_OK;
	}
	if ((rc = fs_atomic_open(&w, dir, name, PUBLISH_FILE_MODE)))
		return rc;
	if ((rc = fs_atomic_write(&w, data, len))) {
		fs_atomic_abort(&w);
		return rc;
	}
	if ((rc = fs_atomic_commit(&w, name)))
		return rc;
	*changed = 1;
	return HF_OK;
}

/* --- ids --------------------------------------------------------------- */

/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":".
 * White space or controls anywhere make it no IRI (RFC 3987 2.2). */
int pub_is_uri(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *colon;

	if (!s || !((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
		return 0;
	for (p++; *p && *p != ':'; p++)
		if (!(((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' ||
		      *p == '.'))
			return 0;
	if (*p != ':' || !p[1])
		return 0;
	colon = p;
	for (p = colon + 1; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>' ||
		    *p == '"' || *p == '\\' || *p == '{' || *p == '}' ||
		    *p == '|' || *p == '^' || *p == '`')
			return 0;
	return 1;
}

int publish_entry_id(const char *host, const char *feed_name, const char *key,
                     const char *guid, struct buf *out)
{
	uint64_t h;

	if (pub_is_uri(guid))
		return buf_puts(out, guid);
	/* RFC 4151: tag:authorityName,date:specific.  The date is fixed:
	 * the id must never change, whatever year it is minted in. */
	h = norm_fnv1a(NORM_FNV_INIT, key, strlen(key));
	return buf_printf(out, "tag:%s,2024:item/%s/%016" PRIx64, host,
	                  feed_name, h);
}

int publish_url_host(const char *url, struct buf *out)
{
	const char *p = url ? strstr(url, "://") : NULL;
	const char *h, *end;
	size_t start = out->len;

	if (!p)
		return buf_puts(out, "localhost");
	h = p + 3;
	end = h + strcspn(h, "/?#");
	/* user info ends at the last '@' of the authority (RFC 3986 3.2.1) */
	for (p = end; p > h; p--)
		if (p[-1] == '@') {
			h = p;
			break;
		}
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (rb)
			end = rb + 1;
	} else {
		const char *colon = memchr(h, ':', (size_t)(end - h));
		if (colon)
			end = colon;
	}
	if (end == h)
		return buf_puts(out, "localhost");
	if (buf_append(out, h, (size_t)(end - h)))
		return HF_ENOMEM;
	for (size_t i = start; i < out->len; i++)
		if (out->data[i] >= 'A' && out->data[i] <= 'Z')
			out->data[i] = (char)(out->data[i] | 0x20);
	return 0;
}

/* --- times ------------------------------------------------------------- */

int64_t pub_item_published(const struct pub_item *it)
{
	return it->published != HF_NOTIME ? it->published : it->first_seen;
}

int64_t pub_item_updated(const struct pub_item *it)
{
	int64_t t = pub_item_published(it);

	if (it->corrected != HF_NOTIME && it->corrected > t)
		t = it->corrected;
	return t;
}

int pub_correction_note(const struct tz *tz, const struct pub_item *it,
                        struct buf *out)
{
	char when[32];

	if (it->corrected == HF_NOTIME)
		return 0;
	if (!tz || pub_fmt_nb(tz, it->corrected, when)) {
		char iso[21];
		norm_date_iso(it->corrected, iso);
		snprintf(when, sizeof when, "%.10s kl. %.5s UTC", iso, iso + 11);
	}
	return buf_printf(out, "<p class=\"oppdatert\"><em>Oppdatert %s</em>"
	                  "</p>", when);
}

int pub_tz_open(const char *name, struct tz **out)
{
	struct buf err = BUF_INIT;
	int rc = tz_open(name ? name : "Europe/Oslo", out, &err);

	if (rc)
		log_error("publish: %s", buf_str(&err));
	buf_free(&err);
	return rc;
}

int pub_fmt_nb(const struct tz *tz, int64_t t, char out[32])
{
	return t == HF_NOTIME ? HF_EINVAL : tz_format(tz, t, "%d.%m.%Y kl. %H:%M", out, 32);
}

int publish_date_nb(int64_t t, const char *name, char out[32])
{
	struct tz *tz = NULL;
	char tmp[32];
	int rc = pub_tz_open(name, &tz);

	if (!rc && !(rc = pub_fmt_nb(tz, t, tmp)))
		memcpy(out, tmp, sizeof tmp);
	tz_free(tz);
	return rc;
}

/* --- text -------------------------------------------------------------- */

int pub_xml_clean(const char *s, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run;

	if (!s)
		return 0;
	/* Copy runs of good bytes at once: the store already holds clean
	 * text, so this is one append in practice. */
	for (run = p; *p;) {
		utf8proc_int32_t cp;
		/* -1: NUL-terminated; utf8proc stops at the first bad byte */
		utf8proc_ssize_t n = utf8proc_iterate(p, -1, &cp);
		int ok = n > 0 && (cp >= 0x20 || cp == 0x9 || cp == 0xa || cp == 0xd) &&
		         cp != 0xfffe && cp != 0xffff;
		if (ok) {
			p += n;
			continue;
		}
		if (buf_append(out, (const char *)run, (size_t)(p - run)))
			return HF_ENOMEM;
		/* A bad byte becomes U+FFFD; a forbidden character goes. */
		if (n <= 0 && buf_puts(out, "\xef\xbf\xbd"))
			return HF_ENOMEM;
		p += n > 0 ? (size_t)n : 1;
		run = p;
	}
	return buf_append(out, (const char *)run, (size_t)(p - run));
}

int pub_html_text(const char *s, struct buf *out)
{
	struct buf clean = BUF_INIT;
	int rc;

	if (!s)
		return 0;
	rc = pub_xml_clean(s, &clean);
	if (!rc)
		rc = sanitize_escape(buf_str(&clean), clean.len, out);
	buf_free(&clean);
	return rc;
}

int pub_plain(const char *html, size_t max, struct buf *out)
{
	struct buf t = BUF_INIT;
	int cut = 0, rc;

	if (!html)
		return 0;
	rc = norm_text(html, strlen(html), 1, max, &t, &cut);
	if (rc)
		goto out;
	rc = buf_append(out, buf_str(&t), cut ? t.len : norm_more_len(buf_str(&t), t.len));
	if (!rc && cut)
		rc = buf_puts(out, "\xe2\x80\xa6");
out:
	buf_free(&t);
	return rc;
}

int pub_web_url(const char *u)
{
	return u && (!strncasecmp(u, "https://", 8) || !strncasecmp(u, "http://", 7));
}

/* --- months ------------------------------------------------------------ */

int64_t pub_month_start(const struct tz *tz, int64_t ym)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = (int)(ym / 12 - 1900);
	tm.tm_mon = (int)(ym % 12);
	tm.tm_mday = 1;
	return tz ? tz_from_local(tz, &tm, 0) :
	       tz_days_from_civil(ym / 12, (int)(ym % 12) + 1, 1) * 86400;
}

int64_t pub_month_of(const struct tz *tz, int64_t t)
{
	struct tm tm;
	int64_t y, days;
	int m, d;

	if (tz && !tz_to_local(tz, t, &tm))
		return ((int64_t)tm.tm_year + 1900) * 12 + tm.tm_mon;
	days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	tz_civil_from_days(days, &y, &m, &d);
	return y * 12 + m - 1;
}

void pub_month_file(int64_t ym, char out[16])
{
	/* Years of four digits: the store holds no item before 1970 or
	 * after 9999 (feed.h dates). */
	int y = (int)(ym / 12 % 10000);

	snprintf(out, 16, "%04d-%02d", y < 0 ? 0 : y, (int)(ym % 12) + 1);
}

void pub_month_name(int64_t ym, char out[32])
{
	static const char *const names[12] = {
		"januar", "februar", "mars", "april", "mai", "juni", "juli",
		"august", "september", "oktober", "november", "desember",
	};

	snprintf(out, 32, "%s %d", names[ym % 12], (int)(ym / 12 % 10000));
}

/* --- pages with a "made" stamp ----------------------------------------- */

/* The bytes of `s` before the stamp and after it: [0, *a) and [*b, len). */
static void split_made(const char *s, size_t len, size_t *a, size_t *b)
{
	const char *open = memmem(s, len, PUB_MADE_OPEN, strlen(PUB_MADE_OPEN));
	const char *close;

	*a = *b = len;
	if (!open)
		return;
	close = memmem(open, len - (size_t)(open - s), PUB_MADE_CLOSE,
	               strlen(PUB_MADE_CLOSE));
	if (!close)
		return;
	*a = (size_t)(open - s);
	*b = (size_t)(close - s);
}

int pub_write_page(const char *dir, const char *name, const char *data,
                   size_t len, int *changed)
{
	struct buf path = BUF_INIT, old = BUF_INIT;
	char chunk[16384];
	size_t a1, b1, a2, b2;
	ssize_t r;
	int fd = -1, rc;

	if ((rc = buf_printf(&path, "%s/%s", dir, name)))
		goto out;
	fd = open(path.data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	/* A page of twice the new size is no near copy: no need to read it. */
	while (fd >= 0 && old.len <= 2 * len + 1024 &&
	       (r = read(fd, chunk, sizeof chunk)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (rc = buf_append(&old, chunk, (size_t)r)))
			break;
	}
	if (rc)
		goto out;
	if (fd >= 0) {
		split_made(data, len, &a1, &b1);
		split_made(buf_str(&old), old.len, &a2, &b2);
		if (a1 == a2 && len - b1 == old.len - b2 &&
		    !memcmp(data, old.data, a1) &&
		    !memcmp(data + b1, old.data + b2, len - b1)) {
			*changed = 0;
			goto out;
		}
	}
	rc = publish_write_file(dir, name, data, len, changed);
out:
	if (fd >= 0)
		close(fd);
	buf_free(&path);
	buf_free(&old);
	return rc;
}
