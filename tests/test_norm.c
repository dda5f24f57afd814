/* test_norm.c - dates, text, URLs and hashing of the norm module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <iconv.h>

#include "helsefeed/text.h"

struct date_case {
	const char *in;
	const char *tz;
	const char *want; /* NULL: must be rejected */
};

static const struct date_case dates[] = {
	/* RFC 822 / 1123 / 2822 */
	{"Mon, 23 May 2022 10:00:00 +0200", NULL, "2022-05-23T08:00:00Z"},
	{"Mon, 23 May 2022 10:00:00 GMT", NULL, "2022-05-23T10:00:00Z"},
	{"Mon, 23 May 2022 10:00:00 UT", NULL, "2022-05-23T10:00:00Z"},
	{"Mon, 23 May 2022 10:00:00 UTC", NULL, "2022-05-23T10:00:00Z"},
	{"Mon, 23 May 2022 10:00:00 Z", NULL, "2022-05-23T10:00:00Z"},
	{"Mon, 23 May 2022 10:00:00 +02:00", NULL, "2022-05-23T08:00:00Z"},
	{"Mon, 23 May 2022 10:00:00 -0430", NULL, "2022-05-23T14:30:00Z"},
	{"Mon, 23 May 2022 10:00:00 CEST", NULL, "2022-05-23T08:00:00Z"},
	{"Mon, 10 Jan 2022 10:00:00 CET", NULL, "2022-01-10T09:00:00Z"},
	{"Mon, 10 Jan 2022 10:00:00 EST", NULL, "2022-01-10T15:00:00Z"},
	{"Mon, 23 May 2022 10:00:00 EDT", NULL, "2022-05-23T14:00:00Z"},
	{"Mon, 23 May 2022 10:00:00 PST", NULL, "2022-05-23T18:00:00Z"},
	{"Mon, 23 May 2022 10:00:00 A", NULL, "2022-05-23T10:00:00Z"},
	{"Mon, 23 May 2022 10:00:00 +0200 (CEST)", NULL, "2022-05-23T08:00:00Z"},
	{"Mon, 23 May 2022 10:00:00 GMT+0200", NULL, "2022-05-23T08:00:00Z"},
	{"23 May 2022 10:00:00 +0200", NULL, "2022-05-23T08:00:00Z"},
	{"Mon, 23 May 2022 10:00 +0200", NULL, "2022-05-23T08:00:00Z"},
	{"Mon,23 May 2022 10:00:00 +0200", NULL, "2022-05-23T08:00:00Z"},
	{"Monday, 23-May-22 10:00:00 GMT", NULL, "2022-05-23T10:00:00Z"},
	{"Mon, 23 May 22 10:00:00 GMT", NULL, "2022-05-23T10:00:00Z"},
	{"Thu, 01 Jan 98 00:00:00 GMT", NULL, "1998-01-01T00:00:00Z"},
	{"Sat, 01 Jan 49 00:00:00 GMT", NULL, "2049-01-01T00:00:00Z"},
	{"Fri, 01 Jan 50 00:00:00 GMT", NULL, "1950-01-01T00:00:00Z"},
	{"  Mon, 23 May 2022 10:00:00 +0200  ", NULL, "2022-05-23T08:00:00Z"},
	{"Mon, 23 May 2022 10:00:00", NULL, "2022-05-23T08:00:00Z"},
	{"Mon May 23 10:00:00 2022", NULL, "2022-05-23T08:00:00Z"},
	{"May 23, 2022 10:00", NULL, "2022-05-23T08:00:00Z"},
	{"Tue, 29 Feb 2000 12:00:00 GMT", NULL, "2000-02-29T12:00:00Z"},
	/* RFC 3339 / ISO 8601 */
	{"2022-05-23T10:00:00+02:00", NULL, "2022-05-23T08:00:00Z"},
	{"2022-05-23T10:00:00Z", NULL, "2022-05-23T10:00:00Z"},
	{"2022-05-23t10:00:00z", NULL, "2022-05-23T10:00:00Z"},
	{"2022-05-23T10:00:00.123456Z", NULL, "2022-05-23T10:00:00Z"},
	{"2022-05-23T10:00:00.5+0200", NULL, "2022-05-23T08:00:00Z"},
	{"2022-05-23T10:00:00-05:00", NULL, "2022-05-23T15:00:00Z"},
	{"2022-05-23T10:00:00", NULL, "2022-05-23T08:00:00Z"},
	{"2022-05-23T10:00", NULL, "2022-05-23T08:00:00Z"},
	{"2022-05-23 10:00", NULL, "2022-05-23T08:00:00Z"},
	{"2022-05-23 10:00:00 +0000", NULL, "2022-05-23T10:00:00Z"},
	{"2022-05-23", NULL, "2022-05-22T22:00:00Z"},
	{"2022-01-10", NULL, "2022-01-09T23:00:00Z"},
	{"2022-05-23T10:00:00", "UTC", "2022-05-23T10:00:00Z"},
	{"2022-05-23T10:00:00", "Europe/London", "2022-05-23T09:00:00Z"},
	{"2022-05-23T10:00:00", "Europe/Helsinki", "2022-05-23T07:00:00Z"},
	{"2022-05-23T10:00:00", "America/New_York", "2022-05-23T14:00:00Z"},
	{"2022-05-23T10:00:00", "Asia/Tokyo", "2022-05-23T01:00:00Z"},
	/* Norwegian */
	{"23.05.2022", NULL, "2022-05-22T22:00:00Z"},
	{"23.05.2022 10:00", NULL, "2022-05-23T08:00:00Z"},
	{"23.05.2022 10:00:30", NULL, "2022-05-23T08:00:30Z"},
	{"23.05.2022 kl. 10.00", NULL, "2022-05-23T08:00:00Z"},
	{"23.05.2022, kl. 10:00", NULL, "2022-05-23T08:00:00Z"},
	{"1.2.2022", NULL, "2022-01-31T23:00:00Z"},
	{"23. mai 2022", NULL, "2022-05-22T22:00:00Z"},
	{"23. mai 2022 10:00", NULL, "2022-05-23T08:00:00Z"},
	{"23 mai 2022", NULL, "2022-05-22T22:00:00Z"},
	{"10. januar 2022", NULL, "2022-01-09T23:00:00Z"},
	{"3. okt. 2022", NULL, "2022-10-02T22:00:00Z"},
	{"17. desember 2021", NULL, "2021-12-16T23:00:00Z"},
	{"1. Februar 2022", NULL, "2022-01-31T23:00:00Z"},
	{"mandag 23. mai 2022", NULL, "2022-05-22T22:00:00Z"},
	{"M\xc3\xa5ndag 23. mai 2022 kl. 10.00", NULL, "2022-05-23T08:00:00Z"},
	{"L\xc3\x98RDAG 21. MAI 2022", NULL, "2022-05-20T22:00:00Z"},
	/* Europe/Oslo summer time boundaries (EU rule) */
	{"2022-03-27 01:59", NULL, "2022-03-27T00:59:00Z"},
	{"2022-03-27 03:00", NULL, "2022-03-27T01:00:00Z"},
	/* 02:30 does not exist that night: read with the offset before the
	 * gap (+01:00), i.e. 03:30 CEST. */
	{"2022-03-27 02:30", NULL, "2022-03-27T01:30:00Z"},
	/* 02:30 happens twice: the first occurrence (CEST) is chosen. */
	{"2022-10-30 02:30", NULL, "2022-10-30T00:30:00Z"},
	{"2022-10-30 01:59", NULL, "2022-10-29T23:59:00Z"},
	{"2022-10-30 03:00", NULL, "2022-10-30T02:00:00Z"},
	{"2021-03-28 12:00", NULL, "2021-03-28T10:00:00Z"},
	{"2021-03-27 12:00", NULL, "2021-03-27T11:00:00Z"},
	{"1990-09-29 12:00", NULL, "1990-09-29T10:00:00Z"},
	{"1990-09-30 12:00", NULL, "1990-09-30T11:00:00Z"},
	{"1985-06-01 12:00", NULL, "1985-06-01T10:00:00Z"},
	{"1979-06-01 12:00", NULL, "1979-06-01T11:00:00Z"},
	{"1990-10-01 12:00", NULL, "1990-10-01T11:00:00Z"},
	{"1990-09-20 12:00", NULL, "1990-09-20T10:00:00Z"},
	/* Norwegian weekdays, two-letter ones too, and months */
	{"ti, 04 jun 2024 10:00:00 +0200", NULL, "2024-06-04T08:00:00Z"},
	{"tirsdag, 04 jun 2024 10:00:00 +0200", NULL, "2024-06-04T08:00:00Z"},
	{"on, 15 mai 2024 08:30:00 +0200", NULL, "2024-05-15T06:30:00Z"},
	{"fr, 11 okt 2024 12:00:00 +0200", NULL, "2024-10-11T10:00:00Z"},
	{"l\xc3\xb8, 14 des 2024 09:15:00 +0100", NULL, "2024-12-14T08:15:00Z"},
	{"S\xc3\xb8, 15 des 2024 09:15:00 +0100", NULL, "2024-12-15T08:15:00Z"},
	{"ma, 16 des 2024 09:15:00 +0100", NULL, "2024-12-16T08:15:00Z"},
	{"to, 19 des 2024 09:15:00 +0100", NULL, "2024-12-19T08:15:00Z"},
	{"sundag, 22 des 2024 09:15:00 +0100", NULL, "2024-12-22T08:15:00Z"},
	{"Tysdag 3. desember 2024 14:00", NULL, "2024-12-03T13:00:00Z"},
	{"xy, 04 jun 2024 10:00:00 +0200", NULL, NULL},
	/* garbage */
	{"", NULL, NULL},
	{"   ", NULL, NULL},
	{"i morgen", NULL, NULL},
	{"2022", NULL, NULL},
	{"2022-13-01", NULL, NULL},
	{"2022-02-30", NULL, NULL},
	{"2021-02-29", NULL, NULL},
	{"2022-05-23T25:00:00Z", NULL, NULL},
	{"2022-05-23T10:61:00Z", NULL, NULL},
	{"2022-05-23T10:00:00Q2", NULL, NULL},
	{"2022-05-23T10:00:00+2500", NULL, NULL},
	{"Mon, 32 May 2022 10:00:00 GMT", NULL, NULL},
	{"Mon, 23 Foo 2022 10:00:00 GMT", NULL, NULL},
	{"Mon, 23 May 2022 10:00:00 XYZ", NULL, NULL},
	{"Mon, 23 May 2022 10:00:00 GMT trailing", NULL, NULL},
	{"Mon, 23 May 10:00:00 GMT", NULL, NULL},
	{"23.05.2022 abc", NULL, NULL},
	{"23.05.", NULL, NULL},
	{"23. mai", NULL, NULL},
	{"99999-01-01", NULL, NULL},
	{"0001-01-01", NULL, NULL},
	{"23.05.2", NULL, NULL},
	{"2022-05-23T10:00:00 (unclosed", NULL, NULL},
	{"2022-05-23 kl. 10:00", NULL, NULL},
	{"2022-05-23T10:00:00", "../../etc/passwd", NULL},
};

