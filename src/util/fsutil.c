/* fsutil.c - shared file system chores; see util.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helsefeed/util.h"

int fs_mkdir_p(const char *dir, mode_t mode)
{
	char *path = strdup(dir);
	int rc = HF_OK;

	if (!path)
		return HF_ENOMEM;
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, mode) == 0) {
			/* The mode asked for, not narrowed by the umask: a
			 * web server must enter the published directory of a
			 * service that runs with UMask=0027. */
			if (chmod(path, mode) != 0) {
				log_error("%s: cannot set mode %03o: %s", path,
				          (unsigned)mode, strerror(errno));
				rc = HF_EIO;
				break;
			}
		} else if (errno != EEXIST) {
			log_error("%s: cannot create directory: %s", path, strerror(errno));
			rc = HF_EIO;
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	free(path);
	return rc;
}

int fs_mkdir_parent(const char *file, mode_t mode)
{
	char *dir = strdup(file);
	char *slash;
	int rc = HF_OK;

	if (!dir)
		return HF_ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		rc = fs_mkdir_p(dir, mode);
	}
	free(dir);
	return rc;
}

int fs_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void fs_atomic_abort(struct fs_atomic *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp.len)
		unlink(w->tmp.data);
	if (w->dirfd >= 0)
		close(w->dirfd);
	buf_free(&w->tmp);
	w->fd = w->dirfd = -1;
}

int fs_atomic_open(struct fs_atomic *w, const char *dir, const char *name,
                   mode_t mode)
{
	int rc = HF_EIO;

	w->fd = -1;
	w->tmp = (struct buf)BUF_INIT;
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0) {
		log_error("%s: cannot open directory: %s", dir, strerror(errno));
		return HF_EIO;
	}
	/* The six Xs are mkostemp's template, which it replaces. */
	if (buf_printf(&w->tmp, "%s/.%s.XXXXXX", dir, name)) {
		rc = HF_ENOMEM;
		goto fail;
	}
	w->fd = mkostemp(w->tmp.data, O_CLOEXEC);
	if (w->fd < 0) {
		log_error("%s: cannot create a temporary file: %s", w->tmp.data,
		          strerror(errno));
		buf_clear(&w->tmp);
		goto fail;
	}
	/* mkstemp makes 0600. */
	if (fchmod(w->fd, mode) != 0) {
		log_error("%s: cannot write: %s", w->tmp.data, strerror(errno));
		goto fail;
	}
	return HF_OK;
fail:
	fs_atomic_abort(w);
	return rc;
}

int fs_atomic_write(struct fs_atomic *w, const char *data, size_t len)
{
	if (fs_write_all(w->fd, data, len) != 0) {
		log_error("%s: cannot write: %s", w->tmp.data, strerror(errno));
		return HF_EIO;
	}
	return HF_OK;
}

int fs_atomic_commit(struct fs_atomic *w, const char *name)
{
	int rc = HF_EIO;

	if (fsync(w->fd) != 0) {
		log_error("%s: cannot write: %s", w->tmp.data, strerror(errno));
		goto out;
	}
	rc = close(w->fd);
	w->fd = -1;
	if (rc != 0) {
		log_error("%s: cannot write: %s", w->tmp.data, strerror(errno));
		rc = HF_EIO;
		goto out;
	}
	if (renameat(w->dirfd, strrchr(w->tmp.data, '/') + 1, w->dirfd, name) != 0) {
		log_error("%s: cannot replace %s: %s", w->tmp.data, name,
		          strerror(errno));
		rc = HF_EIO;
		goto out;
	}
	buf_clear(&w->tmp);
	rc = HF_OK;
out:
	fs_atomic_abort(w);
	return rc;
}

int fs_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = HF_OK;

	if (fd < 0 || fsync(fd) != 0) {
		log_error("%s: cannot sync directory: %s", dir, strerror(errno));
		rc = HF_EIO;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}
