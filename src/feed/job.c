/* job.c - parse a fetched document in a child process with a CPU, memory
 * and time budget, and read its entries back; see feed.h "Parsing in a
 * child process". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <utf8proc.h>

#include "helsefeed/util.h"
#include "helsefeed/feed.h"
#include "helsefeed/limits.h"

/*
 * The protocol, child to parent, on one pipe: records of
 *   u8 type | u32 payload length | payload
 * in host byte order (both ends are the same binary).  'E' is an entry,
 * 'D' the end, always last.  A string is u32 length (FEED_WIRE_NULL for
 * NULL), the bytes, then a NUL, so that the decoded entry can point into
 * the received buffer.
 *   E: str key, u64 raw_hash, str id, str title, str link, i64 published,
 *      i64 updated, str author, str summary, str content, u32 flags,
 *      u32 ncategories, str category..., u32 nenclosures,
 *      (str url, str type, i64 length)...
 *   D: i32 code, u8 format, u8 recovered, str title, str link, str message
 */
#define FEED_WIRE_NULL UINT32_MAX

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define JOB_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define JOB_SANITIZER 1
#endif
#endif

/* --- encoding (the child) ------------------------------------------------- */

static int put(struct buf *b, const void *p, size_t n)
{
	return buf_append(b, p, n);
}

static int put_u32(struct buf *b, uint32_t v) { return put(b, &v, sizeof v); }
static int put_i64(struct buf *b, int64_t v) { return put(b, &v, sizeof v); }

static int put_str(struct buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	int rc;

	if (!s)
		return put_u32(b, FEED_WIRE_NULL);
	if (n >= FEED_WIRE_NULL)
		return HF_ETOOBIG;
	if ((rc = put_u32(b, (uint32_t)n)) || (rc = put(b, s, n)))
		return rc;
	return buf_putc(b, '\0');
}

/* Start a record of `type`; its length is patched by rec_end. */
static int rec_begin(struct buf *b, char type, size_t *at)
{
	int rc;

	*at = b->len + 1;
	if ((rc = buf_putc(b, type)))
		return rc;
	return put_u32(b, 0);
}

static int rec_end(struct buf *b, size_t at)
{
	size_t n = b->len - at - sizeof(uint32_t);
	uint32_t v;

	if (n > HF_PARSE_MAX_OUTPUT)
		return HF_ETOOBIG;
	v = (uint32_t)n;
	memcpy(b->data + at, &v, sizeof v);
	return HF_OK;
}

int feed_wire_entry(struct buf *b, const struct feed_entry *e)
{
	size_t at;
	int rc;

	if ((rc = rec_begin(b, 'E', &at)) || (rc = put_str(b, e->key)) ||
	    (rc = put(b, &e->raw_hash, sizeof e->raw_hash)) ||
	    (rc = put_str(b, e->id)) || (rc = put_str(b, e->title)) ||
	    (rc = put_str(b, e->link)) || (rc = put_i64(b, e->published)) ||
	    (rc = put_i64(b, e->updated)) || (rc = put_str(b, e->author)) ||
	    (rc = put_str(b, e->summary)) || (rc = put_str(b, e->content)) ||
	    (rc = put_u32(b, e->flags)) || (rc = put_u32(b, (uint32_t)e->ncategories)))
		return rc;
	for (size_t i = 0; i < e->ncategories; i++)
		if ((rc = put_str(b, e->categories[i])))
			return rc;
	if ((rc = put_u32(b, (uint32_t)e->nenclosures)))
		return rc;
	for (size_t i = 0; i < e->nenclosures; i++) {
		const struct feed_enclosure *x = &e->enclosures[i];

		if ((rc = put_str(b, x->url)) || (rc = put_str(b, x->type)) ||
		    (rc = put_i64(b, x->length)))
			return rc;
	}
	return rec_end(b, at);
}

