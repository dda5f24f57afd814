/* test_mail.c - message building, header encoding, spool, SMTP failures,
 * and SMTP and the spool carrying the same bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>

#include "helsefeed/util.h"
#include "helsefeed/digest.h"

/* --- decoders, written independently of the encoders ------------------- */

static int b64val(int c)
{
	const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(tab, c) : NULL;
	return p ? (int)(p - tab) : -1;
}

/* Unfold a header body and decode its encoded-words (RFC 2047 6.2: white
 * space between two adjacent encoded-words is dropped). */
static void decode_header(const char *s, struct buf *out)
{
	int prev_ew = 0;

	while (*s) {
		if (s[0] == '\r' && s[1] == '\n') {
			assert_true(s[2] == ' ' || s[2] == '\t'); /* folding only */
			s += 2;
			continue;
		}
		if (strncmp(s, "=?UTF-8?B?", 10) == 0) {
			const char *e = strstr(s + 10, "?=");
			unsigned v = 0;
			int bits = 0;
			assert_non_null(e);
			assert_true(e + 2 - s <= MAIL_EWORD_MAX);
			/* drop the single space we emitted between words */
			if (prev_ew && out->len && out->data[out->len - 1] == ' ')
				out->data[--out->len] = '\0';
			for (const char *p = s + 10; p < e; p++) {
				if (*p == '=')
					break;
				v = v << 6 | (unsigned)b64val(*p);
				bits += 6;
				if (bits >= 8) {
					bits -= 8;
					assert_int_equal(buf_putc(out, (char)(v >> bits & 0xff)), 0);
				}
			}
			s = e + 2;
			prev_ew = 1;
			continue;
		}
		if (*s != ' ')
			prev_ew = 0;
		assert_int_equal(buf_putc(out, *s++), 0);
	}
}

static void qp_decode(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
		} else if (s[i] == '=') {
			unsigned v;
			assert_true(i + 2 < n);
			assert_int_equal(sscanf(s + i + 1, "%2X", &v), 1);
			assert_int_equal(buf_putc(out, (char)v), 0);
			i += 2;
		} else {
			assert_int_equal(buf_putc(out, s[i]), 0);
		}
	}
}

static void assert_lines_within(const char *s, size_t max)
{
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "\r\n");
		assert_true(n <= max);
		p += n;
		if (*p == '\r') {
			assert_int_equal(p[1], '\n');
			p += 2;
		} else if (*p == '\n') {
			fail_msg("bare LF");
		}
	}
}

/* --- headers ----------------------------------------------------------- */

static void test_header_ascii_unchanged(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;
	assert_int_equal(mail_encode_header("Subject", "Helsenytt 23.05.2022: 4 nye saker", &b), 0);
	assert_string_equal(buf_str(&b), " Helsenytt 23.05.2022: 4 nye saker");
	buf_free(&b);
}

static void test_header_norwegian_roundtrips_in_short_words(void **state)
{
	const char *s = "Nytt fra Helse- og omsorgsdepartementet – Sjukehus i Nord-Norge får "
	                "ny ambulansebåt, og Helsedirektoratet lærer av æøå ÆØÅ";
	struct buf b = BUF_INIT, d = BUF_INIT, line = BUF_INIT;
	(void)state;

	assert_int_equal(mail_encode_header("Subject", s, &b), 0);
	assert_int_equal(buf_printf(&line, "Subject:%s", buf_str(&b)), 0);
	assert_lines_within(line.data, MAIL_EWORD_LINE_MAX);
	for (const char *p = b.data; *p; p++)
		assert_true((unsigned char)*p < 0x80);
	decode_header(b.data + 1, &d);
	assert_string_equal(buf_str(&d), s);
	buf_free(&b);
	buf_free(&d);
	buf_free(&line);
}

static void test_header_crlf_from_feed_cannot_add_a_field(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;

	assert_int_equal(mail_encode_header("Subject", "Hei\r\nBcc: evil@example.com\n\rX", &b), 0);
	/* Only folding CRLFs remain, each followed by white space. */
	for (const char *p = strchr(b.data, '\r'); p; p = strchr(p + 1, '\r'))
		assert_true(p[1] == '\n' && p[2] == ' ');
	assert_string_equal(buf_str(&b), " Hei Bcc: evil@example.com X");
	buf_free(&b);
}

