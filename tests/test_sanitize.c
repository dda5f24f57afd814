/*
 * test_sanitize.c - the HTML allowlist against XSS vectors (shapes from
 * the OWASP XSS filter evasion cheat sheet and mXSS reports) and against
 * the ordinary HTML of the sector's feeds, which must survive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "helsefeed/text.h"

#define BASE "https://www.helsedirektoratet.no/nyheter/"

/* --- an independent checker of the output ------------------------------ */

static const char *const ok_elems[] = {
	"a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd",
	"del", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2",
	"h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
	"ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub",
	"sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr",
	"u", "ul", "var", NULL,
};

static const char *const ok_attrs[] = {
	"href", "title", "src", "alt", "width", "height", "start", "type",
	"colspan", "rowspan", "scope", "datetime", "cite", NULL,
};

static int in_list(const char *s, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && !strncmp(s, *list, n))
			return 1;
	return 0;
}

static int is_void(const char *s, size_t n)
{
	return (n == 2 && (!strncmp(s, "br", 2) || !strncmp(s, "hr", 2))) ||
	       (n == 3 && !strncmp(s, "img", 3));
}

/*
 * Walk the output as a browser's tokenizer would see it: every tag must
 * be allowlisted, every attribute allowlisted and double-quoted with an
 * escaped value, URL values http(s)/mailto, end tags balanced.
 */
static void assert_safe(const char *in, const char *out)
{
	const char *stack[512];
	size_t stack_len[512];
	int depth = 0;
	const char *p = out;

	while ((p = strchr(p, '<'))) {
		const char *name;
		size_t n;
		int closing = p[1] == '/';

		p += 1 + closing;
		name = p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			p++;
		n = (size_t)(p - name);
		if (!in_list(name, n, ok_elems))
			fail_msg("input %s: element <%.*s> in output %s", in, (int)n, name, out);
		if (closing) {
			if (*p != '>' || depth == 0 || stack_len[depth - 1] != n ||
			    strncmp(stack[depth - 1], name, n))
				fail_msg("input %s: unbalanced </%.*s> in %s", in, (int)n, name, out);
			depth--;
			p++;
			continue;
		}
		while (*p == ' ') {
			const char *an = ++p, *av;
			size_t anl, avl;
			while (*p >= 'a' && *p <= 'z')
				p++;
			anl = (size_t)(p - an);
			if (!in_list(an, anl, ok_attrs))
				fail_msg("input %s: attribute %.*s in %s", in, (int)anl, an, out);
			if (p[0] != '=' || p[1] != '"')
				fail_msg("input %s: unquoted attribute in %s", in, out);
			av = p += 2;
			while (*p && *p != '"' && *p != '<' && *p != '>')
				p++;
			if (*p != '"')
				fail_msg("input %s: attribute value not escaped in %s", in, out);
			avl = (size_t)(p - av);
			p++;
			if ((anl == 4 && !strncmp(an, "href", 4)) || (anl == 3 && !strncmp(an, "src", 3)) ||
			    (anl == 4 && !strncmp(an, "cite", 4))) {
				if (strncmp(av, "http://", 7) && strncmp(av, "https://", 8) &&
				    !(an[0] != 's' && !strncmp(av, "mailto:", 7)))
					fail_msg("input %s: URL %.*s in %s", in, (int)avl, av, out);
			}
			for (size_t i = 0; i + 6 <= avl; i++)
				if (!strncasecmp(av + i, "script", 6) && memchr(av, ':', avl) &&
				    strncmp(av, "http", 4))
					fail_msg("input %s: script URL in %s", in, out);
		}
		if (*p != '>')
			fail_msg("input %s: malformed tag in %s", in, out);
		p++;
		if (!is_void(name, n)) {
			assert_true(depth < 512);
			stack[depth] = name;
			stack_len[depth++] = n;
		}
	}
	if (depth)
		fail_msg("input %s: %d element(s) left open in %s", in, depth, out);
	/* Belt and braces: these never appear as markup or attribute. */
	{
		static const char *const never[] = {
			"<script", "<iframe", "<object", "<embed", "<svg", "<math",
			"<style", "<form", "<meta", "<base", "<link", "<frame",
			"<applet", "<template", "<noscript", "<input", "<button",
			"<textarea", "<select", "style=\"", "srcdoc", "onerror=",
			"onload=", "onclick=", "onmouseover=", "onfocus=",
			"href=\"javascript", "src=\"javascript", "href=\"data:",
			"src=\"data:", "href=\"vbscript", NULL,
		};
		for (const char *const *w = never; *w; w++) {
			for (const char *q = out; *q; q++)
				if (!strncasecmp(q, *w, strlen(*w)))
					fail_msg("input %s: \"%s\" in output %s", in, *w, out);
		}
	}
}

