test_growth_SRCS := model/growth.c
