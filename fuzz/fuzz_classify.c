/*
 * fuzz_classify.c - keyword matching over untrusted item text.  The rules
 * are a fixed configuration with the shipped gazetteer (the default one)
 * and terms of its own; the input is split into title, summary and one
 * entry category at the first two NUL bytes.  The whole input is also
 * given to the gazetteer's parsers, as a gazetteer file and as the value
 * of a `terms` key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helsefeed/classify.h"
#include "helsefeed/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char rules[] =
	"[helsefeed]\nbase_url = https://example.no/\n"
	"[category hospitals]\nmatch = sykehus* sjukehus* *sykehus* helseforetak* ventetid*[pasient* behandling*]\n"
	"[category municipal]\nmatch = sykehjem* *heimetenest* kommun*[sykehjem* fastlege*]\n"
	"exclude = *fylkeskommun*\n"
	"[category covid]\nmatch = covid* sars-cov-2 korona*[pandemi* vaksin*]\n"
	"exclude = koronar koronarsykdom*\n"
	"terms = 0.5 smitte [tiltak karantene], 2 Helse Møre og Romsdal, KS, -1 influensa,"
	" covid-19 [vaksine]\nthreshold = 1.5\n"
	"[feed x]\nurl = https://example.no/feed\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config *cfg;
	static struct classify *cls;
	struct buf err = BUF_INIT, explain = BUF_INIT;
	unsigned char hits[8] = {0};
	char *text, *summary, *cat;
	const char *cats[1];
	struct classify_input in = {0};

	if (!cls) {
		if (config_load_mem("rules.conf", rules, sizeof rules - 1, &cfg, &err) != 0 ||
		    classify_compile(cfg, &cls, &err) != 0)
			abort();
		buf_free(&err);
	}
	text = malloc(size + 3);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = text[size + 1] = text[size + 2] = '\0';
	summary = text + strlen(text) + 1;
	cat = summary + strlen(summary) + 1;
	if (cat > text + size + 2)
		cat = text + size + 2;
	cats[0] = cat;
	in.title = text;
	in.summary = summary;
	in.content = summary;
	in.categories = cats;
	in.ncategories = 1;
	(void)!classify_item(cls, &in, hits, &explain);
	buf_free(&explain);
	{
		char msg[256];

		(void)!classify_gazetteer_check("fuzz", (const char *)data, size, &err);
		(void)classify_terms_check(text, msg, sizeof msg);
		buf_free(&err);
	}
	free(text);
	return 0;
}
