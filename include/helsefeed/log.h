/*
 * log.h - one line per event on stderr: "LEVEL: message".
 *
 * journald adds the time, so none is printed.  Messages name the thing they
 * are about (feed name, file:line, URL) and carry figures where there are
 * any.  Text from the network is passed through log_write's sanitiser:
 * control characters are replaced, so a feed cannot forge log lines.
 *
 * When JOURNAL_STREAM (systemd.exec(5)) names the stream stderr is, every
 * line starts with its sd-daemon(3) priority, "<3>" error, "<4>" warn,
 * "<6>" info, "<7>" debug, which journald takes off and keeps as the
 * line's priority (journalctl -p warning).
 */
#ifndef HELSEFEED_LOG_H
#define HELSEFEED_LOG_H

#include "helsefeed/err.h"

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Messages above this level are dropped.  Default LOG_LVL_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "error", "warn", "info", "debug" -> level; returns HF_EINVAL otherwise. */
int log_level_parse(const char *name, enum log_level *out) HF_WUR;

void log_write(enum log_level level, const char *fmt, ...) HF_PRINTF(2, 3);

#define log_error(...) log_write(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_write(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