static void test_dates_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		const struct date_case *c = &dates[i];
		int64_t t = -1;
		char iso[21];
		int rc = norm_date(c->in, c->tz, &t);

		if (!c->want) {
			if (rc != HF_EINVAL)
				fail_msg("accepted garbage \"%s\"", c->in);
			assert_int_equal(t, -1); /* out untouched on failure */
			continue;
		}
		if (rc != 0)
			fail_msg("rejected \"%s\": %d", c->in, rc);
		norm_date_iso(t, iso);
		if (strcmp(iso, c->want))
			fail_msg("\"%s\" -> %s, want %s", c->in, iso, c->want);
	}
}

static void test_date_epoch_values(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(norm_date("Thu, 01 Jan 1970 00:00:00 GMT", NULL, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(norm_date("2022-05-23T10:00:00+02:00", NULL, &t), 0);
	assert_int_equal(t, 1653292800);
	assert_int_equal(norm_date("1969-12-31T23:59:59Z", NULL, &t), 0);
	assert_int_equal(t, -1);
	assert_int_equal(norm_date(NULL, NULL, &t), HF_EINVAL);
}

static void test_date_iso_format(void **state)
{
	char iso[21];

	(void)state;
	norm_date_iso(0, iso);
	assert_string_equal(iso, "1970-01-01T00:00:00Z");
	norm_date_iso(951825600, iso);
	assert_string_equal(iso, "2000-02-29T12:00:00Z");
	norm_date_iso(-1, iso);
	assert_string_equal(iso, "1969-12-31T23:59:59Z");
	norm_date_iso(INT64_MAX, iso);
	assert_string_equal(iso, "9999-12-31T23:59:59Z");
	norm_date_iso(INT64_MIN, iso);
	assert_string_equal(iso, "0000-01-01T00:00:00Z");
}

/* Every date of a year written in Oslo local time and back. */
static void test_date_roundtrip_year(void **state)
{
	(void)state;
	for (int64_t t = 1640991600; t < 1672527600; t += 3 * 3600 + 17 * 60) {
		char iso[21];
		int64_t back, off, want = t;
		/* local = UTC + 1 h, + 2 h inside summer time 2022 */
		off = (t >= 1648342800 && t < 1667091600) ? 7200 : 3600;
		/* the repeated hour of 30 October reads as its first pass */
		if (t >= 1667091600 && t < 1667095200)
			want = t - 3600;
		norm_date_iso(t + off, iso);
		iso[19] = '\0'; /* no zone: local time */
		assert_int_equal(norm_date(iso, "Europe/Oslo", &back), 0);
		if (back != want)
			fail_msg("%s -> %lld, want %lld", iso, (long long)back, (long long)want);
	}
}

/* --- text -------------------------------------------------------------- */

static void check_text(const char *in, int strip, size_t max, const char *want, int want_cut)
{
	struct buf b = BUF_INIT;
	int cut = -1;

	assert_int_equal(buf_append(&b, "X", 1), 0);
	assert_int_equal(norm_text(in, strlen(in), strip, max, &b, &cut), 0);
	if (strcmp(buf_str(&b) + 1, want))
		fail_msg("norm_text(\"%s\") = \"%s\", want \"%s\"", in, buf_str(&b) + 1, want);
	assert_int_equal(cut, want_cut);
	buf_free(&b);
}

static void test_text_plain(void **state)
{
	(void)state;
	check_text("Nye regler for sykehus", 0, 1024, "Nye regler for sykehus", 0);
	check_text("  Nye \t regler\r\n for   sykehus  ", 0, 1024, "Nye regler for sykehus", 0);
	check_text("", 0, 1024, "", 0);
	check_text("   ", 0, 1024, "", 0);
	check_text("a < b > c", 1, 1024, "a < b > c", 0);
	check_text("a < b", 0, 1024, "a < b", 0);
}

static void test_text_entities(void **state)
{
	(void)state;
	check_text("Helse&shy;forsk", 0, 1024, "Helseforsk", 0);
	check_text("Bl&aring;b&aelig;r og &oslash;l", 0, 1024, "Bl\xc3\xa5" "b\xc3\xa6r og \xc3\xb8l", 0);
	check_text("&AElig;&Oslash;&Aring;", 0, 1024, "\xc3\x86\xc3\x98\xc3\x85", 0);
	check_text("&laquo;Sykehus&raquo;", 0, 1024, "\xc2\xabSykehus\xc2\xbb", 0);
	check_text("2020&ndash;2022 &mdash; &hellip;", 0, 1024,
	           "2020\xe2\x80\x93" "2022 \xe2\x80\x94 \xe2\x80\xa6", 0);
	check_text("&lsquo;a&rsquo; &ldquo;b&rdquo; 5&euro;", 0, 1024,
	           "\xe2\x80\x98" "a\xe2\x80\x99 \xe2\x80\x9c" "b\xe2\x80\x9d 5\xe2\x82\xac", 0);
	check_text("a&nbsp;&nbsp;b", 0, 1024, "a b", 0);
	check_text("&lt;p&gt; &amp;amp; &quot;x&quot; &apos;y&apos;", 0, 1024,
	           "<p> &amp; \"x\" 'y'", 0);
	check_text("&#229;&#xE5;&#XE5;&#0229;", 0, 1024, "\xc3\xa5\xc3\xa5\xc3\xa5\xc3\xa5", 0);
	check_text("&#150;", 0, 1024, "\xe2\x80\x93", 0); /* windows-1252 */
	check_text("&#0;&#xD800;&#x110000;&#99999999999;", 0, 1024,
	           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0);
	check_text("&unknown; & &; &#; &#x; AT&T", 0, 1024, "&unknown; & &; &#; &#x; AT&T", 0);
	check_text("&amp", 0, 1024, "&amp", 0);
	check_text("&#x1F600;", 0, 1024, "\xf0\x9f\x98\x80", 0);
}

static void test_text_strip_html(void **state)
{
	(void)state;
	check_text("<p>Første</p><p>andre</p>", 1, 1024, "F\xc3\xb8rste andre", 0);
	check_text("linje<br>to<br/>tre", 1, 1024, "linje to tre", 0);
	check_text("<b>Hel</b>se<i>nytt</i>", 1, 1024, "Helsenytt", 0);
	check_text("a<script>alert('x<y>')</script>b", 1, 1024, "a b", 0);
	check_text("a<style>p{}</style>b", 1, 1024, "a b", 0);
	check_text("a<!-- <p>kommentar</p> -->b", 1, 1024, "ab", 0);
	check_text("<a href=\"x\" title='y'>lenke</a>", 1, 1024, "lenke", 0);
	check_text("<p>ulukket", 1, 1024, "ulukket", 0);
	check_text("<p>a</p>", 0, 1024, "<p>a</p>", 0);
	check_text("&lt;b&gt;x&lt;/b&gt;", 1, 1024, "<b>x</b>", 0);
}

static void test_text_controls_and_utf8(void **state)
{
	(void)state;
	check_text("a\x01" "b\x7f" "c\x1b[31m", 0, 1024, "abc[31m", 0);
	check_text("a\xc2\x85" "b", 0, 1024, "ab", 0); /* C1 NEL */
	check_text("a\xe2\x80\x8b" "b\xef\xbb\xbf", 0, 1024, "ab", 0);
	check_text("a\xe2\x80\xa8" "b", 0, 1024, "a b", 0);
	check_text("bad \xff byte", 0, 1024, "bad \xef\xbf\xbd byte", 0);
	check_text("\xc3", 0, 1024, "\xef\xbf\xbd", 0);
	check_text("\xc0\xaf", 0, 1024, "\xef\xbf\xbd\xef\xbf\xbd", 0); /* overlong */
	check_text("\xed\xa0\x80", 0, 1024, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0);
	check_text("\xf4\x90\x80\x80", 0, 1024,
	           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0);
	check_text("x\xef\xbf\xbe", 0, 1024, "x\xef\xbf\xbd", 0); /* noncharacter */
}

static void test_text_nfc(void **state)
{
	(void)state;
	/* "Bærum sykehus på Gjettum" with å as a + U+030A */
	check_text("Gjettum pa\xcc\x8a Ba\xcc\x8arum", 0, 1024, "Gjettum p\xc3\xa5 B\xc3\xa5rum", 0);
	check_text("pa&#x30A;", 0, 1024, "p\xc3\xa5", 0);
	check_text("A\xcc\x8a", 0, 1024, "\xc3\x85", 0);
	check_text("\xe2\x84\xa6", 0, 1024, "\xce\xa9", 0); /* OHM SIGN */
	/* ø has no decomposition: o + U+0338 must stay as it is */
	check_text("o\xcc\xb8", 0, 1024, "o\xcc\xb8", 0);
	check_text("caf\xc3\xa9", 0, 1024, "caf\xc3\xa9", 0);
}

static void test_text_truncation(void **state)
{
	(void)state;
	check_text("abcdef", 0, 3, "abc", 1);
	check_text("abc def", 0, 4, "abc", 1);
	check_text("\xc3\xa6\xc3\xb8\xc3\xa5", 0, 5, "\xc3\xa6\xc3\xb8", 1);
	check_text("\xc3\xa6\xc3\xb8\xc3\xa5", 0, 6, "\xc3\xa6\xc3\xb8\xc3\xa5", 0);
	check_text("a\xe2\x82\xac", 0, 3, "a", 1);
	check_text("pa\xcc\x8a", 0, 3, "p\xc3\xa5", 0);
	check_text("abc", 0, 0, "", 1);
}

static void test_text_long_input_early_stop(void **state)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	int cut = 0;

	(void)state;
	for (int i = 0; i < 20000; i++)
		assert_int_equal(buf_puts(&in, "Sykehus &amp; kommune. "), 0);
	assert_int_equal(norm_text(in.data, in.len, 1, 1024, &out, &cut), 0);
	assert_true(out.len <= 1024);
	assert_true(out.len > 1000);
	assert_int_equal(cut, 1);
	assert_int_equal(strncmp(out.data, "Sykehus & kommune. Sykehus", 26), 0);
	buf_free(&in);
	buf_free(&out);
}

/* What an XML parser delivered is decoded no further, unless it holds
 * markup: "&amp;hellip;" in a feed is the text "&hellip;". */
static void test_text_field(void **state)
{
	(void)state;
	check_text("Nyhet &hellip; mer", NORM_TEXT_FIELD, 1024, "Nyhet &hellip; mer", 0);
	check_text("AT&T &amp; 5 < 7", NORM_TEXT_FIELD, 1024, "AT&T &amp; 5 < 7", 0);
	check_text("  to\t rom\x01 ", NORM_TEXT_FIELD, 1024, "to rom", 0);
	check_text("Nye <b>regler</b> for &lt;bes\xc3\xb8k&gt;", NORM_TEXT_FIELD, 1024,
	           "Nye regler for <bes\xc3\xb8k>", 0);
	check_text("a<!-- x -->b &amp; c", NORM_TEXT_FIELD, 1024, "ab & c", 0);
	check_text("pa\xcc\x8a &aring;", NORM_TEXT_FIELD, 1024, "p\xc3\xa5 &aring;", 0);
}

static void check_entity(const char *in, size_t want_len, uint32_t want_cp)
{
	uint32_t cp = 0xDEAD;
	size_t n = norm_entity(in, strlen(in), &cp);

	if (n != want_len || (n && cp != want_cp))
		fail_msg("norm_entity(\"%s\") = %zu, U+%04X; want %zu, U+%04X", in, n,
		         (unsigned)cp, want_len, (unsigned)want_cp);
}

static void test_entity(void **state)
{
	(void)state;
	check_entity("&amp;", 5, '&');
	check_entity("&apos;s", 6, '\'');
	check_entity("&hellip;x", 8, 0x2026);
	check_entity("&thetasym;", 10, 0x3D1);
	check_entity("&AElig;", 7, 0xC6);
	check_entity("&aelig;", 7, 0xE6);
	check_entity("&hellip", 0, 0);        /* a name needs its ';' */
	check_entity("&hellip ;", 0, 0);
	check_entity("&bogus;", 0, 0);
	check_entity("&NewLine;", 0, 0);      /* HTML 5 only: not in HTML 4 */
	check_entity("&averyveryverylongname;", 0, 0);
	check_entity("&", 0, 0);
	check_entity("&#229;", 6, 229);
	check_entity("&#xe5;", 6, 229);
	check_entity("&#XE5", 5, 229);        /* a number may lack it */
	check_entity("&#0229x", 6, 229);
	check_entity("&#150;", 6, 150);       /* as written: norm_text maps it */
	check_entity("&#;", 0, 0);
	check_entity("&#x;", 0, 0);
	check_entity("&#0;", 4, 0);
	check_entity("&#x110000;", 10, 0x110000);
	check_entity("&#99999999999999999999;", 23, 0x110000);
}

/* The table against glibc's iconv for the 27 bytes windows-1252 defines;
 * the other five are the C1 controls (WHATWG index-windows-1252). */
static void test_cp1252(void **state)
{
	iconv_t cd = iconv_open("UTF-32LE", "WINDOWS-1252");

	(void)state;
	assert_true(cd != (iconv_t)-1);
	for (unsigned b = 0; b < 256; b++) {
		char in[1] = {(char)b}, out[4];
		char *ip = in, *op = out;
		size_t il = 1, ol = 4;
		uint32_t want;

		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
			assert_true(b == 0x81 || b == 0x8D || b == 0x8F || b == 0x90 || b == 0x9D);
			want = b;
		} else {
			want = (uint32_t)(unsigned char)out[0] | (uint32_t)(unsigned char)out[1] << 8 |
			       (uint32_t)(unsigned char)out[2] << 16;
		}
		if (norm_cp1252((unsigned char)b) != want)
			fail_msg("0x%02X: U+%04X, want U+%04X", b, (unsigned)norm_cp1252((unsigned char)b),
			         (unsigned)want);
		(void)iconv(cd, NULL, NULL, NULL, NULL);
	}
	iconv_close(cd);
}

