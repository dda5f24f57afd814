/*
 * fsutil.h - the few file system chores that several modules share.
 */
#ifndef HELSEFEED_FSUTIL_H
#define HELSEFEED_FSUTIL_H

#include <sys/types.h>

#include "helsefeed/err.h"

/* mkdir -p `dir` with `mode` for every directory it creates, exactly
 * (the umask does not narrow it); directories already there are left as
 * they are.  Logs the directory that could not be made.  Returns 0,
 * HF_EIO, HF_ENOMEM. */
int fs_mkdir_p(const char *dir, mode_t mode) HF_WUR;

/* mkdir -p of the directory part of `file` ("a/b/c.db" makes "a/b"); a
 * bare file name needs nothing.  Returns as fs_mkdir_p. */
int fs_mkdir_parent(const char *file, mode_t mode) HF_WUR;

#endif
