test_fuzz_corpus_SRCS := tests/fuzz/fuzz_orders.c handlers/webhooks.c handlers/orders.c handlers/segment.c model/money.c server/crypto.c server/err.c server/order_row.c server/ingest_row.c