static void test_header_encoded_word_lookalike_is_encoded(void **state)
{
	struct buf b = BUF_INIT, d = BUF_INIT;
	(void)state;
	assert_int_equal(mail_encode_header("Subject", "=?UTF-8?B?Zm9v?=", &b), 0);
	assert_non_null(strstr(b.data, "=?UTF-8?B?PT9"));
	decode_header(b.data + 1, &d);
	assert_string_equal(d.data, "=?UTF-8?B?Zm9v?=");
	buf_free(&b);
	buf_free(&d);
}

static void test_header_long_ascii_is_folded(void **state)
{
	struct buf b = BUF_INIT, line = BUF_INIT;
	(void)state;
	assert_int_equal(mail_encode_header("Subject",
	        "one two three four five six seven eight nine ten eleven twelve thirteen "
	        "fourteen fifteen sixteen seventeen eighteen nineteen twenty", &b), 0);
	assert_non_null(strstr(b.data, "\r\n "));
	assert_int_equal(buf_printf(&line, "Subject:%s", b.data), 0);
	assert_lines_within(line.data, MAIL_LINE_MAX);
	buf_free(&b);
	buf_free(&line);
}

static const char *const to2[] = {"presse@example.no", "vakt@example.no"};

static struct mail sample(void)
{
	return (struct mail){
		.from = "Helsenytt Sør <helsenytt@example.no>",
		.to = to2,
		.nto = 2,
		.subject = "Nytt fra Helse- og omsorgsdepartementet – 23.05.2022",
		.date = 1653292800, /* 2022-05-23T08:00:00Z */
		.utc_offset = 7200,
		.message_id = "<digest.presse.1653206400.0011223344556677@example.no>",
		.text = "Hei på deg\r\nLinje to = mer \r\n.en linje med punktum\r\n",
		.html = "<p>Hei på deg</p>\n",
	};
}

static void test_fields_of_a_digest(void **state)
{
	struct mail m = sample();
	char **f = NULL;
	size_t n = 0;
	struct buf d = BUF_INIT;
	(void)state;

	assert_int_equal(mail_fields(&m, &f, &n), 0);
	assert_int_equal(n, 6);
	assert_true(strncmp(f[0], "From: =?UTF-8?B?", 16) == 0);
	assert_non_null(strstr(f[0], " <helsenytt@example.no>"));
	decode_header(f[0] + 5, &d);
	assert_string_equal(d.data, " Helsenytt Sør <helsenytt@example.no>");
	assert_string_equal(f[1], "To: presse@example.no, vakt@example.no");
	assert_string_equal(f[3], "Date: Mon, 23 May 2022 10:00:00 +0200");
	assert_string_equal(f[4], "Message-ID: <digest.presse.1653206400.0011223344556677@example.no>");
	assert_string_equal(f[5], "Auto-Submitted: auto-generated");
	mail_fields_free(f, n);
	buf_free(&d);
}

/* To: the list, the recipients in the envelope only; List-Id and
 * List-Unsubscribe (RFC 2919, RFC 2369) with a feed's CR/LF made
 * harmless as everywhere. */
static void test_fields_of_a_list_message(void **state)
{
	struct mail m = sample();
	char **f = NULL, *all;
	size_t n = 0;
	struct buf b = BUF_INIT;
	(void)state;

	m.to_header = "Pressevakta <helsenytt@example.no>";
	m.list_id = "presse <presse.example.no>";
	m.list_unsubscribe = "<mailto:red@example.no?subject=Avmelding%20presse>\r\nBcc: x@y";
	assert_int_equal(mail_fields(&m, &f, &n), 0);
	assert_int_equal(n, 8);
	assert_string_equal(f[1], "To: Pressevakta <helsenytt@example.no>");
	assert_string_equal(f[6], "List-Id: presse <presse.example.no>");
	assert_null(strchr(f[7], '\r'));
	assert_null(strchr(f[7], '\n'));
	assert_true(strncmp(f[7], "List-Unsubscribe: <mailto:red@example.no?subject=",
	                    strlen("List-Unsubscribe: <mailto:red@example.no?subject=")) == 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf_printf(&b, "%s\n", f[i]), 0);
	all = b.data;
	assert_null(strstr(all, "presse@example.no"));
	assert_null(strstr(all, "vakt@example.no"));
	mail_fields_free(f, n);
	buf_free(&b);
}

