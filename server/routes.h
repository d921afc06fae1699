/*
 * routes.h - every route of the service, in one table (Kore declares its
 * routes in one place; so do we). docs/api.md lists the same routes.
 */
#ifndef ROUTES_H
#define ROUTES_H

#include "server/http.h"

extern const struct http_route routes[];

#endif
