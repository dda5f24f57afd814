/*
 * mail.c - build one message, send it over SMTP with libcurl or drop it
 * into a spool directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "helsefeed/util.h"
#include "helsefeed/digest.h"
#include "helsefeed/text.h"

/* libcurl 7.86-8.1 spell the option with three Ls; 8.2 fixed the name
 * and kept the old one as an alias. */
#if LIBCURL_VERSION_NUM < 0x080200
#define HF_MAIL_RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLLOWFAILS
#else
#define HF_MAIL_RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLOWFAILS
#endif

/* A spool file read back to compare its Message-ID: the header block of
 * our own messages is far below this. */
#define SPOOL_HEAD_MAX 8192
/* NAME.eml, NAME-2.eml ... NAME-9.eml: more digests of one group in one
 * minute than this is a bug, not a schedule. */
#define SPOOL_SUFFIX_MAX 9

static const char hex[] = "0123456789ABCDEF";

/* --- header fields ----------------------------------------------------- */

/* Control characters (CR and LF above all) and DEL become spaces, runs of
 * white space one space, both ends trimmed: RFC 5322 2.2 lets nothing
 * else end a field. */
static int clean(const char *s, size_t n, struct buf *out)
{
	int space = 0, rc;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = out->len > 0;
			continue;
		}
		if (space && (rc = buf_putc(out, ' ')))
			return rc;
		space = 0;
		if ((rc = buf_putc(out, (char)c)))
			return rc;
	}
	return HF_OK;
}

static int needs_encoding(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x80 || (p[0] == '=' && p[1] == '?'))
			return 1;
	return 0;
}

/* Bytes since the last CRLF of `out`. */
static size_t column(const struct buf *out)
{
	size_t i = out->len;

	while (i > 0 && out->data[i - 1] != '\n')
		i--;
	return out->len - i;
}

/* Append `n` bytes as one unbreakable token, preceded by a space, folding
 * first (RFC 5322 2.2.3) when the line would grow beyond `limit`. */
static int put_token(struct buf *out, const char *t, size_t n, size_t limit)
{
	int rc;

	if (column(out) + 1 + n > limit && column(out) > 0 &&
	    (rc = buf_append(out, "\r\n", 2)))
		return rc;
	if ((rc = buf_putc(out, ' ')))
		return rc;
	return buf_append(out, t, n);
}

/* RFC 2047 4.1 B encoding, words of at most MAIL_EWORD_MAX characters on
 * lines of at most MAIL_EWORD_LINE_MAX, never splitting a UTF-8
 * character (6.3: each word must be decodable by itself). */
static int put_ewords(struct buf *out, const char *s, size_t n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char pre[] = "=?UTF-8?B?";
	char word[MAIL_EWORD_MAX + 1];
	size_t i = 0;
	int rc;

	while (i < n) {
		size_t col = column(out), room, take, w;

		/* " " + "=?UTF-8?B?" + "?=" around the base64. */
		room = col + 1 + 12 < MAIL_EWORD_LINE_MAX ? MAIL_EWORD_LINE_MAX - col - 1 - 12 : 0;
		if (room < 8 && col > 0) {
			if ((rc = buf_append(out, "\r\n", 2)))
				return rc;
			continue;
		}
		take = room / 4 * 3;
		if (take > n - i)
			take = n - i;
		while (take > 0 && i + take < n && ((unsigned char)s[i + take] & 0xc0) == 0x80)
			take--;
		if (take == 0)
			take = 1; /* invalid UTF-8 run longer than a word: cut */
		memcpy(word, pre, sizeof pre - 1);
		w = sizeof pre - 1;
		for (size_t j = 0; j < take; j += 3) {
			unsigned v = (unsigned char)s[i + j] << 16;
			size_t k = take - j;
			if (k > 1)
				v |= (unsigned char)s[i + j + 1] << 8;
			if (k > 2)
				v |= (unsigned char)s[i + j + 2];
			word[w++] = b64[v >> 18 & 63];
			word[w++] = b64[v >> 12 & 63];
			word[w++] = k > 1 ? b64[v >> 6 & 63] : '=';
			word[w++] = k > 2 ? b64[v & 63] : '=';
		}
		word[w++] = '?';
		word[w++] = '=';
		if ((rc = buf_putc(out, ' ')) || (rc = buf_append(out, word, w)))
			return rc;
		i += take;
	}
	return HF_OK;
}