static char *san(const char *in, const char *base, size_t max, struct buf *b)
{
	buf_clear(b);
	assert_int_equal(sanitize_html(in, strlen(in), base, max, b), 0);
	return (char *)buf_str(b);
}

static const char *const vectors[] = {
	"<script>alert(1)</script>",
	"<SCRIPT SRC=http://xss.rocks/xss.js></SCRIPT>",
	"<ScRiPt>alert(1)</sCrIpT>",
	"<scr<script>ipt>alert(1)</script>",
	"<<SCRIPT>alert(\"XSS\");//<</SCRIPT>",
	"<SCRIPT/XSS SRC=\"http://xss.rocks/xss.js\"></SCRIPT>",
	"<SCRIPT SRC=//xss.rocks/.j>",
	"<IMG SRC=\"javascript:alert('XSS');\">",
	"<IMG SRC=javascript:alert('XSS')>",
	"<IMG SRC=JaVaScRiPt:alert('XSS')>",
	"<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
	"<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\">",
	"<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
	"<IMG SRC=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097>",
	"<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61>",
	"<IMG SRC=\"jav\tascript:alert('XSS');\">",
	"<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
	"<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
	"<IMG SRC=\"jav&#x0D;ascript:alert('XSS');\">",
	"<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
	"<img src=x onerror=alert(1)>",
	"<img src=x onerror=\"alert(1)\"/>",
	"<IMG SRC=# onmouseover=\"alert('xxs')\">",
	"<IMG onmouseover=\"alert('xxs')\">",
	"<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
	"<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">",
	"<a href=\"javascript:alert(1)\">x</a>",
	"<a href=\"javascript&colon;alert(1)\">x</a>",
	"<a href=\"&#106;avascript:alert(1)\">x</a>",
	"<a href=\" javascript:alert(1)\">x</a>",
	"<a href=\"java&#x09;script:alert(1)\">x</a>",
	"<a href=\"JAVASCRIPT:alert(1)\">x</a>",
	"<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
	"<a href=\"vbscript:msgbox(1)\">x</a>",
	"<a href=\"livescript:alert(1)\">x</a>",
	"<a href=\"\x01javascript:alert(1)\">x</a>",
	"<a href=\"javascript&#58;alert(1)\">x</a>",
	"<a href=\"jav&NewLine;ascript:alert(1)\">x</a>",
	"<a href=javascript:alert(1) title=\"\" onclick=alert(1)>x</a>",
	"<svg onload=alert(1)>",
	"<svg><script>alert(1)</script></svg>",
	"<svg/onload=alert('XSS')>",
	"<BODY ONLOAD=alert('XSS')>",
	"<iframe src=\"javascript:alert(1)\"></iframe>",
	"<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
	"<IFRAME SRC=# onmouseover=\"alert(document.cookie)\"></IFRAME>",
	"<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
	"<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
	"<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=data:text/html base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4K\">",
	"<BASE HREF=\"javascript:alert('XSS');//\">",
	"<form action=\"javascript:alert(1)\"><input type=submit></form>",
	"<form><button formaction=javascript:alert(1)>x</button></form>",
	"<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://xss.rocks/scriptlet.html\"></OBJECT>",
	"<object data=\"javascript:alert(1)\">",
	"<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH A6Ly93d3cudzMub3JnLzIwMDAvc3ZnIiB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv\" type=\"image/svg+xml\" AllowScriptAccess=\"always\"></EMBED>",
	"<LINK REL=\"stylesheet\" HREF=\"javascript:alert('XSS');\">",
	"<link rel=import href=\"http://evil.example/x.html\">",
	"<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
	"<STYLE>BODY{-moz-binding:url(\"http://xss.rocks/xssmoz.xml#xss\")}</STYLE>",
	"<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">x</DIV>",
	"<DIV STYLE=\"width: expression(alert('XSS'));\">x</DIV>",
	"<p style=\"background:url(javascript:alert(1))\">x</p>",
	"<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
	"<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
	"<!--[if gte IE 4]><SCRIPT>alert('XSS');</SCRIPT><![endif]-->",
	"<!--<img src=\"--><img src=x onerror=alert(1)//\">",
	"<![CDATA[<script>alert(1)</script>]]>",
	"<xss:script>alert(1)</xss:script>",
	"<XSS STYLE=\"behavior: url(xss.htc);\">",
	"<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
	"<template><script>alert(1)</script></template>",
	"<TABLE BACKGROUND=\"javascript:alert('XSS')\"><TD BACKGROUND=\"javascript:alert('XSS')\">x</TD></TABLE>",
	"<BR SIZE=\"&{alert('XSS')}\">",
	"<INPUT TYPE=\"IMAGE\" SRC=\"javascript:alert('XSS');\">",
	"<select><option>x</option><script>alert(1)</script></select>",
	"<textarea></textarea><script>alert(1)</script>",
	"<a href=\"http://ok.no/\" onmouseover=\"alert(1)\" style=\"x\" class=\"c\" id=\"i\">ok</a>",
	"<a href='x' title='\"><script>alert(1)</script>'>x</a>",
	"<img src=\"http://ok.no/a.png\" alt=\"\" onerror=\"alert(1)\" width=\"100%\">",
	"\"><script>alert(1)</script>",
	"<p>unclosed <b>bold <i>italic <a href=\"http://x.no/\">link",
	"</p></div></td></table><script>alert(1)</script>",
	"<video><source onerror=\"alert(1)\"></video>",
	"<audio src=x onerror=alert(1)>",
	"<details open ontoggle=alert(1)>",
	"<marquee onstart=alert(1)>x</marquee>",
	"<isindex action=javascript:alert(1) type=image>",
	"<a href=\"&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)\">x</a>",
	"<a href=\"jav\302\240ascript:alert(1)\">nbsp</a>",
	"<q cite=\"javascript:alert(1)\">x</q>",
	"<blockquote cite=\"vbscript:x\">y</blockquote>",
	"<a href=\"//evil.example/\">protocol-relative is fine but absolute</a>",
	"<img src=\"mailto:x@y.no\">",
};

