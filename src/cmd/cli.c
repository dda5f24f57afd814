/* cli.c - what the commands share; see cli.h. */
#include <stdio.h>

#include "helsefeed/util.h"
#include "helsefeed/cli.h"

int cli_load_config(const struct cli *cli, struct config **out)
{
	struct buf errs = BUF_INIT;
	int rc = config_load(cli->config_path, out, &errs);

	if (rc && errs.len)
		fprintf(stderr, "%s%s", buf_str(&errs), errs.data[errs.len - 1] == '\n' ? "" : "\n");
	else if (rc)
		fprintf(stderr, "%s: %s\n", cli->config_path, hf_strerror(rc));
	buf_free(&errs);
	return rc;
}
