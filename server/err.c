#include "server/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool err_set(struct app_err *err, int status, const char *code, const char *field,
	     const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return false;
	err->status = status;
	err->code = code;
	err->retry_after = 0;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}

void err_clear(struct app_err *err)
{
	memset(err, 0, sizeof(*err));
}