static void test_xss_vectors(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		assert_safe(vectors[i], san(vectors[i], BASE, 1 << 20, &b));
		assert_safe(vectors[i], san(vectors[i], NULL, 1 << 20, &b));
		/* a hostile base cannot smuggle a scheme in */
		assert_safe(vectors[i], san(vectors[i], "javascript:alert(1)//", 1 << 20, &b));
	}
	buf_free(&b);
}

/* The vectors must lose their payload, not just be reshaped around it. */
static void test_xss_payloads_gone(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_string_equal(san("<script>alert(1)</script>", BASE, 4096, &b), "");
	assert_string_equal(san("a<style>p{color:red}</style>b", BASE, 4096, &b), "ab");
	assert_string_equal(san("<svg onload=alert(1)>x</svg>etter", BASE, 4096, &b), "etter");
	assert_string_equal(san("<iframe srcdoc=\"x\">inne</iframe>ute", BASE, 4096, &b), "ute");
	assert_string_equal(san("<a href=\"javascript:alert(1)\">x</a>", BASE, 4096, &b), "<a>x</a>");
	assert_string_equal(san("<img src=x onerror=alert(1)>", NULL, 4096, &b), "");
	assert_string_equal(san("<img src=\"javascript:x\" alt=\"a\">", BASE, 4096, &b), "");
	assert_string_equal(san("<p onclick=\"x()\" style=\"y\">t</p>", BASE, 4096, &b), "<p>t</p>");
	assert_string_equal(san("<!-- skjult -->synlig", BASE, 4096, &b), "synlig");
	assert_string_equal(san("<xss:script>alert(1)</xss:script>", BASE, 4096, &b), "alert(1)");
	buf_free(&b);
}

/* --- good HTML survives ------------------------------------------------ */

static void check(const char *in, const char *base, const char *want)
{
	struct buf b = BUF_INIT;
	const char *got = san(in, base, 1 << 20, &b);

	assert_safe(in, got);
	if (strcmp(got, want))
		fail_msg("sanitize(%s)\n got  %s\n want %s", in, got, want);
	buf_free(&b);
}

