/*
 * cmd/digest.c - `helsefeed digest [--dry-run] [--group NAME] [--send-now]`,
 * `--list [--group NAME]`, `--resend ID`.
 *
 * Default: send the digests that are due (SMTP, or .eml files in the spool
 * directory without [smtp]).  --dry-run prints the messages that would go
 * out, complete RFC 5322 text, and records nothing.  --send-now needs
 * --group: that group's window up to now goes out at once, whatever the
 * schedule.
 *
 * Exit 0 when every group was settled, 1 when a delivery failed (it is
 * recorded and retried by the next run) or the store failed, 2 for usage
 * and configuration errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helsefeed/util.h"
#include "helsefeed/cli.h"
#include "helsefeed/config.h"
#include "helsefeed/digest.h"
#include "helsefeed/text.h"
#include "helsefeed/store.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: helsefeed [-c FILE] digest [--dry-run] [--group NAME] [--send-now]\n"
	           "       helsefeed [-c FILE] digest --list [--group NAME]\n"
	           "       helsefeed [-c FILE] digest --resend ID\n\n"
	           "Build and send the e-mail digests that are due.\n"
	           "  --dry-run     print the messages that would go out; record nothing\n"
	           "  --group NAME  only the [digest NAME] group\n"
	           "  --send-now    send the group's digest now, whatever its schedule\n"
	           "                (needs --group)\n"
	           "  --list        the digests sent and tried: window, state, sent at,\n"
	           "                recipients, stories, Message-ID, last error\n"
	           "  --resend ID   send digest ID (see --list) again, with a new\n"
	           "                Message-ID, marked as resent\n\n"
	           "Exit 0 when all went out, 1 when a delivery failed (it is retried\n"
	           "by the next run), 2 on usage or configuration errors.\n");
}

/* The clock: time(2), or in test builds the test hook of digest.h. */
static int now_of(int64_t *out)
{
#ifdef HF_TEST_HOOKS
	const char *v = getenv(DIGEST_TEST_NOW_ENV);
	char *end;
	long long t;

	if (v && *v) {
		errno = 0;
		t = strtoll(v, &end, 10);
		if (errno || *end || t <= 0) {
			fprintf(stderr, "helsefeed digest: %s: expected seconds since the epoch, not '%s'\n",
			        DIGEST_TEST_NOW_ENV, v);
			return HF_EINVAL;
		}
		*out = (int64_t)t;
		return HF_OK;
	}
#endif
	*out = (int64_t)time(NULL);
	return HF_OK;
}

static void iso(int64_t t, char out[21])
{
	if (t)
		norm_date_iso(t, out);
	else
		snprintf(out, 21, "-");
}

static int list_row(void *ud, const struct store_digest_row *r)
{
	char a[21], b[21], c[21], rc[32], n[24];

	(void)ud;
	iso(r->window_start, a);
	iso(r->window_end, b);
	iso(r->sent_at, c);
	snprintf(rc, sizeof rc, "%d/%d/%d", r->nsent, r->ndeferred, r->nrefused);
	if (r->item_count >= 0)
		snprintf(n, sizeof n, "%lld", (long long)r->item_count);
	else
		snprintf(n, sizeof n, "-");
	printf("%-5lld %-12s %-9s %s %s %-8s %-20s %-7s %-5s %s", (long long)r->id, r->group,
	       store_digest_kind_name(r->kind), a, b, store_digest_state_name(r->state), c, rc,
	       n, r->message_id ? r->message_id : "-");
	if (r->resend_of)
		printf(" (resend of %lld)", (long long)r->resend_of);
	if (r->last_error)
		printf("\n      %s", r->last_error);
	return putchar('\n') == EOF ? HF_EIO : HF_OK;
}

/* The history of the digests, newest first. */
static int list(struct store *st, const char *group)
{
	printf("%-5s %-12s %-9s %-20s %-20s %-8s %-20s %-7s %-5s %s\n", "ID", "GROUP", "KIND",
	       "WINDOW START", "WINDOW END", "STATE", "SENT AT", "RCPT", "ITEMS", "MESSAGE-ID");
	return store_digest_list(st, group, DIGEST_LIST_MAX, list_row, NULL);
}

int cmd_digest(const struct cli *cli, int argc, char **argv)
{
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct buf errs = BUF_INIT, out = BUF_INIT;
	struct digest_stats s = {0};
	const char *group = NULL;
	int flags = 0, ex = HF_EXIT_USAGE, rc, listing = 0;
	long long resend = 0;
	int64_t now;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--dry-run") == 0) {
			flags |= DIGEST_DRY_RUN;
		} else if (strcmp(a, "--send-now") == 0) {
			flags |= DIGEST_SEND_NOW;
		} else if (strcmp(a, "--group") == 0 && i + 1 < argc) {
			group = argv[++i];
		} else if (strncmp(a, "--group=", 8) == 0) {
			group = a + 8;
		} else if (strcmp(a, "--list") == 0) {
			listing = 1;
		} else if (strcmp(a, "--resend") == 0 && i + 1 < argc) {
			char *end;
			errno = 0;
			resend = strtoll(argv[++i], &end, 10);
			if (errno || *end || resend <= 0) {
				fprintf(stderr, "helsefeed digest: --resend: expected a digest id "
				        "from --list, not '%s'\n", argv[i]);
				goto out;
			}
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			ex = HF_EXIT_OK;
			goto out;
		} else {
			fprintf(stderr, "helsefeed digest: unexpected '%s'\n", a);
			usage(stderr);
			goto out;
		}
	}
	if ((listing || resend) && (flags || (resend && (listing || group)))) {
		fprintf(stderr, "helsefeed digest: --list and --resend go alone "
		        "(--list with --group)\n");
		goto out;
	}
	if ((flags & DIGEST_SEND_NOW) && !group) {
		fprintf(stderr, "helsefeed digest: --send-now needs --group NAME\n");
		goto out;
	}
	if (now_of(&now))
		goto out;
	if ((rc = config_load(cli->config_path, &cfg, &errs))) {
		if (errs.len)
			fprintf(stderr, "%s%s", errs.data, errs.data[errs.len - 1] == '\n' ? "" : "\n");
		else
			fprintf(stderr, "%s: %s\n", cli->config_path, hf_strerror(rc));
		goto out;
	}
	if (group && !cfg->ndigests) {
		fprintf(stderr, "helsefeed digest: %s has no [digest] section\n", cli->config_path);
		goto out;
	}
	ex = HF_EXIT_FAIL;
	if (store_open(cfg->database, &st, NULL))
		goto out;
	if (listing) {
		ex = list(st, group) || fflush(stdout) ? HF_EXIT_FAIL : HF_EXIT_OK;
		goto out;
	}
	if (resend) {
		rc = digest_resend(cfg, st, now, (int64_t)resend, &s);
		ex = rc == HF_EINVAL ? HF_EXIT_USAGE : rc ? HF_EXIT_FAIL : HF_EXIT_OK;
		goto out;
	}
	rc = digest_run(cfg, st, now, flags, group, &out, &s);
	if (out.len)
		fwrite(out.data, 1, out.len, stdout);
	if (rc == HF_EINVAL) {
		ex = HF_EXIT_USAGE;
		goto out;
	}
	if (!(flags & DIGEST_DRY_RUN))
		log_info("digest: %d sent, %d empty, %d failed, %d not due", s.sent, s.empty,
		         s.failed, s.waiting);
	ex = rc ? HF_EXIT_FAIL : HF_EXIT_OK;
out:
	store_close(st);
	config_free(cfg);
	buf_free(&errs);
	buf_free(&out);
	return ex;
}