int feed_wire_done(struct buf *b, int code, const struct feed_info *info, const char *msg)
{
	int32_t c = code;
	unsigned char fmt = (unsigned char)info->format, rec = info->recovered != 0;
	size_t at;
	int rc;

	if ((rc = rec_begin(b, 'D', &at)) || (rc = put(b, &c, sizeof c)) ||
	    (rc = put(b, &fmt, 1)) || (rc = put(b, &rec, 1)) ||
	    (rc = put_str(b, info->title)) || (rc = put_str(b, info->link)) ||
	    (rc = put_str(b, msg)))
		return rc;
	return rec_end(b, at);
}

/* --- decoding (the parent): the child's bytes are untrusted --------------- */

struct rd {
	const char *p, *end;
	int bad;
};

static const void *take(struct rd *r, size_t n)
{
	const char *p = r->p;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return NULL;
	}
	r->p += n;
	return p;
}

static uint32_t get_u32(struct rd *r)
{
	const void *p = take(r, sizeof(uint32_t));
	uint32_t v = 0;

	if (p)
		memcpy(&v, p, sizeof v);
	return v;
}

static int64_t get_i64(struct rd *r)
{
	const void *p = take(r, sizeof(int64_t));
	int64_t v = 0;

	if (p)
		memcpy(&v, p, sizeof v);
	return v;
}

/* Valid UTF-8, no NUL inside. */
static int text_ok(const char *s, size_t n)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t i = 0;

	while (i < n) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t m;

		if (p[i] < 0x80) {
			if (!p[i])
				return 0;
			i++;
			continue;
		}
		m = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
		if (m <= 0)
			return 0;
		i += (size_t)m;
	}
	return 1;
}

/* A string of at most `max` bytes; NULL for the wire's NULL (and on a
 * decoding error, with r->bad set). */
static const char *get_str(struct rd *r, size_t max)
{
	uint32_t n = get_u32(r);
	const char *s;

	if (r->bad || n == FEED_WIRE_NULL)
		return NULL;
	if (n > max || !(s = take(r, (size_t)n + 1)) || s[n] != '\0' || !text_ok(s, n)) {
		r->bad = 1;
		return NULL;
	}
	return s;
}

/* The key: the id, else the link, else "title|date" (feed.h). */
#define WIRE_MAX_KEY (HF_MAX_ID + HF_MAX_URL + HF_MAX_TITLE + 32)

/* One entry record; with e NULL only checked and counted. */
static void get_entry(struct rd *r, struct feed_entry *e, const char **cats,
                      struct feed_enclosure *encs, size_t *ncat, size_t *nenc)
{
	struct feed_entry x = {0};
	const void *h;
	uint32_t n;

	x.key = get_str(r, WIRE_MAX_KEY);
	if ((h = take(r, sizeof x.raw_hash)))
		memcpy(&x.raw_hash, h, sizeof x.raw_hash);
	x.id = get_str(r, HF_MAX_ID);
	x.title = get_str(r, HF_MAX_TITLE);
	x.link = get_str(r, HF_MAX_URL);
	x.published = get_i64(r);
	x.updated = get_i64(r);
	x.author = get_str(r, HF_MAX_AUTHOR);
	x.summary = get_str(r, HF_MAX_SUMMARY);
	x.content = get_str(r, HF_MAX_CONTENT);
	x.flags = get_u32(r);
	if (!x.key)
		r->bad = 1;
	n = get_u32(r);
	if (n > HF_MAX_CATEGORIES)
		r->bad = 1;
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		const char *c = get_str(r, HF_MAX_CATEGORY);

