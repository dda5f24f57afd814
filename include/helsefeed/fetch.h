/*
 * fetch.h - the transfer engine: many HTTP(S) GETs at once, one thread.
 *
 * Built on libcurl's multi interface.  Requests are queued with
 * fetch_engine_add() and started while fewer than max_connections
 * transfers run in total and fewer than max_per_host run against the
 * request's host; the rest wait in the engine's queue, so the transfer
 * time-out counts from the moment a transfer really starts.  Connections,
 * TLS sessions and DNS answers are kept in the multi handle and reused by
 * later transfers.
 *
 * Every bound comes from struct config (defaults in limits.h): connect
 * time-out, total time-out, low-speed abort, body size (checked on the
 * decompressed bytes, so a gzip bomb is cut off at max_body), redirect
 * count (never above HF_FETCH_MAX_REDIRECTS).  Only http and https are
 * fetched; file:// only when allow_file_urls is set, and never as the
 * target of a redirect.  TLS certificates are always verified.
 *
 * Untrusted: everything in struct fetch_result except ud and url.  Header
 * values are bounded (HF_FETCH_MAX_HEADER) and stripped of control
 * characters; the body is raw bytes (NUL-terminated for convenience).
 *
 * Driving it: the ingest session calls fetch_engine_perform() from its
 * loop, passing its wake-up descriptors so that a signal or a parser
 * process interrupts the wait.  Completion callbacks run inside it, one
 * per request, in completion order.
 */
#ifndef HELSEFEED_FETCH_H
#define HELSEFEED_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "helsefeed/config.h"
#include "helsefeed/err.h"

/* A stored validator or an interesting header longer than this is not
 * kept: real ETags are short, and RFC 9110 8.8 puts no bound we must
 * honour. */
#define HF_FETCH_MAX_HEADER 1024

/* "No value" for the time fields of struct fetch_result. */
#define FETCH_NOTIME INT64_MIN

struct fetch_request {
	const char *url;            /* absolute URL; copied */
	const char *etag;           /* stored ETag sent as If-None-Match, or NULL */
	const char *last_modified;  /* sent verbatim as If-Modified-Since, or NULL */
	const char *user_agent;     /* NULL: the configured one */
	void *ud;                   /* handed back in the result */
};

struct fetch_result {
	void *ud;                   /* from the request */
	const char *url;            /* as requested */
	/* 0: a response arrived (any status, see `status`).  HF_ENET: the
	 * transfer failed (DNS, connect, TLS, time-out, reset, refused
	 * protocol, too many redirects).  HF_ETOOBIG: the body exceeded
	 * max_body.  HF_ENOMEM. */
	int code;
	long status;                /* final HTTP status; 200 for a file:// read; 0 when none */
	/* Headers of the final response, NULL when absent. */
	const char *etag;
	const char *last_modified;
	const char *content_type;
	/* Retry-After (RFC 9110 10.2.3) as absolute UTC seconds, from
	 * delay-seconds or an HTTP-date; FETCH_NOTIME when absent/invalid. */
	int64_t retry_after;
	/* Cache-Control max-age (RFC 9111 5.2.2.1) in seconds, -1 when absent. */
	int64_t max_age;
	const char *final_url;      /* after redirects */
	int redirects;              /* hops followed */
	/* The URL the feed has moved to, when at least one redirect was
	 * followed and every hop was permanent (301 or 308, RFC 9110 15.4.2
	 * and 15.4.9); NULL otherwise.  Equals final_url when set. */
	const char *moved_to;
	const char *body;           /* never NULL; NUL-terminated */
	size_t body_len;
	int64_t duration_ms;
	/* One line naming the URL when the transfer failed or the status is
	 * not 2xx/304; NULL otherwise. */
	const char *error;
};

/* Everything in the result is borrowed and valid only during the call. */
typedef void (*fetch_done_fn)(void *ctx, const struct fetch_result *res);

struct fetch_engine;

/*
 * A new engine using the fetch settings of `cfg` (time-outs, sizes,
 * connections, proxy, user agent, allow_file_urls); `cfg` must outlive
 * the engine.  `done` is called once per added request.  Returns 0 and
 * *out (the caller's: fetch_engine_free), or HF_ENOMEM / HF_ERR.
 */
int fetch_engine_new(const struct config *cfg, fetch_done_fn done, void *ctx,
                     struct fetch_engine **out) HF_WUR;
/* Aborts unfinished transfers without calling `done`.  NULL is a no-op. */
void fetch_engine_free(struct fetch_engine *e);

/*
 * Queue one request (strings are copied).  May be called from `done`.
 * Returns 0, HF_EINVAL (no URL), HF_ENOMEM.
 */
int fetch_engine_add(struct fetch_engine *e, const struct fetch_request *req) HF_WUR;

/*
 * One step: start queued transfers, move data, run `done` for finished
 * ones; then, when work remains and timeout_ms > 0, wait up to timeout_ms
 * for socket activity or for one of the `nfds` descriptors `fds` (the
 * loop's signalfd, the parser processes' pipes; at most
 * FETCH_MAX_WAKE_FDS) to become readable, and move data again.  Returns
 * the number of requests not yet completed (queued + running), or HF_ERR
 * when libcurl's multi handle failed.
 */
#define FETCH_MAX_WAKE_FDS 8
int fetch_engine_perform(struct fetch_engine *e, int timeout_ms, const int *fds,
                         size_t nfds) HF_WUR;

/* Requests not yet completed. */
size_t fetch_engine_pending(const struct fetch_engine *e);

/* "helsefeed/VERSION (+CONTACT)", or "helsefeed/VERSION" without a
 * contact, into `out`.  0 or HF_ENOMEM. */
int fetch_default_user_agent(const char *contact, struct buf *out) HF_WUR;

/*
 * Addresses.  A redirect may lead only to a public address: never to
 * loopback, RFC 1918, link-local (cloud metadata), CGNAT, multicast,
 * unspecified, documentation or reserved blocks, in IPv4 or IPv6, the
 * IPv6 forms that embed an IPv4 address judged by that address; unless
 * the address lies in one of the admin's `allow_networks`.  The
 * configured URL itself is never judged.  The check is on the address
 * the connection really has, after DNS, so that a name that resolves
 * differently the second time (DNS rebinding) gains nothing.
 */
struct sockaddr;
struct fetch_cidr {
	int family;              /* AF_INET or AF_INET6 */
	unsigned char addr[16];  /* network byte order */
	int prefix;              /* bits */
};

/* "10.0.0.0/8", "::1", "127.0.0.1/32": 0 and *out, or HF_EINVAL. */
int fetch_cidr_parse(const char *s, struct fetch_cidr *out) HF_WUR;
/* 1 when `sa` is a public address or inside one of `allow`, else 0. */
int fetch_addr_public(const struct sockaddr *sa, const struct fetch_cidr *allow,
                      size_t nallow);

#endif