static void test_good_html_survives(void **state)
{
	(void)state;
	check("<p>Regjeringen gir 50 millioner til <strong>sjukehusa</strong> i "
	      "Nord-Noreg &ndash; s\xc3\xa6rleg for \xc3\xa5 styrkje "
	      "f\xc3\xb8" "deavdelingane.</p>", BASE,
	      "<p>Regjeringen gir 50 millioner til <strong>sjukehusa</strong> i "
	      "Nord-Noreg \xe2\x80\x93 s\xc3\xa6rleg for \xc3\xa5 styrkje "
	      "f\xc3\xb8" "deavdelingane.</p>");
	check("<ul><li>Covid-19</li><li>Kommunehelse</li></ul>", BASE,
	      "<ul><li>Covid-19</li><li>Kommunehelse</li></ul>");
	check("<ol start=\"3\" type=\"a\"><li>x</li></ol>", BASE,
	      "<ol start=\"3\" type=\"a\"><li>x</li></ol>");
	check("<table><thead><tr><th scope=\"col\">\xc3\x85r</th></tr></thead>"
	      "<tbody><tr><td colspan=\"2\" rowspan=\"1\">2022</td></tr></tbody></table>", BASE,
	      "<table><thead><tr><th scope=\"col\">\xc3\x85r</th></tr></thead>"
	      "<tbody><tr><td colspan=\"2\" rowspan=\"1\">2022</td></tr></tbody></table>");
	check("<a href=\"/no/aktuelt/id1\" title=\"Les mer\">Les mer</a>", BASE,
	      "<a href=\"https://www.helsedirektoratet.no/no/aktuelt/id1\" title=\"Les mer\">Les mer</a>");
	check("<a href=\"rapport.pdf\">PDF</a>", BASE,
	      "<a href=\"https://www.helsedirektoratet.no/nyheter/rapport.pdf\">PDF</a>");
	check("<a href=\"//www.fhi.no/x\">FHI</a>", BASE, "<a href=\"https://www.fhi.no/x\">FHI</a>");
	check("<a href=\"mailto:postmottak@hod.dep.no\">e-post</a>", BASE,
	      "<a href=\"mailto:postmottak@hod.dep.no\">e-post</a>");
	check("<img src=\"/bilde.jpg\" alt=\"Sjukehus &amp; kommune\" width=\"640\" height=\"480\">", BASE,
	      "<img src=\"https://www.helsedirektoratet.no/bilde.jpg\" alt=\"Sjukehus &amp; kommune\" "
	      "width=\"640\" height=\"480\">");
	check("<p>linje<br>to<br/>tre</p><hr>", BASE, "<p>linje<br>to<br>tre</p><hr>");
	check("<h2>Tittel</h2><blockquote>sitat</blockquote><pre>  kode\n  her</pre>", BASE,
	      "<h2>Tittel</h2><blockquote>sitat</blockquote><pre>  kode\n  her</pre>");
	check("<figure><img src=\"https://a.no/b.png\"><figcaption>Foto</figcaption></figure>", BASE,
	      "<figure><img src=\"https://a.no/b.png\"><figcaption>Foto</figcaption></figure>");
	check("<abbr title=\"Helse- og omsorgsdepartementet\">HOD</abbr> "
	      "<time datetime=\"2022-05-23\">23.05.2022</time>", BASE,
	      "<abbr title=\"Helse- og omsorgsdepartementet\">HOD</abbr> "
	      "<time datetime=\"2022-05-23\">23.05.2022</time>");
	check("<dl><dt>a</dt><dd>b</dd></dl><p>x<sub>2</sub>y<sup>3</sup> <del>d</del><ins>i</ins></p>",
	      BASE, "<dl><dt>a</dt><dd>b</dd></dl><p>x<sub>2</sub>y<sup>3</sup> <del>d</del><ins>i</ins></p>");
	/* unknown elements are unwrapped, their text kept */
	check("<font color=red>r\xc3\xb8" "d</font> <center>midt</center>", BASE,
	      "r\xc3\xb8" "d midt");
	/* attribute values escaped */
	check("<a href=\"https://a.no/?a=1&amp;b=2\" title='\"sitat\" &lt;x&gt;'>x</a>", BASE,
	      "<a href=\"https://a.no/?a=1&amp;b=2\" title=\"&quot;sitat&quot; &lt;x&gt;\">x</a>");
	/* bad values of good attributes go */
	check("<td colspan=\"2x\">a</td>", BASE, "<td>a</td>");
	check("<ol type=\"disc\" start=\"-1\"><li>a</li></ol>", BASE, "<ol><li>a</li></ol>");
	/* whole documents are reduced to their body's content */
	check("<html><head><title>T</title><script>x</script></head><body><p>kropp</p></body></html>",
	      BASE, "<p>kropp</p>");
}