/* Plain text folded at spaces; a word too long for any line is written
 * whole (RFC 5322 2.1.1 allows up to 998). */
static int put_words(struct buf *out, const char *s)
{
	int rc;

	while (*s) {
		size_t n = strcspn(s, " ");
		if (n && (rc = put_token(out, s, n, MAIL_LINE_MAX)))
			return rc;
		s += n;
		s += strspn(s, " ");
	}
	return HF_OK;
}

/* The text of a header body after "Field:": ewords or folded words. */
static int put_text(struct buf *out, const char *s)
{
	return needs_encoding(s) ? put_ewords(out, s, strlen(s)) : put_words(out, s);
}

int mail_encode_header(const char *field, const char *s, struct buf *out)
{
	struct buf c = BUF_INIT, line = BUF_INIT;
	int rc;

	/* Build in a buffer of its own so that column() counts from the
	 * field name, whatever `out` holds already. */
	if ((rc = clean(s, strlen(s), &c)) ||
	    (rc = buf_printf(&line, "%s:", field)) ||
	    (rc = put_text(&line, buf_str(&c))))
		goto out;
	rc = buf_append(out, line.data + strlen(field) + 1, line.len - strlen(field) - 1);
out:
	buf_free(&c);
	buf_free(&line);
	return rc;
}

/* RFC 5322 3.2.3 specials: a display name holding one is quoted. */
static int is_atext_phrase(const char *s)
{
	return s[strcspn(s, "()<>[]:;@\\,.\"")] == '\0';
}

/* Split "Name <addr>" / "addr" into cleaned name (may be empty) and
 * address. */
static int split_addr(const char *from, struct buf *name, struct buf *addr)
{
	const char *lt = strrchr(from, '<'), *gt;
	int rc;

	if (!lt)
		return clean(from, strlen(from), addr);
	gt = strchr(lt, '>');
	if ((rc = clean(from, (size_t)(lt - from), name)))
		return rc;
	return clean(lt + 1, gt ? (size_t)(gt - lt - 1) : strlen(lt + 1), addr);
}

/* "Field: Name <addr>" with the name as atoms, quoted-string or ewords. */
static int put_mailbox(struct buf *line, const char *mailbox)
{
	struct buf name = BUF_INIT, addr = BUF_INIT, t = BUF_INIT;
	int rc;

	if ((rc = split_addr(mailbox, &name, &addr)))
		goto out;
	if (!addr.len || !strchr(buf_str(&addr), '@')) {
		rc = HF_EINVAL;
		goto out;
	}
	if (name.len) {
		if (needs_encoding(buf_str(&name))) {
			rc = put_ewords(line, name.data, name.len);
		} else if (is_atext_phrase(buf_str(&name))) {
			rc = put_words(line, buf_str(&name));
		} else {
			rc = buf_putc(&t, '"');
			for (size_t i = 0; !rc && i < name.len; i++) {
				if (name.data[i] == '"' || name.data[i] == '\\')
					rc = buf_putc(&t, '\\');
				if (!rc)
					rc = buf_putc(&t, name.data[i]);
			}
			if (!rc && !(rc = buf_putc(&t, '"')))
				rc = put_token(line, t.data, t.len, MAIL_LINE_MAX);
		}
		if (rc)
			goto out;
		buf_clear(&t);
		rc = buf_printf(&t, "<%s>", addr.data);
	} else {
		rc = buf_printf(&t, "%s", addr.data);
	}
	if (!rc)
		rc = put_token(line, t.data, t.len, MAIL_LINE_MAX);
out:
	buf_free(&name);
	buf_free(&addr);
	buf_free(&t);
	return rc;
}

void mail_date(int64_t t, long utc_offset, char out[MAIL_DATE_MAX])
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t local = (time_t)(t + utc_offset);
	long off = utc_offset < 0 ? -utc_offset : utc_offset;
	struct tm tm;

	if (!gmtime_r(&local, &tm)) {
		snprintf(out, MAIL_DATE_MAX, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(out, MAIL_DATE_MAX, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday],
	         tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	         tm.tm_sec, utc_offset < 0 ? '-' : '+', off / 3600 % 100, off / 60 % 60);
}

void mail_fields_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

enum field_id {
	F_FROM, F_TO, F_SUBJECT, F_DATE, F_MESSAGE_ID, F_AUTO, F_LIST_ID, F_LIST_UNSUB,
	F__COUNT
};

