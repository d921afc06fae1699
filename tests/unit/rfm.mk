test_rfm_SRCS := model/rfm.c
