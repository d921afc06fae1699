test_webhooks_SRCS := handlers/webhooks.c handlers/orders.c handlers/segment.c model/money.c server/crypto.c server/err.c server/order_row.c server/ingest_row.c