int mail_fields(const struct mail *m, char ***out, size_t *n)
{
	static const char *const names[F__COUNT] = {
		[F_FROM] = "From", [F_TO] = "To", [F_SUBJECT] = "Subject",
		[F_DATE] = "Date", [F_MESSAGE_ID] = "Message-ID",
		/* RFC 3834 5: no vacation responder answers a digest. */
		[F_AUTO] = "Auto-Submitted",
		/* RFC 2919 and RFC 2369: which list, and how to leave it. */
		[F_LIST_ID] = "List-Id", [F_LIST_UNSUB] = "List-Unsubscribe",
	};
	char **v = NULL, date[MAIL_DATE_MAX];
	struct buf line = BUF_INIT, t = BUF_INIT;
	size_t k = 0;
	int rc = HF_OK;

	if (!m->nto || !m->from || !m->message_id)
		return HF_EINVAL;
	if (!(v = calloc(F__COUNT, sizeof *v)))
		return HF_ENOMEM;
	for (int f = 0; f < F__COUNT; f++) {
		if ((f == F_LIST_ID && !m->list_id) || (f == F_LIST_UNSUB && !m->list_unsubscribe))
			continue;
		buf_clear(&line);
		if ((rc = buf_printf(&line, "%s:", names[f])))
			goto out;
		switch (f) {
		case F_FROM:
			rc = put_mailbox(&line, m->from);
			break;
		case F_TO:
			if (m->to_header) {
				rc = put_mailbox(&line, m->to_header);
				break;
			}
			for (size_t i = 0; !rc && i < m->nto; i++) {
				buf_clear(&t);
				if (!(rc = clean(m->to[i], strlen(m->to[i]), &t)) &&
				    !(rc = t.len && strchr(t.data, '@') ? 0 : HF_EINVAL) &&
				    !(rc = i + 1 < m->nto ? buf_putc(&t, ',') : 0))
					rc = put_token(&line, t.data, t.len, MAIL_LINE_MAX);
			}
			break;
		case F_SUBJECT:
			buf_clear(&t);
			if (!(rc = clean(m->subject ? m->subject : "", strlen(m->subject ? m->subject : ""), &t)))
				rc = put_text(&line, buf_str(&t));
			break;
		case F_DATE:
			mail_date(m->date, m->utc_offset, date);
			rc = put_token(&line, date, strlen(date), MAIL_LINE_MAX);
			break;
		case F_MESSAGE_ID:
			buf_clear(&t);
			if (!(rc = clean(m->message_id, strlen(m->message_id), &t)))
				rc = put_token(&line, t.data, t.len, 998);
			break;
		case F_AUTO:
			rc = buf_puts(&line, " auto-generated");
			break;
		case F_LIST_ID:
		case F_LIST_UNSUB:
			/* ASCII by construction (digest.c); cleaned all the same. */
			buf_clear(&t);
			if (!(rc = clean(f == F_LIST_ID ? m->list_id : m->list_unsubscribe,
			                 strlen(f == F_LIST_ID ? m->list_id : m->list_unsubscribe), &t)))
				rc = put_token(&line, t.data, t.len, 998);
			break;
		}
		if (rc || !(v[k++] = buf_detach(&line))) {
			rc = rc ? rc : HF_ENOMEM;
			goto out;
		}
	}
	*out = v;
	*n = k;
	v = NULL;
out:
	mail_fields_free(v, F__COUNT);
	buf_free(&line);
	buf_free(&t);
	return rc;
}

/* --- body -------------------------------------------------------------- */

int mail_qp_encode(const char *s, size_t len, struct buf *out)
{
	size_t col = 0;
	int rc;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char tok[3];
		size_t n = 1;

		if (c == '\n' || (c == '\r' && i + 1 < len && s[i + 1] == '\n')) {
			/* A hard line break (RFC 2045 6.7 rule 4); a bare LF is
			 * taken as one too. */
			if (c == '\r')
				i++;
			if ((rc = buf_append(out, "\r\n", 2)))
				return rc;
			col = 0;
			continue;
		}
		/* Rule 3: white space at the end of a line is encoded. */
		int eol = i + 1 == len || s[i + 1] == '\n' || s[i + 1] == '\r';
		if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !eol)) {
			tok[0] = (char)c;
		} else {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			n = 3;
		}
		/* Rule 5: at most 76 characters, the soft break's '=' included. */
		if (col + n > 75) {
			if ((rc = buf_append(out, "=\r\n", 3)))
				return rc;
			col = 0;
		}
		if ((rc = buf_append(out, tok, n)))
			return rc;
		col += n;
	}
	return HF_OK;
}

