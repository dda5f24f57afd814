/* log.c - error texts and the stderr log; see err.h and util.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helsefeed/err.h"
#include "helsefeed/util.h"

/* Set and read by the one thread of the process: a SIGHUP is read from
 * the daemon's signalfd, never handled asynchronously (daemon.h). */
static int current = LOG_LVL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* sd-daemon(3) priorities of the levels: LOG_ERR, LOG_WARNING, LOG_INFO,
 * LOG_DEBUG.  journald reads a "<N>" at the start of a line as the
 * line's priority, so that `journalctl -p warning` finds our warnings. */
static const char *const level_prefix[] = {"<3>", "<4>", "<6>", "<7>"};

/* -1 not looked at yet, 0 no, 1 stderr is journald's stream. */
static _Atomic int to_journal = -1;

/* systemd.exec(5): JOURNAL_STREAM is "DEVICE:INODE" of the stream it
 * connected stdout/stderr to.  It is inherited by children whose stderr
 * goes elsewhere, so it counts only when it names our stderr. */
static int stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;
	char end;

	if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(2, &sb) != 0)
		return 0;
	return (unsigned long long)sb.st_dev == dev &&
	       (unsigned long long)sb.st_ino == ino;
}

const char *hf_strerror(int code)
{
	switch (code) {
	case HF_OK: return "success";
	case HF_ENOMEM: return "out of memory";
	case HF_EIO: return "input/output error";
	case HF_EINVAL: return "invalid value";
	case HF_ECONFIG: return "invalid configuration";
	case HF_ENOTFEED: return "not a feed";
	case HF_ETOOBIG: return "limit exceeded";
	case HF_EDB: return "database error";
	case HF_ENET: return "transfer failed";
	case HF_EVERSION: return "database schema version not supported";
	case HF_EUSAGE: return "usage error";
	case HF_EABORT: return "aborted";
	default: return "failure";
	}
}

void log_set_level(enum log_level level)
{
	current = (int)level;
}

enum log_level log_get_level(void)
{
	return (enum log_level)current;
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return HF_OK;
		}
	}
	return HF_EINVAL;
}

void log_write(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if ((int)level > current)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* Text from feeds may reach a message: one event, one line. */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (to_journal < 0)
		to_journal = stderr_is_journal();
	fprintf(stderr, "%s%s: %s\n", to_journal ? level_prefix[level] : "",
	        level_names[level], line);
}