static void test_text_fast_path(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_string_equal(san("Helt vanlig tekst", BASE, 4096, &b), "Helt vanlig tekst");
	assert_string_equal(san("A & B \"C\" 'D' > E", BASE, 4096, &b),
	                    "A &amp; B &quot;C&quot; &#39;D&#39; &gt; E");
	assert_string_equal(san("Bl&aring;b&aelig;r &amp; &lt;x&gt;", BASE, 4096, &b),
	                    "Bl\xc3\xa5" "b\xc3\xa6r &amp; &lt;x&gt;");
	assert_string_equal(san("bad \xff", BASE, 4096, &b), "bad \xef\xbf\xbd");
	assert_string_equal(san("ctl\x01\x02x", BASE, 4096, &b), "ctlx");
	/* noncharacters would make the Atom output invalid XML */
	assert_string_equal(san("a\xef\xbf\xbe" "b\xf4\x8f\xbf\xbf", BASE, 4096, &b),
	                    "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	assert_string_equal(san("<p>a\xef\xbf\xbf</p>", BASE, 4096, &b), "<p>a\xef\xbf\xbd</p>");
	assert_string_equal(san("<p>a&#xFFFE;&#1;b</p>", BASE, 4096, &b), "<p>ab</p>");
	assert_string_equal(san("   ", BASE, 4096, &b), "");
	assert_string_equal(san("", BASE, 4096, &b), "");
	buf_free(&b);
}

static void test_invalid_utf8_and_nul(void **state)
{
	struct buf b = BUF_INIT;
	const char in[] = "<p>a\xff" "b\0c \xc3\xa5</p>";

	(void)state;
	assert_int_equal(sanitize_html(in, sizeof(in) - 1, BASE, 4096, &b), 0);
	assert_safe("invalid utf-8", b.data);
	assert_string_equal(b.data, "<p>a\xef\xbf\xbd" "b c \xc3\xa5</p>");
	buf_free(&b);
}

static void test_max_length_balanced(void **state)
{
	struct buf b = BUF_INIT, in = BUF_INIT;

	(void)state;
	for (int i = 0; i < 200; i++)
		assert_int_equal(buf_printf(&in, "<p>Avsnitt <b>%d</b> med <a href=\"/a/%d\">lenke</a> "
		                                  "og \xc3\xa6\xc3\xb8\xc3\xa5</p>", i, i), 0);
	for (size_t max = 1; max < 400; max += 7) {
		buf_clear(&b);
		assert_int_equal(sanitize_html(in.data, in.len, BASE, max, &b), 0);
		if (b.len > max)
			fail_msg("max %zu: %zu bytes", max, b.len);
		assert_safe("long input", buf_str(&b));
	}
	buf_clear(&b);
	assert_int_equal(sanitize_html(in.data, in.len, BASE, 50000, &b), 0);
	assert_true(b.len < 50000);
	assert_true(b.len > 10000);
	/* appends after what is there */
	buf_clear(&b);
	assert_int_equal(buf_puts(&b, "<x>"), 0);
	assert_int_equal(sanitize_html("<p>a</p>", 8, BASE, 100, &b), 0);
	assert_string_equal(b.data, "<x><p>a</p>");
	buf_free(&b);
	buf_free(&in);
}

static void test_deep_nesting(void **state)
{
	struct buf b = BUF_INIT, in = BUF_INIT;

	(void)state;
	for (int i = 0; i < 5000; i++)
		assert_int_equal(buf_puts(&in, "<div><span>"), 0);
	assert_int_equal(buf_puts(&in, "bunn"), 0);
	assert_int_equal(sanitize_html(in.data, in.len, BASE, 1 << 20, &b), 0);
	assert_safe("deep", buf_str(&b));
	assert_non_null(strstr(buf_str(&b), "bunn"));
	buf_free(&b);
	buf_free(&in);
}

static void test_escape(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(sanitize_escape("<a href=\"x\">&'\x01\t\n\xc3\xa5", 19, &b), 0);
	assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;\t\n\xc3\xa5");
	/* a stray lead byte does not carry the next character out unescaped */
	buf_clear(&b);
	assert_int_equal(sanitize_escape("\xc3<\xff\"ab", 6, &b), 0);
	assert_string_equal(b.data, "\xc3&lt;\xff&quot;ab");
	buf_free(&b);
}

/* --- the tokenizer for simple markup against libxml2 ------------------- */

/* Compare both readers on one input; returns 1 when the tokenizer took it. */
static int same_both_ways(const char *in, size_t len, const char *base, size_t max)
{
	struct buf f = BUF_INIT, l = BUF_INIT;
	int rc, took;

	assert_int_equal(buf_puts(&f, "x"), 0); /* appends, never rewrites */
	assert_int_equal(buf_puts(&l, "x"), 0);
	rc = sanitize_html_fast(in, len, base, max, &f);
	assert_true(rc == 0 || rc == 1);
	took = rc == 0;
	if (took) {
		assert_int_equal(sanitize_html_libxml(in, len, base, max, &l), 0);
		if (strcmp(f.data, l.data))
			fail_msg("tokenizer and libxml2 differ on %.*s (max %zu, base %s)\n"
			         " fast   %s\n libxml %s", (int)len, in, max,
			         base ? base : "NULL", f.data, l.data);
		assert_safe(in, f.data + 1);
	} else {
		assert_string_equal(f.data, "x");
	}
	buf_free(&f);
	buf_free(&l);
	return took;
}

static const char *const diff_inputs[] = {
	"<p>Regjeringen gir <strong>50</strong> millioner <a href=\"/no/id1/\">les mer</a></p>",
	"<p>a</p><p>b &amp; c &lt;d&gt; &quot;e&quot; &#229; &#xE6; &nbsp;x&ndash;y</p>",
	"<p>open <em>em",
	"<br><br/><br /><hr><img src=\"https://x.no/a.png\" alt=\"bilde\" width=\"10\">",
	"<img src=\"/rel.png\" alt=\"relativ\"><img alt=\"no src\">",
	"<a href='https://x.no/?a=1&amp;b=2' title=\"t &amp; u\">x</a>",
	"<a href=\"javascript:alert(1)\">x</a><a href=\"  JaVa&#x09;script:x\">y</a>",
	"<a href=\"mailto:x@y.no\">m</a><a href=\"data:text/html,x\">d</a>",
	"<A HREF=\"https://x.no/\" TITLE=\"Stor\">STOR</A>",
	"<p onclick=\"x()\" class=\"c\" id=\"i\">t</p>",
	"<ul><li>a</li><li>b</li></ul><ol start=\"3\" type=\"a\"><li>c</li></ol>",
	"<ol start=\"99999\" type=\"x\"><li>c</li></ol>",
	"<p>a<p>b",
	"<p>a<div>b</div></p>",
	"<li>a<li>b",
	"<a href=\"/a\">1<a href=\"/b\">2</a></a>",
	"<b>fet<p>avsnitt</p></b>",
	"<h1>t</h1><h2>u<p>v</p></h2>",
	"<p>a</b>c</p>",
	"<p>x</P><P>y</p >",
	"<div><span>a</span></div>",
	"<p>&unknown; &amp &#0; &#xD800; &#1114112;</p>",
	"<p>&AMP; &Aring; &aring; &euro; &hellip; &apos;</p>",
	"<p>line\r\nbreak</p>",
	"<p>tab\tand\nnewline</p>",
	"<p>ctl\x01x\x7f</p>",
	"<p>a < b > c</p>",
	"<p><!-- c -->x</p>",
	"<p>x</p><script>alert(1)</script>",
	"<p/>x<b/>y",
	"<a href=\"x\"title=\"y\">z</a>",
	"<a href=x>z</a>",
	"<a href>z</a>",
	"<a href=\"/1\" href=\"/2\">z</a>",
	"<a href = \"/1\">z</a>",
	"<p>\xc3\xa5 \xe2\x80\x93 \xf0\x9f\x98\x80 \xcc\x8a</p>",
	"<p>a\xff\xfe b</p>",
	"<p>nul\0byte</p>",
	"   <p>  x  </p>   ",
	"<p>x</p>\n",
	"<p></p>",
	"<blockquote cite=\"https://x.no/k\">q</blockquote>",
	"<small><sub>1</sub><sup>2</sup><u>u</u><s>s</s><code>c</code><i>i</i></small>",
	"<img src=\"https://x.no/a.png\" width=\"10\" height=\"abc\" title=\"t\">",
	"<img src=\"https://x.no/a b.png\">",
	"<a href=\"https://x.no/\x01\">z</a>",
	"<a href=\"https://x.no/<x>\">z</a>",
	"<a href=\"\xe2\x80\x8bjavascript:x\">z</a>",
	"<p>e&#39;s</p><p>&#x3C;script&#x3E;</p>",
	"<p>&#60;b&#62;</p>",
	"<p title=\"x\">y</p>",
	"<",
	"x<",
	"<p",
	"<p>x</",
	"<a href=\"/x",
};

static const char *const diff_bases[] = {
	BASE, NULL, "javascript:alert(1)//", "https://x.no", "http://Eks.NO:80/a/b?q#f",
};

static void test_fast_path_agrees_with_libxml(void **state)
{
	static const size_t maxes[] = {1 << 20, 1, 3, 7, 12, 20, 33, 60};
	int took = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(diff_inputs) / sizeof(diff_inputs[0]); i++)
		for (size_t b = 0; b < sizeof(diff_bases) / sizeof(diff_bases[0]); b++)
			for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++)
				took += same_both_ways(diff_inputs[i], strlen(diff_inputs[i]) +
				                       (strstr(diff_inputs[i], "nul") ? 6 : 0),
				                       diff_bases[b], maxes[m]);
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		for (size_t b = 0; b < sizeof(diff_bases) / sizeof(diff_bases[0]); b++)
			(void)same_both_ways(vectors[i], strlen(vectors[i]), diff_bases[b], 1 << 20);
	/* the tokenizer must really carry the common shapes */
	assert_true(took > 100);
}