int mail_render(const struct mail *m, struct buf *out)
{
	char **f = NULL, boundary[32];
	size_t nf = 0;
	uint64_t h;
	int rc;

	if ((rc = mail_fields(m, &f, &nf)))
		return rc;
	/* "=_" never occurs in quoted-printable text (RFC 2045 6.7: '=' is
	 * followed by two hex digits or a line break), so this boundary
	 * cannot occur in either part (RFC 2046 5.1.1).  Derived from the
	 * Message-ID: a re-render of one message is the same bytes. */
	h = norm_fnv1a(NORM_FNV_INIT, m->message_id, strlen(m->message_id));
	snprintf(boundary, sizeof boundary, "=_hf_%016llx", (unsigned long long)h);
	for (size_t i = 0; i < nf; i++)
		if ((rc = buf_printf(out, "%s\r\n", f[i])))
			goto out;
	if ((rc = buf_printf(out, "MIME-Version: 1.0\r\n"
	                          "Content-Type: multipart/alternative;\r\n"
	                          " boundary=\"%s\"\r\n\r\n", boundary)))
		goto out;
	const char *const bodies[2][2] = {{"text/plain", m->text}, {"text/html", m->html}};
	for (int p = 0; p < 2; p++) {
		const char *b = bodies[p][1] ? bodies[p][1] : "";
		if ((rc = buf_printf(out, "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
		                          "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
		                     boundary, bodies[p][0])) ||
		    (rc = mail_qp_encode(b, strlen(b), out)) ||
		    (rc = buf_append(out, "\r\n", 2)))
			goto out;
	}
	rc = buf_printf(out, "--%s--\r\n", boundary);
out:
	mail_fields_free(f, nf);
	return rc;
}

int mail_message_id(const char *prefix, const char *from, struct buf *out)
{
	struct buf name = BUF_INIT, addr = BUF_INIT;
	unsigned char rnd[8];
	const char *at;
	size_t got = 0;
	int rc;

	while (got < sizeof rnd) {
		ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_error("getrandom: %s", strerror(errno));
			return HF_EIO;
		}
		got += (size_t)r;
	}
	if ((rc = split_addr(from ? from : "", &name, &addr)))
		goto out;
	at = strrchr(buf_str(&addr), '@');
	if ((rc = buf_printf(out, "<%s.", prefix)))
		goto out;
	for (size_t i = 0; i < sizeof rnd && !rc; i++)
		rc = buf_printf(out, "%02x", rnd[i]);
	if (!rc)
		rc = buf_printf(out, "@%s>", at && at[1] ? at + 1 : "localhost");
out:
	buf_free(&name);
	buf_free(&addr);
	return rc;
}

/* --- SMTP -------------------------------------------------------------- */

/* What the debug callback learns from the dialogue (RFC 5321 4.2): the
 * recipient of each RCPT TO and the last reply of the server. */
struct dialogue {
	char rcpt[256];
	char reply[256];
	int in_rcpt;
	int code;                  /* of the last reply */
	const struct mail *m;
	struct mail_outcome *res;  /* may be NULL */
};

/* The watchdog's hook (mail_set_progress). */
static void (*progress_fn)(void *);
static void *progress_ud;

void mail_set_progress(void (*fn)(void *ud), void *ud)
{
	progress_fn = fn;
	progress_ud = ud;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)ud, (void)dt, (void)dn, (void)ut, (void)un;
	if (progress_fn)
		progress_fn(progress_ud);
	return 0;
}

/* The reply `code` of the RCPT TO for `addr` ("<a@b>") into the outcome. */
static void note_rcpt(struct dialogue *d, int code)
{
	size_t n = strlen(d->rcpt);
	const char *a = d->rcpt;

	if (!d->res || !d->res->rcpt)
		return;
	if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
		a++;
		n -= 2;
	}
	for (size_t i = 0; i < d->m->nto; i++)
		if (strlen(d->m->to[i]) == n && strncasecmp(d->m->to[i], a, n) == 0) {
			d->res->rcpt[i].code = code;
			snprintf(d->res->rcpt[i].text, sizeof d->res->rcpt[i].text, "%.*s",
			         (int)sizeof d->res->rcpt[i].text - 1, d->reply);
		}
}