		if (!c)
			r->bad = 1;
		else if (cats)
			cats[i] = c;
	}
	x.categories = cats;
	x.ncategories = r->bad ? 0 : n;
	n = get_u32(r);
	if (n > HF_MAX_ENCLOSURES)
		r->bad = 1;
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		struct feed_enclosure en;

		en.url = (char *)get_str(r, HF_MAX_URL);
		en.type = (char *)get_str(r, HF_MAX_URL);
		en.length = get_i64(r);
		if (!en.url)
			r->bad = 1;
		else if (encs)
			encs[i] = en;
	}
	x.enclosures = encs;
	x.nenclosures = r->bad ? 0 : n;
	if (r->bad)
		return;
	*ncat += x.ncategories;
	*nenc += x.nenclosures;
	if (e)
		*e = x;
}

void feed_doc_free(struct feed_doc *d)
{
	if (!d)
		return;
	free(d->entries);
	free(d->cats);
	free(d->encs);
	buf_free(&d->raw);
	memset(d, 0, sizeof *d);
}

/* Walk the records; with fill, d's arrays are sized already and filled. */
static int walk(struct feed_doc *d, int fill, struct buf *err)
{
	struct rd r = {d->raw.data, d->raw.data + d->raw.len, 0};
	size_t ne = 0, nc = 0, nx = 0;
	int done = 0;

	while (r.p < r.end && !r.bad && !done) {
		const char *t = take(&r, 1);
		uint32_t len = get_u32(&r);
		struct rd rec;

		if (r.bad || !(rec.p = take(&r, len)))
			break;
		rec.end = rec.p + len;
		rec.bad = 0;
		if (*t == 'E') {
			if (ne >= HF_MAX_ENTRIES) {
				rec.bad = 1;
			} else {
				get_entry(&rec, fill ? &d->entries[ne] : NULL,
				          fill ? d->cats + nc : NULL, fill ? d->encs + nx : NULL,
				          &nc, &nx);
				ne++;
			}
		} else if (*t == 'D') {
			const void *c = take(&rec, sizeof(int32_t));
			const unsigned char *f = take(&rec, 2);
			int32_t code = 0;

			if (c)
				memcpy(&code, c, sizeof code);
			/* Only what the child can mean: an err.h code, a known
			 * format, a flag. */
			if (!f || code > 0 || code < HF_EABORT || f[0] > FEED_FORMAT_ATOM10 ||
			    f[1] > 1)
				rec.bad = 1;
			d->code = code;
			d->info.format = f ? (enum feed_format)f[0] : FEED_FORMAT_UNKNOWN;
			d->info.recovered = f && f[1];
			d->title = get_str(&rec, HF_MAX_TITLE);
			d->link = get_str(&rec, HF_MAX_URL);
			d->message = get_str(&rec, HF_CONF_MAX_LINE);
			done = 1;
		} else {
			rec.bad = 1;
		}
		if (rec.bad || rec.p != rec.end)
			r.bad = 1;
	}
	if (r.bad || !done || r.p != r.end) {
		if (err)
			buf_printf(err, "the parser's answer is malformed (record %zu)", ne + 1);
		return HF_ERR;
	}
	d->nentries = ne;
	if (!fill) {
		if ((ne && !(d->entries = calloc(ne, sizeof *d->entries))) ||
		    (nc && !(d->cats = calloc(nc, sizeof *d->cats))) ||
		    (nx && !(d->encs = calloc(nx, sizeof *d->encs))))
			return HF_ENOMEM;
	}
	return HF_OK;
}

int feed_doc_decode(struct feed_doc *d, struct buf *err)
{
	int rc;

	d->nentries = 0;
	if ((rc = walk(d, 0, err)) || (rc = walk(d, 1, err)))
		return rc;
	/* The info's strings borrow from raw too. */
	d->info.title = (char *)d->title;
	d->info.link = (char *)d->link;
	d->info.nentries = d->nentries;
	return HF_OK;
}

/* --- the child process ---------------------------------------------------- */

struct child {
	int fd;
	struct buf out;
	int rc;
};

/* Flush what is gathered once it passes a pipe's worth. */
#define CHILD_FLUSH (64 * 1024)

