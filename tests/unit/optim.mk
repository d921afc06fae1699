test_optim_SRCS := model/optim.c
