test_store_SRCS := server/store.c
