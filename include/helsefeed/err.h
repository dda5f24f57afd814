/*
 * err.h - the one error convention of helsefeed.
 *
 * Every fallible function returns 0 on success or one of the negative codes
 * below.  The message that explains a failure is written once, where the
 * failure is known (naming the feed, file:line or URL), either to the log or
 * into a caller-supplied struct buf; the code is then passed up untouched.
 */
#ifndef HELSEFEED_ERR_H
#define HELSEFEED_ERR_H

#define HF_WUR __attribute__((warn_unused_result))
#define HF_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum hf_err {
	HF_OK = 0,
	HF_ERR = -1,         /* generic failure; the message says what */
	HF_ENOMEM = -2,      /* allocation failed */
	HF_EIO = -3,         /* file system or socket error */
	HF_EINVAL = -4,      /* invalid argument or value */
	HF_ECONFIG = -5,     /* configuration file is invalid */
	HF_ENOTFEED = -6,    /* document is not an RSS/Atom feed */
	HF_ETOOBIG = -7,     /* a bound from limits.h was exceeded */
	HF_EDB = -8,         /* SQLite reported an error */
	HF_ENET = -9,        /* transfer failed */
	HF_EVERSION = -10,   /* database schema this binary cannot use */
	HF_EUSAGE = -11,     /* command-line usage error */
	HF_EABORT = -12,     /* a callback asked to stop */
};

/* Short constant text for a code ("out of memory", ...). Never NULL. */
const char *hf_strerror(int code);

#endif
