test_specfun_SRCS := model/specfun.c