/* Valid UTF-8 without NUL, U+FFFE, U+FFFF: what sanitize_html_checked()
 * may be given. */
static int clean_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, k; i < n; i += k) {
		if (!p[i])
			return 0;
		if (p[i] < 0x80) {
			k = 1;
			continue;
		}
		if (!(k = norm_utf8_seq(p + i, n - i)) ||
		    (k == 3 && p[i] == 0xef && p[i + 1] == 0xbf && p[i + 2] >= 0xbe))
			return 0;
	}
	return 1;
}

/* For clean UTF-8 (what libxml2 hands feed.c), skipping the UTF-8 check
 * changes nothing: the same output for every vector, base and bound. */
static void test_checked_input_gives_the_same(void **state)
{
	static const size_t maxes[] = {1 << 20, 7, 33};
	struct buf a = BUF_INIT, b = BUF_INIT;
	int n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]) +
	                       sizeof(diff_inputs) / sizeof(diff_inputs[0]); i++) {
		size_t nv = sizeof(vectors) / sizeof(vectors[0]);
		const char *in = i < nv ? vectors[i] : diff_inputs[i - nv];
		size_t len = strlen(in);

		if (!clean_utf8(in, len))
			continue;
		for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
			buf_clear(&a);
			buf_clear(&b);
			assert_int_equal(sanitize_html(in, len, diff_bases[0], maxes[m], &a), 0);
			assert_int_equal(sanitize_html_checked(in, len, diff_bases[0], maxes[m], &b), 0);
			assert_string_equal(buf_str(&a), buf_str(&b));
			n++;
		}
	}
	assert_true(n > 100);
	buf_free(&a);
	buf_free(&b);
}