static void copy_line(char *dst, size_t cap, const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < cap && s[i] != '\r' && s[i] != '\n'; i++)
		dst[k++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
	dst[k] = '\0';
}

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
	struct dialogue *d = ud;

	(void)h;
	if (type == CURLINFO_HEADER_OUT) {
		d->in_rcpt = size > 8 && strncmp(data, "RCPT TO:", 8) == 0;
		if (d->in_rcpt)
			copy_line(d->rcpt, sizeof d->rcpt, data + 8, size - 8);
	} else if (type == CURLINFO_HEADER_IN) {
		copy_line(d->reply, sizeof d->reply, data, size);
		if (size >= 3 && data[0] >= '2' && data[0] <= '5' && data[1] >= '0' &&
		    data[1] <= '9' && data[2] >= '0' && data[2] <= '9')
			d->code = (data[0] - '0') * 100 + (data[1] - '0') * 10 + (data[2] - '0');
		if (d->in_rcpt)
			note_rcpt(d, d->code);
		/* With RCPT_ALLOWFAILS curl goes on after a refusal: say who
		 * will not get the digest. */
		if (d->in_rcpt && (data[0] == '4' || data[0] == '5'))
			log_warn("smtp: recipient %s refused: %s", d->rcpt, d->reply);
		d->in_rcpt = 0;
	}
	return 0;
}

/* The first line of the password file, its line end stripped. */
static int read_password(const char *path, char *pw, size_t cap)
{
	FILE *f = fopen(path, "re");
	int rc = HF_OK;

	if (!f) {
		log_error("%s: cannot open password file: %s", path, strerror(errno));
		return HF_EIO;
	}
	if (!fgets(pw, (int)cap, f)) {
		pw[0] = '\0';
		if (ferror(f)) {
			log_error("%s: cannot read password file: %s", path, strerror(errno));
			rc = HF_EIO;
		}
	}
	fclose(f);
	pw[strcspn(pw, "\r\n")] = '\0';
	return rc;
}

static int reason(struct buf *why, const char *fmt, ...) HF_PRINTF(2, 3);
static int reason(struct buf *why, const char *fmt, ...)
{
	va_list ap;
	int rc = HF_OK;

	if (why) {
		buf_clear(why);
		va_start(ap, fmt);
		rc = buf_vprintf(why, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* CURLOPT_READFUNCTION: the rendered message, as it is.  curl does the
 * SMTP part of the framing (RFC 5321 4.5.2 dot-stuffing and the final
 * ".") and nothing else. */
struct upload {
	const char *p;
	size_t left;
};

static size_t on_read(char *out, size_t size, size_t n, void *ud)
{
	struct upload *up = ud;
	size_t k = size * n < up->left ? size * n : up->left;

	memcpy(out, up->p, k);
	up->p += k;
	up->left -= k;
	return k;
}

int mail_send(const struct config_smtp *smtp, const struct mail *m,
              struct mail_outcome *res, struct buf *why)
{
	CURL *h = NULL;
	struct curl_slist *rcpt = NULL, *l;
	struct buf name = BUF_INIT, addr = BUF_INIT, t = BUF_INIT, msg = BUF_INIT;
	struct dialogue d = {.m = m, .res = res};
	struct upload up;
	char errbuf[CURL_ERROR_SIZE] = "", pw[MAIL_PASSWORD_MAX] = "";
	CURLcode cc;
	int rc;

	if (!smtp->present || !smtp->url || !smtp->from)
		return HF_EINVAL;
	if (res) {
		res->code = 0;
		for (size_t i = 0; res->rcpt && i < m->nto; i++)
			res->rcpt[i] = (struct mail_reply){0};
	}
	/* The very bytes the spool would get: one builder. */
	if ((rc = mail_render(m, &msg)) ||
	    (rc = split_addr(smtp->from, &name, &addr)) ||
	    (rc = buf_printf(&t, "<%s>", buf_str(&addr))))
		goto out;
	if (smtp->username && smtp->password_file &&
	    (rc = read_password(smtp->password_file, pw, sizeof pw)))
		goto out;
	rc = HF_ENOMEM;
	if (!(h = curl_easy_init()))
		goto out;
	for (size_t i = 0; i < m->nto; i++) {
		buf_clear(&name);
		if (buf_putc(&name, '<') || clean(m->to[i], strlen(m->to[i]), &name) ||
		    buf_putc(&name, '>') || !(l = curl_slist_append(rcpt, name.data)))
			goto out;
		rcpt = l;
	}
	up = (struct upload){msg.data, msg.len};
	cc = CURLE_OK;
#define SET(o, v) (cc = cc ? cc : curl_easy_setopt(h, o, v))
	SET(CURLOPT_URL, smtp->url);
	SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_TIMEOUT, (long)smtp->timeout);
	SET(CURLOPT_MAIL_FROM, t.data);
	SET(CURLOPT_MAIL_RCPT, rcpt);
	SET(HF_MAIL_RCPT_ALLOWFAILS, 1L);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_READFUNCTION, on_read);
	SET(CURLOPT_READDATA, &up);
	SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg.len);
	SET(CURLOPT_DEBUGFUNCTION, on_debug);
	SET(CURLOPT_DEBUGDATA, &d);
	SET(CURLOPT_VERBOSE, 1L);
	/* A slow server must not starve the watchdog (daemon.c). */
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_NOPROGRESS, 0L);
	/* smtps:// is TLS from the first byte; on smtp:// STARTTLS is
	 * required or tried as configured (RFC 3207). */
	if (strncmp(smtp->url, "smtps:", 6) != 0)
		SET(CURLOPT_USE_SSL, smtp->starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
	if (smtp->username) {
		SET(CURLOPT_USERNAME, smtp->username);
		SET(CURLOPT_PASSWORD, pw);
	}
#undef SET
	if (cc) {
		rc = HF_EINVAL;
		(void)reason(why, "smtp: cannot set up the transfer: %s", curl_easy_strerror(cc));
		goto out;
	}
	cc = curl_easy_perform(h);
	if (res)
		res->code = d.code;
	if (cc != CURLE_OK) {
		/* The server's own words say more than curl's summary. */
		const char *txt = d.reply[0] && (d.reply[0] == '4' || d.reply[0] == '5')
		                  ? d.reply : (errbuf[0] ? errbuf : curl_easy_strerror(cc));
		if ((rc = reason(why, "%s: %s", smtp->url, txt)) == 0)
			rc = HF_ENET;
		goto out;
	}
	rc = HF_OK;
out:
	explicit_bzero(pw, sizeof pw);
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	buf_free(&name);
	buf_free(&addr);
	buf_free(&t);
	buf_free(&msg);
	return rc;
}

