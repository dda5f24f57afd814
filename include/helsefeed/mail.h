/*
 * mail.h - one e-mail message: its header fields, its two bodies, and the
 * two ways it leaves: SMTP through libcurl, or an .eml file in a spool
 * directory.
 *
 * A message is a multipart/alternative (RFC 2046 5.1.4) of a text/plain
 * and a text/html part, both UTF-8 in quoted-printable (RFC 2045 6.7).
 * Header fields follow RFC 5322; text outside ASCII is written as RFC 2047
 * encoded-words of at most 75 characters, lines folded before 78.
 *
 * Untrusted data: subject, bodies and display names may come from feeds.
 * Every character below U+0020 and DEL is replaced by a space before a
 * string goes into a header field, so no feed can end a field or add one
 * (RFC 5322 2.2).  Addresses come from feeds.conf, where config checked
 * them, and are control-stripped as well.
 *
 * SMTP and the spool carry the same bytes: mail_render() is the one
 * builder of a message.  The spool and --dry-run write what it returns;
 * mail_send() uploads it as it is, and curl adds only SMTP's framing
 * (RFC 5321 4.5.2: a leading "." doubled, the final "." line), which the
 * receiving server takes off again.
 */
#ifndef HELSEFEED_MAIL_H
#define HELSEFEED_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "helsefeed/buf.h"
#include "helsefeed/config.h"
#include "helsefeed/err.h"

/* RFC 5322 2.1.1: lines SHOULD stay within 78 characters; RFC 2047 2:
 * an encoded-word at most 75, a line holding one at most 76. */
#define MAIL_LINE_MAX 78
#define MAIL_EWORD_MAX 75
#define MAIL_EWORD_LINE_MAX 76
/* A password file holds one line; more than this is not a password. */
#define MAIL_PASSWORD_MAX 1024

/* One message.  All strings are borrowed and UTF-8. */
struct mail {
	const char *from;              /* "Name <addr>" or "addr" */
	const char *const *to;         /* addresses: the envelope, and the To
	                                  field unless to_header is set */
	size_t nto;
	const char *to_header;         /* NULL, or the one mailbox of To ("Name
	                                  <list@addr>"): the recipients are
	                                  then in the envelope only */
	const char *list_id;           /* NULL, or List-Id's value, ASCII */
	const char *list_unsubscribe;  /* NULL, or "<mailto:...>", ASCII */
	const char *subject;
	int64_t date;                  /* UTC seconds */
	long utc_offset;               /* seconds east of UTC, for Date */
	const char *message_id;        /* "<...@...>", angle brackets included */
	const char *text;              /* text/plain body, lines end in CRLF */
	const char *html;              /* text/html body */
};

/*
 * The header fields of `m` (From, To, Subject, Date, Message-ID,
 * Auto-Submitted, and List-Id, List-Unsubscribe when set), each a complete, possibly folded field without the
 * final CRLF, as one string per field in *out (the caller's,
 * mail_fields_free).  MIME-Version and Content-Type are not included:
 * they belong to the MIME structure.  Returns 0, HF_EINVAL (no recipient,
 * no From address), HF_ENOMEM.
 */
int mail_fields(const struct mail *m, char ***out, size_t *n) HF_WUR;
void mail_fields_free(char **v, size_t n);

/*
 * Append the complete RFC 5322 message (CRLF line ends) to `out`: the
 * fields of mail_fields, MIME-Version, the multipart/alternative with a
 * boundary derived from the Message-ID, both parts quoted-printable.
 * Returns 0, HF_EINVAL, HF_ENOMEM.
 */
int mail_render(const struct mail *m, struct buf *out) HF_WUR;

/* What the server answered: its last reply, and per envelope recipient
 * (m->to[i]) the reply to RCPT TO. */
#define MAIL_REPLY_MAX 200
struct mail_reply {
	int code;                      /* 250, 4xx, 5xx; 0: not asked */
	char text[MAIL_REPLY_MAX];     /* the server's line, for status */
};
struct mail_outcome {
	int code;                      /* last reply code; 0: none (no
	                                  connection, time-out) */
	struct mail_reply *rcpt;       /* m->nto entries, the caller's; or NULL */
};

/*
 * Send `m`, rendered by mail_render(), through the server of `smtp` with
 * libcurl: smtp:// with STARTTLS (required or opportunistic, as
 * configured) or smtps://, AUTH with username and the first line of
 * password_file when a username is set, smtp->timeout for the whole
 * transaction.  A recipient the server refuses is logged and skipped
 * (CURLOPT_MAIL_RCPT_ALLOWFAILS) as long as one is accepted; `res` (may
 * be NULL) tells which, and with what reply.  Success means the server
 * answered 250 to the end of DATA (RFC 5321 4.1.1.4): only then is 0
 * returned.  On failure a one-line reason is put into `why` (may be
 * NULL), res->code is the reply that ended it (5xx: refused for good),
 * and HF_ENET (transfer or SMTP reply), HF_EIO (password file),
 * HF_EINVAL or HF_ENOMEM is returned.
 */
int mail_send(const struct config_smtp *smtp, const struct mail *m,
              struct mail_outcome *res, struct buf *why) HF_WUR;

/* Call `fn(ud)` from libcurl's progress callback during every transfer
 * of mail_send (NULL: none): the daemon pings its watchdog there.  One
 * hook per process, as there is one loop. */
void mail_set_progress(void (*fn)(void *ud), void *ud);

/*
 * Write the rendered message `msg` to DIR/NAME.eml atomically: a
 * temporary file in DIR, fsync, rename, fsync of DIR.  DIR is created
 * (mode 0750) when missing.  When DIR/NAME.eml exists and holds another
 * message (its Message-ID differs from `message_id`), NAME-2.eml, -3 ...
 * are tried: a re-delivery of the same message replaces its file, a
 * different one never does.  The path written is appended to `path`
 * (may be NULL).  Returns 0, HF_EIO (message logged), HF_ENOMEM.
 */
int mail_spool(const char *dir, const char *name, const char *message_id,
               const struct buf *msg, struct buf *path) HF_WUR;

/*
 * Encode `s` as the body of a header field named `field` (for the length
 * of the first line), appending to `out`: control characters replaced by
 * spaces, then plain ASCII folded at spaces, or else RFC 2047 B
 * encoded-words split at character boundaries, one per line.
 * Returns 0, HF_ENOMEM.
 */
int mail_encode_header(const char *field, const char *s, struct buf *out) HF_WUR;

/*
 * Append "<PREFIX.RANDOM@DOMAIN>" to `out`, RANDOM 16 hex digits from
 * getrandom(2), DOMAIN the domain of address `from` ("Name <a@b>" or
 * "a@b"); "localhost" when it has none.  Returns 0, HF_EIO, HF_ENOMEM.
 */
int mail_message_id(const char *prefix, const char *from, struct buf *out) HF_WUR;

/* RFC 5322 3.3 date-time, "Mon, 23 May 2022 10:00:00 +0200", of UTC
 * seconds `t` shown at `utc_offset` seconds east: into out[MAIL_DATE_MAX]. */
#define MAIL_DATE_MAX 64
void mail_date(int64_t t, long utc_offset, char out[MAIL_DATE_MAX]);

/* Append `len` bytes as quoted-printable (RFC 2045 6.7): CRLF kept as
 * hard line breaks, lines of at most 76 characters with soft breaks,
 * '=', non-ASCII and trailing white space encoded.  Returns 0, HF_ENOMEM. */
int mail_qp_encode(const char *s, size_t len, struct buf *out) HF_WUR;

#endif