static int child_entry(void *ud, const struct feed_info *info, const struct feed_entry *e)
{
	struct child *c = ud;
	int rc;

	(void)info;
	if ((rc = feed_wire_entry(&c->out, e)))
		return rc;
	if (c->out.len < CHILD_FLUSH)
		return HF_OK;
	rc = fs_write_all(c->fd, c->out.data, c->out.len) ? HF_EIO : HF_OK;
	buf_clear(&c->out);
	return rc;
}

#ifndef JOB_SANITIZER
/* Bytes of address space the process maps now (VmSize). */
static size_t mapped_now(void)
{
	char s[128] = {0};
	unsigned long pages = 0;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, s, sizeof s - 1);
	close(fd);
	if (n <= 0 || sscanf(s, "%lu", &pages) != 1)
		return 0;
	return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}
#endif

static void budget(const struct feed_job_opts *o)
{
	struct rlimit cpu = {(rlim_t)o->cpu_s, (rlim_t)o->cpu_s + 1};
	struct rlimit core = {0, 0};

	(void)setrlimit(RLIMIT_CPU, &cpu);
	(void)setrlimit(RLIMIT_CORE, &core);
	/* Under a filter without setpriority this fails; the CPU budget
	 * holds all the same. */
	if (nice(HF_PARSE_NICE) == -1)
		errno = 0;
#ifndef JOB_SANITIZER
	/* The child starts as a copy of the parser host, with the document
	 * mapped: the budget is on top of what it maps already.  (The sanitizers reserve terabytes of shadow
	 * memory: under them only the CPU and time budgets hold.) */
	{
		size_t base = mapped_now();
		struct rlimit as = {(rlim_t)(base + o->mem_bytes), (rlim_t)(base + o->mem_bytes)};

		if (base)
			(void)setrlimit(RLIMIT_AS, &as);
	}
#endif
}

static void run_child(int fd, const char *data, size_t len, const struct feed_job_opts *o)
	__attribute__((noreturn));