static void test_fields_quote_specials_in_display_name(void **state)
{
	struct mail m = sample();
	char **f = NULL;
	size_t n = 0;
	(void)state;
	m.from = "Helse, \"Nord\" <a@example.no>";
	assert_int_equal(mail_fields(&m, &f, &n), 0);
	assert_string_equal(f[0], "From: \"Helse, \\\"Nord\\\"\" <a@example.no>");
	mail_fields_free(f, n);
}

static void test_fields_need_recipient(void **state)
{
	struct mail m = sample();
	char **f = NULL;
	size_t n = 0;
	(void)state;
	m.nto = 0;
	assert_int_equal(mail_fields(&m, &f, &n), HF_EINVAL);
	assert_null(f);
}

static void test_fields_many_recipients_are_folded(void **state)
{
	const char *to[12];
	char addr[12][32];
	struct mail m = sample();
	char **f = NULL;
	size_t n = 0;
	(void)state;
	for (int i = 0; i < 12; i++) {
		snprintf(addr[i], sizeof addr[i], "mottaker%02d@example.no", i);
		to[i] = addr[i];
	}
	m.to = to;
	m.nto = 12;
	assert_int_equal(mail_fields(&m, &f, &n), 0);
	assert_lines_within(f[1], MAIL_LINE_MAX);
	for (int i = 0; i < 12; i++)
		assert_non_null(strstr(f[1], addr[i]));
	mail_fields_free(f, n);
}

static void test_date_offsets(void **state)
{
	char d[MAIL_DATE_MAX];
	(void)state;
	mail_date(1743296400, 7200, d); /* 2025-03-30T01:00:00Z */
	assert_string_equal(d, "Sun, 30 Mar 2025 03:00:00 +0200");
	mail_date(1761444000, 3600, d); /* 2025-10-26T02:00:00Z */
	assert_string_equal(d, "Sun, 26 Oct 2025 03:00:00 +0100");
	mail_date(0, -12600, d);
	assert_string_equal(d, "Wed, 31 Dec 1969 20:30:00 -0330");
}

/* --- bodies ------------------------------------------------------------ */

static void test_qp_roundtrip_and_rules(void **state)
{
	const char *s = "Æ ø å = x \r\nlang linje med mye tekst som går langt forbi "
	                "syttiseks tegn for å tvinge fram en myk linjeskift her\t\r\nslutt ";
	struct buf q = BUF_INIT, d = BUF_INIT;
	(void)state;

	assert_int_equal(mail_qp_encode(s, strlen(s), &q), 0);
	assert_lines_within(q.data, 76);
	for (const char *p = q.data; *p; p++)
		assert_true((unsigned char)*p < 0x80);
	/* trailing white space of a line is encoded (RFC 2045 6.7 rule 3) */
	assert_non_null(strstr(q.data, "=09\r\n"));
	assert_true(q.len >= 3 && strcmp(q.data + q.len - 3, "=20") == 0);
	qp_decode(q.data, q.len, &d);
	assert_string_equal(d.data, s);
	buf_free(&q);
	buf_free(&d);
}

static void test_render_is_multipart_alternative(void **state)
{
	struct mail m = sample();
	struct buf b = BUF_INIT, again = BUF_INIT;
	char *boundary, *p;
	(void)state;

	assert_int_equal(mail_render(&m, &b), 0);
	assert_non_null(strstr(b.data, "\r\nMIME-Version: 1.0\r\n"));
	assert_non_null(strstr(b.data, "Content-Type: multipart/alternative;\r\n boundary=\"=_hf_"));
	assert_non_null(strstr(b.data, "Content-Type: text/plain; charset=UTF-8\r\n"
	                               "Content-Transfer-Encoding: quoted-printable\r\n"));
	assert_non_null(strstr(b.data, "Content-Type: text/html; charset=UTF-8\r\n"));
	assert_non_null(strstr(b.data, "Hei p=C3=A5 deg"));
	boundary = strstr(b.data, "boundary=\"") + 10;
	p = strchr(boundary, '"');
	*p = '\0';
	assert_non_null(strstr(p + 1, "--"));
	/* the closing delimiter ends the message */
	{
		char close[64];
		snprintf(close, sizeof close, "\r\n--%s--\r\n", boundary);
		assert_true(strcmp(p + 1 + strlen(p + 1) - strlen(close), close) == 0);
	}
	*p = '"';
	assert_lines_within(b.data, MAIL_LINE_MAX);
	/* the same message renders to the same bytes: a retry is identical */
	assert_int_equal(mail_render(&m, &again), 0);
	assert_string_equal(again.data, b.data);
	buf_free(&b);
	buf_free(&again);
}

