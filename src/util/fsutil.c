/* fsutil.c - shared file system chores; see util.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
