/*
 * testdb.h - a database file in a fresh directory of its own, for the unit
 * tests that open a store.  Header-only: every test program is one .c.
 */
#ifndef HELSEFEED_TESTDB_H
#define HELSEFEED_TESTDB_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Make /tmp/hf-NAME-?????? and put "DIR/helsefeed.db" into path.  Returns
 * 0, or -1 when the directory could not be made. */
static inline int testdb_make(char *dir, size_t dirsize, char *path,
                              size_t pathsize, const char *name)
{
	if ((size_t)snprintf(dir, dirsize, "/tmp/hf-%s-XXXXXX", name) >= dirsize ||
	    !mkdtemp(dir))
		return -1;
	if ((size_t)snprintf(path, pathsize, "%s/helsefeed.db", dir) >= pathsize)
		return -1;
	return 0;
}

/* Remove a database and the -wal/-shm files a connection leaves behind. */
static inline void testdb_remove_file(const char *path)
{
	char p[512];

	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

/* testdb_remove_file, then the (now empty) directory. */
static inline void testdb_remove(const char *dir, const char *path)
{
	testdb_remove_file(path);
	rmdir(dir);
}

#endif
