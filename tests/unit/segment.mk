test_segment_SRCS := handlers/segment.c server/ingest_row.c server/crypto.c server/err.c