/* Random strings over the pieces the tokenizer knows and the ones it must
 * refuse; a fixed seed, so a failure reproduces. */
static void test_fast_path_random_agreement(void **state)
{
	static const char *const pieces[] = {
		"<p>", "</p>", "<b>", "</b>", "<strong>", "</strong>", "<em>", "</em>",
		"<i>", "</i>", "<a href=\"/r\">", "<a href=\"https://x.no/a?b=1&amp;c\">",
		"<a href=\"javascript:x\">", "<a title='t'>", "</a>", "<br>", "<br/>",
		"<hr>", "<img src=\"https://x.no/i.png\" alt=\"a\">", "<img src=\"x\">",
		"<ul>", "</ul>", "<ol>", "</ol>", "<li>", "</li>", "<div>", "</div>",
		"<span>", "</span>", "<h1>", "</h1>", "<h3>", "</h3>", "<blockquote>",
		"</blockquote>", "<small>", "</small>", "<u>", "</u>", "<s>", "</s>",
		"<code>", "</code>", "<sub>", "</sub>", "<p/>", "<table>", "<td>",
		"<font>", "</font>", "<script>", "</script>", "<!--x-->", "&amp;",
		"&lt;", "&gt;", "&quot;", "&nbsp;", "&aring;", "&#229;", "&#x2013;",
		"&bogus;", "&", "<", ">", " ", "\n", "\t", "tekst", "\xc3\xa6\xc3\xb8",
		"\xe2\x80\x9c", "'", "\"", "P", "</P>", "<P CLASS=\"x\">",
	};
	static const size_t maxes[] = {1 << 20, 5, 17, 40, 90};
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	struct buf in = BUF_INIT;
	int took = 0;

	(void)state;
	for (int n = 0; n < 20000; n++) {
		size_t k;

		buf_clear(&in);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		k = 1 + x % 12;
		for (size_t j = 0; j < k; j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			assert_int_equal(buf_puts(&in, pieces[x % (sizeof(pieces) / sizeof(pieces[0]))]), 0);
		}
		took += same_both_ways(in.data, in.len, diff_bases[n % 5], maxes[(n / 5) % 5]);
	}
	assert_true(took > 2000);
	buf_free(&in);
}