static void run_child(int fd, const char *data, size_t len, const struct feed_job_opts *o)
{
	struct feed_parse_opts po = {0};
	struct feed_info info = {0};
	struct buf msg = BUF_INIT;
	struct child c = {fd, BUF_INIT, 0};
	sigset_t all;
	int rc;

	/* The daemon blocks the signals it reads from a signalfd; the child
	 * must die of SIGXCPU and SIGTERM. */
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	signal(SIGXCPU, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	budget(o);
	po.content_type = o->content_type;
	po.base_url = o->base_url;
	po.now = o->now;
	po.on_entry = child_entry;
	po.ud = &c;
	rc = feed_parse(data, len, &po, &info, &msg);
	if (feed_wire_done(&c.out, rc, &info, msg.len ? buf_str(&msg) : NULL) ||
	    fs_write_all(fd, c.out.data, c.out.len))
		_exit(rc == HF_ENOMEM ? 3 : 2);
	_exit(0);
}

/*
 * The parser host.  Forking the daemon for every document copied its page
 * tables, tens of megabytes of them, and made every page it wrote after
 * that fault once to be copied again: a tenth of a fetch pass.  So one
 * small process is forked once, early (feed_host_start), and it forks a
 * child per document instead.  It is handed each job as one message on a
 * socket (struct host_req), with two descriptors: a memfd that holds the
 * document and the write end of the job's pipe.  For each job it forks a
 * watcher, which forks the parser child, waits for it to end (killing it
 * at the wall-clock deadline, or when the daemon stopped reading), and
 * then appends the child's wait status to the pipe as the 'S' record.
 * The host reaps its watchers as they end, and ends when the daemon
 * closes the socket (feed_host_stop), after its last watcher.
 *
 *   S: i32 timed_out, i32 wait status (waitpid), always the last 13 bytes
 */
#define HOST_MAGIC 0x68667031u   /* "hfp1" */
#define HOST_MAX_STR 8192        /* content type and base URL, each */
#define STATUS_LEN 13

struct host_req {
	uint32_t magic;
	int32_t cpu_s, wall_s;
	uint32_t ct_len, base_len;   /* FEED_WIRE_NULL: none */
	uint64_t mem_bytes;
	uint64_t len;                /* bytes of the document in the memfd */
	int64_t now;
};

static int host_fd = -1;         /* the daemon's end of the socket */
static pid_t host_pid;

static void put_status(int w, int timed_out, int status)
{
	char rec[STATUS_LEN];
	uint32_t n = 8;
	int32_t t = timed_out, st = status;

	rec[0] = 'S';
	memcpy(rec + 1, &n, 4);
	memcpy(rec + 5, &t, 4);
	memcpy(rec + 9, &st, 4);
	/* A failed write: the daemon stopped reading, and wants no answer. */
	if (fs_write_all(w, rec, sizeof rec))
		return;
}

/* The watcher of one job: fork the parser child, wait for it, report. */
static void watch(int mfd, int w, const struct host_req *rq, const char *ct,
                  const char *base) __attribute__((noreturn));

static void watch(int mfd, int w, const struct host_req *rq, const char *ct,
                  const char *base)
{
	struct feed_job_opts o = {ct, base, rq->now, rq->cpu_s, rq->wall_s,
	                          (size_t)rq->mem_bytes};
	int64_t deadline = mono_ms() + (int64_t)rq->wall_s * 1000;
	int status = 0, timed_out = 0, ended = 0, reaped = 0, pidfd;
	pid_t pid;

	signal(SIGCHLD, SIG_DFL);
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid == 0) {
		const char *data = "";

		if (rq->len) {
			void *m = mmap(NULL, (size_t)rq->len, PROT_READ, MAP_PRIVATE, mfd, 0);

			if (m == MAP_FAILED)
				_exit(3);
			data = m;
		}
		close(mfd);
		run_child(w, data, (size_t)rq->len, &o);
	}
	close(mfd);
	pidfd = pidfd_open(pid, 0);
	for (;;) {
		struct pollfd pfd[2] = {{w, 0, 0}, {pidfd, POLLIN, 0}};
		int64_t left = deadline - mono_ms();

		if (left <= 0)
			break;
		/* Without a pidfd (seccomp, an old kernel), look every 10 ms. */
		if (poll(pfd, pidfd >= 0 ? 2 : 1,
		         pidfd >= 0 ? (int)(left < 60000 ? left : 60000) : 10) < 0 &&
		    errno != EINTR)
			break;
		if (pfd[0].revents & (POLLERR | POLLHUP))
			break;    /* the daemon stopped reading */
		if (pidfd < 0 && waitpid(pid, &status, WNOHANG) == pid) {
			reaped = 1;
			break;
		}
		if (pfd[1].revents) {
			ended = 1;
			break;
		}
	}
	/* Past the deadline, or nobody reads: kill, unless it just ended. */
	if (!reaped && !ended && waitpid(pid, &status, WNOHANG) == pid)
		reaped = 1;
	if (!reaped && !ended) {
		timed_out = 1;
		kill(pid, SIGKILL);
	}
	if (!reaped)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	put_status(w, timed_out, status);
	_exit(0);
}

static void on_chld(int sig)
{
	(void)sig;
}

/* The string of `len` bytes at msg + *at, copied with its NUL to dst
 * (HOST_MAX_STR + 1 bytes); NULL for none.  *bad when it does not fit. */
static const char *host_str(char *dst, const char *msg, size_t n, size_t *at,
                            uint32_t len, int *bad)
{
	if (len == FEED_WIRE_NULL)
		return NULL;
	if (len > HOST_MAX_STR || *at + len > n) {
		*bad = 1;
		return NULL;
	}
	memcpy(dst, msg + *at, len);
	dst[len] = '\0';
	*at += len;
	return dst;
}

/* Reap the watchers that ended (blocking: every one); 1 when one of
 * them failed (it could not fork, or, under valgrind, erred). */
