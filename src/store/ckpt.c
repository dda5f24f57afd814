/*
 * store_ckpt.c - WAL checkpoints on a thread of their own.  A checkpoint
 * copies the WAL back into the database file between two fsyncs; done by
 * the writer, as SQLite's autocheckpoint does it, those fsyncs stop the
 * daemon's only loop for tens of milliseconds each during a bulk ingest.
 * Here the writer's commit hook (sqlite3_wal_hook) only signals, and a
 * thread with a connection of its own runs a PASSIVE checkpoint, which
 * never blocks the writer or a reader.  See store_int.h.
 *
 * SQLite starts the WAL file over only when a checkpoint has copied back
 * every frame, and a checkpoint beside a busy writer is always a few
 * frames short.  So the thread checkpoints again while frames remain (a
 * pause of the writer between two feeds lets it finish), and a writer
 * CKPT_BEHIND_FACTOR marks ahead checkpoints itself, as before: the WAL
 * stays bounded, at about twice the mark.
 */
#include <pthread.h>
#include <stdlib.h>

#include "helsefeed/log.h"
#include "store_int.h"

/* The writer checkpoints itself beyond this many marks. */
#define CKPT_BEHIND_FACTOR 2
/* Past the mark, a checkpoint is asked for again once the WAL grew by a
 * mark / CKPT_STEP_DIV: each checkpoint costs two fsyncs, and beside a busy
 * writer one per commit would copy a few frames at a time.  Past one and
 * a half marks it is asked for at every commit again: at two marks the
 * writer checkpoints itself, in the loop's time, and copies whatever the
 * thread has not yet (on ext4, a mark / CKPT_STEP_DIV behind, 40 ms). */
#define CKPT_STEP_DIV 8
/* Checkpoints in a row while the writer adds frames. */
#define CKPT_ROUNDS 4

struct store_ckpt {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sqlite3 *db;                  /* the thread's */
	const char *path;             /* the store's, for messages */
	int pages;                    /* WAL size at which to checkpoint */
	int asked;                    /* WAL size at the last request; the
	                               * writer's only */
	int due;                      /* a checkpoint was asked for */
	int stop;
};

static void *run(void *arg)
{
	struct store_ckpt *c = arg;
	int nlog, nckpt, rc, round, failing = 0;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->due && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		c->due = 0;
		pthread_mutex_unlock(&c->mu);
		round = 0;
		do
			rc = sqlite3_wal_checkpoint_v2(c->db, NULL,
			         SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
		while (rc == SQLITE_OK && nckpt < nlog && ++round < CKPT_ROUNDS);
		/* BUSY: another checkpoint runs (the writer's, or another
		 * process's); the next commit asks again.  A failure is
		 * logged once until a checkpoint succeeds again. */
		if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY) {
			if (!failing++)
				log_warn("%s: checkpoint failed: %s", c->path,
				         sqlite3_errmsg(c->db));
		} else if (rc == SQLITE_OK) {
			failing = 0;
		}
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* After every commit of the store's connection, with the WAL's size. */
static int on_commit(void *ud, sqlite3 *db, const char *name, int pages)
{
	struct store_ckpt *c = ud;
	int nlog, nckpt;

	if (pages < c->asked)
		c->asked = 0;                 /* the WAL started over */
	if (pages < c->pages || (pages < c->pages * 3 / 2 &&
	                         pages < c->asked + c->pages / CKPT_STEP_DIV))
		return SQLITE_OK;
	c->asked = pages;
	if (pages >= CKPT_BEHIND_FACTOR * c->pages) {
		(void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		                                &nlog, &nckpt);
		return SQLITE_OK;
	}
	pthread_mutex_lock(&c->mu);
	c->due = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return SQLITE_OK;
}

int store__ckpt_start(struct store *st, int pages)
{
	struct store_ckpt *c = calloc(1, sizeof *c);

	if (!c)
		return HF_ENOMEM;
	c->path = st->path;
	c->pages = pages;
	if (sqlite3_open_v2(st->path, &c->db, SQLITE_OPEN_READWRITE |
	                    SQLITE_OPEN_NOMUTEX, store__vfs()) != SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA synchronous = NORMAL", NULL, NULL,
	                 NULL) != SQLITE_OK) {
		log_warn("%s: no checkpoint thread, checkpoints inline: %s",
		         st->path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
		sqlite3_close(c->db);
		free(c);
		return HF_EDB;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->tid, NULL, run, c) != 0) {
		log_warn("%s: no checkpoint thread, checkpoints inline", st->path);
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		sqlite3_close(c->db);
		free(c);
		return HF_ENOMEM;
	}
	st->ckpt = c;
	/* Replaces the autocheckpoint, which is also a WAL hook. */
	sqlite3_wal_hook(st->db, on_commit, c);
	return HF_OK;
}

void store__ckpt_stop(struct store *st)
{
	struct store_ckpt *c = st->ckpt;

	if (!c)
		return;
	sqlite3_wal_hook(st->db, NULL, NULL);
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->tid, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	sqlite3_close(c->db);
	free(c);
	st->ckpt = NULL;
}