/* norm_url_resolve gives absolute http(s) URLs as libcurl writes them,
 * and judges them as norm_url_web does. */
static void test_plain_links_agree_with_curl(void **state)
{
	static const char *const urls[] = {
		"https://www.regjeringen.no/no/aktuelt/sak-2/id2900002/",
		"https://www.helsedirektoratet.no/nyheter/12",
		"http://x.no/a.b/c_d~e-f?g=1&h=2.3/4",
		"https://WWW.x.no/a", "HTTPS://x.no/a", "https://x.no", "https://x.no?a",
		"https://x.no:443/a", "https://u@x.no/a", "https://x.no/./a", "https://x.no/a/../b",
		"https://x.no/a//b", "https://x.no/a/.", "https://x.no/.a", "https://x.no/a.",
		"https://x.no/a#f", "https://x.no/a?b#f", "https://x.no/a%20b", "https://x.no/a b",
		"https://127.0.0.1/a", "https://0x7f.1/a", "https://1.2.3.e5/a", "https://x-.no/a",
		"https://-x.no/a", "https://x..no/a", "https://x.no./a", "https://.x.no/a",
		"https://localhost/a", "https://x.no/\xc3\xa5", "https://xn--bl-zia.no/a",
		"https://x.no/a?b=c?d", "https://x.no/a?b=%41", "https://x.no/a?b=c d",
		"https://x.no/a;b", "https://x.no/a?b/../c", "https://x.no/?", "https://x.no/a?.",
	};
	static const char *const pieces[] = {
		"a", "Z", "0", "9", "-", ".", "..", "/", "//", "?", "&", "=", "_", "~",
		"#", "%41", ":", "@", "no", "x", "/.", "./", "?a=b", "\\",
	};
	struct buf b = BUF_INIT, in = BUF_INIT;
	uint64_t x = 0x2545F4914F6CDD1DULL;

	(void)state;
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]) + 20000; i++) {
		const char *url = i < sizeof(urls) / sizeof(urls[0]) ? urls[i] : NULL;
		CURLU *u = curl_url();
		char *want = NULL;
		int web;

		if (!url) {
			buf_clear(&in);
			assert_int_equal(buf_puts(&in, x & 1 ? "https://" : "http://"), 0);
			for (size_t k = 0; k < 2 + (x >> 8) % 14; k++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				assert_int_equal(buf_puts(&in, pieces[x % (sizeof(pieces) / sizeof(pieces[0]))]), 0);
			}
			url = in.data;
		}
		assert_non_null(u);
		buf_clear(&b);
		assert_int_equal(norm_url_resolve("https://base.no/d/", url, &b, &web), 0);
		assert_int_equal(web, norm_url_web(b.data));
		if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE) ==
		        CURLUE_OK &&
		    curl_url_get(u, CURLUPART_URL, &want, 0) == CURLUE_OK) {
			if (strcmp(b.data, want))
				fail_msg("norm_url_resolve(%s) = %s, libcurl %s", url, b.data, want);
		} else {
			assert_string_equal(b.data, url);
		}
		curl_free(want);
		curl_url_cleanup(u);
	}
	buf_free(&b);
	buf_free(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xss_vectors),
		cmocka_unit_test(test_xss_payloads_gone),
		cmocka_unit_test(test_good_html_survives),
		cmocka_unit_test(test_text_fast_path),
		cmocka_unit_test(test_invalid_utf8_and_nul),
		cmocka_unit_test(test_max_length_balanced),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_fast_path_agrees_with_libxml),
		cmocka_unit_test(test_fast_path_random_agreement),
		cmocka_unit_test(test_checked_input_gives_the_same),
		cmocka_unit_test(test_plain_links_agree_with_curl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