/* --- spool ------------------------------------------------------------- */

/* 1 when the file at `path` is absent or is the message `message_id`. */
static int spool_slot_ours(const char *path, const char *message_id)
{
	char head[SPOOL_HEAD_MAX + 1];
	char needle[512];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT;
	n = fread(head, 1, SPOOL_HEAD_MAX, f);
	fclose(f);
	head[n] = '\0';
	snprintf(needle, sizeof needle, "\nMessage-ID: %s\r\n", message_id);
	return strstr(head, needle) != NULL;
}

int mail_spool(const char *dir, const char *name, const char *message_id,
               const struct buf *msg, struct buf *path)
{
	struct buf final = BUF_INIT;
	struct fs_atomic w;
	const char *file;
	int rc, k;

	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		log_error("%s: cannot create spool directory: %s", dir, strerror(errno));
		return HF_EIO;
	}
	for (k = 1; k <= SPOOL_SUFFIX_MAX; k++) {
		buf_clear(&final);
		if ((rc = k == 1 ? buf_printf(&final, "%s/%s.eml", dir, name)
		                 : buf_printf(&final, "%s/%s-%d.eml", dir, name, k)))
			goto out;
		if (spool_slot_ours(final.data, message_id))
			break;
	}
	if (k > SPOOL_SUFFIX_MAX) {
		log_error("%s/%s.eml: %d files of that name already", dir, name, SPOOL_SUFFIX_MAX);
		rc = HF_EIO;
		goto out;
	}
	/* The spool reader takes no dot file (fs_atomic). */
	file = final.data + strlen(dir) + 1;
	if ((rc = fs_atomic_open(&w, dir, file, 0640)))
		goto out;
	if ((rc = fs_atomic_write(&w, buf_str(msg), msg->len))) {
		fs_atomic_abort(&w);
		goto out;
	}
	if ((rc = fs_atomic_commit(&w, file)) ||
	    (rc = fs_sync_dir(dir)))
		goto out;
	rc = path ? buf_puts(path, final.data) : HF_OK;
out:
	buf_free(&final);
	return rc;
}