static int reap(int block)
{
	int st, failed = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &st, block ? 0 : WNOHANG)) > 0 ||
	       (pid < 0 && errno == EINTR))
		if (pid > 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
			failed = 1;
	return failed;
}

static void host_main(int ctl) __attribute__((noreturn));

static void host_main(int ctl)
{
	static char msg[sizeof(struct host_req) + 2 * HOST_MAX_STR];
	struct sigaction chld;
	sigset_t all;
	int failed = 0;

	/* SIGCHLD interrupts the wait for a job, so that watchers are reaped
	 * (and their CPU time counted) as they end.  Interrupts and stops are
	 * the daemon's to handle: the host ends when the daemon closes its
	 * socket.  Nothing the daemon had open is the parser's business. */
	memset(&chld, 0, sizeof chld);
	chld.sa_handler = on_chld;
	sigaction(SIGCHLD, &chld, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	if (ctl > 3)
		(void)close_range(3, (unsigned)ctl - 1, 0);
	(void)close_range((unsigned)ctl + 1, ~0U, 0);
	(void)prctl(PR_SET_NAME, "helsefeed-parse", 0, 0, 0);
	for (;;) {
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(2 * sizeof(int))];
		} cm;
		struct iovec iov = {msg, sizeof msg};
		struct msghdr mh = {0};
		struct cmsghdr *c;
		struct host_req rq;
		int fds[2] = {-1, -1};
		const char *ct = NULL, *base = NULL;
		ssize_t n;

		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof cm.b;
		failed |= reap(0);
		n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)   /* the daemon is done: its jobs are closed, so the
		               * watchers end at once */
			_exit(failed | reap(1));
		c = CMSG_FIRSTHDR(&mh);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(2 * sizeof(int)))
			memcpy(fds, CMSG_DATA(c), sizeof fds);
		memcpy(&rq, msg, (size_t)n < sizeof rq ? (size_t)n : sizeof rq);
		if (fds[0] < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
		    (size_t)n < sizeof rq || rq.magic != HOST_MAGIC)
			goto next;
		{
			static char ctb[HOST_MAX_STR + 1], baseb[HOST_MAX_STR + 1];
			size_t at = sizeof rq;
			int bad = 0;

			ct = host_str(ctb, msg, (size_t)n, &at, rq.ct_len, &bad);
			base = host_str(baseb, msg, (size_t)n, &at, rq.base_len, &bad);
			if (bad)
				goto next;
		}
		if (fork() == 0) {
			close(ctl);
			watch(fds[0], fds[1], &rq, ct, base);
		}
next:
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
	}
}

int feed_host_start(void)
{
	int sv[2];
	pid_t pid;

	if (host_fd >= 0)
		return HF_OK;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return HF_EIO;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return HF_EIO;
	}
	if (pid == 0) {
		close(sv[0]);
		host_main(sv[1]);
	}
	close(sv[1]);
	host_fd = sv[0];
	host_pid = pid;
	return HF_OK;
}

void feed_host_stop(void)
{
	int st = 0;

	if (host_fd < 0)
		return;
	close(host_fd);
	host_fd = -1;
	while (waitpid(host_pid, &st, 0) < 0 && errno == EINTR)
		;
	host_pid = 0;
	if (WIFSIGNALED(st))
		log_error("the parser process ended by signal %d", WTERMSIG(st));
	else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		log_error("the parser process ended with exit %d: a parse's "
		          "watcher failed", WEXITSTATUS(st));
}

/* The host is gone (it was killed): reap it, so that the next job starts
 * another. */
static void host_lost(void)
{
	close(host_fd);
	host_fd = -1;
	(void)waitpid(host_pid, NULL, WNOHANG);
	host_pid = 0;
}