static void test_message_id_shape(void **state)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	(void)state;
	assert_int_equal(mail_message_id("digest.presse.1653206400", "Helsenytt <h@example.no>", &a), 0);
	assert_int_equal(mail_message_id("digest.presse.1653206400", "Helsenytt <h@example.no>", &b), 0);
	assert_int_equal(a.len, strlen("<digest.presse.1653206400.0123456789abcdef@example.no>"));
	assert_true(strncmp(a.data, "<digest.presse.1653206400.", 26) == 0);
	assert_string_equal(a.data + a.len - 12, "@example.no>");
	assert_string_not_equal(a.data, b.data);
	buf_clear(&a);
	assert_int_equal(mail_message_id("x", NULL, &a), 0);
	assert_string_equal(a.data + a.len - 11, "@localhost>");
	buf_free(&a);
	buf_free(&b);
}

/* --- spool ------------------------------------------------------------- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *d;
	long n;
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	d = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return d;
}

static void test_spool_atomic_and_never_clobbers_another_message(void **state)
{
	char dir[] = "/tmp/hf-mail-XXXXXX", path[256];
	struct mail m = sample(), m2 = sample();
	struct buf a = BUF_INIT, b = BUF_INIT, where = BUF_INIT;
	struct stat sb;
	char *got;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/spool", dir);
	assert_int_equal(mail_render(&m, &a), 0);
	assert_int_equal(mail_spool(path, "presse-20220523T1000", m.message_id, &a, &where), 0);
	assert_true(strstr(where.data, "/spool/presse-20220523T1000.eml") != NULL);
	got = read_file(where.data);
	assert_string_equal(got, a.data);
	free(got);
	assert_int_equal(stat(where.data, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);

	/* the same message again replaces its own file */
	buf_clear(&where);
	assert_int_equal(mail_spool(path, "presse-20220523T1000", m.message_id, &a, &where), 0);
	assert_true(strstr(where.data, "/presse-20220523T1000.eml") != NULL);

	/* another message of the same minute gets a name of its own */
	m2.message_id = "<digest.presse.1653210000.8899aabbccddeeff@example.no>";
	assert_int_equal(mail_render(&m2, &b), 0);
	buf_clear(&where);
	assert_int_equal(mail_spool(path, "presse-20220523T1000", m2.message_id, &b, &where), 0);
	assert_true(strstr(where.data, "/presse-20220523T1000-2.eml") != NULL);
	got = read_file(where.data);
	assert_string_equal(got, b.data);
	free(got);
	snprintf(path, sizeof path, "%s/spool/presse-20220523T1000.eml", dir);
	got = read_file(path);
	assert_string_equal(got, a.data);
	free(got);

	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
	buf_free(&a);
	buf_free(&b);
	buf_free(&where);
}

static void test_spool_unwritable_dir_is_eio(void **state)
{
	struct buf a = BUF_INIT;
	(void)state;
	assert_int_equal(buf_puts(&a, "x"), 0);
	assert_int_equal(mail_spool("/proc/hf-no-such/spool", "x", "<a@b>", &a, NULL), HF_EIO);
	buf_free(&a);
}

/* --- SMTP -------------------------------------------------------------- */

