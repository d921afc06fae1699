/*
 * channels.h - GET /v1/channels: persons reached per acquisition channel
 * (campaign source / medium, else referrer host, else direct, taken from
 * each person's first event ever), how many activated and paid, and their
 * revenue (docs/api.md "Analytics").
 */
#ifndef HANDLERS_CHANNELS_H
#define HANDLERS_CHANNELS_H

#include "server/http.h"

void h_channels_get(struct http_req *req, struct http_resp *resp);

#endif
