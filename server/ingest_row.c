/*
 * ingest_row.c - ownership of struct ingest_row (writer.h), kept apart from
 * the writer thread so validation code and its tests can free rows without
 * linking the database layer.
 */
#include <stdlib.h>
#include <string.h>

#include "server/writer.h"

void ingest_row_cleanup(struct ingest_row *r)
{
	free(r->message_id);
	free(r->event);
	free(r->name);
	free(r->user_id);
	free(r->anonymous_id);
	free(r->previous_id);
	free(r->properties);
	free(r->context);
	free(r->traits);
	memset(r, 0, sizeof(*r));
}