static int host_send(const struct feed_job_opts *o, size_t len, int mfd, int w)
{
	char msg[sizeof(struct host_req) + 2 * HOST_MAX_STR];
	size_t ct = o->content_type ? strlen(o->content_type) : 0;
	size_t base = o->base_url ? strlen(o->base_url) : 0;
	struct host_req rq;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(2 * sizeof(int))];
	} cm;
	struct iovec iov = {msg, sizeof rq + ct + base};
	struct msghdr mh = {0};
	struct cmsghdr *c;
	int fds[2] = {mfd, w};

	if (ct > HOST_MAX_STR || base > HOST_MAX_STR)
		return HF_ETOOBIG;
	memset(&rq, 0, sizeof rq);   /* its padding goes out too */
	rq.magic = HOST_MAGIC;
	rq.cpu_s = o->cpu_s;
	rq.wall_s = o->wall_s;
	rq.ct_len = o->content_type ? (uint32_t)ct : FEED_WIRE_NULL;
	rq.base_len = o->base_url ? (uint32_t)base : FEED_WIRE_NULL;
	rq.mem_bytes = o->mem_bytes;
	rq.len = len;
	rq.now = o->now;
	memcpy(msg, &rq, sizeof rq);
	if (ct)
		memcpy(msg + sizeof rq, o->content_type, ct);
	if (base)
		memcpy(msg + sizeof rq + ct, o->base_url, base);
	memset(&cm, 0, sizeof cm);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof cm.b;
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	for (int tries = 0; tries < 2; tries++) {
		int rc = feed_host_start();

		if (rc)
			return rc;
		while (sendmsg(host_fd, &mh, MSG_NOSIGNAL) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EPIPE && errno != ECONNRESET && errno != ECONNREFUSED)
				return HF_EIO;
			host_lost();
			break;
		}
		if (host_fd >= 0)
			return HF_OK;
	}
	return HF_EIO;
}

struct feed_job {
	int fd;                /* read end, non-blocking */
	int64_t deadline_ms;   /* monotonic */
	struct feed_job_opts o;
	struct feed_doc doc;   /* doc.raw gathers the child's output */
	int state;             /* 0 running, 1 finished */
	int code;              /* the job's outcome once finished */
	struct buf err;
};

int feed_job_start(const char *data, size_t len, const struct feed_job_opts *o,
                   struct feed_job **out)
{
	struct feed_job *j = NULL;
	int p[2] = {-1, -1}, mfd = -1;
	int rc = HF_ENOMEM;

	if (!(j = calloc(1, sizeof *j)))
		goto fail;
	j->o = *o;
	j->o.content_type = j->o.base_url = NULL;   /* not kept */
	j->fd = -1;
	rc = HF_EIO;
	if ((mfd = memfd_create("helsefeed-document", MFD_CLOEXEC)) < 0 ||
	    fs_write_all(mfd, data, len) || pipe2(p, O_CLOEXEC) != 0)
		goto fail;
	if ((rc = host_send(o, len, mfd, p[1])))
		goto fail;
	close(mfd);
	close(p[1]);
	j->fd = p[0];
	(void)fcntl(j->fd, F_SETFL, fcntl(j->fd, F_GETFL) | O_NONBLOCK);
	j->deadline_ms = mono_ms() + (int64_t)o->wall_s * 1000;
	*out = j;
	return HF_OK;
fail:
	if (mfd >= 0)
		close(mfd);
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	free(j);
	return rc;
}

int feed_job_fd(const struct feed_job *j)
{
	return j->state ? -1 : j->fd;
}

int64_t feed_job_deadline(const struct feed_job *j)
{
	return j->deadline_ms;
}

/* Say how the job ended: by the daemon's deadline or output limit, or as
 * the watcher's status record at the end of the output says. */