static void test_send_to_closed_port_fails_with_reason(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char url[64];
	struct config_smtp smtp = {.present = 1, .from = "h@example.no", .starttls = 0,
	                           .timeout = 10};
	struct mail m = sample();
	struct buf why = BUF_INIT;
	(void)state;

	/* A port that was free a moment ago and has nobody listening. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", ntohs(sa.sin_port));
	smtp.url = url;
	assert_int_equal(mail_send(&smtp, &m, NULL, &why), HF_ENET);
	assert_true(why.len > 0);
	assert_non_null(strstr(why.data, url));
	buf_free(&why);
}

static void test_send_missing_password_file_is_eio(void **state)
{
	struct config_smtp smtp = {.present = 1, .url = "smtp://127.0.0.1:1",
	                           .from = "h@example.no", .username = "u",
	                           .password_file = "/nonexistent/hf-password", .timeout = 5};
	struct mail m = sample();
	(void)state;
	assert_int_equal(mail_send(&smtp, &m, NULL, NULL), HF_EIO);
}

/* tests/smtpd.py (aiosmtpd) on 127.0.0.1, keeping what it accepts in
 * DIR/0001.eml ...; its port in *port.  0 when it cannot run here. */
static pid_t smtpd_start(const char *dir, int *port)
{
	const char *src = getenv("HF_SRC");
	char script[1024], line[32] = "";
	int fds[2];
	pid_t pid;
	FILE *f;

	snprintf(script, sizeof script, "%s/tests/smtpd.py", src ? src : "..");
	if (access("/usr/bin/python3", X_OK) != 0 || pipe(fds) != 0)
		return 0;
	if ((pid = fork()) == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl("/usr/bin/python3", "python3", script, dir, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (pid < 0 || !f || !fgets(line, sizeof line, f) || (*port = (int)strtol(line, NULL, 10)) <= 0) {
		if (pid > 0) {
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
		}
		pid = 0;
	}
	if (f)
		fclose(f);
	else
		close(fds[0]);
	return pid;
}

static void test_smtp_and_spool_get_the_same_bytes(void **state)
{
	char dir[] = "/tmp/hf-mail-XXXXXX", path[256], url[64];
	struct config_smtp smtp = {.present = 1, .from = "h@example.no", .starttls = 0,
	                           .timeout = 20};
	struct mail m = sample();
	struct buf msg = BUF_INIT, where = BUF_INIT, why = BUF_INIT;
	char *sent, *spooled;
	int port = 0, status;
	pid_t pid;
	(void)state;

	/* Lines that SMTP must dot-stuff (RFC 5321 4.5.2) in both parts. */
	m.text = ".\r\n..to punktum\r\nHei p\xc3\xa5 deg\r\n.\r\n";
	m.html = ".<p>Hei</p>\n.\n";
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/smtp", dir);
	if (!(pid = smtpd_start(path, &port))) {
		snprintf(path, sizeof path, "rm -rf '%s'", dir);
		assert_int_equal(system(path), 0);
		skip(); /* no python3-aiosmtpd */
	}
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", port);
	smtp.url = url;
	status = mail_send(&smtp, &m, NULL, &why);
	kill(pid, SIGINT);
	waitpid(pid, NULL, 0);
	if (status)
		fail_msg("mail_send: %s", buf_str(&why));
	assert_int_equal(mail_render(&m, &msg), 0);
	snprintf(path, sizeof path, "%s/spool", dir);
	assert_int_equal(mail_spool(path, "x", m.message_id, &msg, &where), 0);
	snprintf(path, sizeof path, "%s/smtp/0001.eml", dir);
	sent = read_file(path);
	spooled = read_file(where.data);
	assert_string_equal(sent, spooled);
	assert_non_null(strstr(sent, "\r\n.\r\n..to punktum\r\n"));
	free(sent);
	free(spooled);
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
	buf_free(&msg);
	buf_free(&where);
	buf_free(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_ascii_unchanged),
		cmocka_unit_test(test_header_norwegian_roundtrips_in_short_words),
		cmocka_unit_test(test_header_crlf_from_feed_cannot_add_a_field),
		cmocka_unit_test(test_header_encoded_word_lookalike_is_encoded),
		cmocka_unit_test(test_header_long_ascii_is_folded),
		cmocka_unit_test(test_fields_of_a_digest),
		cmocka_unit_test(test_fields_of_a_list_message),
		cmocka_unit_test(test_fields_quote_specials_in_display_name),
		cmocka_unit_test(test_fields_need_recipient),
		cmocka_unit_test(test_fields_many_recipients_are_folded),
		cmocka_unit_test(test_date_offsets),
		cmocka_unit_test(test_qp_roundtrip_and_rules),
		cmocka_unit_test(test_render_is_multipart_alternative),
		cmocka_unit_test(test_message_id_shape),
		cmocka_unit_test(test_spool_atomic_and_never_clobbers_another_message),
		cmocka_unit_test(test_spool_unwritable_dir_is_eio),
		cmocka_unit_test(test_send_to_closed_port_fails_with_reason),
		cmocka_unit_test(test_send_missing_password_file_is_eio),
		cmocka_unit_test(test_smtp_and_spool_get_the_same_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
