test_kfactor_SRCS := model/kfactor.c
