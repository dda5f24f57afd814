<?xml version="1.0" encoding="utf-8"?>
<!--
  feed.xsl - shows a helsefeed Atom file as a page when a browser opens
  it (<?xml-stylesheet?> in every feed); feed readers ignore it.
  XSLT 1.0: the only version browsers run.  No script, nothing fetched.
  The HTML in atom:content was sanitised by an allowlist when it was
  stored; disable-output-escaping shows it as markup where the browser
  supports that and as text elsewhere.
  An extra only: every feed has an HTML page of its own (its
  rel="alternate" link), which needs no XSLT.  Times are shown in the
  site's time zone from hf:local, which helsefeed writes beside
  atom:published: XSLT 1.0 cannot convert zones itself.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:hf="tag:helsefeed,2026:atom"
    exclude-result-prefixes="atom hf">
  <xsl:output method="html" encoding="utf-8" indent="yes"
      doctype-system="about:legacy-compat"/>

  <xsl:template match="/atom:feed">
    <html lang="nb">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="atom:title"/></title>
        <style>
          body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;max-width:46em;padding:0 1em;color:#1b1b1b}
          .about{background:#eef6f1;border:1px solid #bcd;padding:.6em .8em;font-size:.9em}
          .about code{word-break:break-all}
          h2{font-size:1.05em;margin:0}
          .entry{margin:1.2em 0;border-bottom:1px solid #ddd;padding-bottom:.8em}
          .meta{color:#555;font-size:.85em;margin:.2em 0}
          .body{overflow-wrap:break-word}
          .body img{max-width:100%;height:auto}
          a{color:#05a}
        </style>
      </head>
      <body>
        <h1><xsl:value-of select="atom:title"/></h1>
        <p class="about">Dette er en nyhetsstrøm (Atom).  Lim inn adressen
          <code><xsl:value-of select="atom:link[@rel='self']/@href"/></code>
          i en nyhetsleser for å abonnere.
          <a href="{atom:link[@rel='alternate']/@href}">Vis som nettside</a></p>
        <xsl:apply-templates select="atom:entry"/>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="atom:entry">
    <article class="entry">
      <h2>
        <xsl:choose>
          <xsl:when test="atom:link[@rel='alternate']">
            <a href="{atom:link[@rel='alternate']/@href}">
              <xsl:value-of select="atom:title"/>
            </a>
          </xsl:when>
          <xsl:otherwise><xsl:value-of select="atom:title"/></xsl:otherwise>
        </xsl:choose>
      </h2>
      <p class="meta">
        <xsl:value-of select="atom:source/atom:title"/>
        <xsl:text> · </xsl:text>
        <time datetime="{atom:published}">
          <xsl:choose>
            <xsl:when test="hf:local">
              <xsl:value-of select="concat(substring(hf:local, 9, 2), '.',
                  substring(hf:local, 6, 2), '.',
                  substring(hf:local, 1, 4), ' kl. ',
                  substring(hf:local, 12, 5))"/>
            </xsl:when>
            <xsl:otherwise>
              <xsl:value-of select="concat(substring(atom:published, 9, 2), '.',
                  substring(atom:published, 6, 2), '.',
                  substring(atom:published, 1, 4), ' ',
                  substring(atom:published, 12, 5), ' UTC')"/>
            </xsl:otherwise>
          </xsl:choose>
        </time>
        <xsl:for-each select="atom:category">
          <xsl:text> · </xsl:text><xsl:value-of select="@label"/>
        </xsl:for-each>
        <xsl:if test="atom:link[@rel='via']">
          <xsl:text> · også: </xsl:text>
          <xsl:for-each select="atom:link[@rel='via']">
            <xsl:if test="position() &gt; 1">, </xsl:if>
            <a href="{@href}"><xsl:value-of select="@title"/></a>
          </xsl:for-each>
        </xsl:if>
      </p>
      <div class="body">
        <xsl:choose>
          <xsl:when test="atom:content">
            <xsl:value-of select="atom:content" disable-output-escaping="yes"/>
          </xsl:when>
          <xsl:otherwise>
            <xsl:value-of select="atom:summary" disable-output-escaping="yes"/>
          </xsl:otherwise>
        </xsl:choose>
      </div>
    </article>
  </xsl:template>
</xsl:stylesheet>