/* Double-encoded UTF-8 is re-decoded only when the whole field is. */
static void test_repair_mojibake(void **state)
{
	static const struct {
		const char *in, *want; /* want NULL: left alone */
	} cases[] = {
		{"S\xc3\x83\xc2\xb8r-\xc3\x83\xcb\x9cst", "S\xc3\xb8r-\xc3\x98st"},  /* SÃ¸r-Ã˜st */
		{"p\xc3\x83\xc2\xa5 \xc3\x83\xc2\xa6", "p\xc3\xa5 \xc3\xa6"},           /* pÃ¥ Ã¦ */
		{"don\xc3\xa2\xe2\x82\xac\xe2\x84\xa2t", "don\xe2\x80\x99t"},          /* donâ€™t */
		/* â + C1 controls: read as Latin-1 rather than windows-1252 */
		{"don\xc3\xa2\xc2\x80\xc2\x99t", "don\xe2\x80\x99t"},
		/* a real Ã before a letter */
		{"\xc3\x83sa \xc3\x83" "berg", NULL},
		/* mojibake beside an honest ø: not the whole field */
		{"Bl\xc3\x83\xc2\xa5" "b\xc3\x83\xc2\xa6r og \xc3\xb8", NULL},
		/* clean Norwegian, ASCII, empty */
		{"F\xc3\xb8rste sak p\xc3\xa5 \xc3\xa5ret", NULL},
		{"plain ascii", NULL},
		{"", NULL},
		/* bytes that would be overlong (C0 80) or a surrogate (ED A0 80) */
		{"\xc3\x80\xe2\x82\xac", NULL},
		{"\xc3\xad\xc2\xa0\xe2\x82\xac", NULL},
		/* a sequence cut short */
		{"\xc3\x83", NULL},
		/* invalid UTF-8 input is never repaired */
		{"\xc3\x83\xc2", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf b = BUF_INIT;
		int rc = norm_repair(cases[i].in, strlen(cases[i].in), &b);

		if (cases[i].want) {
			if (rc != 1 || strcmp(buf_str(&b), cases[i].want) != 0)
				fail_msg("case %zu: rc %d, \"%s\"", i, rc, buf_str(&b));
		} else if (rc != 0 || b.len != 0) {
			fail_msg("case %zu: repaired to \"%s\"", i, buf_str(&b));
		}
		buf_free(&b);
	}
}

/* norm_text repairs before it cleans. */
static void test_text_repairs_mojibake(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(norm_text("<b>T\xc3\x83\xc2\xb8yen</b>", 15, NORM_TEXT_FIELD, 100, &b, NULL), 0);
	assert_string_equal(buf_str(&b), "T\xc3\xb8yen");
	buf_free(&b);
}

static void test_nfc(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(norm_nfc("pa\xcc\x8a  \x01 &amp;", 13, &b), 0);
	assert_string_equal(b.data, "p\xc3\xa5  \x01 &amp;");
	buf_clear(&b);
	assert_int_equal(norm_nfc("x\xff", 2, &b), 0);
	assert_string_equal(b.data, "x\xef\xbf\xbd");
	buf_clear(&b);
	assert_int_equal(norm_nfc("", 0, &b), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

/* --- URLs -------------------------------------------------------------- */

static void check_resolve(const char *base, const char *ref, const char *want)
{
	struct buf b = BUF_INIT;
	int web;

	assert_int_equal(norm_url_resolve(base, ref, &b, &web), 0);
	if (strcmp(buf_str(&b), want))
		fail_msg("resolve(%s, \"%s\") = %s, want %s", base ? base : "NULL", ref,
		         buf_str(&b), want);
	/* The verdict of the resolve is norm_url_web's of its result. */
	assert_int_equal(web, norm_url_web(buf_str(&b)));
	buf_free(&b);
}

/* RFC 3986 5.4.1 and 5.4.2.  Where libcurl writes "http://g/" for the
 * RFC's "http://g", both are the same resource (RFC 3986 6.2.3).  The
 * empty reference is refused on purpose (test_url_resolve_feeds). */
static void test_url_resolve_rfc3986(void **state)
{
	static const char *const cases[][2] = {
		{"g:h", "g:h"},
		{"g", "http://a/b/c/g"},
		{"./g", "http://a/b/c/g"},
		{"g/", "http://a/b/c/g/"},
		{"/g", "http://a/g"},
		{"//g", "http://g/"},
		{"?y", "http://a/b/c/d;p?y"},
		{"g?y", "http://a/b/c/g?y"},
		{"#s", "http://a/b/c/d;p?q#s"},
		{"g#s", "http://a/b/c/g#s"},
		{"g?y#s", "http://a/b/c/g?y#s"},
		{";x", "http://a/b/c/;x"},
		{"g;x", "http://a/b/c/g;x"},
		{"g;x?y#s", "http://a/b/c/g;x?y#s"},
		{".", "http://a/b/c/"},
		{"./", "http://a/b/c/"},
		{"..", "http://a/b/"},
		{"../", "http://a/b/"},
		{"../g", "http://a/b/g"},
		{"../..", "http://a/"},
		{"../../", "http://a/"},
		{"../../g", "http://a/g"},
		{"../../../g", "http://a/g"},
		{"../../../../g", "http://a/g"},
		{"/./g", "http://a/g"},
		{"/../g", "http://a/g"},
		{"g.", "http://a/b/c/g."},
		{".g", "http://a/b/c/.g"},
		{"g..", "http://a/b/c/g.."},
		{"..g", "http://a/b/c/..g"},
		{"./../g", "http://a/b/g"},
		{"./g/.", "http://a/b/c/g/"},
		{"g/./h", "http://a/b/c/g/h"},
		{"g/../h", "http://a/b/c/h"},
		{"g;x=1/./y", "http://a/b/c/g;x=1/y"},
		{"g;x=1/../y", "http://a/b/c/y"},
		{"g?y/./x", "http://a/b/c/g?y/./x"},
		{"g?y/../x", "http://a/b/c/g?y/../x"},
		{"g#s/./x", "http://a/b/c/g#s/./x"},
		{"g#s/../x", "http://a/b/c/g#s/../x"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_resolve("http://a/b/c/d;p?q", cases[i][0], cases[i][1]);
}

/* The fast path for plain links (url.c) answers as curl does: links it
 * takes and the near misses it must leave to curl (dot segments, %2E,
 * an empty query, capitals, a port, an IPv4 host, a trailing dot). */
static void test_url_fast_path_is_curls_answer(void **state)
{
	static const char *const bases[] = {
		"https://www.regjeringen.no/no/aktuelt/x/", "http://fhi.no",
		"https://www.helse-bergen.no/a?b#c", "https://HOST.no/a",
		"https://host.no:8443/a", "https://1.2.3.4/", "https://h.no./",
		"https://u@h.no/", "mailto:a@b", "/rel", NULL,
	};
	static const char *const refs[] = {
		"/no/aktuelt/id240874/", "/a/./b", "/a/../b", "/a/%2e%2e/b", "/a/%2E/b",
		"/a?", "/a#", "/a?b?c", "/a#b#c", "/a?b#c?d", "/a//b", "/a/b/..",
		"/a/b/.", "/.", "/..", "/a%20b", "/a%zz", "/a'b", "/a(b)", "/a*b",
		"/a!b$c", "/a:b@c", "/a~b", "/\xc3\xb8", "/a b", "/a\\b", "/a|b",
		"https://www.x.no/a", "https://www.x.no", "https://www.x.no?a",
		"https://WWW.x.no/a", "https://www.x.no./a", "https://www..x.no/a",
		"https://x.n0/a", "https://0x7f.0x1/a", "https://127.1/a",
		"http://x.no/a?b=1&c=2#f", "https://x.no/a%C3%B8", "https://x.no:443/a",
		"https://x.no/a/./b", "HTTPS://x.no/a", "https://x.no/%7e",
		"https://x.no/a?/../b", "https://x.no/a/.%2e", "//x.no/a", NULL,
	};

	(void)state;
	for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++)
		for (size_t j = 0; refs[j]; j++) {
			struct buf a = BUF_INIT, b = BUF_INIT;
			int wa = 0, wb = 0;
			int ra = norm_url_resolve(bases[i], refs[j], &a, &wa);
			int rb = norm_url_resolve_lib(bases[i], refs[j], &b, &wb);

			if (ra != rb || wa != wb || strcmp(buf_str(&a), buf_str(&b)))
				fail_msg("base %s, ref %s: \"%s\" (%d) but curl \"%s\" (%d)",
				         bases[i] ? bases[i] : "none", refs[j], buf_str(&a),
				         wa, buf_str(&b), wb);
			buf_free(&a);
			buf_free(&b);
		}
}

static void test_url_resolve_feeds(void **state)
{
	(void)state;
	check_resolve("https://www.regjeringen.no/no/rss/", " /no/aktuelt/nyhet/id1 \n",
	              "https://www.regjeringen.no/no/aktuelt/nyhet/id1");
	check_resolve("https://www.fhi.no/nyheter/", "//www.helsenorge.no/x",
	              "https://www.helsenorge.no/x");
	check_resolve(NULL, "//www.helsenorge.no/x", "https://www.helsenorge.no/x");
	check_resolve(NULL, "/relative/only", "/relative/only");
	check_resolve("not a url", "x/y", "x/y");
	check_resolve(NULL, "HTTPS://www.FHI.no/a", "https://www.FHI.no/a");
	check_resolve("https://a.no/", "mailto:post@hod.dep.no", "mailto:post@hod.dep.no");
	check_resolve("https://a.no/x/", "https://b.no/\nlang/lenke\t",
	              "https://b.no/lang/lenke");
	check_resolve("https://a.no/x/", "side med mellomrom", "https://a.no/x/side%20med%20mellomrom");
	/* an empty link is no link, not the base (see text.h) */
	{
		static const char *const empty[] = {NULL, "", "  \n\t "};
		for (size_t i = 0; i < 3; i++) {
			struct buf b = BUF_INIT;
			assert_int_equal(norm_url_resolve("https://a.no/x/", empty[i], &b, NULL), HF_EINVAL);
			assert_int_equal(b.len, 0);
			buf_free(&b);
		}
	}
}

static void check_canon(const char *in, const char *want)
{
	struct buf b = BUF_INIT;
	int rc = norm_url_canon(in, &b);

	if (!want) {
		if (rc != HF_EINVAL)
			fail_msg("canon accepted \"%s\" -> %s", in ? in : "(null)", buf_str(&b));
		assert_int_equal(b.len, 0);
	} else {
		if (rc)
			fail_msg("canon rejected \"%s\": %d", in, rc);
		if (strcmp(buf_str(&b), want))
			fail_msg("canon(%s) = %s, want %s", in, buf_str(&b), want);
	}
	buf_free(&b);
}

static void test_url_canon(void **state)
{
	(void)state;
	check_canon("HTTPS://WWW.Regjeringen.NO/no/aktuelt/", "https://www.regjeringen.no/no/aktuelt/");
	check_canon("http://www.fhi.no:80/a", "http://www.fhi.no/a");
	check_canon("https://www.fhi.no:443/a", "https://www.fhi.no/a");
	check_canon("https://www.fhi.no:8443/a", "https://www.fhi.no:8443/a");
	check_canon("https://www.fhi.no", "https://www.fhi.no/");
	check_canon("https://www.fhi.no/a#seksjon", "https://www.fhi.no/a");
	check_canon("https://www.fhi.no/a?", "https://www.fhi.no/a");
	check_canon("https://www.fhi.no/a?utm_source=x&id=5&utm_medium=rss&UTM_Campaign=y",
	            "https://www.fhi.no/a?id=5");
	check_canon("https://www.fhi.no/a?fbclid=1&gclid=2&dclid=3&msclkid=4&mc_cid=5&"
	            "mc_eid=6&_ga=7&yclid=8&igshid=9&ref_src=10",
	            "https://www.fhi.no/a");
	check_canon("https://www.fhi.no/a?b=2&a=1&b=3", "https://www.fhi.no/a?b=2&a=1&b=3");
	check_canon("https://www.fhi.no/a?x=1&&y=2", "https://www.fhi.no/a?x=1&y=2");
	check_canon("https://www.fhi.no/%7Euser/%41b%2fc%3a?q=%7e%e5", "https://www.fhi.no/~user/Ab%2Fc%3A?q=~%E5");
	check_canon("https://www.fhi.no/a/./b/../c", "https://www.fhi.no/a/c");
	check_canon("https://www.fhi.no./a", "https://www.fhi.no/a");
	check_canon("  https://www.fhi.no/a  ", "https://www.fhi.no/a");
	check_canon("https://user:pw@www.fhi.no/", "https://user:pw@www.fhi.no/");
	check_canon("ftp://www.fhi.no/a", NULL);
	check_canon("javascript:alert(1)", NULL);
	check_canon("mailto:a@b.no", NULL);
	check_canon("/relative", NULL);
	check_canon("", NULL);
	check_canon("https://", NULL);
	check_canon(NULL, NULL);
}

static void check_more(const char *in, const char *want)
{
	size_t n = norm_more_len(in, strlen(in));

	if (n != strlen(want) || strncmp(in, want, n) != 0)
		fail_msg("norm_more_len(\"%s\") keeps \"%.*s\", want \"%s\"", in,
		         (int)n, in, want);
}

/* The words of a "read more" link go from the end of a summary, with
 * their marks; the same words inside a word or a sentence stay. */
static void test_more_len(void **state)
{
	(void)state;
	check_more("Kommunene bestiller nå influensavaksine. les mer",
	           "Kommunene bestiller nå influensavaksine.");
	check_more("Ny rapport om ventetider. Les mer »", "Ny rapport om ventetider.");
	check_more("Tilskot til legevakt… Les meir her…", "Tilskot til legevakt…");
	check_more("Nytt råd er på plass.\xe2\x80\xa6les hele saken",
	           "Nytt råd er på plass.\xe2\x80\xa6");
	check_more("Statsråden svarer. READ MORE \xe2\x86\x92", "Statsråden svarer.");
	check_more("Les mer", "");
	/* Not the link's words: other words, or the words inside a word.
	 * (A sentence that itself ends in "les mer" loses them: the end of
	 * a summary is where the link's words are.) */
	check_more("Vi anbefaler alle å lese mer", "Vi anbefaler alle å lese mer");
	check_more("Samples mer", "Samples mer");
	check_more("Tålmodighet: les mer", "Tålmodighet:");
	check_more("Prøvesvar les meirå", "Prøvesvar les meirå");
	check_more("", "");
	check_more("Ingen lenke her.", "Ingen lenke her.");
}

static void test_fnv1a(void **state)
{
	(void)state;
	/* Reference values of the FNV-1a 64 test suite. */
	assert_true(norm_fnv1a(NORM_FNV_INIT, "", 0) == 0xcbf29ce484222325ULL);
	assert_true(norm_fnv1a(NORM_FNV_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(norm_fnv1a(NORM_FNV_INIT, "foobar", 6) == 0x85944171f73967e8ULL);
	/* continuation equals one pass */
	assert_true(norm_fnv1a(norm_fnv1a(NORM_FNV_INIT, "foo", 3), "bar", 3) ==
	            norm_fnv1a(NORM_FNV_INIT, "foobar", 6));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates_table),
		cmocka_unit_test(test_repair_mojibake),
		cmocka_unit_test(test_text_repairs_mojibake),
		cmocka_unit_test(test_date_epoch_values),
		cmocka_unit_test(test_date_iso_format),
		cmocka_unit_test(test_date_roundtrip_year),
		cmocka_unit_test(test_text_plain),
		cmocka_unit_test(test_text_entities),
		cmocka_unit_test(test_text_strip_html),
		cmocka_unit_test(test_text_controls_and_utf8),
		cmocka_unit_test(test_text_nfc),
		cmocka_unit_test(test_text_truncation),
		cmocka_unit_test(test_text_long_input_early_stop),
		cmocka_unit_test(test_text_field),
		cmocka_unit_test(test_entity),
		cmocka_unit_test(test_cp1252),
		cmocka_unit_test(test_nfc),
		cmocka_unit_test(test_url_resolve_rfc3986),
		cmocka_unit_test(test_url_resolve_feeds),
		cmocka_unit_test(test_url_fast_path_is_curls_answer),
		cmocka_unit_test(test_url_canon),
		cmocka_unit_test(test_fnv1a),
		cmocka_unit_test(test_more_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
