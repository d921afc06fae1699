test_jtext_SRCS := server/jtext.c