static void finish(struct feed_job *j, int killed_for_time, int too_much)
{
	int32_t status = 0, timed_out = 0;
	int lost = 0;

	close(j->fd);
	j->fd = -1;
	j->state = 1;
	buf_clear(&j->err);
	if (!killed_for_time && !too_much) {
		struct buf *r = &j->doc.raw;
		uint32_t n = 0;

		if (r->len >= STATUS_LEN)
			memcpy(&n, r->data + r->len - STATUS_LEN + 1, 4);
		if (r->len < STATUS_LEN || r->data[r->len - STATUS_LEN] != 'S' || n != 8) {
			lost = 1;
		} else {
			memcpy(&timed_out, r->data + r->len - 8, 4);
			memcpy(&status, r->data + r->len - 4, 4);
			r->len -= STATUS_LEN;
			killed_for_time = timed_out != 0;
		}
	}
	if (lost) {
		j->code = HF_ERR;
		buf_printf(&j->err, "the parser process went away before the parse ended");
	} else if (killed_for_time) {
		j->code = HF_ETOOBIG;
		buf_printf(&j->err, "parsing took more than %d s", j->o.wall_s);
	} else if (too_much) {
		j->code = HF_ETOOBIG;
		buf_printf(&j->err, "the parser's output exceeds %d MiB",
		           (int)(HF_PARSE_MAX_OUTPUT >> 20));
	} else if (WIFSIGNALED(status) &&
	           (WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL)) {
		j->code = HF_ETOOBIG;
		buf_printf(&j->err, "parsing took more than %d s of CPU", j->o.cpu_s);
	} else if (WIFSIGNALED(status)) {
		j->code = HF_ERR;
		buf_printf(&j->err, "the parser died of signal %d", WTERMSIG(status));
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		j->code = HF_ETOOBIG;
		buf_printf(&j->err, "parsing needed more than %zu MiB of memory",
		           j->o.mem_bytes >> 20);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		j->code = HF_ERR;
		buf_printf(&j->err, "the parser failed (exit %d)", WEXITSTATUS(status));
	} else if ((j->code = feed_doc_decode(&j->doc, &j->err)) == HF_OK) {
		j->code = j->doc.code;
		if (j->code == HF_ENOMEM) {
			j->code = HF_ETOOBIG;
			buf_printf(&j->err, "parsing needed more than %zu MiB of memory",
			           j->o.mem_bytes >> 20);
		} else if (j->code && j->doc.message) {
			buf_printf(&j->err, "%s", j->doc.message);
		}
	}
}

int feed_job_poll(struct feed_job *j)
{
	char chunk[64 * 1024];

	if (j->state)
		return 1;
	for (;;) {
		ssize_t n = read(j->fd, chunk, sizeof chunk);

		if (n > 0) {
			if (j->doc.raw.len + (size_t)n > HF_PARSE_MAX_OUTPUT) {
				finish(j, 0, 1);
				return 1;
			}
			if (buf_append(&j->doc.raw, chunk, (size_t)n)) {
				finish(j, 0, 1);
				j->code = HF_ENOMEM;
				return 1;
			}
			continue;
		}
		if (n == 0) {
			finish(j, 0, 0);
			return 1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			finish(j, 0, 0);
			return 1;
		}
		break;
	}
	if (mono_ms() >= j->deadline_ms) {
		finish(j, 1, 0);
		return 1;
	}
	return 0;
}

int feed_job_wait(struct feed_job *j)
{
	while (!feed_job_poll(j)) {
		int64_t left = j->deadline_ms - mono_ms();
		struct pollfd pfd = {j->fd, POLLIN, 0};

		(void)poll(&pfd, 1, left > 0 ? (int)(left < 1000 ? left : 1000) : 0);
	}
	return j->code;
}

int feed_job_result(struct feed_job *j, const struct feed_doc **doc, const char **msg)
{
	*doc = &j->doc;
	*msg = j->err.len ? buf_str(&j->err) : NULL;
	return j->code;
}

void feed_job_free(struct feed_job *j)
{
	if (!j)
		return;
	if (!j->state)
		finish(j, 1, 0);
	feed_doc_free(&j->doc);
	buf_free(&j->err);
	free(j);
}
